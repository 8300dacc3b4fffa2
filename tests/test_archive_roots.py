"""Paths cannot escape the archive roots: batch manifests, links in input folders, the dashboard's audio and URLs; no shell.

The batch runs are the real ``callreview batch`` command on short pieces of a real
call (as in ``tests/test_batch.py``); the dashboard checks use the real batch
output of the sample calls (as in ``tests/test_dashboard.py``).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from analysis.batch import discover, read_manifest
from analysis.errors import PathOutsideRootsError
from analysis.roots import check_within, glob_root, input_root, is_within
from tests.test_batch import catalog_rows, make_calls, progress_lines, run_cli
from tests.test_dashboard import APP, batch_dir, work_dir  # noqa: F401  (fixtures: the shared batch output)

ROOT = Path(__file__).resolve().parents[1]
FAST_CONFIG = "[scoring]\nsemantic = false\n"


# --------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------


def test_within_resolves_dotdot_and_links(tmp_path: Path) -> None:
    (tmp_path / "archive/a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/x.wav").write_bytes(b"")
    (tmp_path / "archive/a/link.wav").symlink_to(tmp_path / "elsewhere/x.wav")
    root = tmp_path / "archive"
    assert is_within(root / "a/b.wav", root) and is_within(root, root)
    assert not is_within(root / "a/../../elsewhere/x.wav", root)
    assert not is_within(root / "a/link.wav", root)  # a link is judged by where it leads
    assert not is_within(tmp_path / "archive-2/x.wav", root)  # a sibling sharing the prefix is not inside
    assert not is_within("/etc/passwd", root)
    with pytest.raises(PathOutsideRootsError) as err:
        check_within(root / "../elsewhere/x.wav", [root], shown="../elsewhere/x.wav", hint="allow it with --archive-root DIR")
    msg = str(err.value)
    assert msg.startswith("../elsewhere/x.wav: outside the archive roots") and str(tmp_path / "elsewhere/x.wav") in msg
    assert msg.endswith("allow it with --archive-root DIR") and err.value.resolved == str(tmp_path / "elsewhere/x.wav")


def test_input_roots(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "m.csv").write_text("path\n")
    assert input_root(tmp_path / "in") == str(tmp_path / "in")
    assert input_root(tmp_path / "m.csv") == str(tmp_path)
    assert input_root(str(tmp_path / "in/2024-*/**/*.wav")) == str(tmp_path / "in")
    assert glob_root("*.wav") == os.path.abspath(".")
    assert input_root(tmp_path / "one.wav") == str(tmp_path / "one.wav")


def test_manifest_rows_outside_its_folder_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "audio").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (archive / "audio/link.wav").symlink_to(outside / "x.wav")
    man = archive / "manifest.csv"
    man.write_text(
        "path,agent\n"
        "audio/a.wav,ana\n"  # 2: fine
        f"{archive}/audio/b.wav,bo\n"  # 3: absolute, inside: fine
        "../outside/x.wav,eve\n"  # 4: climbs out
        "audio/../../outside/x.wav,eve\n"  # 5: climbs out half-way down
        "/etc/passwd,eve\n"  # 6: absolute, elsewhere
        f"{outside}/x.wav,eve\n"  # 7: absolute, elsewhere
        "audio/link.wav,eve\n"  # 8: a link leading out
    )
    rows = read_manifest(man)
    assert [r.refused is None for r in rows] == [True, True, False, False, False, False, False]
    for r in rows[2:]:
        line = r.origin.rsplit(":", 1)[1]
        assert r.refused.startswith(f"{man}: line {line}: path ") and "\n" not in r.refused
        assert f"is outside the manifest's folder {archive}" in r.refused and "--archive-root DIR" in r.refused
    assert "resolves to /etc/passwd" in rows[4].refused
    # an archive root lets the rows under it in; nothing else changes
    rows = read_manifest(man, [str(outside)])
    assert [r.refused is None for r in rows] == [True, True, True, True, False, True, True]


def test_links_out_of_input_folders_and_globs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "in/sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "in/a.wav").write_bytes(b"")
    (tmp_path / "outside/secret.wav").write_bytes(b"")
    (tmp_path / "in/sub/link.wav").symlink_to(tmp_path / "outside/secret.wav")
    for item in (str(tmp_path / "in"), str(tmp_path / "in/**/*.wav")):
        found = {Path(f.path).name: f.refused for f in discover([item])}
        assert found["a.wav"] is None
        assert found["link.wav"] and "outside the input folder" in found["link.wav"] and "--archive-root" in found["link.wav"]
        found = {Path(f.path).name: f.refused for f in discover([item], archive_roots=[str(tmp_path / "outside")])}
        assert found == {"a.wav": None, "link.wav": None}
    # a file named on the command line is the operator's explicit choice
    assert discover([str(tmp_path / "in/sub/link.wav")])[0].refused is None


def test_batch_records_refused_rows_and_goes_on(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (good,) = make_calls(archive / "audio", n_mono=1, stereo=False)
    secret_dir = tmp_path / "private"
    climb, absolute = make_calls(secret_dir, n_mono=2, stereo=False)  # real audio: refused for where it is, not what it is
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST_CONFIG)
    man = archive / "manifest.csv"
    man.write_text(f"path,call_id\naudio/{good.name},good\n../private/{climb.name},climb\n{absolute},absolute\n/etc/passwd,system\n")
    out = tmp_path / "out"
    p = run_cli("batch", str(man), "--out", str(out), "--config", str(cfg), "--json-progress")
    assert p.returncode == 1, p.stderr
    lines = {x["path"]: x for x in progress_lines(p.stdout)}
    assert {k: v["status"] for k, v in lines.items()} == {
        str(good): "done", str(climb): "failed", str(absolute): "failed", "/etc/passwd": "failed"
    }
    for path, written in ((climb, f"../private/{climb.name}"), (absolute, str(absolute)), ("/etc/passwd", "/etc/passwd")):
        reason = lines[str(path)]["reason"]
        assert reason.startswith(f"{man}: line ") and f"path {written!r} is outside the manifest's folder {archive}" in reason
        assert "--archive-root DIR" in reason and "\n" not in reason
    # recorded as failures, never opened: no hash, no report, no catalog row
    failures = catalog_rows(out, "SELECT path, error FROM failures")
    assert sorted(r["path"] for r in failures) == sorted([str(climb), str(absolute), "/etc/passwd"])
    assert {r["error"] for r in failures} == {"PathOutsideRootsError"}
    assert [r["path"] for r in catalog_rows(out, "SELECT path FROM file_hashes")] == [str(good)]
    assert [r["call_id"] for r in catalog_rows(out, "SELECT call_id FROM calls")] == ["good"]
    assert sorted(x.name for x in out.glob("*.json")) == ["good.json"]
    f = run_cli("failures", str(out))
    assert f.returncode == 1 and f.stdout.count("outside the manifest's folder") == 3
    # the run records its inputs absolute, for the dashboard's roots
    (run,) = catalog_rows(out, "SELECT inputs, config FROM runs")
    assert json.loads(run["inputs"]) == [str(man)] and json.loads(run["config"])["batch"]["archive_roots"] == []

    # allowing the private folder as an archive root lets its files in
    p = run_cli("batch", str(man), "--out", str(out), "--config", str(cfg), "--json-progress", "--archive-root", str(secret_dir))
    assert p.returncode == 1, p.stderr  # /etc/passwd is still refused
    second = {x["path"]: x for x in progress_lines(p.stdout)}
    assert {k: v["status"] for k, v in second.items()} == {
        str(good): "skipped", str(climb): "skipped", str(absolute): "done", "/etc/passwd": "failed"
    }
    assert second[str(climb)]["reason"] == f"same audio as {good}"  # the same cut of the same call
    runs = catalog_rows(out, "SELECT config FROM runs ORDER BY started_at, run_id")
    assert json.loads(runs[-1]["config"])["batch"]["archive_roots"] == [str(secret_dir)]
    # a missing archive root is a usage error
    p = run_cli("batch", str(man), "--out", str(out), "--config", str(cfg), "--archive-root", str(tmp_path / "nope"))
    assert p.returncode == 2 and "no such folder" in p.stderr and str(tmp_path / "nope") in p.stderr


# --------------------------------------------------------------------------------------
# The dashboard serves only catalogued audio under the roots
# --------------------------------------------------------------------------------------


def execute(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(folder / "catalog.sqlite")
    try:
        with con:
            return con.execute(sql, params).fetchall()
    finally:
        con.close()


def row_of(folder: Path, call_id: str) -> dict:
    con = sqlite3.connect(folder / "catalog.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return dict(con.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone())
    finally:
        con.close()


def point_call_at(folder: Path, call_id: str, path: str) -> None:
    """Make the catalog say the call's recording is at ``path`` (as a tampered or old catalog might)."""
    key = row_of(folder, call_id)["call_key"]
    execute(folder, "UPDATE calls SET source_path = ? WHERE call_key = ?", (path, key))
    execute(folder, "UPDATE call_names SET path = ? WHERE call_key = ?", (path, key))


