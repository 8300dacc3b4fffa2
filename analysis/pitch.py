"""Fundamental frequency (F0) of one speaker's speech: a fast, vectorised YIN tracker.

``librosa.pyin`` is accurate but runs at only a few times real time. This module
tracks pitch with the YIN difference function (de Cheveigné & Kawahara, 2002)
computed for many frames at once with FFTs, at a reduced rate (8 kHz: pitch
needs no more than telephone bandwidth), and only in the frames where the
speaker speaks. A second pass picks, in each frame, the YIN dip nearest the
speaker's local pitch, which removes most octave jumps (the job pyin's HMM does).

Definitions
-----------
frame grid
    Frames are centred at ``i * hop`` seconds (``hop`` = 10 ms by default), the
    same grid as :mod:`analysis.loudness`.
aperiodicity
    The cumulative-mean-normalised YIN difference at the chosen lag, 0 (perfectly
    periodic) to about 1 (noise). A frame is voiced when it is below
    ``voicing_threshold``.
semitones
    ``12 * log2(f / ref)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from .frames import drop_short_runs, n_frames, running_median, runs

TRACK_RATE = 8000  # Hz: pitch is tracked on the signal resampled to this rate
CHUNK = 4096  # frames per FFT batch (bounds memory)
NEAR_ST = 4.0  # semitones: a dip this close to the local median pitch is "the same" pitch
OUTLIER_ST = 7.0  # semitones: farther than this from the local median is an octave error / outlier


@dataclass(frozen=True)
class PitchTrack:
    """F0 of one signal on the frame grid.

    Attributes
    ----------
    hop : float
        Frame step, seconds; frame ``i`` is centred at ``i * hop``.
    f0 : np.ndarray
        float32 Hz per frame; NaN where unvoiced or not tracked.
    aperiodicity : np.ndarray
        float32 YIN aperiodicity per frame (1.0 where not tracked).
    """

    hop: float
    f0: np.ndarray
    aperiodicity: np.ndarray

    @property
    def voiced(self) -> np.ndarray:
        """Boolean mask of voiced frames."""
        return np.isfinite(self.f0)

    @property
    def times(self) -> np.ndarray:
        """Frame centres, seconds."""
        return np.arange(len(self.f0)) * self.hop


def semitones(f0: np.ndarray, ref: float) -> np.ndarray:
    """``12 * log2(f0 / ref)``; NaN stays NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (12.0 * np.log2(np.asarray(f0, dtype=np.float64) / ref)).astype(np.float32)


def _yin_frames(frames: np.ndarray, w: int, tau_min: int, tau_max: int, n_fft: int) -> np.ndarray:
    """Cumulative-mean-normalised difference d'(tau), tau = 0..tau_max, for each row of ``frames``."""
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, n_fft, axis=1)
    head = np.fft.rfft(frames[:, :w], n_fft, axis=1)
    corr = np.fft.irfft(np.conj(head) * spec, n_fft, axis=1)[:, : tau_max + 1]
    sq = np.cumsum(frames * frames, axis=1)
    sq = np.concatenate([np.zeros((len(frames), 1), dtype=sq.dtype), sq], axis=1)
    taus = np.arange(tau_max + 1)
    energy = sq[:, taus + w] - sq[:, taus]  # energy of the window shifted by tau
    diff = energy[:, :1] + energy - 2.0 * corr
    diff[:, 0] = 0.0
    np.maximum(diff, 0.0, out=diff)
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = diff[:, 1:] * taus[1:] / cum
    cmnd[~np.isfinite(cmnd)] = 1.0
    return cmnd


def _local_minima(cmnd: np.ndarray, tau_min: int, tau_max: int) -> np.ndarray:
    """Boolean (frames, tau_max + 1): local minima of d' inside [tau_min, tau_max]."""
    is_min = np.zeros(cmnd.shape, dtype=bool)
    mid = cmnd[:, 1:-1]
    is_min[:, 1:-1] = (mid < cmnd[:, :-2]) & (mid <= cmnd[:, 2:])
    is_min[:, :tau_min] = False
    is_min[:, tau_max:] = False  # the last lag cannot be a proper minimum
    return is_min


def _parabolic(cmnd: np.ndarray, rows: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Lag refined by a parabola through d'(tau - 1), d'(tau), d'(tau + 1)."""
    t = np.clip(taus, 1, cmnd.shape[1] - 2)
    a, b, c = cmnd[rows, t - 1], cmnd[rows, t], cmnd[rows, t + 1]
    den = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / den, 0.0)
    return t + np.clip(shift, -1.0, 1.0)


