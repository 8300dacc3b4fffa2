"""Starting the dashboard server (``callreview dashboard DIR``)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from analysis.catalog import CATALOG_FILE

from .errors import DashboardError
from .ingest import MAX_UPLOAD_MB

log = logging.getLogger(__name__)

APP = Path(__file__).with_name("app.py")
ENV_DIR = "CALLREVIEW_DIR"  # read by dashboard.data.catalog_dir
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_command(folder: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The argument list that serves the dashboard on ``folder`` (headless, no usage statistics)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(int(port)),
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--",
        str(folder),
    ]


def serve(folder: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Run the dashboard on ``folder`` until interrupted; returns Streamlit's exit status.

    Raises
    ------
    DashboardError
        When ``folder`` is not a folder.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise DashboardError(f"{folder}: no such folder; run `callreview batch RECORDINGS... --out {folder}` first")
    if not (folder / CATALOG_FILE).is_file():
        log.warning("%s has no catalog yet: the dashboard will say how to add calls", folder)
    env = dict(os.environ, **{ENV_DIR: str(folder)})
    print(f"callreview dashboard for {folder}: http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(streamlit_command(folder, host, port), env=env)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated launcher stops its server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt