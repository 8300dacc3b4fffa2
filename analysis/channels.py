"""Channel layout of a recording: one speaker per channel, or one signal.

A dual-channel call recording puts each party on a channel of their own: while
one talks, their channel is far louder than the other's. A mono call saved as
stereo has the same signal on both channels (high correlation). Stereo files
whose channels both carry a mix of the talkers are treated as mono.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

FRAME = 0.025  # seconds
SILENT_DBFS = -90.0  # digital silence; quieter channels are judged relative to each other


@dataclass(frozen=True)
class Layout:
    """Decision about how to treat the channels of a recording.

    Attributes
    ----------
    kind : str
        ``dual`` (one speaker per channel), ``mono``, ``duplicate_mono`` or ``multi``.
    channels : tuple of int
        The channels used: both for ``dual``, the one kept for mono-like layouts
        (``None`` entries are not used; a mono mix is marked by ``mix=True``).
    mix : bool
        True when the channels are averaged into one signal.
    detail : str
        Why, in words (recorded in the report's warnings when not obvious).
    """

    kind: str
    channels: tuple[int, ...]
    mix: bool
    detail: str


def frame_db(x: np.ndarray, sr: int, frame: float = FRAME) -> np.ndarray:
    """Frame energy in dBFS of a 1-D signal, non-overlapping frames of ``frame`` seconds."""
    n = max(1, int(round(frame * sr)))
    m = len(x) // n
    if m == 0:
        return np.full(1, -120.0, dtype=np.float32)
    fr = x[: m * n].reshape(m, n).astype(np.float64)
    fr = fr - fr.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(fr * fr, axis=1) + 1e-12)
    return (20.0 * np.log10(rms + 1e-12)).astype(np.float32)


def detect_layout(samples: np.ndarray, sr: int, duplicate_correlation: float = 0.98) -> Layout:
    """Decide how the channels of a recording are to be treated.

    Parameters
    ----------
    samples : np.ndarray
        (channels, n) float32.
    sr : int
        Sample rate.
    duplicate_correlation : float
        Correlation at or above which two channels are the same signal.

    Returns
    -------
    Layout
    """
    ch = samples.shape[0]
    if ch == 1:
        return Layout("mono", (0,), False, "one channel")
    if ch > 2:
        active = [c for c in range(ch) if np.percentile(frame_db(samples[c], sr), 95) > SILENT_DBFS]
        return Layout("multi", tuple(active or range(ch)), True, f"{ch} channels mixed to one signal")

    a = samples[0].astype(np.float64) - float(samples[0].mean())
    b = samples[1].astype(np.float64) - float(samples[1].mean())
    da, db = frame_db(samples[0], sr), frame_db(samples[1], sr)
    la, lb = float(np.percentile(da, 95)), float(np.percentile(db, 95))
    if la <= SILENT_DBFS and lb <= SILENT_DBFS:
        return Layout("mono", (0,), False, "both channels silent")
    if lb <= SILENT_DBFS or la - lb > 40:
        return Layout("mono", (0,), False, "right channel silent; left channel used as a mono call")
    if la <= SILENT_DBFS or lb - la > 40:
        return Layout("mono", (1,), False, "left channel silent; right channel used as a mono call")

    denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b))) or 1.0
    corr = float(np.dot(a, b) / denom)
    if corr >= duplicate_correlation:
        return Layout("duplicate_mono", (0,), False, f"both channels carry the same signal (correlation {corr:.3f})")

    # Dual-channel: in frames where someone speaks, one channel dominates strongly.
    loud = np.maximum(da, db)
    n = min(len(da), len(db))
    active = loud[:n] > max(la, lb) - 30.0
    if active.sum() < 10:
        return Layout("dual", (0, 1), False, "too little speech to tell; channels taken as one speaker each")
    diff = np.abs(da[:n] - db[:n])[active]
    separation = float(np.median(diff))
    if separation >= 8.0:
        return Layout("dual", (0, 1), False, f"one speaker per channel (median channel separation {separation:.0f} dB)")
    return Layout(
        "multi",
        (0, 1),
        True,
        f"both channels carry all talkers (separation {separation:.0f} dB, correlation {corr:.2f}); mixed to mono",
    )


def mono_signal(samples: np.ndarray, layout: Layout) -> np.ndarray:
    """The single signal analysed for a mono-like layout."""
    if layout.mix:
        return samples[list(layout.channels)].mean(axis=0).astype(np.float32)
    return samples[layout.channels[0]]

