"""Archive roots: the folders callreview may read recordings from.

A batch reads what its inputs name: a folder input lets in files under that
folder, a glob files under its fixed part (``archive/2024-*/**/*.wav`` ->
``archive``), a single file argument that file, and a manifest CSV files under
the manifest's own folder. ``--archive-root DIR`` (``[batch] archive_roots``)
adds folders that every input may name. A path is checked *after* resolving
``..`` and symbolic links, so ``../../etc/passwd`` in a manifest, an absolute
path elsewhere, or a link inside the archive pointing out of it are refused
(the call is recorded as failed with the reason; the batch goes on).

The dashboard plays a call's recording only when it lies under the output
folder, the roots of the batches that filled the catalog, or a folder given
with ``callreview dashboard --audio-root`` (see :mod:`dashboard.paths`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import PathOutsideRootsError

MAGIC = ("*", "?", "[")


def real(path: str | Path) -> str:
    """The absolute path with ``~``, ``..`` and symbolic links resolved (the file need not exist)."""
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


def is_within(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it, both resolved with :func:`real`."""
    p, r = real(path), real(root)
    if p == r:
        return True
    try:
        return os.path.commonpath([p, r]) == r
    except ValueError:  # different drives (Windows)
        return False


def within_any(path: str | Path, roots: Iterable[str | Path]) -> bool:
    """Whether ``path`` lies under one of ``roots``."""
    return any(is_within(path, r) for r in roots)


def glob_root(pattern: str) -> str:
    """The fixed leading folder of a glob pattern (``archive/2024-*/*.wav`` -> ``archive``), absolute."""
    parts = Path(os.path.expanduser(pattern)).parts
    fixed: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return os.path.abspath(os.path.join(*fixed)) if fixed else os.path.abspath(".")


def input_root(item: str | Path) -> str:
    """The root a batch input lets files in from (absolute, not yet resolved).

    A folder: itself; a manifest CSV: its folder; a glob: its fixed part; any
    other file: the file itself.
    """
    text = os.path.expanduser(os.fspath(item))
    p = Path(text)
    if p.is_dir():
        return os.path.abspath(text)
    if p.suffix.lower() == ".csv":
        return os.path.abspath(str(p.parent))
    if any(ch in text for ch in MAGIC) and not p.exists():
        return glob_root(text)
    return os.path.abspath(text)


def absolute_roots(roots: Iterable[str | Path] | None, base: str | Path | None = None) -> list[str]:
    """``roots`` as absolute paths (relative ones taken from ``base``, default the current folder), duplicates dropped."""
    out: list[str] = []
    for r in roots or ():
        text = os.path.expanduser(os.fspath(r))
        ap = os.path.abspath(os.path.join(os.fspath(base), text) if base is not None else text)
        if ap not in out:
            out.append(ap)
    return out


def check_within(path: str | Path, roots: Sequence[str | Path], shown: str | None = None, hint: str = "") -> str:
    """The resolved ``path`` when it lies under one of ``roots``.

    Parameters
    ----------
    path : str or Path
        The path to check.
    roots : sequence of path
        Allowed folders (or files).
    shown : str, optional
        How to name the path in the message (default: ``path`` itself).
    hint : str
        What to do about it, appended to the message.

    Raises
    ------
    PathOutsideRootsError
        It lies outside every root (after ``..`` and links are resolved).
    """
    resolved = real(path)
    if within_any(resolved, roots):
        return resolved
    names = ", ".join(str(r) for r in roots) or "none"
    msg = f"{shown or path}: outside the archive roots (resolves to {resolved}; allowed: {names})"
    raise PathOutsideRootsError(msg + (f"; {hint}" if hint else ""), path=str(shown or path), resolved=resolved)
