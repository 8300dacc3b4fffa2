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
BLOCK_SAMPLES = 1 << 20  # samples of a signal converted to float64 at a time by frame_db
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
    """Frame energy in dBFS of a 1-D signal, non-overlapping frames of ``frame`` seconds.

    Works through the signal in blocks of about ``BLOCK_SAMPLES`` samples
    (float64 per block), so a long float32 or float16 signal is never copied whole.
    """
    n = max(1, int(round(frame * sr)))
    m = len(x) // n
    if m == 0:
        return np.full(1, -120.0, dtype=np.float32)
    out = np.empty(m, dtype=np.float32)
    step = max(1, BLOCK_SAMPLES // n)
    for f0 in range(0, m, step):
        f1 = min(m, f0 + step)
        fr = x[f0 * n : f1 * n].reshape(f1 - f0, n).astype(np.float64)
        fr = fr - fr.mean(axis=1, keepdims=True)
        rms = np.sqrt(np.mean(fr * fr, axis=1) + 1e-12)
        out[f0:f1] = 20.0 * np.log10(rms + 1e-12)
    return out


def _centred_products(x: np.ndarray, y: np.ndarray, block: int = 1 << 20) -> tuple[float, float, float]:
    """``(a.a, b.b, a.b)`` of the two signals with their means removed, in float64, block by block."""
    mx, my = float(x.mean()), float(y.mean())
    aa = bb = ab = 0.0
    for i in range(0, min(len(x), len(y)), block):
        a = x[i : i + block].astype(np.float64) - mx
        b = y[i : i + block].astype(np.float64) - my
        aa += float(np.dot(a, a))
        bb += float(np.dot(b, b))
        ab += float(np.dot(a, b))
    return aa, bb, ab


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

    da, db = frame_db(samples[0], sr), frame_db(samples[1], sr)
    la, lb = float(np.percentile(da, 95)), float(np.percentile(db, 95))
    if la <= SILENT_DBFS and lb <= SILENT_DBFS:
        return Layout("mono", (0,), False, "both channels silent")
    if lb <= SILENT_DBFS or la - lb > 40:
        return Layout("mono", (0,), False, "right channel silent; left channel used as a mono call")
    if la <= SILENT_DBFS or lb - la > 40:
        return Layout("mono", (1,), False, "left channel silent; right channel used as a mono call")

    aa, bb, ab = _centred_products(samples[0], samples[1])
    denom = float(np.sqrt(aa * bb)) or 1.0
    corr = float(ab / denom)
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


def mono_signal(samples: np.ndarray, layout: Layout, block: int = 1 << 20) -> np.ndarray:
    """The single signal analysed for a mono-like layout.

    A kept channel is returned as it is (a view); a mix is averaged block by
    block into one array. Either way a recording held as float16 (a long one)
    gives a float16 signal: every consumer converts it a block at a time, so a
    3-hour call never has a float32 copy.
    """
    if layout.mix:
        chans = list(layout.channels)
        n = samples.shape[1]
        out = np.empty(n, dtype=np.float16 if samples.dtype == np.float16 else np.float32)
        for i in range(0, n, block):
            out[i : i + block] = samples[chans, i : i + block].astype(np.float32).mean(axis=0)
        return out
    return samples[layout.channels[0]]
