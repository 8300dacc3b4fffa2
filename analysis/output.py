"""Writing results: atomic files (a temporary file renamed into place)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError
from .records import CallReport, dump_report


def write_atomic(path: str | Path, data: str | bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The data goes to a temporary file in the same folder, is flushed (and
    fsynced), then renamed over ``path``.

    Raises
    ------
    OutputError
        When the folder cannot be created or written.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write results there ({exc.strerror or exc}); choose another --out folder") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); earlier results are untouched") from None
    return path


def write_report(report: CallReport, out_dir: str | Path) -> Path:
    """Write ``<out_dir>/<call_id>.json`` atomically and return its path."""
    return write_atomic(Path(out_dir) / f"{report.call.call_id}.json", dump_report(report) + "\n")
