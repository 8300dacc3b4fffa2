"""Exceptions raised by callreview.

Every error the library raises on purpose derives from :class:`CallReviewError`
and carries a message a user can act on: which file, what is wrong, what to do.
"""

from __future__ import annotations


class CallReviewError(Exception):
    """Base class of every error callreview raises on purpose."""


class AudioError(CallReviewError):
    """An audio file cannot be read or is not usable as a call recording.

    Parameters
    ----------
    path : str
        The file at fault.
    problem : str
        What is wrong, in a few words.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.hint = hint
        msg = f"{self.path}: {problem}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class ConfigError(CallReviewError):
    """A configuration file or option is invalid."""


class RubricError(ConfigError):
    """A scoring rubric file is missing or invalid (the message names the key and line)."""


class ModelUnavailableError(CallReviewError):
    """A model (ASR, diarisation, embedding) cannot be loaded."""


class OutputError(CallReviewError):
    """A result cannot be written where it was asked to go."""


class SchemaError(CallReviewError):
    """A report document does not match the callreview JSON schema."""


class BatchInputError(ConfigError):
    """A batch input (folder, glob, manifest CSV, file-name pattern) is unusable; nothing was analysed."""


class BatchLockedError(ConfigError):
    """Another ``callreview batch`` is writing the same output folder."""


class CatalogError(CallReviewError):
    """The catalog database (``catalog.sqlite``) cannot be opened, read or upgraded."""


class PathOutsideRootsError(CallReviewError):
    """A path (in a manifest, a catalog row, a request) resolves outside the archive roots callreview may read.

    Parameters
    ----------
    message : str
        The whole message: the path as written, where it resolves, the allowed roots, what to do.
    path : str
        The path as written.
    resolved : str
        Where it leads once ``..`` and links are resolved.
    """

    def __init__(self, message: str, path: str = "", resolved: str = "") -> None:
        self.path = path
        self.resolved = resolved
        super().__init__(message)