def review(folder: Path, call: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["catalog_dir"] = str(folder)
    at.query_params["call"] = call
    return at.switch_page("views/review.py").run()


@pytest.fixture
def plain_env(monkeypatch):
    for var in ("CALLREVIEW_DASHBOARD_PASSWORD", "CALLREVIEW_DASHBOARD_PASSWORD_HASH", "CALLREVIEW_AUDIO_ROOTS"):
        monkeypatch.delenv(var, raising=False)


def test_audio_of_catalogued_calls_under_the_roots_is_served(batch_dir: Path, plain_env) -> None:
    from dashboard import data

    for call_id in ("calm_agent", "tel_billing_8k"):
        path = data.audio_file(batch_dir, row_of(batch_dir, call_id))
        assert path.is_file() and is_within(path, ROOT / "sample_audio")
    at = review(batch_dir, "calm_agent")
    assert not at.exception and len(at.get("audio")) >= 1


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_audio_outside_the_roots_is_refused(work_dir: Path, tmp_path: Path, plain_env, monkeypatch, where: str) -> None:
    from dashboard import data
    from dashboard.errors import AudioOutsideRootsError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "sample_audio/calm_agent.flac", elsewhere / "calm_agent.flac")  # a real recording, somewhere else
    path = str(elsewhere / "calm_agent.flac") if where == "absolute" else "../elsewhere/calm_agent.flac"
    point_call_at(work_dir, "calm_agent", path)
    data.call_row.clear()
    with pytest.raises(AudioOutsideRootsError) as err:
        data.audio_file(work_dir, row_of(work_dir, "calm_agent"))
    msg = str(err.value)
    assert "\n" not in msg and "outside the folders this dashboard serves" in msg and "--audio-root" in msg
    assert str(elsewhere / "calm_agent.flac") in msg
    at = review(work_dir, "calm_agent")
    assert not at.exception and not at.get("audio")
    assert any("outside the folders this dashboard serves" in w.value for w in at.warning)
    # `callreview dashboard DIR --audio-root FOLDER` allows it
    monkeypatch.setenv("CALLREVIEW_AUDIO_ROOTS", str(elsewhere))
    assert data.audio_file(work_dir, row_of(work_dir, "calm_agent")) == elsewhere / "calm_agent.flac"


