"""`callreview batch`: inputs, keys, resumption after a kill, failures, a changed rubric, the folder lock.

Real recordings only: short pieces cut from the shared real calls, analysed by
the real pipeline in real worker processes, into a real SQLite catalog. The
analysis runs with ``scoring.semantic = false`` (phrase-pattern cues only) so a
worker starts in seconds; the rubric still shapes the scores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis import __version__
from analysis.batch import (
    CallMeta,
    FolderLock,
    NamePattern,
    call_config,
    discover,
    make_call_key,
    read_manifest,
    report_result_key,
    result_key,
    rubric_identity,
)
from analysis.config import Config
from analysis.errors import BatchInputError, BatchLockedError
from analysis.rubric import default_rubric_path
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
FAST_CONFIG = "[scoring]\nsemantic = false\n"


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def progress_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def make_calls(folder: Path, n_mono: int = 3, stereo: bool = True) -> list[Path]:
    """Short real recordings: 6 s pieces of a real telephone call, and the short real stereo file."""
    src = SHARED / "real/pyannote/sample.wav"
    if not src.exists():
        pytest.skip(f"shared data not available: {src}")
    folder.mkdir(parents=True, exist_ok=True)
    data, sr = sf.read(src, dtype="float32")
    out = []
    for i in range(n_mono):
        p = folder / f"call_{2 * i + 1:02d}.wav"
        sf.write(p, data[int((4 + 8 * i) * sr) : int((10 + 8 * i) * sr)], sr)
        out.append(p)
    if stereo:
        st = SHARED / "real/faster_whisper/stereo_diarization.wav"
        if st.exists():
            p = folder / "call_09_stereo.wav"
            shutil.copy(st, p)
            out.append(p)
    return out


def write_corrupt(path: Path) -> Path:
    rng = np.random.default_rng(7)
    path.write_bytes(b"RIFF" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


def catalog_rows(out: Path, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(out / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def no_partial_files(out: Path) -> bool:
    return not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "fast.toml"
    p.write_text(FAST_CONFIG)
    return p


# --- inputs -----------------------------------------------------------------------------


def test_name_pattern_fields_and_folders() -> None:
    pat = NamePattern("{agent}_{date}_{call_id}.wav")
    m = pat.match("/archive/john_smith_20240105_A123.wav")
    assert m == CallMeta(call_id="A123", agent="john_smith", started_at="2024-01-05")
    assert pat.match("/archive/notes.wav") is None
    assert pat.match("/archive/john_20240105_A1.flac") is None  # the pattern names the extension

    pat = NamePattern("{team}/{agent}/{date}-{time}_{*}")
    m = pat.match("/x/billing/ana/2024-03-02-143005_whatever.mp3")
    assert (m.team, m.agent, m.started_at, m.call_id) == ("billing", "ana", "2024-03-02T14:30:05", None)


@pytest.mark.parametrize(
    "pattern, message",
    [("{agent}_{nope}", "unknown field {nope}"), ("{agent}_{agent}", "appears twice"), ("{agent", "unbalanced"), ("plain.wav", "no field")],
)
def test_name_pattern_errors_say_what_to_fix(pattern: str, message: str) -> None:
    with pytest.raises(BatchInputError, match=message.replace("{", r"\{").replace("}", r"\}")):
        NamePattern(pattern)


def test_manifest_columns_relative_paths_and_errors(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    m = tmp_path / "manifest.csv"
    m.write_text(
        "path;call_id;agent;team;started_at;agent_channel;language;notes\n"
        "audio/a.wav;C-1;ana;billing;2024-01-05T10:00:00;right;en;x\n"
        ";;;;;;;\n"
        f"{tmp_path}/b.wav;;bo;;;;auto;\n",
        encoding="utf-8",
    )
    rows = read_manifest(m)
    assert [r.path for r in rows] == [str(tmp_path / "audio/a.wav"), str(tmp_path / "b.wav")]
    assert rows[0].meta == CallMeta("C-1", "ana", "billing", "2024-01-05T10:00:00", "right", "en")
    assert rows[0].meta.config_overrides() == {"roles.agent_channel": "right", "asr.language": "en"}
    assert rows[1].meta.config_overrides() == {"asr.language": None}  # auto: detect

    bad = tmp_path / "bad.csv"
    bad.write_text("file,agent\na.wav,ana\n")
    with pytest.raises(BatchInputError, match="no 'path' column"):
        read_manifest(bad)
    bad.write_text("path,agent_channel\na.wav,middle\n")
    with pytest.raises(BatchInputError, match="line 2: agent_channel 'middle'"):
        read_manifest(bad)


def test_discover_folders_globs_manifests_once_each(tmp_path: Path) -> None:
    (tmp_path / "in/sub").mkdir(parents=True)
    for name in ("in/a.wav", "in/sub/b.flac", "in/sub/notes.txt", "in/.hidden/c.wav", "in/d.MP3"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    man = tmp_path / "m.csv"
    man.write_text("path,agent\nin/a.wav,ana\n")
    found = discover([str(tmp_path / "in"), str(tmp_path / "in/**/*.flac"), str(man), str(tmp_path / "missing.wav")])
    names = [Path(f.path).name for f in found]
    assert names == ["a.wav", "d.MP3", "b.flac", "missing.wav"]
    assert found[0].meta.agent is None  # the folder listed it first; the path is taken once
    found = discover([str(man), str(tmp_path / "in")], NamePattern("{agent}.{*}"), exclude=tmp_path / "in/sub")
    assert [(Path(f.path).name, f.meta.agent) for f in found] == [("a.wav", "ana"), ("d.MP3", "d")]


# --- keys -------------------------------------------------------------------------------


def test_result_key_follows_what_shapes_results(tmp_path: Path) -> None:
    base = Config()
    rub = rubric_identity(base)
    assert rub is not None and rub["sha256"]
    k = result_key(base.to_dict(), rub["sha256"], __version__)
    same = base.with_overrides({"batch.workers": 8, "asr.cpu_threads": 3, "batch.engine": "ray"})
    assert result_key(same.to_dict(), rub["sha256"], __version__) == k
    assert result_key(base.with_overrides({"asr.model": "small.en"}).to_dict(), rub["sha256"], __version__) != k
    assert result_key(base.to_dict(), rub["sha256"], "99.0") != k

    copy = tmp_path / "rubric.toml"
    copy.write_bytes(default_rubric_path().read_bytes())
    moved = base.with_overrides({"scoring.rubric": str(copy)})
    assert rubric_identity(moved)["sha256"] == rub["sha256"]  # same content, another path: same key
    assert result_key(moved.to_dict(), rubric_identity(moved)["sha256"], __version__) == k
    copy.write_text(re.sub(r'(?m)^version = "[^"]+"$', 'version = "99.0.1-test"', copy.read_text(), count=1))
    assert rubric_identity(moved)["sha256"] != rub["sha256"]

    cfg = call_config(base, CallMeta(agent_channel="left"))
    assert cfg.roles.agent_channel == "left" and result_key(cfg.to_dict(), rub["sha256"], __version__) != k
    assert make_call_key("a" * 64, "b" * 64) == "a" * 16 + "-" + "b" * 16


def test_report_records_the_key_it_was_made_with(analyzed) -> None:
    from tests.conftest import shared_file

    report = analyzed(shared_file("real/faster_whisper/stereo_diarization.wav"))
    cfg = Config()
    ident = rubric_identity(cfg)
    assert ident["classifier_sha256"] == report.call.rubric.classifier_sha256  # the shipped cue classifier is part of the key
    assert ident["repetition_model_sha256"] == report.call.rubric.repetition_model_sha256  # ... and the repetition model
    assert report.call.rubric.repetition_model == "builtin"
    assert report_result_key(report) == result_key(
        cfg.to_dict(), ident["sha256"], __version__, ident["classifier_sha256"], ident["repetition_model_sha256"]
    )
    assert report_result_key(report) != result_key(cfg.to_dict(), ident["sha256"], __version__, ident["classifier_sha256"])
    assert report_result_key(report) != result_key(cfg.to_dict(), ident["sha256"], __version__)


# --- the command --------------------------------------------------------------------------


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    p = run_cli("batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "no audio files found" in p.stderr
    bad = tmp_path / "m.csv"
    bad.write_text("file\nx.wav\n")
    p = run_cli("batch", str(bad), "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "no 'path' column" in p.stderr
    p = run_cli("batch", str(bad), "--out", str(tmp_path / "out"), "--workers", "0")
    assert p.returncode == 2 and "must be 1 or more" in p.stderr


def test_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    calls = make_calls(tmp_path / "in", n_mono=1, stereo=False)
    out = tmp_path / "out"
    with FolderLock(out):
        with pytest.raises(BatchLockedError):
            FolderLock(out).__enter__()
        p = run_cli("batch", str(calls[0]), "--out", str(out))
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]  # one line
    assert "another callreview batch is writing this folder" in p.stderr and f"pid {os.getpid()}" in p.stderr


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    calls = make_calls(tmp_path / "in", n_mono=1, stereo=False)
    out = tmp_path / "out"
    p = run_cli("batch", str(tmp_path / "gone.wav"), str(calls[0]), "--out", str(out), "--fail-fast", "--json-progress")
    assert p.returncode == 1
    lines = progress_lines(p.stdout)
    assert [(Path(x["path"]).name, x["status"]) for x in lines] == [("gone.wav", "failed")]
    assert "file not found" in lines[0]["reason"] and "1 not started" in p.stderr
    assert catalog_rows(out, "SELECT status FROM runs") [0]["status"] == "aborted"


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory, fast_config: Path):
    """A batch over 3 real calls, a corrupt file in the middle and one call saved twice, with 2 workers."""
    root = tmp_path_factory.mktemp("batch")
    calls = make_calls(root / "in", n_mono=2, stereo=True)
    write_corrupt(root / "in" / "call_02_corrupt.wav")
    (root / "in" / "copies").mkdir()
    shutil.copy(calls[0], root / "in" / "copies" / "same_as_call_01.wav")
    out = root / "out"
    p = run_cli("batch", str(root / "in"), "--out", str(out), "--workers", "2", "--config", str(fast_config), "--json-progress")
    return root, out, p


def test_corrupt_file_in_the_middle_is_recorded_and_the_batch_goes_on(first_batch) -> None:
    root, out, p = first_batch
    assert p.returncode == 1, p.stderr
    lines = {Path(x["path"]).name: x for x in progress_lines(p.stdout)}
    assert {k: v["status"] for k, v in lines.items()} == {
        "call_01.wav": "done", "call_02_corrupt.wav": "failed", "call_03.wav": "done", "call_09_stereo.wav": "done",
        "same_as_call_01.wav": "skipped",
    }
    assert "not a readable audio file" in lines["call_02_corrupt.wav"]["reason"]
    assert lines["same_as_call_01.wav"]["reason"].startswith("same audio as") and lines["same_as_call_01.wav"]["call_id"] == "call_01"
    assert "5 input(s): 3 analysed, 1 skipped, 1 failed" in p.stderr and "call_02_corrupt.wav: not a readable audio file" in p.stderr

    calls = catalog_rows(out, "SELECT call_id, call_key, audio_sha256, report_path, duration, status FROM calls ORDER BY call_id")
    assert [r["call_id"] for r in calls] == ["call_01", "call_03", "call_09_stereo"]
    for r in calls:
        doc = json.loads((out / r["report_path"]).read_text())
        assert doc["call"]["source_sha256"] == r["audio_sha256"] and r["status"] == "done" and r["duration"] > 4
        assert r["call_key"] == make_call_key(r["audio_sha256"], report_result_key(__import__("analysis").load_report(json.dumps(doc))))
        assert catalog_rows(out, "SELECT COUNT(*) AS n FROM turns WHERE call_key=?", (r["call_key"],))[0]["n"] == len(doc["turns"])
    names = catalog_rows(out, "SELECT path FROM call_names JOIN calls USING (call_key) WHERE call_id='call_01' ORDER BY path")
    assert [Path(r["path"]).name for r in names] == ["call_01.wav", "same_as_call_01.wav"]
    run = catalog_rows(out, "SELECT * FROM runs")[0]
    assert (run["status"], run["total"], run["done"], run["skipped"], run["failed"]) == ("finished", 5, 3, 1, 1)
    assert json.loads(run["rubric"])["name"] == "callreview-default" and run["tool_version"] == __version__
    assert no_partial_files(out)

    f = run_cli("failures", str(out))
    assert f.returncode == 1 and "call_02_corrupt.wav" in f.stdout and "not a readable audio file" in f.stdout and "1 file(s) failed" in f.stdout
    f = run_cli("failures", str(out), "--format", "json", "--detail")
    (row,) = [json.loads(x) for x in f.stdout.splitlines()]
    assert row["error"] == "AudioError" and "Traceback" in row["detail"] and row["call_id"] == "call_02_corrupt"


def test_rerun_skips_what_is_done_and_retries_failures(first_batch, fast_config: Path, tmp_path: Path) -> None:
    root, out0, _ = first_batch
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    src = tmp_path / "in"
    shutil.copytree(root / "in", src)  # the same recordings under other names
    p = run_cli("batch", str(src), "--out", str(out), "--config", str(fast_config), "--json-progress")
    assert p.returncode == 1
    status = {Path(x["path"]).name: (x["status"], x["reason"]) for x in progress_lines(p.stdout)}
    assert status["call_01.wav"] == ("skipped", "already analysed with these settings")
    assert status["call_02_corrupt.wav"][0] == "failed"
    assert sum(s == "skipped" for s, _ in status.values()) == 4
    names = catalog_rows(out, "SELECT path FROM call_names JOIN calls USING (call_key) WHERE call_id='call_03'")
    assert sorted(Path(r["path"]).parent.parent.name for r in names) == sorted([root.name, tmp_path.name])
    assert [r["attempts"] for r in map(json.loads, run_cli("failures", str(out), "--format", "json").stdout.splitlines())] == [1, 1]

    # the corrupt file is replaced by a good recording: the next run analyses it and resolves its failure
    shutil.copy(make_calls(tmp_path / "fix", n_mono=3, stereo=False)[2], src / "call_02_corrupt.wav")
    p = run_cli("batch", str(src), "--out", str(out), "--config", str(fast_config))
    assert p.returncode == 0, p.stderr
    assert "5 input(s): 1 analysed, 4 skipped, 0 failed" in p.stdout
    f = run_cli("failures", str(out), "--all", "--format", "json")
    rows = {Path(r["path"]).parent.parent.name: r for r in map(json.loads, f.stdout.splitlines())}
    assert rows[tmp_path.name]["resolved_at"] and rows[tmp_path.name]["attempts"] == 1
    assert rows[root.name]["resolved_at"] is None  # the original corrupt file is still corrupt
    assert f.returncode == 1


def test_changed_rubric_reanalyses_and_keeps_reviewer_notes(first_batch, fast_config: Path, tmp_path: Path) -> None:
    from analysis.catalog import Catalog

    root, out0, _ = first_batch
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    before = {r["call_id"]: r["call_key"] for r in catalog_rows(out, "SELECT call_id, call_key FROM calls")}
    with Catalog.open(out) as cat:
        cat.add_note(before["call_01"], "qa-lead", "check the greeting", start=1.0)
    rubric = tmp_path / "our_rubric.toml"
    text = default_rubric_path().read_text()
    assert re.search(r'(?m)^version = "[^"]+"$', text), "the default rubric lost its version line"
    rubric.write_text(re.sub(r'(?m)^version = "[^"]+"$', 'version = "99.0.0-test"', text, count=1))
    good = [str(root / "in" / n) for n in ("call_01.wav", "call_03.wav", "call_09_stereo.wav")]
    p = run_cli("batch", *good, "--out", str(out), "--config", str(fast_config), "--rubric", str(rubric), "--json-progress")
    assert p.returncode == 0, p.stderr
    assert [x["status"] for x in progress_lines(p.stdout)] == ["done", "done", "done"]
    after = {r["call_id"]: r for r in catalog_rows(out, "SELECT call_id, call_key, rubric_version, rubric_sha256 FROM calls")}
    assert set(after) == set(before)  # same calls, same ids: re-analysed in place
    for cid, r in after.items():
        assert r["call_key"] != before[cid] and r["call_key"][:16] == before[cid][:16]  # same audio, new settings
        assert r["rubric_version"] == "99.0.0-test"
        assert json.loads((out / f"{cid}.json").read_text())["call"]["rubric"]["version"] == "99.0.0-test"
    notes = catalog_rows(out, "SELECT call_key, text FROM notes")
    assert [(n["call_key"], n["text"]) for n in notes] == [(after["call_01"]["call_key"], "check the greeting")]
    # the same rubric again: nothing to do; --force: everything again
    p = run_cli("batch", *good, "--out", str(out), "--config", str(fast_config), "--rubric", str(rubric), "--json-progress")
    assert [x["status"] for x in progress_lines(p.stdout)] == ["skipped"] * 3
    p = run_cli("batch", good[0], "--out", str(out), "--config", str(fast_config), "--rubric", str(rubric), "--force", "--json-progress")
    assert [x["status"] for x in progress_lines(p.stdout)] == ["done"]


def test_lost_catalog_rows_are_rebuilt_from_the_reports_without_analysis(first_batch, fast_config: Path, tmp_path: Path) -> None:
    root, out0, _ = first_batch
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    (out / "catalog.sqlite").unlink()
    good = [str(root / "in" / n) for n in ("call_01.wav", "call_03.wav", "call_09_stereo.wav")]
    t0 = time.perf_counter()
    p = run_cli("batch", *good, "--out", str(out), "--config", str(fast_config), "--json-progress")
    assert p.returncode == 0, p.stderr
    lines = progress_lines(p.stdout)
    assert [x["status"] for x in lines] == ["skipped"] * 3
    assert all(x["reason"] == "report already in the folder; catalog updated from it" for x in lines)
    assert catalog_rows(out, "SELECT COUNT(*) AS n FROM calls")[0]["n"] == 3
    assert catalog_rows(out, "SELECT done FROM runs")[0]["done"] == 0
    assert time.perf_counter() - t0 < 60


def test_resume_after_kill_does_every_call_exactly_once(tmp_path: Path, fast_config: Path) -> None:
    calls = make_calls(tmp_path / "in", n_mono=3, stereo=True)
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    args = [sys.executable, "-m", "analysis.cli", "batch", str(tmp_path / "in"), "--out", str(out), "--config", str(fast_config), "--json-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    first: list[dict] = []
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            first.append(json.loads(line))
            if first[-1]["status"] == "done":
                proc.send_signal(signal.SIGKILL)  # mid-batch: the next call is being analysed
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert [x["status"] for x in first] == ["done"], first
    # nothing half-written: every report present parses; the killed run's row says so on the next start
    reports = sorted(out.glob("*.json"))
    assert [p.name for p in reports] == [f"{first[0]['call_id']}.json"]
    for p in reports:
        json.loads(p.read_text())
    time.sleep(1.5)  # the worker notices its driver is gone and exits

    p = run_cli("batch", str(tmp_path / "in"), "--out", str(out), "--config", str(fast_config), "--json-progress")
    assert p.returncode == 0, p.stderr
    second = progress_lines(p.stdout)
    done_paths = [x["path"] for x in first + second if x["status"] == "done"]
    assert sorted(done_paths) == sorted(str(c) for c in calls)  # every call analysed exactly once
    assert [x["status"] for x in second if x["path"] == first[0]["path"]] == ["skipped"]
    runs = catalog_rows(out, "SELECT status, done FROM runs ORDER BY started_at, run_id")
    assert [r["status"] for r in runs] == ["killed", "finished"] and sum(r["done"] for r in runs) == len(calls)
    assert catalog_rows(out, "SELECT COUNT(*) AS n FROM calls")[0]["n"] == len(calls)
    assert no_partial_files(out)


def test_limit_analyses_at_most_n_calls(tmp_path: Path, fast_config: Path) -> None:
    make_calls(tmp_path / "in", n_mono=2, stereo=False)
    out = tmp_path / "out"
    p = run_cli("batch", str(tmp_path / "in"), "--out", str(out), "--config", str(fast_config), "--limit", "1")
    assert p.returncode == 0, p.stderr
    assert "2 input(s): 1 analysed, 0 skipped, 0 failed, 1 not started" in p.stdout
    assert len(list(out.glob("*.json"))) == 1


def test_a_worker_that_dies_is_replaced_and_a_call_that_kills_it_alone_fails(tmp_path: Path, fast_config: Path) -> None:
    """Kill the worker (as the OOM killer would) twice: the call is run again alone, then failed with the reason."""
    import threading

    from analysis.audio import file_sha256
    from analysis.batch import LocalEngine, WorkItem

    call = make_calls(tmp_path / "in", n_mono=1, stereo=False)[0]
    item = WorkItem(str(call), "c1", file_sha256(call), Config.load(fast_config).with_overrides({"asr.cpu_threads": 1}).model_dump_json())
    engine = LocalEngine(workers=1, threads=1)
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while len(killed) < 2 and time.monotonic() < deadline:
            pool = engine._pool  # the test reaches in to find the worker's pid
            for proc in list(getattr(pool, "_processes", {}).values()) if pool else []:
                if proc.pid not in killed and proc.is_alive():
                    time.sleep(0.5)
                    os.kill(proc.pid, signal.SIGKILL)
                    killed.append(proc.pid)
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    try:
        engine.submit(item)
        t.start()
        result = engine.wait()
    finally:
        t.join(timeout=130)
        engine.close(kill=True)
    assert len(killed) == 2 and killed[0] != killed[1]  # a new worker replaced the first
    assert not result.ok and result.error == "WorkerDied"
    assert result.reason.startswith(f"{call}: the worker process analysing it died") and "also when it ran alone" in result.reason


def test_ctrl_c_stops_workers_keeps_finished_calls_and_marks_the_run(tmp_path: Path, fast_config: Path) -> None:
    make_calls(tmp_path / "in", n_mono=3, stereo=False)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "analysis.cli", "batch", str(tmp_path / "in"), "--out", str(out), "--config", str(fast_config), "--json-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    try:
        first = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert first["status"] == "done"
    assert proc.returncode == 130, err
    assert "interrupted: finished calls are saved" in err and "Traceback" not in err
    (run,) = catalog_rows(out, "SELECT status, done FROM runs")
    assert run["status"] == "interrupted" and run["done"] == 1 + len(progress_lines(rest))
    assert len(list(out.glob("*.json"))) == run["done"] and no_partial_files(out)
