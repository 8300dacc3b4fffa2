"""The `callreview` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=600
    )


def test_analyze_writes_json_and_prints_summary(tmp_path: Path) -> None:
    src = shared_file("real/faster_whisper/stereo_diarization.wav")
    p = run("analyze", str(src), "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    out = tmp_path / "stereo_diarization.json"
    doc = json.loads(out.read_text())
    assert doc["schema_version"] and doc["call"]["layout"] == "dual"
    assert "stereo_diarization" in p.stdout and "share" in p.stdout and "wpm" in p.stdout
    assert "The horizon seems extremely distant" in p.stdout


def test_bad_files_one_line_each_and_others_still_analysed(tmp_path: Path) -> None:
    good = shared_file("real/google/two_channel_16k.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("not audio\n" * 100)
    missing = tmp_path / "missing.flac"
    p = run("analyze", str(empty), str(good), str(text), str(missing), "--out", str(tmp_path / "out"))
    assert p.returncode == 1
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, p.stderr
    assert any("empty.wav: empty file" in e for e in errors)
    assert any("notes.mp3: not a readable audio file" in e for e in errors)
    assert any("missing.flac: file not found" in e for e in errors)
    assert (tmp_path / "out" / "two_channel_16k.json").exists()
    assert "1 call(s) analysed, 3 failed" in p.stdout


def test_json_format_prints_the_report(tmp_path: Path) -> None:
    src = shared_file("real/google/two_channel_16k.wav")
    p = run("analyze", str(src), "--out", str(tmp_path), "--format", "json", "--agent-channel", "right")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    assert doc["call"]["roles"]["method"] == "configured"
    roles = {s["label"]: s["role"] for s in doc["speakers"]}
    assert roles == {"left": "customer", "right": "agent"}


def test_unavailable_model_gives_clear_error(tmp_path: Path) -> None:
    src = shared_file("real/google/two_channel_16k.wav")
    p = run("analyze", str(src), "--out", str(tmp_path), "--model", "large-v3")
    assert p.returncode == 1
    assert "ASR model 'large-v3' cannot be loaded" in p.stderr
    assert "--model" in p.stderr


def test_model_directory_without_weights(tmp_path: Path) -> None:
    src = shared_file("real/google/two_channel_16k.wav")
    p = run("analyze", str(src), "--out", str(tmp_path), "--model", str(tmp_path))
    assert p.returncode == 1
    assert "has no model.bin" in p.stderr


def test_bad_config_is_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[asr]\nbeam = 3\n")
    p = run("analyze", "x.wav", "--config", str(cfg))
    assert p.returncode == 2
    assert "key 'asr.beam'" in p.stderr


def test_schema_command_prints_schema() -> None:
    p = run("schema")
    assert p.returncode == 0
    assert json.loads(p.stdout)["title"] == "CallReport"


def test_show_prints_saved_reports(tmp_path: Path) -> None:
    src = shared_file("real/faster_whisper/stereo_diarization.wav")
    assert run("analyze", str(src), "--out", str(tmp_path)).returncode == 0
    (tmp_path / "broken.json").write_text("{}")
    p = run("show", str(tmp_path))
    assert p.returncode == 1
    assert "stereo_diarization" in p.stdout and "The horizon seems extremely distant" in p.stdout
    assert "broken.json: not a callreview report" in p.stderr