def track_pitch(
    x: np.ndarray,
    sr: int,
    frames: np.ndarray | None = None,
    *,
    fmin: float = 60.0,
    fmax: float = 500.0,
    hop: float = 0.01,
    window: float = 0.04,
    threshold: float = 0.15,
    voicing_threshold: float = 0.5,
    octave_window: float = 0.5,
    min_voiced: float = 0.03,
    max_gap: float = 0.15,
    rate: int = TRACK_RATE,
) -> PitchTrack:
    """Track F0 with a vectorised YIN, only in the frames asked for.

    Parameters
    ----------
    x : np.ndarray
        1-D float signal.
    sr : int
        Its sample rate, Hz (8 kHz and up; higher rates are resampled to 8 kHz).
    frames : np.ndarray of bool, optional
        Which frames of the grid to track (e.g. where the speaker speaks); all
        frames when omitted. Other frames are NaN.
    fmin, fmax : float
        Search range, Hz.
    hop : float
        Frame step, seconds.
    window : float
        YIN integration window, seconds (the analysis frame is this plus the
        longest period).
    threshold : float
        YIN absolute threshold: the first dip of d' below it is taken as the period.
    voicing_threshold : float
        A frame is voiced when d' at the chosen lag is below this.
    octave_window : float
        Second pass: each voiced frame takes the dip nearest the median pitch of
        the voiced frames within this many seconds (0 disables the pass).
    min_voiced : float
        Voiced runs shorter than this (seconds) are dropped.
    max_gap : float
        Unvoiced gaps up to this long (seconds) between voiced frames of similar
        pitch are bridged by interpolation (0 disables).
    rate : int
        Rate the signal is resampled to before tracking, Hz.

    Returns
    -------
    PitchTrack
    """
    x = np.asarray(x)
    n = n_frames(len(x) / sr, hop)
    f0 = np.full(n, np.nan, dtype=np.float32)
    ap = np.ones(n, dtype=np.float32)
    if n == 0:
        return PitchTrack(hop, f0, ap)
    if sr <= rate:
        rate = sr
    tau_min = max(2, int(np.floor(rate / fmax)))
    tau_max = int(np.ceil(rate / fmin)) + 1
    w = max(tau_max, int(round(window * rate)))
    length = w + tau_max + 1
    n_fft = 1 << int(np.ceil(np.log2(length)))
    if n_fft * 3 // 4 >= length:
        n_fft = n_fft * 3 // 4
    half = length // 2
    ypad = _padded(x, sr, rate, half, length)
    idx = np.flatnonzero(frames[:n]) if frames is not None else np.arange(n)
    if idx.size == 0:
        return PitchTrack(hop, f0, ap)
    starts = np.round(idx * hop * rate).astype(np.int64)
    offs = np.arange(length)
    cand_lag = np.zeros(idx.size, dtype=np.float64)
    cand_ap = np.ones(idx.size, dtype=np.float64)
    # keep up to three dips per frame for the octave pass
    dips_lag = np.zeros((idx.size, 3), dtype=np.float64)
    dips_val = np.full((idx.size, 3), np.inf, dtype=np.float64)
    for c0 in range(0, idx.size, CHUNK):
        sl = slice(c0, min(idx.size, c0 + CHUNK))
        fr = ypad[starts[sl, None] + offs]  # float32: FFTs in single precision
        cmnd = _yin_frames(fr, w, tau_min, tau_max, n_fft)
        is_min = _local_minima(cmnd, tau_min, tau_max)
        rows = np.arange(len(fr))
        below = is_min & (cmnd < threshold)
        has = below.any(axis=1)
        first = np.argmax(below, axis=1)
        masked = np.where(is_min, cmnd, np.inf)
        masked[:, :tau_min] = np.inf
        best = np.argmin(np.where(np.isfinite(masked), masked, 2.0 + cmnd), axis=1)
        best = np.clip(best, tau_min, tau_max - 1)
        tau = np.where(has, first, best)
        cand_lag[sl] = _parabolic(cmnd, rows, tau)
        cand_ap[sl] = cmnd[rows, tau]
        order = np.argpartition(masked, 3, axis=1)[:, :3]
        order = np.take_along_axis(order, np.argsort(np.take_along_axis(masked, order, axis=1), axis=1), axis=1)
        dips_val[sl] = np.take_along_axis(masked, order, axis=1)
        dips_lag[sl] = _parabolic(cmnd, np.repeat(rows, 3), order.ravel()).reshape(-1, 3)
    freq = rate / cand_lag
    voiced = (cand_ap < voicing_threshold) & (freq >= fmin * 0.97) & (freq <= fmax * 1.03)
    f0[idx] = np.where(voiced, freq, np.nan)
    ap[idx] = cand_ap
    if octave_window > 0 and voiced.sum() >= 5:
        f0 = _octave_pass(f0, idx, dips_lag, dips_val, rate, hop, octave_window, voicing_threshold, fmin, fmax)
    f0 = _clean_runs(f0, frames, hop, min_voiced, max_gap)
    return PitchTrack(hop, f0, ap)


