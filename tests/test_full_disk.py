"""A full disk or an unwritable output folder: one clear line, a non-zero exit, earlier results intact.

We run as root, so permissions do not stop writes. A full disk is made two ways:

* ``RLIMIT_FSIZE`` in a child process (``SIGXFSZ`` ignored, so a write past the
  limit fails with ``EFBIG`` as it would with ``ENOSPC``): portable, always runs;
* a small tmpfs filled up (a real ``ENOSPC``): runs where mounting is permitted,
  skipped with the reason otherwise.

The batch runs are the real ``callreview batch`` on pieces of a real call with
the fast configuration of ``tests/test_batch.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import soundfile as sf

from tests.test_batch import FAST_CONFIG, make_calls
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1")


def limited(limit: int):
    """A ``preexec_fn``: files of the child may not grow past ``limit`` bytes; writes past it fail with EFBIG."""

    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return pre


def cli(*args: str, limit: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=timeout,
        preexec_fn=limited(limit) if limit else None,
    )


def snapshot(out: Path) -> dict:
    """What a finished batch folder holds: each report's bytes (hashed) and the catalog's rows for them."""
    con = sqlite3.connect(out / "catalog.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        calls = con.execute("SELECT call_key, call_id, audio_sha256, report_path, calm_tone, duration FROM calls ORDER BY call_key").fetchall()
        turns = con.execute('SELECT call_key, idx, start, "end", text FROM turns ORDER BY call_key, idx').fetchall()
        names = con.execute("SELECT call_key, path FROM call_names ORDER BY call_key, path").fetchall()
    finally:
        con.close()
    reports = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.json"))}
    return {"calls": calls, "turns": turns, "names": names, "reports": reports}


def assert_one_clear_line(p: subprocess.CompletedProcess, out: Path) -> str:
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in p.stderr
    assert str(out) in line  # names the path
    assert "free disk space or choose another --out folder" in line and "run the same command again" in line  # says what to do
    return line


def assert_earlier_results_intact(before: dict, out: Path) -> None:
    after = snapshot(out)
    for key in ("calls", "turns", "names"):
        assert set(before[key]) <= set(after[key]), key
    for name, digest in before["reports"].items():
        assert after["reports"][name] == digest, name
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> dict[str, Path]:
    """A short call (6 s) and a longer one (the whole 30 s recording: a bigger report)."""
    base = tmp_path_factory.mktemp("disk")
    (short,) = make_calls(base / "short", n_mono=1, stereo=False)
    src = SHARED / "real/pyannote/sample.wav"
    (base / "long").mkdir()
    long = base / "long" / "long_call.wav"
    data, sr = sf.read(src, dtype="float32")
    sf.write(long, data, sr)
    cfg = base / "fast.toml"
    cfg.write_text(FAST_CONFIG)
    return {"short": short, "long": long, "config": cfg}


@pytest.fixture(scope="module")
def done_once(tmp_path_factory, calls) -> Path:
    """A batch folder with the short call done (reports + catalog)."""
    out = tmp_path_factory.mktemp("base") / "out"
    p = cli("batch", str(calls["short"]), "--out", str(out), "--config", str(calls["config"]))
    assert p.returncode == 0, p.stderr
    return out


# --------------------------------------------------------------------------------------
# Writes under a full disk, one at a time (no model: quick)
# --------------------------------------------------------------------------------------


def run_python(code: str, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, env=ENV,
                          timeout=120, preexec_fn=limited(limit) if limit else None)


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "call.json"
    target.write_text("old report\n")
    p = run_python(f"""
        from analysis.output import write_atomic
        from analysis.errors import OutputError
        try:
            write_atomic({str(target)!r}, "x" * 50000)
        except OutputError as exc:
            print(exc)
        """, limit=4096)
    assert p.returncode == 0, p.stderr
    msg = p.stdout.strip()
    assert msg == (f"{target}: cannot write: the file size limit is reached (File too large); "
                   "free disk space or choose another --out folder, then run the same command again; earlier results are untouched")
    assert target.read_text() == "old report\n" and sorted(x.name for x in tmp_path.iterdir()) == ["call.json"]


def test_catalog_write_on_a_full_disk_is_one_clear_error_and_rolled_back(done_once: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(done_once, out)
    before = snapshot(out)
    report = next(out.glob("*.json"))
    # index the report again under a new call id (a new audio hash), with the catalog's files capped at 40 kB
    p = run_python(f"""
        import json
        from analysis.catalog import Catalog
        from analysis.errors import CatalogError
        from analysis.records import load_report
        doc = json.loads(open({str(report)!r}).read())
        doc["call"]["call_id"] = "copy"; doc["call"]["source_sha256"] = "f" * 64
        report = load_report(json.dumps(doc))
        try:
            with Catalog.open({str(out)!r}) as cat:
                for i in range(50):  # until the capped files are full
                    cat.upsert_call(report, "copy.json", {{}}, f"key-{{i}}", ["/x/copy.wav"])
        except CatalogError as exc:
            print(exc)
        """, limit=40_000)
    assert p.returncode == 0, p.stderr
    msg = p.stdout.strip()
    assert "\n" not in msg and msg.startswith(f"{out / 'catalog.sqlite'}: cannot write the catalog (")
    assert "free disk space or choose another --out folder, then run the same command again; earlier results are intact" in msg
    assert_earlier_results_intact(before, out)


# --------------------------------------------------------------------------------------
# The batch command on a full disk
# --------------------------------------------------------------------------------------


def test_batch_on_a_full_disk_stops_with_one_line_and_resumes(done_once: Path, calls, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(done_once, out)
    before = snapshot(out)
    # 33 kB: SQLite's shared-memory file (32 kB) still fits; the new call's report or catalog rows do not
    p = cli("batch", str(calls["short"]), str(calls["long"]), "--out", str(out), "--config", str(calls["config"]), limit=33_000)
    line = assert_one_clear_line(p, out)
    assert ("long_call.json: cannot write: the file size limit is reached" in line) or ("catalog.sqlite: cannot write the catalog" in line), line
    assert_earlier_results_intact(before, out)

    # space again: the same command finishes the job, the earlier call is not redone
    p = cli("batch", str(calls["short"]), str(calls["long"]), "--out", str(out), "--config", str(calls["config"]), "--json-progress")
    assert p.returncode == 0, p.stderr
    status = {Path(x["path"]).name: x["status"] for x in map(json.loads, p.stdout.splitlines())}
    assert status[calls["short"].name] == "skipped" and status["long_call.wav"] in ("done", "skipped")
    after = snapshot(out)
    assert len(after["calls"]) == 2 and set(before["calls"]) <= set(after["calls"])


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A 2 MB tmpfs at tmp_path/disk (root and permission to mount needed)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "callreview-test", str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip() or p.returncode}); the RLIMIT_FSIZE test covers a full disk")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    filler = folder / f"filler-{uuid.uuid4().hex[:6]}.bin"
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_batch_on_a_really_full_disk(done_once: Path, calls, small_tmpfs: Path) -> None:
    out = small_tmpfs / "out"
    shutil.copytree(done_once, out)
    before = snapshot(out)
    filler = fill(small_tmpfs, leave=64 * 1024)  # room for SQLite's files, not for the new call's report and rows
    p = cli("batch", str(calls["short"]), str(calls["long"]), "--out", str(out), "--config", str(calls["config"]))
    line = assert_one_clear_line(p, out)
    assert "the disk is full (No space left on device)" in line or "database or disk is full" in line or "disk I/O error" in line, line
    filler.unlink()  # SQLite needs room even to read (its shared-memory file): free space, then look
    assert_earlier_results_intact(before, out)


# --------------------------------------------------------------------------------------
# An output folder that cannot be one
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["a file", "under a file"])
@pytest.mark.parametrize("command", ["batch", "analyze"])
def test_unwritable_output_folder_is_one_line_before_any_analysis(calls, tmp_path: Path, where: str, command: str) -> None:
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder\n")
    out = blocker if where == "a file" else blocker / "sub"
    p = cli(command, str(calls["short"]), "--out", str(out), "--config", str(calls["config"]), timeout=60)
    assert p.returncode == 1, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    problem = "File exists" if where == "a file" else "Not a directory"
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: cannot write results there (") and problem in lines[0], p.stderr
    assert lines[0].endswith("; choose another --out folder") and "Traceback" not in p.stderr
    assert blocker.read_text() == "not a folder\n"
