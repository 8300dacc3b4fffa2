"""Voice of each speaker: activity, pitch, loudness, their statistics, contours and events.

Everything here is measured on one speaker's own signal (their channel on a
dual-channel call; the mono signal where only their turns run on a mono call)
and compared only with the same speaker.

Definitions
-----------
speech frames
    Frames of the 10 ms grid in which the speaker is active on their own signal
    (:func:`analysis.loudness.speech_activity`) inside their own turns (snapped
    to that activity) or short wordless bursts of theirs.
baseline
    At a moment ``t``: the median of the speaker's smoothed values (pitch in
    semitones, or speech level in dBFS, below) over their frames in the
    ``baseline_window`` seconds before ``t``; while they have fewer than
    ``baseline_min`` seconds of frames before ``t``, the median over the whole
    call. Computed once per second.
smoothed pitch
    The median of the speaker's pitch (semitones) over their voiced frames in a
    centred ``smoothing_window`` (1 s) around each frame.
pitch rise
    A stretch of at least ``pitch_rise_min`` seconds of voiced speech in which the
    smoothed pitch stays ``pitch_rise_st`` or more semitones above its baseline.
raised voice
    A stretch of at least ``raised_voice_min`` seconds of speech in which the
    speech level - the energy average of the speaker's speech frames in a
    centred ``smoothing_window`` - stays ``raised_voice_db`` or more dB above
    the baseline of that level.
    Frames of a stretch may be up to 0.5 s apart (pauses between words).
contours
    At ``contour_rate`` (10 Hz): the median pitch of the voiced speech frames in
    each 0.1 s, in semitones relative to the speaker's median F0, and the median
    level (dBFS) of the speech frames; null where the speaker is not speaking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import ProsodyConfig
from .frames import n_frames, running_median
from .loudness import frame_levels, speech_activity, summarise_loudness
from .pitch import PitchTrack, semitones, summarise_pitch, track_pitch
from .records import Contour, Event, LoudnessStats, PitchStats

RUN_GAP = 0.5  # seconds: frames of one elevated stretch may be this far apart


@dataclass(frozen=True)
class SpeakerSignal:
    """The audio one speaker's voice is measured on.

    Attributes
    ----------
    label : str
        Speaker label.
    samples : np.ndarray
        1-D float signal: the speaker's own channel, or the mono signal.
    sample_rate : int
    own_channel : bool
        True on a dual-channel call (the signal carries only this speaker, plus bleed).
    other : np.ndarray, optional
        The other party's channel (dual-channel), for bleed rejection.
    """

    label: str
    samples: np.ndarray
    sample_rate: int
    own_channel: bool
    other: np.ndarray | None = None


@dataclass
class VoiceTrack:
    """Frame-level measurements of one speaker.

    Attributes
    ----------
    label : str
    hop : float
    levels : np.ndarray
        dBFS per frame of the speaker's signal.
    activity : np.ndarray of bool
        Frames where the speaker is active on their signal.
    pitch : PitchTrack
        F0 over the active frames.
    speech : np.ndarray of bool
        The speaker's speech frames (set once turns are snapped to activity).
    """

    label: str
    hop: float
    levels: np.ndarray
    activity: np.ndarray
    pitch: PitchTrack
    speech: np.ndarray | None = None


def track_voice(signal: SpeakerSignal, cfg: ProsodyConfig, allowed: np.ndarray | None = None) -> VoiceTrack:
    """Levels, activity and pitch of one speaker's signal.

    Parameters
    ----------
    signal : SpeakerSignal
    cfg : ProsodyConfig
    allowed : np.ndarray of bool, optional
        Frames where the speaker may speak (mono calls: their turns); all when omitted.

    Returns
    -------
    VoiceTrack
    """
    sr = signal.sample_rate
    levels = frame_levels(signal.samples, sr, cfg.hop, cfg.loudness_window)
    other = frame_levels(signal.other, sr, cfg.hop, cfg.loudness_window) if signal.other is not None else None
    activity = speech_activity(
        levels,
        allowed,
        other,
        hop=cfg.hop,
        snr_db=cfg.activity_snr_db,
        range_db=cfg.activity_range_db,
        bleed_db=cfg.bleed_db,
        min_run=cfg.activity_min_run,
        bridge=cfg.activity_bridge,
    )
    pitch = track_pitch(
        signal.samples,
        sr,
        activity,
        fmin=cfg.fmin,
        fmax=cfg.fmax,
        hop=cfg.hop,
        window=cfg.pitch_window,
        threshold=cfg.yin_threshold,
        voicing_threshold=cfg.voicing_threshold,
        voicing=cfg.voicing,
        switch_prob=cfg.voicing_switch_prob,
        octave_window=cfg.octave_window,
        min_voiced=cfg.min_voiced,
        max_gap=cfg.max_voiced_gap,
    )
    return VoiceTrack(signal.label, cfg.hop, levels, activity, pitch)


def pitch_stats(voice: VoiceTrack) -> PitchStats:
    """Median F0, SD and range (semitones) over the speaker's voiced speech frames."""
    f0 = np.where(voice.speech, voice.pitch.f0, np.nan)
    s = summarise_pitch(f0, voice.hop)
    r = lambda v, d: None if v is None else round(v, d)  # noqa: E731
    return PitchStats(
        median_hz=r(s.median_hz, 1),
        sd_semitones=r(s.sd_semitones, 2),
        range_semitones=r(s.range_semitones, 2),
        voiced_seconds=round(s.voiced_seconds, 2),
    )


