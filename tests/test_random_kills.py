"""SIGKILL at seeded-random moments, several runs in a row, then one run to the end.

A power cut does not wait for a good moment: each run of the real ``callreview
batch`` (driver and worker processes, one process group) is killed with SIGKILL
after a random delay drawn from a fixed seed, wherever it is (starting up,
loading models, analysing, writing a report, committing to the catalog). After
every kill the folder must hold only whole reports and a sound catalog; after
the last, uninterrupted run every call is in the catalog exactly once, was
analysed to completion at most once, and no partial file is left.

Same short real recordings and fast configuration as ``tests/test_batch.py``.
``CALLREVIEW_KILL_SEED`` changes the seed (the kill moments are in every failure message).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from analysis.records import load_report
from tests.test_batch import catalog_rows, make_calls, progress_lines, run_cli

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("CALLREVIEW_KILL_SEED", "7"))
MOMENTS = [("start", (1.0, 14.0)), ("done", (0.0, 0.6)), ("done", (0.0, 0.6))]
"""When each run is killed: ``start``: a random number of seconds after it starts (start-up, model loading,
the first call); ``done``: after its first finished call, a random fraction of the time that call took (so,
whatever the machine's speed, while it analyses, writes and indexes the next one)."""


def kill_after(args: list[str], anchor: str, amount: float) -> tuple[list[dict], bool]:
    """Start the batch; SIGKILL its whole process group at the moment ``anchor``/``amount`` (see :data:`MOMENTS`).

    Returns its progress lines, and whether it ended before the kill.
    """
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, start_new_session=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1"),
    )
    lines: list[dict] = []
    first_done = threading.Event()

    def read() -> None:
        for text in proc.stdout:
            if text.startswith("{"):
                lines.append(json.loads(text))
                if lines[-1]["status"] == "done":
                    first_done.set()
        first_done.set()  # the run ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        delay = amount
        if anchor == "done":
            first_done.wait(timeout=240)
            done = [x for x in lines if x["status"] == "done"]
            delay = amount * (done[0]["seconds"] or 1.0) if done else 0.0
        proc.wait(timeout=max(0.01, delay))
        ended = True
    except subprocess.TimeoutExpired:
        ended = False
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # driver, workers, resource tracker: as a power cut would
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        reader.join(timeout=30)
    return lines, ended


def assert_sound(out: Path, context: str) -> None:
    """Only whole reports; a catalog that passes SQLite's integrity check and whose rows point at matching reports."""
    for p in out.glob("*.json"):
        load_report(p.read_bytes(), source=str(p))  # raises on a partial or corrupt report
    if not (out / "catalog.sqlite").exists():
        return
    con = sqlite3.connect(out / "catalog.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", context
        assert con.execute("PRAGMA foreign_key_check").fetchall() == [], context
        rows = con.execute("SELECT call_id, audio_sha256, report_path FROM calls").fetchall()
    finally:
        con.close()
    for call_id, sha, rel in rows:
        report = json.loads((out / rel).read_text())
        assert report["call"]["source_sha256"] == sha and report["call"]["call_id"] == call_id, context


def test_sigkill_at_random_moments_then_resume(tmp_path: Path) -> None:
    calls = make_calls(tmp_path / "in", n_mono=3, stereo=True)
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[scoring]\nsemantic = false\n")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "analysis.cli", "batch", str(tmp_path / "in"), "--out", str(out), "--config", str(cfg), "--json-progress"]
    rng = random.Random(SEED)
    moments = [(anchor, round(rng.uniform(*span), 2)) for anchor, span in MOMENTS]
    history: list[list[dict]] = []
    ended_alone = 0
    for i, (anchor, delay) in enumerate(moments):
        lines, ended = kill_after(args, anchor, delay)
        history.append(lines)
        ended_alone += ended
        context = f"seed {SEED}, kills {moments}, after kill {i + 1}" + (" (the run had ended before it)" if ended else "")
        assert_sound(out, context)

    p = run_cli("batch", str(tmp_path / "in"), "--out", str(out), "--config", str(cfg), "--json-progress")
    context = f"seed {SEED}, kills {moments}, progress {[[(x['path'][-11:], x['status']) for x in h] for h in history]}"
    assert p.returncode == 0, (context, p.stderr)
    final = progress_lines(p.stdout)
    history.append(final)
    assert_sound(out, context)

    # the last run saw every call once, and finished each (done now, or skipped: done by an earlier run)
    assert sorted(x["path"] for x in final) == sorted(map(str, calls)), context
    assert {x["status"] for x in final} <= {"done", "skipped"}, context
    # no call was analysed to completion twice: a call done by one run is skipped by the next
    for c in map(str, calls):
        assert sum(x["status"] == "done" for h in history for x in h if x["path"] == c) <= 1, (c, context)
    # the catalog holds each call once, with its report and its names, nothing twice
    rows = catalog_rows(out, "SELECT call_key, call_id, report_path FROM calls ORDER BY call_id")
    assert len(rows) == len(calls) and len({r["call_key"] for r in rows}) == len(calls), context
    assert sorted(p.name for p in out.glob("*.json")) == sorted(r["report_path"] for r in rows), context
    for r in rows:
        n_turns = len(json.loads((out / r["report_path"]).read_text())["turns"])
        assert catalog_rows(out, "SELECT COUNT(*) AS n FROM turns WHERE call_key = ?", (r["call_key"],))[0]["n"] == n_turns, context
    names = [r["path"] for r in catalog_rows(out, "SELECT path FROM call_names")]
    assert sorted(names) == sorted(map(str, calls)), context
    done_by_runs = sum(r["done"] for r in catalog_rows(out, "SELECT done FROM runs"))
    assert done_by_runs <= len(calls), context
    # every run killed after it had begun is marked killed; the last finished; nothing partial is left
    statuses = [r["status"] for r in catalog_rows(out, "SELECT status FROM runs ORDER BY started_at, run_id")]
    assert statuses[-1] == "finished" and len(statuses) <= len(MOMENTS) + 1, (statuses, context)
    assert set(statuses[:-1]) <= {"killed", "finished"} and statuses[:-1].count("finished") <= ended_alone, (statuses, context)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".callreview-probe")], context
    assert (out / ".callreview-batch.lock").read_text() == "", context  # released
