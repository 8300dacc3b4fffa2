"""Writing results: atomic files (a temporary file renamed into place), and what to say when writing fails.

A reader (or a crash) sees the old file or the whole new one, never a partial
file: data goes to ``.NAME.xxxx.tmp`` in the same folder, is fsynced, then
renamed over ``NAME``. Temporary files are created with mode 0600 (owner only),
and the rename keeps that mode, so reports are readable only by their owner.

When the disk is full (``ENOSPC``, ``EDQUOT``, ``EFBIG``) or the folder cannot
be written, the error is one line naming the path and what to do; the
temporary file is removed and the earlier file is left as it was.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import OutputError
from .records import CallReport, dump_report


FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""errno values that mean: no room for more data (disk full, quota, file size limit)."""

WHAT_TO_DO = "free disk space or choose another --out folder, then run the same command again"


def write_problem(exc: BaseException) -> str:
    """A few words on why a write failed: ``the disk is full (No space left on device)``, ``Permission denied``..."""
    err = getattr(exc, "errno", None)
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if err == errno.ENOSPC:
        return f"the disk is full ({text})"
    if err == errno.EDQUOT:
        return f"the disk quota is used up ({text})"
    if err == errno.EFBIG:
        return f"the file size limit is reached ({text})"
    return text


def ensure_output_dir(folder: str | Path) -> Path:
    """Create ``folder`` if needed and check a file can be made in it (before any long work).

    Raises
    ------
    OutputError
        The folder cannot be created (a file is in the way, no permission) or written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".callreview-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write results there ({write_problem(exc)}); choose another --out folder") from None
    return folder


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
        raise OutputError(f"{path.parent}: cannot write results there ({write_problem(exc)}); choose another --out folder") from None
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
        raise OutputError(f"{path}: cannot write: {write_problem(exc)}; {WHAT_TO_DO}; earlier results are untouched") from None
    return path


def write_report(report: CallReport, out_dir: str | Path) -> Path:
    """Write ``<out_dir>/<call_id>.json`` atomically and return its path."""
    return write_atomic(Path(out_dir) / f"{report.call.call_id}.json", dump_report(report) + "\n")
