"""Which recordings the dashboard may serve: only under the catalog's archive roots.

A call's audio is looked up from its catalog row (never from a path in a URL),
and served only when the file, with ``..`` and symbolic links resolved, lies
under one of:

* the output folder itself (uploads are kept in ``DIR/uploads``);
* the roots of every batch run recorded in the catalog: each input's folder
  (a folder input, a manifest's folder, a glob's fixed part, a single file)
  and the run's ``[batch] archive_roots`` (see :mod:`analysis.roots`);
* folders given with ``callreview dashboard --audio-root DIR`` (passed to the
  app in ``CALLREVIEW_AUDIO_ROOTS``, separated by ``os.pathsep``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from analysis.errors import PathOutsideRootsError
from analysis.roots import absolute_roots, check_within, input_root

from .errors import AudioOutsideRootsError

log = logging.getLogger(__name__)

AUDIO_ROOTS_ENV = "CALLREVIEW_AUDIO_ROOTS"
"""Extra folders the dashboard may serve recordings from (``os.pathsep``-separated; set by ``--audio-root``)."""


def run_roots(con: sqlite3.Connection) -> list[str]:
    """The roots of every batch run in a catalog: its inputs' folders and its ``archive_roots``.

    Runs recorded before inputs were stored as absolute paths have their
    relative inputs taken from the current folder.
    """
    out: list[str] = []
    try:
        rows = con.execute("SELECT inputs, config FROM runs").fetchall()
    except sqlite3.Error:  # a catalog without these columns has no recorded roots
        return out
    for inputs, config in rows:
        try:
            items = json.loads(inputs) if inputs else []
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, str) and item:
                out.append(input_root(item))
        try:
            cfg = json.loads(config) if config else {}
        except ValueError:
            cfg = {}
        batch = cfg.get("batch") if isinstance(cfg, dict) else None
        if isinstance(batch, dict) and isinstance(batch.get("archive_roots"), list):
            out.extend(absolute_roots(r for r in batch["archive_roots"] if isinstance(r, str)))
    return list(dict.fromkeys(out))


def extra_roots(env: Mapping[str, str] | None = None) -> list[str]:
    """Folders from :data:`AUDIO_ROOTS_ENV`."""
    env = os.environ if env is None else env
    return absolute_roots(r for r in (env.get(AUDIO_ROOTS_ENV) or "").split(os.pathsep) if r.strip())


def audio_roots(folder: str | Path, con: sqlite3.Connection, env: Mapping[str, str] | None = None) -> list[str]:
    """Every folder a recording of the catalog in ``folder`` may be served from."""
    return list(dict.fromkeys([os.path.abspath(folder), *run_roots(con), *extra_roots(env)]))


def confine_audio(path: str | Path, roots: list[str], call_id: str) -> Path:
    """``path`` resolved, when it lies under ``roots``.

    Raises
    ------
    AudioOutsideRootsError
        It lies elsewhere; the message says how to allow it.
    """
    try:
        return Path(check_within(path, roots, shown=str(path)))
    except PathOutsideRootsError as exc:
        log.warning("call %s: refused to serve %s (resolves to %s, outside the archive roots)", call_id, path, exc.resolved)
        raise AudioOutsideRootsError(
            f"the recording of call {call_id} ({path}) is outside the folders this dashboard serves "
            f"(it resolves to {exc.resolved}); if it belongs to the archive, restart with `callreview dashboard DIR --audio-root FOLDER`"
        ) from None
