#!/usr/bin/env python3
"""Dashboard speed: Call review render time, and the Calls page with 10,000 calls in the catalog.

The 10,000-call catalog is BENCHMARK DATA: it replicates the catalog rows (calls,
turns + full-text index, components, evidence, events) of real analyses of the
sample calls, with varied agents, teams, dates, scores and flags. Every
replicated call points at one of the real JSON reports and recordings.

Measured two ways, each printed:

* server: the page script's run time in Streamlit's AppTest (cold = empty caches,
  warm = the next run), i.e. the Python work of a page;
* browser: headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright), seconds
  from navigation until the page is drawn: its main element visible (Calls: the
  table; Call review: the timeline, drawn by its script; Analyse a call: the upload
  box), a text of it shown ("matching call(s)", "Transcript", "Recording") and
  Streamlit's running indicator gone (the page script has finished). Every visit
  is a new tab, i.e. a new Streamlit session, so Streamlit's own start-up in the
  page is included. Kinds of tab, pages and kinds interleaved:

  - *first after server start*: each page once, right after the server started
    (its caches empty), in a new browser profile;
  - *new tab (cache warm)*: a new tab of a browser that has opened the dashboard
    before: what a reviewer gets from a link or a second tab (Streamlit's scripts
    come from the browser's cache, where Streamlit lets them stay for a year);
  - *first visit (empty cache)*: a new browser profile each time (a first visit,
    or a private window): the browser also downloads and compiles Streamlit's
    scripts for every kind of element on the page;
  - *opened from Calls*: in an open dashboard, from clicking "Open call review"
    until the review is drawn.

  Median and best of ``--repeats`` (5) each; skipped when Chromium or Playwright is
  missing.

The machine's load average is printed before and after: on a shared machine,
compare the best times, and figures taken at similar loads.

Usage::

    .venv/bin/python scripts/bench_dashboard.py                 # analyses the samples with `callreview batch` first
    .venv/bin/python scripts/bench_dashboard.py --from DIR      # replicate an existing batch output instead
    .venv/bin/python scripts/bench_dashboard.py --calls 10000 --keep /tmp/bench10k
    .venv/bin/python scripts/bench_dashboard.py --keep /tmp/bench10k --reuse   # measure again on that catalog
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_dashboard")

SCORES = ("calm_tone", "active_listening", "empathy", "deescalation")
CHILD_TABLES = ("turns", "components", "evidence", "events", "call_names")
TEAMS = ("Billing", "Support", "Sales", "Retention", "Moves", "Outage")


def batch_samples(out: Path) -> Path:
    """Real analyses: `callreview batch` on sample_audio/ into ``out``."""
    files = sorted(str(p) for p in (ROOT / "sample_audio").iterdir() if p.suffix in (".flac", ".wav"))
    log.info("analysing %d sample calls with callreview batch (a minute or two)", len(files))
    subprocess.run([sys.executable, "-m", "analysis.cli", "batch", *files, "--out", str(out)], check=True, cwd=ROOT,
                   env=dict(os.environ, HF_HUB_OFFLINE="1"), stdout=subprocess.DEVNULL)
    return out


def columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def replicate(src: Path, dst: Path, n_calls: int, seed: int = 7) -> dict[str, str]:
    """Copy the batch output ``src`` to ``dst`` and grow its catalog to ``n_calls`` calls (benchmark data).

    Returns
    -------
    dict
        A replicated call id per real call id (for the Call review timing).
    """
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".callreview-batch.lock"))
    rng = random.Random(seed)
    con = sqlite3.connect(dst / "catalog.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    call_cols = columns(con, "calls")
    real = [dict(zip(call_cols, r)) for r in con.execute("SELECT * FROM calls WHERE status = 'done' ORDER BY call_id")]
    if not real:
        raise SystemExit(f"{src}: no analysed calls to replicate")
    agents = [f"Agent {i:02d}" for i in range(40)]
    team_of = {a: TEAMS[i % len(TEAMS)] for i, a in enumerate(agents)}
    child_cols = {t: [c for c in columns(con, t) if c not in ("call_key", "turn_id")] for t in CHILD_TABLES}
    t0 = datetime(2025, 1, 6, 8, 0)
    made: dict[str, str] = {}
    con.execute("BEGIN")
    for i in range(n_calls - len(real)):
        base = real[i % len(real)]
        row = dict(base)
        key = f"bench{i:06d}-{base['call_key'][-16:]}"
        agent = rng.choice(agents)
        row.update(
            call_key=key,
            call_id=f"{base['call_id']}-b{i:05d}",
            agent=agent,
            team=team_of[agent],
            started_at=(t0 + timedelta(minutes=rng.randrange(0, 26 * 7 * 24 * 60))).isoformat(timespec="seconds"),
        )
        for s in SCORES:
            if base.get(s) is not None:
                row[s] = round(min(100.0, max(0.0, base[s] + rng.gauss(0, 15))), 1)
        for flag in ("interruptions", "raised_voice", "dead_air", "escalation_asked"):
            if flag in row:
                row[flag] = max(0, int((base.get(flag) or 0) + rng.choice((-1, 0, 0, 0, 1))))
        con.execute(f"INSERT INTO calls ({', '.join(call_cols)}) VALUES ({', '.join('?' * len(call_cols))})", [row[c] for c in call_cols])
        for t, cols in child_cols.items():
            con.execute(
                f"INSERT INTO {t} (call_key, {', '.join(cols)}) SELECT ?, {', '.join(cols)} FROM {t} WHERE call_key = ?",
                (key, base["call_key"]),
            )
        made.setdefault(base["call_id"], row["call_id"])
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = con.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    turns = con.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    con.close()
    log.info("benchmark catalog: %d calls, %d turns (replicated from %d real calls)", total, turns, len(real))
    return made


# --------------------------------------------------------------------------------------
# Server-side: AppTest
# --------------------------------------------------------------------------------------


def apptest_times(folder: Path, call_id: str) -> dict[str, tuple[float, float]]:
    """(cold, warm) script run times, seconds, per page."""
    from streamlit.testing.v1 import AppTest

    from dashboard import data

    def timed(fn):
        t = time.perf_counter()
        at = fn()
        dt = time.perf_counter() - t
        if at.exception:
            raise SystemExit(f"page failed: {[e.value for e in at.exception]}")
        return dt

    app = str(ROOT / "dashboard" / "app.py")
    out: dict[str, tuple[float, float]] = {}
    at = AppTest.from_file(app, default_timeout=300)
    at.session_state["catalog_dir"] = str(folder)
    at.run()  # imports (pandas, analysis) happen here: not part of any page
    data.list_calls.clear(), data.facets.clear()
    cold = timed(at.run)
    warm = timed(at.run)
    out["Calls (all calls)"] = (cold, warm)
    at.text_input(key="keep_calls_search").input("manager")
    cold = timed(at.run)
    warm = timed(at.run)
    out["Calls (search 'manager')"] = (cold, warm)
    at.text_input(key="keep_calls_search").input("")
    at.run()
    at.query_params["call"] = call_id
    at.switch_page("views/review.py")
    cold = timed(at.run)
    warm = timed(at.run)
    out[f"Call review ({call_id})"] = (cold, warm)
    at.switch_page("views/team.py")
    out["Team overview"] = (timed(at.run), timed(at.run))
    at.switch_page("views/coaching.py")
    out["Agent coaching"] = (timed(at.run), timed(at.run))
    return out


# --------------------------------------------------------------------------------------
# Browser: Chromium
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
"""Streamlit has finished running the page script (its running indicator is gone)."""

COLD = "first visit (empty cache)"
WARM = "new tab (cache warm)"


def _drawn(page, selector: str, text: str) -> None:
    """Wait until the page is drawn: its main element visible, a text of it shown, the script finished."""
    page.locator(selector).first.wait_for(timeout=120000)
    page.get_by_text(text).first.wait_for(timeout=120000)
    page.wait_for_function(IDLE, timeout=120000)


def browser_times(folder: Path, call_id: str, n_calls: int, repeats: int = 5) -> dict[str, dict[str, list[float]]] | str:
    """Seconds from navigation to a drawn page, per page and per kind of tab (see the module docstring)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return "skipped: /usr/bin/chromium not installed"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright not installed"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", "dashboard", str(folder), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    viewport = {"width": 1440, "height": 1000}
    try:
        for _ in range(180):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        out: dict[str, dict[str, list[float]]] = {}
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            # page: (address, its main element, a text it shows once drawn)
            pages = {
                "Analyse a call (no data: Streamlit start-up)": (url + "/analyse", "[data-testid='stFileUploader']", "Recording"),
                f"Calls ({n_calls:,} calls)": (url + "/", "[data-testid='stDataFrame'] canvas", "matching call(s)"),
                f"Call review ({call_id})": (url + f"/review?call={call_id}", ".cr-timeline svg", "Transcript"),
            }
            warm = b.new_context(viewport=viewport)  # one browser profile: its cache fills on the first visits
            tabs = {COLD: lambda: b.new_page(viewport=viewport), WARM: warm.new_page}
            for name, (target, selector, text) in pages.items():  # first visits after the server started
                page = b.new_page(viewport=viewport)
                t = time.perf_counter()
                page.goto(target)
                _drawn(page, selector, text)
                out.setdefault(name, {})["first after server start"] = [time.perf_counter() - t]
                page.close()
                page = warm.new_page()
                page.goto(target)
                _drawn(page, selector, text)
                page.close()
            for _ in range(repeats):  # pages and kinds of tab interleaved, so load peaks spread over all
                for name, (target, selector, text) in pages.items():
                    for kind, new_tab in tabs.items():
                        page = new_tab()
                        t = time.perf_counter()
                        page.goto(target)
                        _drawn(page, selector, text)
                        out[name].setdefault(kind, []).append(time.perf_counter() - t)
                        page.close()
            # what a reviewer waits for in an open dashboard: "Open call review" on the Calls page
            name = f"Call review ({call_id}), opened from Calls"
            for _ in range(repeats):
                page = warm.new_page()
                page.goto(url + "/")
                _drawn(page, "[data-testid='stDataFrame'] canvas", "matching call(s)")
                box = page.get_by_role("textbox", name="Call id")
                box.fill(call_id)
                box.press("Enter")
                page.wait_for_function(IDLE, timeout=120000)
                page.get_by_role("combobox", name="Sort").click()
                page.get_by_role("option", name="Call id A-Z").click()
                page.wait_for_function(IDLE, timeout=120000)
                page.wait_for_timeout(300)
                t = time.perf_counter()
                page.get_by_role("button", name="Open call review").click()
                page.get_by_role("heading", name=f"Call review · {call_id}").wait_for(timeout=120000)
                _drawn(page, ".cr-timeline svg", "Transcript")
                out.setdefault(name, {}).setdefault("same tab", []).append(time.perf_counter() - t)
                page.close()
            b.close()
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def reusable(bench: Path, n_calls: int) -> list[str] | None:
    """The real call ids of a benchmark folder made by an earlier ``--keep`` run with ``n_calls`` calls, else None."""
    db = bench / "catalog.sqlite"
    if not db.is_file():
        return None
    con = sqlite3.connect(db)
    try:
        if con.execute("SELECT COUNT(*) FROM calls").fetchone()[0] != n_calls:
            return None
        return [r[0] for r in con.execute("SELECT call_id FROM calls WHERE call_key NOT LIKE 'bench%' AND status = 'done' ORDER BY call_id")]
    finally:
        con.close()


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="src", metavar="DIR", help="a batch output folder to replicate (default: analyse sample_audio/)")
    ap.add_argument("--calls", type=int, default=10000, help="calls in the benchmark catalog (default 10000)")
    ap.add_argument("--keep", metavar="DIR", help="build the benchmark folder here and keep it")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use DIR/bench as it is when it already holds --calls calls")
    ap.add_argument("--repeats", type=int, default=5, help="browser timings per page and kind of tab (default 5)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    try:
        bench = work / "bench"
        real = reusable(bench, args.calls) if args.keep and args.reuse else None
        if real:
            log.info("reusing %s (%d calls)", bench, args.calls)
        else:
            src = Path(args.src) if args.src else (work / "real" if (work / "real" / "catalog.sqlite").is_file() and args.reuse else batch_samples(work / "real"))
            t = time.perf_counter()
            real = list(replicate(src, bench, args.calls))
            log.info("built in %.1f s: %s", time.perf_counter() - t, bench)
        review_call = "rude_agent" if "rude_agent" in real else real[0]
        print(f"\nBenchmark data: {args.calls:,} calls replicated from real analyses of {len(real)} sample calls ({bench})")
        print(f"{os.cpu_count()} CPU(s); {_load()} before measuring")
        print("\nServer (AppTest script run time, s)          cold    warm")
        for name, (cold, warm) in apptest_times(bench, review_call).items():
            print(f"  {name:<42} {cold:6.2f}  {warm:6.2f}")
        if not args.no_browser:
            res = browser_times(bench, review_call, args.calls, args.repeats)
            print("\nBrowser (headless Chromium, s from navigation until the page is drawn; median and best of each)")
            if isinstance(res, str):
                print(f"  {res}")
            else:
                for name, kinds in res.items():
                    print(f"  {name}")
                    for kind, times in kinds.items():
                        figure = f"{times[0]:.2f}" if len(times) == 1 else f"median {statistics.median(times):.2f}, best {min(times):.2f} (of {len(times)})"
                        print(f"    {kind:<28} {figure}")
        print(f"\n{_load()} after measuring")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
