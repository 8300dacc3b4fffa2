"""Frame energy (dBFS) of one signal and where its speaker is active: pure functions.

Definitions
-----------
frame level
    ``20 * log10(rms)`` of the signal, DC removed, over ``window`` seconds centred
    on each frame of the grid (frame ``i`` at ``i * hop`` s); full-scale square
    wave = 0 dBFS. Digital silence reads ``SILENT_DB``.
activity
    A frame is active (the speaker is producing sound on their own signal) when
    its level is at least ``snr_db`` above the signal's noise floor (the 10th
    percentile of its frame levels), no more than ``range_db`` below the
    speaker's loud speech (95th percentile of the allowed frames), and - on a
    dual-channel call - not ``bleed_db`` or more below the other channel (sound
    leaking across from the other party). Runs shorter than ``min_run`` are
    dropped; gaps up to ``bridge`` are filled.
loudness statistics
    Median and standard deviation (dB) of the frame levels over the speaker's
    speech frames. They describe the speaker relative to themself: the gain of a
    recording channel shifts every level of that speaker equally, so levels of
    different speakers (or channels) are never compared with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import drop_short_runs, fill_short_gaps, n_frames

SILENT_DB = -120.0


def frame_levels(x: np.ndarray, sr: int, hop: float = 0.01, window: float = 0.03) -> np.ndarray:
    """Level in dBFS of each frame of the grid.

    Parameters
    ----------
    x : np.ndarray
        1-D float signal.
    sr : int
        Sample rate, Hz.
    hop : float
        Frame step, seconds (frame ``i`` is centred at ``i * hop``).
    window : float
        Length over which the RMS is taken, seconds (rounded to a whole number of half-hops).

    Returns
    -------
    np.ndarray
        float32, one value per frame.
    """
    n = n_frames(len(x) / sr, hop)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    half = max(1, int(round(hop * sr / 2)))  # samples per half-hop block
    k = max(2, 2 * int(round(window / hop)))  # blocks per window (even: centred on a block boundary)
    nb = 2 * n + k
    s1 = np.zeros(nb, dtype=np.float64)
    s2 = np.zeros(nb, dtype=np.float64)
    step = 1 << 13  # half-hop blocks converted to float64 at a time (a long signal is never copied whole)
    for b0 in range(0, min(nb, -(-len(x) // half)), step):
        b1 = min(nb, b0 + step)
        seg = x[b0 * half : b1 * half].astype(np.float64)
        if len(seg) < (b1 - b0) * half:
            seg = np.concatenate([seg, np.zeros((b1 - b0) * half - len(seg))])
        blocks = seg.reshape(b1 - b0, half)
        s1[b0:b1] = blocks.sum(axis=1)
        s2[b0:b1] = np.einsum("ij,ij->i", blocks, blocks)
    kern = np.ones(k)
    c1 = np.convolve(np.concatenate([np.zeros(k // 2), s1]), kern, mode="valid")
    c2 = np.convolve(np.concatenate([np.zeros(k // 2), s2]), kern, mode="valid")
    # window of frame i covers blocks 2i - k/2 .. 2i + k/2 - 1
    c1 = c1[0 : 2 * n : 2]
    c2 = c2[0 : 2 * n : 2]
    cnt = float(k * half)
    var = np.maximum(c2 / cnt - (c1 / cnt) ** 2, 0.0)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(var)
    db[~np.isfinite(db)] = SILENT_DB
    return np.maximum(db, SILENT_DB).astype(np.float32)


def speech_activity(
    levels: np.ndarray,
    allowed: np.ndarray | None = None,
    other: np.ndarray | None = None,
    *,
    hop: float = 0.01,
    snr_db: float = 12.0,
    range_db: float = 40.0,
    bleed_db: float = 15.0,
    min_run: float = 0.05,
    bridge: float = 0.15,
) -> np.ndarray:
    """Frames in which the speaker of ``levels`` is active (see the module docstring).

    Parameters
    ----------
    levels : np.ndarray
        Frame levels of the speaker's own signal, dBFS.
    allowed : np.ndarray of bool, optional
        Frames in which the speaker may be active at all (e.g. their turns on a
        mono call); all when omitted.
    other : np.ndarray, optional
        Frame levels of the other channel (dual-channel calls), for bleed rejection.
    hop, snr_db, range_db, bleed_db, min_run, bridge : float
        See the module docstring.

    Returns
    -------
    np.ndarray of bool
    """
    lv = np.asarray(levels, dtype=np.float32)
    n = len(lv)
    ok = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed[:n], dtype=bool)
    if n == 0 or not ok.any():
        return np.zeros(n, dtype=bool)
    floor = float(np.percentile(lv, 10))  # digital silence counts: it is the floor when there is no noise
    loud = float(np.percentile(lv[ok], 95))
    gate = max(floor + snr_db, loud - range_db)
    act = ok & (lv >= gate)
    if other is not None:
        o = np.full(n, SILENT_DB, dtype=np.float32)
        m = min(n, len(other))
        o[:m] = other[:m]
        act &= lv >= o - bleed_db
    act = fill_short_gaps(act, int(round(bridge / hop))) & ok
    return drop_short_runs(act, int(round(min_run / hop)))


@dataclass(frozen=True)
class LoudnessSummary:
    median_dbfs: float | None
    sd_db: float | None
    speech_seconds: float


def summarise_loudness(levels: np.ndarray, speech: np.ndarray, hop: float) -> LoudnessSummary:
    """Median and standard deviation of the frame levels over the speech frames.

    Parameters
    ----------
    levels : np.ndarray
        dBFS per frame.
    speech : np.ndarray of bool
        The speaker's speech frames.
    hop : float
        Frame step, seconds.

    Returns
    -------
    LoudnessSummary
        None values when fewer than 10 speech frames.
    """
    v = np.asarray(levels, dtype=np.float64)[np.asarray(speech[: len(levels)], dtype=bool)]
    secs = float(len(v) * hop)
    if len(v) < 10:
        return LoudnessSummary(None, None, secs)
    return LoudnessSummary(float(np.median(v)), float(np.std(v)), secs)
