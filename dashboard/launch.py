"""Starting the dashboard server (``callreview dashboard DIR``).

The server binds to 127.0.0.1 unless told otherwise. Any other address is
refused unless a login is configured (:func:`dashboard.auth.check_exposure`):
a password in ``CALLREVIEW_DASHBOARD_PASSWORD`` / ``CALLREVIEW_DASHBOARD_PASSWORD_HASH``
or OIDC in ``.streamlit/secrets.toml``. ``--audio-root`` folders are passed to
the app in ``CALLREVIEW_AUDIO_ROOTS`` (see :mod:`dashboard.paths`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from analysis.catalog import CATALOG_FILE

from .auth import check_exposure, is_loopback
from .errors import DashboardError
from .ingest import MAX_UPLOAD_MB
from .paths import AUDIO_ROOTS_ENV

log = logging.getLogger(__name__)

APP = Path(__file__).with_name("app.py")
ENV_DIR = "CALLREVIEW_DIR"  # read by dashboard.data.catalog_dir
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_command(
    folder: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    ssl_cert: str | Path | None = None,
    ssl_key: str | Path | None = None,
) -> list[str]:
    """The argument list that serves the dashboard on ``folder`` (headless, no usage statistics).

    ``ssl_cert`` and ``ssl_key`` (PEM files) make it serve HTTPS.
    """
    tls = ["--server.sslCertFile", str(ssl_cert), "--server.sslKeyFile", str(ssl_key)] if ssl_cert and ssl_key else []
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
        *tls,
        "--",
        str(folder),
    ]


def serve(
    folder: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    audio_roots: list[str] | None = None,
    ssl_cert: str | Path | None = None,
    ssl_key: str | Path | None = None,
) -> int:
    """Run the dashboard on ``folder`` until interrupted; returns Streamlit's exit status.

    Parameters
    ----------
    folder : str or Path
        A batch output folder.
    host : str
        Address to bind; anything but loopback needs a login configured.
    port : int
    audio_roots : list of str, optional
        More folders whose recordings the dashboard may play (besides the output
        folder and the folders the batches read).
    ssl_cert, ssl_key : path, optional
        PEM certificate and key: serve HTTPS (give both).

    Raises
    ------
    DashboardError
        When ``folder`` is not a folder, an ``--audio-root`` is not a folder, or
        only one of ``ssl_cert`` / ``ssl_key`` is given.
    DashboardExposedError
        ``host`` is a network address and no password or OIDC is configured.
    DashboardAuthError
        The login configuration is broken.
    """
    setup = check_exposure(host)
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise DashboardError(f"{folder}: no such folder; run `callreview batch RECORDINGS... --out {folder}` first")
    if bool(ssl_cert) != bool(ssl_key):
        raise DashboardError("give both --ssl-cert and --ssl-key (PEM files) to serve HTTPS, or neither")
    for f in (ssl_cert, ssl_key):
        if f and not Path(f).is_file():
            raise DashboardError(f"{f}: no such file; give the PEM certificate and key files")
    roots: list[str] = []
    for r in audio_roots or []:
        rp = Path(r).expanduser().resolve()
        if not rp.is_dir():
            raise DashboardError(f"--audio-root {r}: no such folder; give a folder holding the recordings")
        roots.append(str(rp))
    if not (folder / CATALOG_FILE).is_file():
        log.warning("%s has no catalog yet: the dashboard will say how to add calls", folder)
    if not is_loopback(host) and not ssl_cert:
        log.warning("serving on %s over plain HTTP: passwords and recordings cross the network unencrypted; "
                    "use --ssl-cert/--ssl-key or a TLS reverse proxy", host)
    env = dict(os.environ, **{ENV_DIR: str(folder)})
    if roots:
        env[AUDIO_ROOTS_ENV] = os.pathsep.join(roots)
    else:
        env.pop(AUDIO_ROOTS_ENV, None)
    scheme = "https" if ssl_cert else "http"
    print(f"callreview dashboard for {folder}: {scheme}://{host}:{port}  (login: {setup.describe()}; Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(streamlit_command(folder, host, port, ssl_cert, ssl_key), env=env)
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