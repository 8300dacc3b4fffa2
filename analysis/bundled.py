"""Model files that ship inside other PyPI packages, found without importing them.

Several models callreview runs offline come as data files of packages it never
imports (``resemblyzer/pretrained.pt``, ``whisperx/assets/pytorch_model.bin``):
importing them would pull heavy or clashing dependencies. The file is located
through the package's import spec instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import ModelUnavailableError


def package_file(package: str, relative: str, *, missing: str, broken: str) -> Path:
    """Path of a data file inside an installed package, without importing the package.

    Parameters
    ----------
    package : str
        Top-level package name, e.g. ``"resemblyzer"``.
    relative : str
        Path of the file inside the package folder, ``/``-separated.
    missing : str
        Error message when the package is not installed (say what to install).
    broken : str
        Error message when the package is installed but lacks the file;
        ``{where}`` is replaced by the folders searched.

    Returns
    -------
    Path
        The file.

    Raises
    ------
    ModelUnavailableError
        With ``missing`` or ``broken``.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(missing)
    folders = list(spec.submodule_search_locations)
    for folder in folders:
        path = Path(folder).joinpath(*relative.split("/"))
        if path.is_file():
            return path
    raise ModelUnavailableError(broken.format(where=folders))