def test_report_outside_the_output_folder_is_refused(work_dir: Path, tmp_path: Path, plain_env) -> None:
    from dashboard import data
    from dashboard.errors import CallNotFoundError

    shutil.copy(work_dir / row_of(work_dir, "calm_agent")["report_path"], tmp_path / "stolen.json")
    execute(work_dir, "UPDATE calls SET report_path = ? WHERE call_id = ?", ("../stolen.json", "calm_agent"))
    with pytest.raises(CallNotFoundError, match=r"\(\.\./stolen\.json\) is outside"):
        data.report_path(work_dir, row_of(work_dir, "calm_agent"))


@pytest.mark.parametrize(
    "call",
    ["../../../../etc/passwd", "/etc/passwd", "calm_agent/../rude_agent", "../calm_agent.json", str(ROOT / "sample_audio/calm_agent.flac"), "calm_agent.json"],
)
def test_call_parameter_takes_only_catalogued_call_ids(batch_dir: Path, plain_env, call: str) -> None:
    at = review(batch_dir, call)
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(f"call {call!r} is not in the catalog of ")
    assert not at.get("audio")


# --------------------------------------------------------------------------------------
# No shell
# --------------------------------------------------------------------------------------

SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"), ("pty", "spawn")}


def _python_files() -> list[Path]:
    return sorted(p for d in ("analysis", "dashboard", "scripts") for p in (ROOT / d).rglob("*.py"))


def test_no_shell_anywhere() -> None:
    """No command line is ever given to a shell: no shell=True, os.system, os.popen; subprocess gets argument lists."""
    offences: list[str] = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in SHELL_CALLS:
                offences.append(f"{where}: {f.value.id}.{f.attr}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    offences.append(f"{where}: shell=...")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "subprocess" and f.attr in ("run", "Popen", "call", "check_call", "check_output"):
                first = node.args[0] if node.args else None
                if isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    offences.append(f"{where}: subprocess.{f.attr} with a command string")
    assert not offences, offences
    assert len(_python_files()) > 30  # the scan saw the code