def _padded(x: np.ndarray, sr: int, rate: int, before: int, after: int, block: int = 1 << 20) -> np.ndarray:
    """``x`` as float32 at ``rate`` (resampled with soxr MQ when ``sr`` is higher) between ``before`` and ``after`` zeros.

    Written block by block into one array: the whole signal is never copied or
    converted at once (it may be a long float16 channel).
    """
    stream = soxr.ResampleStream(sr, rate, 1, dtype="float32", quality="MQ") if sr != rate else None
    expected = len(x) if stream is None else (2 * len(x) * rate + sr) // (2 * sr)
    out = np.zeros(before + expected + after + 16, dtype=np.float32)
    pos = before
    for i in range(0, len(x), block):
        part = np.asarray(x[i : i + block], dtype=np.float32)
        if stream is not None:
            part = stream.resample_chunk(part, last=i + block >= len(x))
        if pos + len(part) + after > len(out):  # the resampler gave more than expected
            out = np.concatenate([out, np.zeros(pos + len(part) + after - len(out), dtype=np.float32)])
        out[pos : pos + len(part)] = part
        pos += len(part)
    return out


def _octave_pass(f0, idx, dips_lag, dips_val, rate, hop, window, voicing_threshold, fmin, fmax):
    """Move each voiced frame to the usable YIN dip nearest the local median pitch; unvoice outliers.

    The local median is taken over the voiced frames within +-``window`` seconds.
    A dip is usable when its d' is below ``voicing_threshold``; a frame whose
    best dip is still more than ``OUTLIER_ST`` semitones from the median is
    unvoiced (an octave error or a spurious periodicity).
    """
    st = 12.0 * np.log2(f0.astype(np.float64) / 100.0)
    half = max(1, int(round(window / hop)))
    med = running_median(st, half, at=idx, min_count=3)
    target_lag = rate / (100.0 * 2.0 ** (med / 12.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.abs(12.0 * np.log2(dips_lag / target_lag[:, None]))
        dfreq = rate / dips_lag
    usable = (dips_val < voicing_threshold) & np.isfinite(dist) & (dfreq >= fmin * 0.97) & (dfreq <= fmax * 1.03)
    dist = np.where(usable, dist, np.inf)
    rows = np.arange(len(idx))
    pick = np.argmin(dist, axis=1)
    best = dist[rows, pick]
    has_med = np.isfinite(med)
    out = f0.copy()
    move = has_med & (best <= NEAR_ST)
    out[idx[move]] = (rate / dips_lag[rows, pick])[move]
    cur = out[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs(12.0 * np.log2(cur / 100.0) - med)
    out[idx[has_med & np.isfinite(cur) & (off > OUTLIER_ST)]] = np.nan
    return out


def _clean_runs(f0, frames, hop, min_voiced, max_gap):
    """Drop voiced runs shorter than ``min_voiced`` s; bridge unvoiced gaps up to ``max_gap`` s (log-linear F0).

    Gaps are bridged only inside the tracked frames and when the pitch on both
    sides is within ``NEAR_ST`` semitones.
    """
    voiced = drop_short_runs(np.isfinite(f0), int(round(min_voiced / hop)))
    out = np.where(voiced, f0, np.nan).astype(np.float32)
    gmax = int(round(max_gap / hop))
    if gmax <= 0:
        return out
    s, e = runs(~voiced)
    for a, b in zip(s, e):
        if a == 0 or b >= len(out) or b - a > gmax:
            continue
        if frames is not None and not frames[a:b].all():
            continue
        left, right = float(out[a - 1]), float(out[b])
        if abs(12.0 * np.log2(right / left)) > NEAR_ST:
            continue
        w = np.arange(1, b - a + 1) / (b - a + 1)
        out[a:b] = np.exp(np.log(left) * (1 - w) + np.log(right) * w)
    return out


@dataclass(frozen=True)
class PitchSummary:
    """Median, spread and range of a speaker's voiced F0."""

    median_hz: float | None
    sd_semitones: float | None
    range_semitones: float | None
    voiced_seconds: float


def summarise_pitch(f0: np.ndarray, hop: float) -> PitchSummary:
    """Median F0, SD in semitones around the median, and the 5th-95th percentile range.

    Parameters
    ----------
    f0 : np.ndarray
        Hz per frame, NaN where unvoiced.
    hop : float
        Frame step, seconds.

    Returns
    -------
    PitchSummary
        ``sd_semitones`` is the root-mean-square deviation, in semitones, of the
        voiced frames from the speaker's own median; ``range_semitones`` is the
        distance between the 5th and 95th percentiles, in semitones. All None
        when fewer than 10 frames are voiced.
    """
    v = np.asarray(f0, dtype=np.float64)
    v = v[np.isfinite(v)]
    secs = float(len(v) * hop)
    if len(v) < 10:
        return PitchSummary(None, None, None, secs)
    med = float(np.median(v))
    st = 12.0 * np.log2(v / med)
    p5, p95 = np.percentile(v, [5, 95])
    return PitchSummary(med, float(np.sqrt(np.mean(st * st))), float(12.0 * np.log2(p95 / p5)), secs)
