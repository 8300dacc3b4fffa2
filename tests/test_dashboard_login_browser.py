"""End to end: the password gate of `callreview dashboard DIR --host 0.0.0.0`, in headless Chromium.

The dashboard is served on every interface with ``CALLREVIEW_DASHBOARD_PASSWORD``
set; a deep link to a call shows only the sign-in form (no call id, no audio
element in the page), a wrong password is refused, the right one opens the
dashboard. Started the other way, ``streamlit run dashboard/app.py -- DIR``, which
listens on every interface, the app itself refuses to show anything without a login.
Screenshot: ``test-artifacts/screenshots/00-sign-in.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_dashboard import build_batch_output
from tests.test_dashboard_browser import _free_port, browser, settle, shot  # noqa: F401 - browser is a fixture

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.slow


def serve(cmd: list[str], base: Path, port: int, **env_extra: str):
    """Start a dashboard server (own process group); returns (process, log file) once it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLREVIEW_DASHBOARD_")}
    env.update(HF_HUB_OFFLINE="1", HOME=str(base), PYTHONPATH=str(ROOT), **env_extra)
    log = open(base / f"dashboard-{port}.log", "w")
    proc = subprocess.Popen(cmd, cwd=base, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, log
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop(proc, log)
            pytest.fail(f"the dashboard did not start:\n{(base / f'dashboard-{port}.log').read_text()}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen, log) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    log.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    batch = build_batch_output(tmp_path_factory.getbasetemp() / "dashboard")
    out = tmp_path_factory.mktemp("login") / "out"
    shutil.copytree(batch, out)
    return out


@pytest.fixture(scope="module")
def gated(folder: Path, browser):  # noqa: F811 - the imported fixture
    """`callreview dashboard --host 0.0.0.0` with a password; yields (url, folder)."""
    port = _free_port()
    proc, log = serve(
        [sys.executable, "-m", "analysis.cli", "dashboard", str(folder), "--host", "0.0.0.0", "--port", str(port)],
        folder.parent, port, CALLREVIEW_DASHBOARD_PASSWORD=PASSWORD,
    )
    try:
        yield f"http://127.0.0.1:{port}", folder
    finally:
        stop(proc, log)


def test_password_gate_in_chromium(gated, browser) -> None:  # noqa: F811
    url, folder = gated
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/review?call=calm_agent")
    box = page.get_by_label("Password", exact=True)
    box.wait_for(timeout=60000)
    settle(page)
    shot(page, "00-sign-in.png")
    body = page.inner_text("body")
    assert "calm_agent" not in body and "rude_agent" not in body and str(folder) not in body
    assert page.locator("audio").count() == 0

    box.fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong password.").wait_for(timeout=30000)
    assert "calm_agent" not in page.inner_text("body")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in (password)").wait_for(timeout=60000)
    page.get_by_role("heading", name="Call review · calm_agent").wait_for(timeout=60000)  # the link it was opened with
    settle(page)
    assert not page.get_by_label("Password", exact=True).count()


def test_streamlit_run_on_every_interface_without_a_login_shows_nothing(folder: Path, browser) -> None:  # noqa: F811
    port = _free_port()
    proc, log = serve(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard/app.py"), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false", "--", str(folder)],
        folder.parent, port,
    )
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/review?call=calm_agent")
        page.get_by_text("is served on 0.0.0.0 without a login, so it shows nothing").wait_for(timeout=60000)
        settle(page)
        body = page.inner_text("body")
        assert "calm_agent" not in body.replace("call=calm_agent", "") and page.locator("audio").count() == 0
        assert "Calls" not in body and "Password" not in body
    finally:
        stop(proc, log)
