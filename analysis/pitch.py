"""Fundamental frequency (F0) of one speaker's speech: a fast, vectorised YIN tracker.

``librosa.pyin`` is accurate but runs at only a few tens of times real time.
This module follows pyin's model and makes it cheap:

* the YIN difference function (de Cheveigné & Kawahara, 2002) in pyin's form
  (from the full autocorrelation of a 128 ms frame) is computed for many frames
  at once with FFTs, at a reduced rate (8 kHz: pitch needs no more than
  telephone bandwidth), and only in the frames where the speaker speaks;
* each frame keeps its four deepest dips, weighted as pyin weights them (a
  Beta(2, 18) prior over thresholds, a Boltzmann prior favouring shorter periods);
* pyin's hidden Markov model decides voicing and picks the pitch path, on a
  coarse grid (0.5-semitone bins and one unvoiced state instead of pyin's
  2 x 367 states), so the Viterbi pass costs little;
* a second pass moves each voiced frame to the dip nearest the speaker's local
  median pitch, which removes the remaining octave jumps.

Definitions
-----------
frame grid
    Frames are centred at ``i * hop`` seconds (``hop`` = 10 ms by default), the
    same grid as :mod:`analysis.loudness`.
aperiodicity
    The cumulative-mean-normalised YIN difference at the chosen lag, 0 (perfectly
    periodic) to about 1 (noise).
voiced
    By default (``voicing="hmm"``) a frame is voiced when pyin's hidden Markov
    model, run over the speaker's tracked frames, puts it in a voiced state;
    with ``voicing="threshold"``, when its aperiodicity is below
    ``voicing_threshold``.
semitones
    ``12 * log2(f / ref)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr

from .frames import drop_short_runs, n_frames, running_median, runs

TRACK_RATE = 8000  # Hz: pitch is tracked on the signal resampled to this rate
CHUNK = 4096  # frames per FFT batch (bounds memory)
NEAR_ST = 4.0  # semitones: a dip this close to the local median pitch is "the same" pitch
OUTLIER_ST = 7.0  # semitones: farther than this from the local median is an octave error / outlier
N_DIPS = 4  # YIN dips kept per frame
HMM_FRAMES = 60_000  # tracked frames decoded in one Viterbi pass (bounds memory on long calls)


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


def _acf_frames(frames: np.ndarray, tau_max: int, n_fft: int) -> np.ndarray:
    """pyin's cumulative-mean-normalised difference d'(tau), tau = 0..tau_max, over whole frames.

    As ``librosa.pyin``: the difference function from the frame's full
    autocorrelation, ``d(tau) = 2 (r(0) - r(tau)) - sum_{m < tau} y(m)^2``.
    """
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = scipy.fft.rfft(frames, n_fft, axis=1, workers=1)  # single precision stays single
    acf = scipy.fft.irfft(spec.real**2 + spec.imag**2, n_fft, axis=1, workers=1)[:, : tau_max + 1].astype(np.float64)
    head = np.cumsum(frames[:, :tau_max].astype(np.float64) ** 2, axis=1)
    diff = np.empty_like(acf)
    diff[:, 0] = 0.0
    diff[:, 1:] = 2.0 * (acf[:, :1] - acf[:, 1:]) - head
    np.maximum(diff, 0.0, out=diff)
    taus = np.arange(tau_max + 1)
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
    window: float = 0.128,
    threshold: float = 0.15,
    voicing_threshold: float = 0.5,
    octave_window: float = 0.5,
    min_voiced: float = 0.03,
    max_gap: float = 0.0,
    rate: int = TRACK_RATE,
    voicing: str = "hmm",
    switch_prob: float = 0.01,
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
        Analysis frame, seconds, centred on each frame time (pyin's default
        2048 samples at 16 kHz: 128 ms); at least two of the longest periods.
    threshold : float
        ``voicing="threshold"``: the first dip of d' below this is taken as the period.
    voicing_threshold : float
        A frame is voiced when d' at the chosen lag is below this.
    octave_window : float
        Second pass: each voiced frame takes the dip nearest the median pitch of
        the voiced frames within this many seconds (0 disables the pass).
    min_voiced : float
        Voiced runs shorter than this (seconds) are dropped.
    max_gap : float
        Unvoiced gaps up to this long (seconds) between voiced frames of similar
        pitch are bridged by interpolation (0, the default, disables: the hidden
        Markov model already smooths the voicing).
    rate : int
        Rate the signal is resampled to before tracking, Hz.
    voicing : {"hmm", "threshold"}
        How frames are declared voiced. ``"hmm"`` (default) is pyin's voicing
        model: a frame's voiced probability is the share of a Beta(2, 18) prior
        over YIN thresholds that lie above its deepest dip, and a two-state
        (voiced / unvoiced) Viterbi pass with ``switch_prob`` per 32 ms settles
        the decision over time. ``"threshold"``: voiced when d' at the chosen
        lag is below ``voicing_threshold``.
    switch_prob : float
        ``"hmm"`` voicing: probability of switching between voiced and
        unvoiced per 32 ms (pyin's default step), rescaled to ``hop``.

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
    length = max(2 * tau_max, int(round(window * rate)))  # the analysis frame, centred on the frame time
    need = length + tau_max + 1  # no circular wrap in the FFT autocorrelation
    n_fft = scipy.fft.next_fast_len(need, real=True)
    half = length // 2
    ypad = _padded(x, sr, rate, half, length)
    idx = np.flatnonzero(frames[:n]) if frames is not None else np.arange(n)
    if idx.size == 0:
        return PitchTrack(hop, f0, ap)
    starts = np.round(idx * hop * rate).astype(np.int64)
    offs = np.arange(length)
    cand_lag = np.zeros(idx.size, dtype=np.float64)
    cand_ap = np.ones(idx.size, dtype=np.float64)
    # keep the deepest dips of each frame for the voicing model and the octave pass
    dips_lag = np.zeros((idx.size, N_DIPS), dtype=np.float64)
    dips_val = np.full((idx.size, N_DIPS), np.inf, dtype=np.float64)
    for c0 in range(0, idx.size, CHUNK):
        sl = slice(c0, min(idx.size, c0 + CHUNK))
        fr = ypad[starts[sl, None] + offs]  # float32: FFTs in single precision
        cmnd = _acf_frames(fr, tau_max, n_fft)
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
        order = np.argpartition(masked, N_DIPS, axis=1)[:, :N_DIPS]
        order = np.take_along_axis(order, np.argsort(np.take_along_axis(masked, order, axis=1), axis=1), axis=1)
        dips_val[sl] = np.take_along_axis(masked, order, axis=1)
        dips_lag[sl] = _parabolic(cmnd, np.repeat(rows, N_DIPS), order.ravel()).reshape(-1, N_DIPS)
    freq = rate / cand_lag
    in_range = (freq >= fmin * 0.97) & (freq <= fmax * 1.03)
    if voicing == "hmm":
        voiced, path_hz = _hmm_voicing(idx, dips_lag, dips_val, rate, hop, fmin, fmax, switch_prob)
        # each voiced frame takes the dip nearest the pitch of the Viterbi path
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.abs(12.0 * np.log2((rate / dips_lag) / path_hz[:, None]))
        dist[~np.isfinite(dips_val) | ~np.isfinite(dist)] = np.inf
        pick = np.argmin(dist, axis=1)
        rows = np.arange(idx.size)
        cand_lag = np.where(voiced, dips_lag[rows, pick], cand_lag)
        cand_ap = np.where(voiced, dips_val[rows, pick], cand_ap)
        freq = rate / cand_lag
        voiced &= (freq >= fmin * 0.97) & (freq <= fmax * 1.03)
    else:
        voiced = (cand_ap < voicing_threshold) & in_range
    f0[idx] = np.where(voiced, freq, np.nan)
    ap[idx] = cand_ap
    if octave_window > 0 and voiced.sum() >= 5:
        f0 = _octave_pass(f0, idx, dips_lag, dips_val, rate, hop, octave_window, voicing_threshold, fmin, fmax)
    f0 = _clean_runs(f0, frames, hop, min_voiced, max_gap)
    return PitchTrack(hop, f0, ap)


PYIN_HOP = 512 / 16000  # seconds: the step pyin's transition probabilities are defined for
BETA_A, BETA_B = 2.0, 18.0  # pyin's default prior over YIN thresholds
N_THRESHOLDS = 100  # pyin's number of thresholds
BOLTZMANN = 2.0  # pyin's boltzmann_parameter
NO_TROUGH_PROB = 0.01  # pyin's no_trough_prob
MAX_TRANSITION_OCT = 35.92  # pyin's max_transition_rate, octaves per second


def pyin_observations(dips_lag: np.ndarray, dips_val: np.ndarray) -> np.ndarray:
    """pyin's probability of each YIN dip being the period, from a frame's deepest dips.

    For each of pyin's 100 thresholds (weighted by a Beta(2, 18) prior), the dips
    below it share the threshold's weight by a Boltzmann prior on their order
    of lag (shorter periods first, parameter 2); when none is below it, 1 % of
    the weight goes to the deepest dip (pyin's ``no_trough_prob``).

    Parameters
    ----------
    dips_lag : np.ndarray
        (frames, k) lags of the frame's dips (any order; inf values mark none).
    dips_val : np.ndarray
        (frames, k) d' at those dips, the deepest first; inf where there is no dip.

    Returns
    -------
    np.ndarray
        (frames, k) probabilities; their sum per frame is pyin's voiced probability.
    """
    from scipy.stats import beta as beta_dist

    thr = np.linspace(0.0, 1.0, N_THRESHOLDS + 1)
    w = np.diff(beta_dist.cdf(thr, BETA_A, BETA_B))  # weight of each threshold
    thr = thr[1:]
    val = np.where(np.isfinite(dips_val), dips_val, 2.0)
    below = val[:, :, None] < thr[None, None, :]  # (F, k, T)
    lag = np.where(np.isfinite(dips_val), dips_lag, np.inf)
    shorter = lag[:, None, :] < lag[:, :, None]  # (F, k, j): dip j has a shorter lag than dip k
    # position of dip k among the dips below each threshold, ordered by lag
    pos = np.einsum("fkj,fjt->fkt", shorter.astype(np.float64), below.astype(np.float64))
    count = below.sum(axis=1, keepdims=True).astype(np.float64)
    lam = BOLTZMANN
    with np.errstate(invalid="ignore", divide="ignore"):
        prior = (1.0 - np.exp(-lam)) * np.exp(-lam * pos) / (1.0 - np.exp(-lam * count))
    prior = np.where(below, prior, 0.0)
    probs = prior @ w
    none_below = ~below[:, 0, :]  # thresholds the deepest dip is not below
    probs[:, 0] += NO_TROUGH_PROB * (none_below * w).sum(axis=1)
    probs[~np.isfinite(dips_val)] = 0.0
    return probs


def _hmm_voicing(idx, dips_lag, dips_val, rate, hop, fmin, fmax, switch_prob, bin_st=0.5):
    """Voicing and a coarse pitch path of the tracked frames by pyin's hidden Markov model.

    States: pitch bins of ``bin_st`` semitones (voiced) and one unvoiced state.
    Emissions follow pyin: a voiced bin gets the probability of the dips that
    fall in it; the unvoiced state ``(1 - voiced probability) / n`` with ``n``
    pyin's number of 0.1-semitone pitch bins (pyin spreads the unvoiced mass
    over as many states). Voiced bins move by at most pyin's 35.92 octaves per
    second with triangular weights; voiced <-> unvoiced switches have
    probability ``switch_prob`` per 32 ms. Log-emissions are scaled by
    ``hop / 32 ms`` so that evidence accumulates per second as at pyin's step.
    Consecutive tracked frames are chained even across untracked gaps.

    Returns
    -------
    voiced : np.ndarray of bool
        Per tracked frame.
    path_hz : np.ndarray
        The centre of the Viterbi path's pitch bin per tracked frame (NaN where unvoiced).
    """
    from librosa.sequence import viterbi

    span = 12.0 * np.log2(fmax / fmin)
    n_bins = int(np.ceil(span / bin_st)) + 1
    scale = hop / PYIN_HOP
    # transitions: a voiced bin moves at most pyin's 35.92 octaves per second, triangular weights
    width = MAX_TRANSITION_OCT * 12.0 * hop / bin_st  # bins per frame
    d = np.abs(np.arange(n_bins)[:, None] - np.arange(n_bins)[None, :])
    tri = np.clip(1.0 - d / (width + 1.0), 0.0, None)
    tri /= tri.sum(axis=1, keepdims=True)
    sw = 1.0 - (1.0 - switch_prob) ** scale
    trans = np.zeros((n_bins + 1, n_bins + 1))
    trans[:n_bins, :n_bins] = (1.0 - sw) * tri
    trans[:n_bins, n_bins] = sw
    trans[n_bins, :n_bins] = sw / n_bins
    trans[n_bins, n_bins] = 1.0 - sw
    # pyin's unvoiced states move like the voiced ones, so an unvoiced path pays the
    # same per-frame factor as a voiced path that keeps its pitch: fold it into the emission
    unvoiced_factor = float(np.median(np.diag(tri)))

    def decode(dl: np.ndarray, dv: np.ndarray) -> np.ndarray:
        n_frames_ = len(dl)
        probs = np.zeros((n_frames_, dl.shape[1]))
        for c0 in range(0, n_frames_, CHUNK):
            sl = slice(c0, c0 + CHUNK)
            probs[sl] = pyin_observations(dl[sl], dv[sl])
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.round(12.0 * np.log2((rate / dl) / fmin) / bin_st)
        ok = np.isfinite(b) & (b >= 0) & (b < n_bins) & (probs > 0)
        obs = np.zeros((n_bins + 1, n_frames_))
        rows = np.repeat(np.arange(n_frames_)[:, None], dl.shape[1], axis=1)
        np.add.at(obs, (b[ok].astype(int), rows[ok]), probs[ok])
        vp = np.clip(obs[:n_bins].sum(axis=0), 0.0, 1.0)
        obs[n_bins] = (1.0 - vp) / (10.0 * span)
        obs = np.maximum(obs, 1e-30) ** scale
        obs[n_bins] *= unvoiced_factor
        obs /= obs.max(axis=0, keepdims=True)
        return viterbi(obs, trans)

    # A long call is decoded a piece at a time (bounded memory), each cut at the longest
    # pause near its end; shorter ones in one pass.
    states = np.concatenate([decode(dips_lag[a:b], dips_val[a:b]) for a, b in hmm_pieces(idx)]) if len(idx) else np.zeros(0, dtype=int)
    voiced = states < n_bins
    path_hz = np.where(voiced, fmin * 2.0 ** (states * bin_st / 12.0), np.nan)
    return voiced, path_hz


def hmm_pieces(idx: np.ndarray, size: int | None = None) -> list[tuple[int, int]]:
    """Split tracked frames into pieces of at most ``size`` (default ``HMM_FRAMES``), each cut at the longest gap in its last tenth.

    ``idx`` holds the frame numbers of the tracked frames (increasing); a piece is ``(a, b)``, frames ``a:b``.
    """
    size = HMM_FRAMES if size is None else size
    n, a, out = len(idx), 0, []
    while n - a > size:
        lo, hi = a + max(1, size * 9 // 10), a + size
        cut = lo + int(np.argmax(np.diff(idx[lo - 1 : hi])))
        out.append((a, cut))
        a = cut
    out.append((a, n))
    return out


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
