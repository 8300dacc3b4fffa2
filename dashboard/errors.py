"""Exceptions of the dashboard (all derive from :class:`analysis.errors.CallReviewError`)."""

from __future__ import annotations

from analysis.errors import CallReviewError, ConfigError


class DashboardError(CallReviewError):
    """Base class of every error the dashboard raises on purpose."""


class CatalogMissingError(DashboardError):
    """The folder has no catalog (``catalog.sqlite``) yet.

    Parameters
    ----------
    folder : str
        The batch output folder the dashboard was started on.
    """

    def __init__(self, folder: str) -> None:
        self.folder = str(folder)
        super().__init__(
            f"{self.folder}: no catalog.sqlite here; run `callreview batch FILES --out {self.folder}` "
            "or analyse a call on the 'Analyse a call' page"
        )


class CallNotFoundError(DashboardError):
    """A call id or key is not in the catalog."""


class AudioMissingError(DashboardError):
    """The recording of a catalogued call cannot be found on disk."""


class UploadError(DashboardError):
    """An uploaded recording is refused (too big, wrong type)."""


class ReviewInputError(DashboardError):
    """A note or override is incomplete (no reviewer name, no reason, value out of range)."""


class AudioOutsideRootsError(AudioMissingError):
    """A catalogued call's recording lies outside the folders the dashboard may serve (its archive roots)."""


class DashboardAuthError(DashboardError, ConfigError):
    """The dashboard's login is misconfigured (malformed password hash, incomplete ``[auth]`` in secrets.toml, no Authlib)."""


class DashboardExposedError(DashboardError, ConfigError):
    """The dashboard would be served on a network address without any login; nothing was started."""
