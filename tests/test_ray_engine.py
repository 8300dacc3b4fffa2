"""`callreview batch --engine ray` on a real local Ray instance: same reports, catalog, failures and resumption as locally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.config import BatchConfig
from analysis.ray_engine import task_options, task_slots
from tests.test_batch import FAST_CONFIG, catalog_rows, make_calls, no_partial_files, progress_lines, run_cli, write_corrupt


def test_tasks_ask_for_a_gpu_only_where_the_cluster_has_one() -> None:
    cfg = BatchConfig(ray_gpus_per_call=0.5, ray_cpus_per_call=2)
    gpu = task_options({"CPU": 32.0, "GPU": 2.0}, cfg)
    assert gpu["num_gpus"] == 0.5 and gpu["num_cpus"] == 2 and gpu["max_calls"] == 0
    assert task_slots({"CPU": 32.0, "GPU": 2.0}, gpu) == 4
    cpu = task_options({"CPU": 32.0}, cfg)
    assert "num_gpus" not in cpu and task_slots({"CPU": 32.0}, cpu) == 16
    assert "num_gpus" not in task_options({"CPU": 8.0, "GPU": 1.0}, BatchConfig(ray_gpus_per_call=0))


def test_ray_batch_matches_the_local_engine(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST_CONFIG)
    calls = make_calls(tmp_path / "in", n_mono=2, stereo=False)
    write_corrupt(tmp_path / "in" / "call_02_corrupt.wav")
    shutil.copy(calls[0], tmp_path / "in" / "call_05_copy.wav")
    out = tmp_path / "out"
    p = run_cli("batch", str(tmp_path / "in"), "--out", str(out), "--engine", "ray", "--workers", "2", "--config", str(cfg), "--json-progress")
    assert p.returncode == 1, p.stderr
    status = {Path(x["path"]).name: x for x in progress_lines(p.stdout)}
    assert {k: v["status"] for k, v in status.items()} == {
        "call_01.wav": "done", "call_02_corrupt.wav": "failed", "call_03.wav": "done", "call_05_copy.wav": "skipped"}
    assert "not a readable audio file" in status["call_02_corrupt.wav"]["reason"]
    assert status["call_02_corrupt.wav"]["reason"].startswith(str(tmp_path / "in" / "call_02_corrupt.wav"))  # not the task's temporary copy
    for name in ("call_01", "call_03"):
        doc = json.loads((out / f"{name}.json").read_text())
        assert doc["call"]["source"] == str(tmp_path / "in" / f"{name}.wav") and doc["turns"]
    rows = catalog_rows(out, "SELECT call_id FROM calls ORDER BY call_id")
    assert [r["call_id"] for r in rows] == ["call_01", "call_03"]
    run = catalog_rows(out, "SELECT engine, status, done, failed, skipped FROM runs")[0]
    assert tuple(run) == ("ray", "finished", 2, 1, 1)
    f = run_cli("failures", str(out))
    assert f.returncode == 1 and "call_02_corrupt.wav" in f.stdout
    assert no_partial_files(out)

    # resumption is the driver's: the local engine finds the Ray run's calls done
    (tmp_path / "in" / "call_02_corrupt.wav").unlink()
    p = run_cli("batch", str(tmp_path / "in"), "--out", str(out), "--config", str(cfg), "--json-progress")
    assert p.returncode == 0, p.stderr
    assert [x["status"] for x in progress_lines(p.stdout)] == ["skipped"] * 3
