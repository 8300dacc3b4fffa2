"""Where a speaker's own channel is active, and turn boundaries snapped to it.

Whisper's word timestamps can be a few hundred milliseconds early or late at the
edges of an utterance. On a dual-channel call each speaker's channel tells
precisely when they speak, so turn starts and ends are moved to the onset and
offset of the channel activity under their first and last words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import intervals as iv
from .channels import FRAME
from .records import Turn, Word

Interval = tuple[float, float]


def channel_activity(
    own_db: np.ndarray,
    other_db: np.ndarray | None = None,
    frame: float = FRAME,
    below_peak_db: float = 30.0,
    above_floor_db: float = 12.0,
    bleed_margin_db: float = 10.0,
    bridge: float = 0.12,
    min_len: float = 0.06,
) -> list[Interval]:
    """Spans in which a channel carries its own speaker's voice.

    A frame is active when it is within ``below_peak_db`` of the channel's speech
    level (95th percentile), ``above_floor_db`` over its noise floor (10th
    percentile), and not quieter than the other channel by ``bleed_margin_db``
    (cross-talk). Gaps up to ``bridge`` seconds are closed, spans shorter than
    ``min_len`` dropped.

    Parameters
    ----------
    own_db, other_db : np.ndarray
        Frame energies in dBFS (see :func:`analysis.channels.frame_db`).
    frame : float
        Frame length, seconds.

    Returns
    -------
    list of (start, end)
    """
    if own_db.size == 0:
        return []
    peak = float(np.percentile(own_db, 95))
    floor = float(np.percentile(own_db, 10))
    thr = max(peak - below_peak_db, floor + above_floor_db)
    active = own_db > thr
    if other_db is not None:
        n = min(len(own_db), len(other_db))
        active = active[:n] & (own_db[:n] > other_db[:n] - bleed_margin_db)
    idx = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    spans = [(s * frame, e * frame) for s, e in zip(idx[::2], idx[1::2])]
    return [(s, e) for s, e in iv.union(spans, bridge=bridge) if e - s >= min_len]


def snap_turns(
    turns: Sequence[Turn],
    activity: Mapping[str, Sequence[Interval]],
    reach: float = 1.0,
    join: float = 0.35,
    near: float = 0.3,
) -> list[Turn]:
    """Move each turn's start/end to the edges of its speaker's activity under its first/last word.

    Activity spans that follow each other with gaps up to ``join`` seconds count
    as one utterance (words the recogniser missed at a turn's edge are taken in).
    A word with no activity under it takes the span nearest to it within ``near`` seconds.
    A boundary moves by at most ``reach`` seconds and never past the speaker's
    neighbouring turns; turns of speakers without activity are kept as they are.
    """
    out: list[Turn] = []
    by_speaker: dict[str, list[int]] = {}
    for i, t in enumerate(turns):
        by_speaker.setdefault(t.speaker, []).append(i)
    new_bounds = {i: (t.start, t.end) for i, t in enumerate(turns)}
    for label, idxs in by_speaker.items():
        spans = list(activity.get(label, ()))
        if not spans:
            continue
        starts = np.array([s for s, _ in spans])
        ends = np.array([e for _, e in spans])
        for k, i in enumerate(idxs):
            t = turns[i]
            w0 = t.words[0] if t.words else None
            w1 = t.words[-1] if t.words else None
            lo = turns[idxs[k - 1]].end if k > 0 else 0.0
            hi = turns[idxs[k + 1]].start if k + 1 < len(idxs) else float("inf")
            start, end = t.start, t.end
            if w0 is not None:
                j = _nearest(starts, ends, w0.start, w0.end, near)
                if j is not None:
                    # words the recogniser missed at the start: earlier activity close before
                    while j > 0 and starts[j] - ends[j - 1] <= join and starts[j - 1] >= max(lo, t.start - reach):
                        j -= 1
                    if abs(starts[j] - start) <= reach:
                        start = max(lo, float(starts[j]))
            if w1 is not None:
                j = _nearest(starts, ends, w1.start, w1.end, near)
                if j is not None:
                    while j + 1 < len(ends) and starts[j + 1] - ends[j] <= join and ends[j + 1] <= min(hi, t.end + reach):
                        j += 1
                    if abs(ends[j] - end) <= reach:
                        end = min(hi, float(ends[j]))
            if end > start:
                new_bounds[i] = (round(start, 3), round(end, 3))
    for i, t in enumerate(turns):
        s, e = new_bounds[i]
        out.append(t if (s, e) == (t.start, t.end) else t.model_copy(update={"start": s, "end": e}))
    out.sort(key=lambda t: (t.start, t.speaker))
    return out


def _nearest(starts: np.ndarray, ends: np.ndarray, s: float, e: float, max_dist: float) -> int | None:
    """Index of the span overlapping [s, e] most, else the nearest within ``max_dist`` (None if none)."""
    j = _overlapping(starts, ends, s, e)
    if j is not None or starts.size == 0:
        return j
    dist = np.maximum(starts - e, s - ends)
    k = int(np.argmin(dist))
    return k if dist[k] <= max_dist else None


def _overlapping(starts: np.ndarray, ends: np.ndarray, s: float, e: float) -> int | None:
    """Index of the span overlapping [s, e] most (None if none)."""
    ov = np.minimum(ends, e) - np.maximum(starts, s)
    j = int(np.argmax(ov)) if ov.size else -1
    return j if j >= 0 and ov[j] > 0 else None


def words_in_activity(words: Sequence[Word], spans: Sequence[Interval], tolerance: float = 0.1) -> list[Word]:
    """Keep the words that overlap the speaker's own activity (within ``tolerance`` seconds).

    On a dual-channel call, words recognised where the channel carries no voice
    of its own are cross-talk from the other channel or recogniser hallucinations.
    """
    if not spans:
        return []
    starts = np.array([s for s, _ in spans]) - tolerance
    ends = np.array([e for _, e in spans]) + tolerance
    return [w for w in words if _overlapping(starts, ends, w.start, w.end) is not None]