def loudness_stats(voice: VoiceTrack) -> LoudnessStats:
    """Median and SD of the frame level over the speaker's speech frames."""
    s = summarise_loudness(voice.levels, voice.speech, voice.hop)
    r = lambda v: None if v is None else round(v, 2)  # noqa: E731
    return LoudnessStats(median_dbfs=r(s.median_dbfs), sd_db=r(s.sd_db), speech_seconds=round(s.speech_seconds, 2))


def running_baseline(values: np.ndarray, hop: float, window: float, min_seconds: float, step: float = 1.0) -> np.ndarray:
    """Baseline of each frame: median of the finite values in the preceding ``window`` seconds.

    Recomputed every ``step`` seconds. Where fewer than ``min_seconds`` worth of
    values precede, the median of all finite values of the call is used.

    Returns
    -------
    np.ndarray
        float64, one value per frame (NaN when the call has no values at all).
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    ok = np.isfinite(v)
    out = np.full(n, np.nan)
    if not ok.any():
        return out
    whole = float(np.median(v[ok]))
    cum = np.concatenate([[0], np.cumsum(ok)])
    per = max(1, int(round(step / hop)))
    wlen = max(1, int(round(window / hop)))
    need = min_seconds / hop
    for b0 in range(0, n, per):
        b1 = min(n, b0 + per)
        a = max(0, b0 - wlen)
        if cum[b0] - cum[a] >= max(need, 1):
            seg = v[a:b0]
            out[b0:b1] = float(np.median(seg[np.isfinite(seg)]))
        else:
            out[b0:b1] = whole
    return out


@dataclass(frozen=True)
class Stretch:
    """A stretch of frames above the baseline: ``[start, end)`` seconds and the median excess."""

    start: float
    end: float
    excess: float


def window_level(levels: np.ndarray, half: int, min_count: int = 1) -> np.ndarray:
    """Energy-average level (dB) of the finite frames in a centred window of ``2 * half + 1`` frames.

    ``10 * log10(mean(10 ** (L / 10)))`` over the frames that have a level; NaN
    where fewer than ``min_count`` do. Loud (voiced) frames dominate, so the
    value does not depend on how many quiet consonant frames a window holds.
    """
    v = np.asarray(levels, dtype=np.float64)
    ok = np.isfinite(v)
    p = np.where(ok, 10.0 ** (np.where(ok, v, 0.0) / 10.0), 0.0)
    cp = np.concatenate([[0.0], np.cumsum(p)])
    cc = np.concatenate([[0], np.cumsum(ok)])
    n = len(v)
    i = np.arange(n)
    a = np.clip(i - half, 0, n)
    b = np.clip(i + half + 1, 0, n)
    cnt = cc[b] - cc[a]
    out = np.full(n, np.nan)
    good = cnt >= max(1, min_count)
    with np.errstate(divide="ignore"):
        out[good] = 10.0 * np.log10((cp[b] - cp[a])[good] / cnt[good])
    return out


def elevated_stretches(
    values: np.ndarray,
    hop: float,
    threshold: float,
    min_duration: float,
    smoothing: float = 1.0,
    baseline_window: float = 120.0,
    baseline_min: float = 5.0,
    energy: bool = False,
    hysteresis: float = 0.5,
) -> list[Stretch]:
    """Stretches where the smoothed value stays ``threshold`` or more above the running baseline.

    Parameters
    ----------
    values : np.ndarray
        One value per frame, NaN where the speaker has none (silence, unvoiced).
    hop : float
        Frame step, seconds.
    threshold : float
        Excess over the baseline, in the unit of ``values``.
    min_duration : float
        Shortest stretch reported, seconds.
    smoothing : float
        Width of the centred smoothing window, seconds.
    baseline_window, baseline_min : float
        See :func:`running_baseline`; the baseline is taken over the smoothed values.
    energy : bool
        Smooth levels (dB) by energy average (:func:`window_level`) instead of the median.
    hysteresis : float
        A stretch starts where the excess reaches ``threshold`` and goes on while
        it stays at or above ``(1 - hysteresis) * threshold``; it is reported when
        it lasts ``min_duration`` and its median excess is at least ``threshold``.

    Returns
    -------
    list of Stretch
    """
    v = np.asarray(values, dtype=np.float64)
    idx = np.flatnonzero(np.isfinite(v))
    if idx.size == 0:
        return []
    half = max(1, int(round(smoothing / 2 / hop)))
    min_count = max(3, int(0.2 * smoothing / hop))
    if energy:
        smooth = window_level(v, half, min_count)[idx]
    else:
        smooth = running_median(v, half, at=idx, min_count=min_count)
    grid = np.full(len(v), np.nan)
    grid[idx] = smooth
    base = running_baseline(grid, hop, baseline_window, baseline_min)[idx]
    excess = smooth - base
    fin = np.isfinite(excess)
    flag = fin & (excess >= threshold)
    keep = fin & (excess >= (1.0 - hysteresis) * threshold)
    out: list[Stretch] = []
    gap = max(1, int(round(RUN_GAP / hop)))
    i = 0
    m = len(idx)
    while i < m:
        if not flag[i]:
            i += 1
            continue
        j = i
        while j + 1 < m and keep[j + 1] and idx[j + 1] - idx[j] <= gap:
            j += 1
        while j > i and not flag[j]:  # end at the last frame at the full threshold
            j -= 1
        start, end = idx[i] * hop, (idx[j] + 1) * hop
        med = float(np.median(excess[i : j + 1]))
        if end - start >= min_duration - 1e-9 and med >= threshold:
            out.append(Stretch(round(float(start), 3), round(float(end), 3), med))
        i = j + 1
    return out


def voice_events(voice: VoiceTrack, cfg: ProsodyConfig, words: Sequence[tuple[float, float, str]] = ()) -> list[Event]:
    """Pitch-rise and raised-voice events of one speaker.

    Parameters
    ----------
    voice : VoiceTrack
        With ``speech`` set.
    cfg : ProsodyConfig
    words : sequence of (start, end, text)
        The speaker's words, quoted in the event detail.

    Returns
    -------
    list of Event
    """
    hop = voice.hop
    speech = voice.speech if voice.speech is not None else voice.activity
    out: list[Event] = []
    lv = np.where(speech, voice.levels.astype(np.float64), np.nan)
    for s in elevated_stretches(
        lv, hop, cfg.raised_voice_db, cfg.raised_voice_min, cfg.smoothing_window, cfg.baseline_window, cfg.baseline_min,
        energy=True, hysteresis=cfg.hysteresis,
    ):
        quote = _quote(words, s.start, s.end)
        out.append(
            Event(
                kind="raised_voice",
                start=s.start,
                end=s.end,
                speaker=voice.label,
                detail=f"{quote}+{s.excess:.1f} dB over their baseline for {s.end - s.start:.1f} s",
                value=round(s.excess, 1),
                unit="dB",
            )
        )
    st = np.where(speech, semitones(voice.pitch.f0, 100.0), np.nan)
    for s in elevated_stretches(
        st, hop, cfg.pitch_rise_st, cfg.pitch_rise_min, cfg.smoothing_window, cfg.baseline_window, cfg.baseline_min,
        hysteresis=cfg.hysteresis,
    ):
        quote = _quote(words, s.start, s.end)
        out.append(
            Event(
                kind="pitch_rise",
                start=s.start,
                end=s.end,
                speaker=voice.label,
                detail=f"{quote}pitch +{s.excess:.1f} semitones over their baseline for {s.end - s.start:.1f} s",
                value=round(s.excess, 1),
                unit="st",
            )
        )
    return out


def _quote(words: Sequence[tuple[float, float, str]], start: float, end: float, limit: int = 12) -> str:
    got = [w for s, e, w in words if e > start and s < end]
    if not got:
        return ""
    text = " ".join(got[:limit]) + (" ..." if len(got) > limit else "")
    return f"\"{text}\": "


def _bin_median(values: np.ndarray, k: int, n_bins: int) -> list[float | None]:
    v = np.full(n_bins * k, np.nan)
    m = min(len(values), n_bins * k)
    v[:m] = values[:m]
    srt = np.sort(v.reshape(n_bins, k), axis=1)
    cnt = np.sum(~np.isnan(srt), axis=1)
    out: list[float | None] = [None] * n_bins
    rows = np.flatnonzero(cnt > 0)
    lo = (cnt[rows] - 1) // 2
    hi = cnt[rows] // 2
    med = 0.5 * (srt[rows, lo] + srt[rows, hi])
    for r, x in zip(rows.tolist(), np.round(med, 2).tolist()):
        out[r] = x
    return out


def contour(voice: VoiceTrack, median_hz: float | None, duration: float, rate: float = 10.0) -> Contour:
    """Display contours of one speaker at ``rate`` Hz (see the module docstring)."""
    hop = voice.hop
    k = max(1, int(round(1.0 / rate / hop)))
    n_bins = n_frames(duration, k * hop)
    speech = voice.speech if voice.speech is not None else voice.activity
    lv = np.where(speech, voice.levels.astype(np.float64), np.nan)
    if median_hz:
        st = np.where(speech, semitones(voice.pitch.f0, median_hz), np.nan)
    else:
        st = np.full(len(lv), np.nan)
    return Contour(
        speaker=voice.label,
        rate_hz=1.0 / (k * hop),
        start=0.0,
        pitch_st=_bin_median(st, k, n_bins),
        loudness_db=_bin_median(lv, k, n_bins),
    )
