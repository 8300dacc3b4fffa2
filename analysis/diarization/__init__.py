"""Who spoke when: diarisation backends behind one interface.

Backends
--------
channels
    Dual-channel recordings: each channel is one speaker, active where its own
    voice is (labels ``left``, ``right``).
pyannote
    A pyannote.audio pipeline (default ``pyannote/speaker-diarization-community-1``,
    gated; or a local folder / config.yaml). See :mod:`.pyannote_backend`.
cluster
    Offline default for mono calls: Silero voice activity, GE2E speaker
    embeddings, spectral clustering, smoothing, overlap at turn exchanges. See
    :mod:`.cluster`.
auto
    Dual-channel -> channels; mono -> pyannote when its pipeline can be loaded,
    else cluster (the reason is recorded in the warnings).

Use::

    from analysis.diarization import diarize
    result = diarize(signal, 16000, config.diarization)
    for seg in result.segments:
        print(seg.start, seg.end, seg.speaker)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..config import DiarizationConfig
from ..errors import ModelUnavailableError
from .attribution import attribute_words

log = logging.getLogger(__name__)

__all__ = ["Diarization", "SpeakerSegment", "attribute_words", "diarize", "read_rttm"]

ANALYSIS_RATE = 16000


@dataclass(frozen=True)
class SpeakerSegment:
    """A stretch of time in which one speaker talks (segments of different speakers may overlap)."""

    start: float
    end: float
    speaker: str


@dataclass
class Diarization:
    """Result of :func:`diarize`.

    Attributes
    ----------
    segments : list of SpeakerSegment
        Sorted by start time; may overlap where two people talk at once.
    backend : str
        The backend that produced them: ``channels``, ``pyannote`` or ``cluster``.
    warnings : list of str
        Fallbacks and doubts, worded for the report.
    overlaps : list of (start, end)
        Cluster backend: where two or more people talk at once
        (:mod:`.overlap`); its segments give one speaker per moment. Empty for
        the other backends (their segments overlap where people do).
    """

    segments: list[SpeakerSegment]
    backend: str
    warnings: list[str] = field(default_factory=list)
    overlaps: list[tuple[float, float]] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in order of first appearance."""
        out: list[str] = []
        for seg in self.segments:
            if seg.speaker not in out:
                out.append(seg.speaker)
        return out

    def tuples(self) -> list[tuple[float, float, str]]:
        """Segments as ``(start, end, speaker)`` tuples."""
        return [(s.start, s.end, s.speaker) for s in self.segments]

    def to_rttm(self, uri: str = "call") -> str:
        """The segments as RTTM lines (``SPEAKER uri 1 start duration <NA> <NA> label <NA> <NA>``)."""
        return "".join(
            f"SPEAKER {uri} 1 {s.start:.3f} {s.end - s.start:.3f} <NA> <NA> {s.speaker} <NA> <NA>\n" for s in self.segments
        )


def _segments(items) -> list[SpeakerSegment]:
    return sorted((SpeakerSegment(float(s), float(e), str(lab)) for s, e, lab in items if e > s), key=lambda x: (x.start, x.end, x.speaker))


def diarize(signal: np.ndarray, sample_rate: int, cfg: DiarizationConfig | None = None) -> Diarization:
    """Decide who spoke when.

    Parameters
    ----------
    signal : np.ndarray
        float32 (or float16: long calls) samples: 1-D (mono) or (channels, n).
    sample_rate : int
        Rate of ``signal``, Hz (resampled to 16 kHz for the cluster backend).
    cfg : DiarizationConfig, optional
        Backend and its settings; defaults work offline.

    Returns
    -------
    Diarization

    Raises
    ------
    ModelUnavailableError
        When the backend asked for explicitly (``pyannote``) cannot be loaded, or the
        cluster backend's speaker encoder is missing.
    """
    from ..channels import detect_layout, mono_signal

    cfg = cfg or DiarizationConfig()
    x = np.asarray(signal)
    if x.dtype != np.float16:  # float16 (a long call) stays as it is: converted a block at a time downstream
        x = x.astype(np.float32, copy=False)
    warnings: list[str] = []
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim == 2:
        layout = detect_layout(x, sample_rate)
        if layout.kind == "dual" and cfg.backend in ("auto", "channels"):
            return Diarization(_segments(channel_segments(x, sample_rate)), "channels", warnings)
        if layout.kind == "dual":
            x = x[list(layout.channels)].astype(np.float32).mean(axis=0)
            warnings.append(f"dual-channel recording mixed to mono for the '{cfg.backend}' backend")
        else:
            x = mono_signal(x, layout)
    backend = cfg.backend
    if backend == "channels":
        warnings.append("the 'channels' backend needs a dual-channel recording; this one is mono: used 'cluster'")
        backend = "cluster"
    if backend == "auto":
        from .pyannote_backend import load_pipeline, unusable_reason

        reason = unusable_reason(cfg)
        if reason is None:
            try:
                load_pipeline(cfg)
                backend = "pyannote"
            except ModelUnavailableError as exc:
                reason = str(exc)
        if reason is not None:
            log.info("pyannote not usable (%s); using the cluster backend", reason)
            warnings.append(f"diarisation: pyannote not usable ({_short(reason)}); used the offline 'cluster' backend")
            backend = "cluster"
    if backend == "pyannote":
        from .pyannote_backend import pyannote_diarize

        return Diarization(_segments(pyannote_diarize(x, sample_rate, cfg)), "pyannote", warnings)

    from .cluster import cluster_diarize

    if sample_rate != ANALYSIS_RATE:
        import soxr

        x = soxr.resample(np.asarray(x, dtype=np.float32), sample_rate, ANALYSIS_RATE, quality="HQ").astype(np.float32)
    result = cluster_diarize(x, cfg)
    overlaps = _overlaps(x, cfg, warnings)
    return Diarization(_segments(result.segments), "cluster", warnings + result.warnings, overlaps)


def _overlaps(x: np.ndarray, cfg: DiarizationConfig, warnings: list[str]) -> list[tuple[float, float]]:
    """Overlapped speech for the cluster backend; with ``overlap = "auto"`` a missing model is a warning, not an error."""
    if cfg.overlap == "off":
        return []
    from .overlap import detect_overlaps
    from .pyannote_backend import resolve_token

    try:
        return detect_overlaps(x, cfg, resolve_token(cfg))
    except ModelUnavailableError as exc:
        if cfg.overlap != "auto":
            raise
        log.info("overlap detection unavailable: %s", exc)
        warnings.append(f"diarisation: overlapping talk not detected ({_short(str(exc))}); overlaps, backchannels and "
                        "interruptions can only be found at turn exchanges")
        return []


def channel_segments(samples: np.ndarray, sample_rate: int) -> list[tuple[float, float, str]]:
    """The ``channels`` backend: where each channel carries its own speaker (labels ``left``, ``right``)."""
    from ..activity import channel_activity
    from ..channels import frame_db

    levels = [frame_db(samples[c], sample_rate) for c in (0, 1)]
    out: list[tuple[float, float, str]] = []
    for c, label in ((0, "left"), (1, "right")):
        out.extend((round(s, 3), round(e, 3), label) for s, e in channel_activity(levels[c], levels[1 - c]))
    return out


def read_rttm(path, uri: str | None = None) -> list[tuple[float, float, str]]:
    """``(start, end, label)`` of the SPEAKER lines of an RTTM file (of recording ``uri`` when given)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 8 or parts[0] != "SPEAKER":
                continue
            if uri is not None and parts[1] != uri:
                continue
            start, dur = float(parts[3]), float(parts[4])
            out.append((start, start + dur, parts[7]))
    return out


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
