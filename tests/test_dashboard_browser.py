"""End to end: `callreview dashboard DIR` on a real batch output, driven in headless Chromium.

Debian's ``chromium`` (``/usr/bin/chromium``; ``scripts/setup.sh --test`` installs it)
is driven by Playwright's Python package; no browser is downloaded. The journey:
open Calls, filter, open a call, play an evidence moment (the audio element's
current time moves past the moment's start), add a review note, export the report.
Screenshots of every page go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_dashboard import build_batch_output

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed ({CHROMIUM} missing): apt-get install chromium, or scripts/setup.sh --test")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, browser):
    """`callreview dashboard` serving a copy of the batch output; yields (url, folder)."""
    batch = build_batch_output(tmp_path_factory.getbasetemp() / "dashboard")
    folder = tmp_path_factory.mktemp("browser") / "out"
    shutil.copytree(batch, folder)
    port = _free_port()
    log = open(folder.parent / "dashboard.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "dashboard", str(folder), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"the dashboard did not start:\n{(folder.parent / 'dashboard.log').read_text()}")
            time.sleep(0.5)
        yield url, folder
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the launcher and its streamlit server (our own process group)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def settle(page, timeout: float = 60.0) -> None:
    """Wait until Streamlit has finished running the script (its 'Running...' widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout * 1000
    )
    page.wait_for_timeout(200)


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def sql(folder: Path, query: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(folder / "catalog.sqlite")
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_review_journey_in_chromium(dashboard, browser) -> None:
    url, folder = dashboard
    page = browser.new_page(viewport={"width": 1440, "height": 2200}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. Calls: every call listed
    page.goto(url)
    page.get_by_role("heading", name="Calls").wait_for(timeout=60000)
    settle(page)
    total = sql(folder, "SELECT COUNT(*) FROM calls")[0][0]
    page.get_by_text(f"{total} matching call(s)").wait_for()
    shot(page, "01-calls.png")

    # 2. Filter: full-text search for what customers say when they escalate
    said = sorted(
        {r[0] for r in sql(folder, "SELECT c.call_id FROM turns t JOIN calls c USING(call_key) WHERE lower(t.text) LIKE '%manager%'")}
    )
    assert said, "a sample call mentions a manager"
    box = page.get_by_role("textbox", name="Search transcripts")
    box.fill("manager")
    box.press("Enter")
    page.get_by_text(f"{len(said)} matching call(s)").wait_for(timeout=30000)
    settle(page)
    shot(page, "02-calls-filtered.png")

    # 3. Open a call (the first match, preselected in "Call to open")
    call_id = "rude_agent" if "rude_agent" in said else said[0]
    page.get_by_role("button", name="Open call review").click()
    page.get_by_role("heading", name=f"Call review · {call_id}").wait_for(timeout=60000)
    timeline = page.locator(".cr-timeline")
    timeline.locator("svg").wait_for(timeout=30000)
    settle(page)
    assert f"call={call_id}" in page.url
    shot(page, "03-call-review.png")
    # "How this score is computed" shows the score's explanation and parts (and hides them again)
    panel = page.locator(".cr-panel").first
    assert not panel.is_visible()
    page.get_by_text("How this score is computed").first.click()
    panel.locator("table.parts").wait_for(timeout=10000)
    page.get_by_text("How this score is computed").first.click()
    panel.wait_for(state="hidden", timeout=10000)
    # the timeline is drawn (a lane per speaker, both contours) and zooms with the wheel, pans with a drag
    assert timeline.locator("svg path[stroke]").count() >= 4, "pitch and loudness of both speakers"
    first = timeline.get_attribute("data-window")
    whole = [float(v) for v in first.split(",")]
    box = timeline.locator("svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 60)
    page.mouse.wheel(0, -500)
    page.wait_for_function(f"() => document.querySelector('.cr-timeline').dataset.window !== '{first}'")
    zoomed = [float(v) for v in timeline.get_attribute("data-window").split(",")]
    assert zoomed[1] - zoomed[0] < (whole[1] - whole[0]) * 0.8, (whole, zoomed)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 60, steps=4)
    page.mouse.up()
    page.wait_for_timeout(200)
    panned = [float(v) for v in timeline.get_attribute("data-window").split(",")]
    assert panned[0] > zoomed[0] and panned[1] - panned[0] == pytest.approx(zoomed[1] - zoomed[0], abs=0.05), (zoomed, panned)

    # 4. Play an evidence moment: the audio plays from it and the timeline jumps there
    report = json.loads((folder / sql(folder, "SELECT report_path FROM calls WHERE call_id=?", (call_id,))[0][0]).read_text())
    starts = sorted(  # the list shows the moments that hurt or helped a score
        {ev["start"] for s in report["scores"] for c in s["components"] for ev in c["evidence"] if ev["start"] >= 5 and ev["effect"] != "neutral"}
    )
    assert starts, "the call has evidence moments"
    start = starts[len(starts) // 2]
    label = f"{int(start) // 60}:{int(start) % 60:02d}"
    page.get_by_role("button", name=f"▶ {label}").first.click()
    page.get_by_text(re.compile(rf"Playing from\s+{re.escape(label)}")).wait_for(timeout=30000)
    settle(page)
    lo, hi = [float(v) for v in page.locator(".cr-timeline").get_attribute("data-window").split(",")]
    assert lo <= start <= hi and hi - lo < 40, f"the timeline shows the moment ({lo}-{hi} s around {start} s)"
    current = 0.0
    deadline = time.time() + 30
    while time.time() < deadline:
        current = page.evaluate("() => { const a = document.querySelector('audio'); return a ? a.currentTime : -1 }")
        if current > start:
            break
        page.wait_for_timeout(250)
    assert current > start, f"the audio element's time ({current:.2f} s) never passed the moment's start ({start:.2f} s)"
    shot(page, "04-evidence-playing.png")

    # 5. Add a review note (the reviewer's name comes from the sidebar)
    reviewer = page.get_by_role("textbox", name="Reviewer")
    reviewer.fill("Quinn QA")
    reviewer.press("Enter")
    settle(page)
    note = "Cut the customer off; coach on letting them finish."
    page.get_by_role("textbox", name="Add a note").fill(note)
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Note saved.").wait_for(timeout=30000)
    settle(page)
    rows = sql(folder, "SELECT n.reviewer, n.text, n.start FROM notes n JOIN calls c USING(call_key) WHERE c.call_id=?", (call_id,))
    assert rows == [("Quinn QA", note, pytest.approx(start))]
    page.get_by_text(note).first.wait_for()
    shot(page, "05-note-added.png")

    # 6. Export the printable report (HTML, with its charts) and the JSON
    with page.expect_download(timeout=60000) as dl:
        page.get_by_role("button", name="Printable report (HTML)").click()
    html = Path(dl.value.path()).read_text(encoding="utf-8")
    assert f"Call review: {call_id}" in html and html.count("<svg") == 3
    assert "Quinn QA" in html and "Cut the customer off; coach on letting them finish." in html
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"call-report-{call_id}.html").write_text(html, encoding="utf-8")
    with page.expect_download(timeout=60000) as dl:
        page.get_by_role("button", name="Report (JSON)").click()
    assert json.loads(Path(dl.value.path()).read_text())["call"]["call_id"] == call_id

    # 7. The other pages, through the navigation
    page.get_by_role("link", name="Analyse a call").click()
    page.get_by_role("heading", name="Analyse a call").wait_for(timeout=30000)
    settle(page)
    shot(page, "06-analyse.png")
    page.get_by_role("link", name="Agent coaching").click()
    page.get_by_role("heading", name="Agent coaching").wait_for(timeout=30000)
    page.locator(".vega-embed").first.wait_for(timeout=30000)
    settle(page)
    shot(page, "07-coaching.png")
    page.get_by_role("link", name="Team overview").click()
    page.get_by_role("heading", name="Team overview").wait_for(timeout=30000)
    page.locator(".vega-embed").first.wait_for(timeout=30000)
    settle(page)
    shot(page, "08-team.png")
    assert not errors, errors
    page.close()
