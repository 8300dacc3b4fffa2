"""Speaking pace: words per minute per turn, and fast-speech turns.

Definitions
-----------
speech time of a turn
    The frames of the turn (snapped to the speaker's activity) in which the
    speaker's own signal is active, with gaps of up to 0.3 s bridged: pauses
    longer than 0.3 s inside a turn do not count. Without activity, the union
    of the words' spans with the same bridging
    (:func:`analysis.metrics.speech_time`).
turn pace (``Turn.wpm``)
    Words of the turn over its speech time, per minute.
syllable rate
    Syllables of the turn's words (estimated from the spelling: vowel groups, a
    silent final "e" dropped, each digit one) over its speech time. Used to
    compare turns of one speaker: words per minute depends on how long the
    words are, syllables per second much less.
speaker's usual pace
    The median syllable rate of the speaker's turns that have at least
    ``min_words`` words.
fast speech
    A turn of at least ``min_words`` words whose syllable rate is at least
    ``ratio`` times the speaker's usual rate; or a turn of at least twice
    ``min_words`` words (where word lengths average out) whose pace is at least
    ``absolute_wpm`` words per minute.
"""

from __future__ import annotations

from collections.abc import Sequence

import re

import numpy as np

from .frames import fill_short_gaps
from .metrics import speech_time
from .records import Event, Turn


PAUSE = 0.3  # seconds: longer pauses inside a turn are not speech time


def turn_wpm(turn: Turn, speech_seconds: float | None = None) -> float | None:
    """Words per minute over the turn's speech time; None without words or speech time.

    Parameters
    ----------
    turn : Turn
    speech_seconds : float, optional
        The turn's speech time measured from voice activity
        (:func:`speech_seconds`); from its words' spans when omitted or zero.
    """
    if not turn.words:
        return None
    st = speech_seconds if speech_seconds else speech_time([turn])
    if st <= 0:
        return None
    return len(turn.words) / (st / 60.0)


def speech_seconds(speech: np.ndarray, start: float, end: float, hop: float) -> float:
    """Seconds of speech frames in ``[start, end)``, pauses up to ``PAUSE`` bridged."""
    i0, i1 = max(0, int(round(start / hop))), min(len(speech), int(round(end / hop)))
    if i1 <= i0:
        return 0.0
    seg = fill_short_gaps(speech[i0:i1], int(round(PAUSE / hop)))
    return float(np.sum(seg)) * hop


_VOWELS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Rough syllable count of an English word (vowel groups; silent final e; digits one each); at least 1."""
    w = word.lower()
    digits = sum(ch.isdigit() for ch in w)
    letters = re.sub(r"[^a-z]", "", w)
    if not letters:
        return max(1, digits)
    n = len(_VOWELS.findall(letters))
    if letters.endswith("e") and not letters.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(1, n) + digits


def syllable_rate(turn: Turn) -> float | None:
    """Syllables per second of speech time, from the turn's words and ``wpm``; None without pace."""
    if turn.wpm is None or not turn.words:
        return None
    secs = len(turn.words) / turn.wpm * 60.0
    return sum(syllables(w.text) for w in turn.words) / secs


def usual_pace(turns: Sequence[Turn], min_words: int) -> dict[str, float]:
    """Median syllable rate of each speaker over their turns with at least ``min_words`` words."""
    by: dict[str, list[float]] = {}
    for t in turns:
        r = syllable_rate(t)
        if r is not None and len(t.words) >= min_words:
            by.setdefault(t.speaker, []).append(r)
    return {k: float(np.median(v)) for k, v in by.items() if v}


def fast_speech_events(
    turns: Sequence[Turn],
    *,
    ratio: float = 1.4,
    absolute_wpm: float = 270.0,
    min_words: int = 6,
    spans: Sequence[tuple[float, float]] | None = None,
) -> list[Event]:
    """Turns spoken well above the speaker's usual pace or a configured pace.

    Parameters
    ----------
    turns : sequence of Turn
        With ``wpm`` filled (see :func:`turn_wpm`).
    ratio : float
        A turn at ``ratio`` times the speaker's usual syllable rate or more is fast.
    absolute_wpm : float
        A turn of at least ``2 * min_words`` words at this pace or more is fast
        whatever the speaker's usual pace.
    min_words : int
        Shorter turns are not judged (their pace is too uncertain).
    spans : sequence of (start, end), optional
        Refined time span of each turn (same order as ``turns``), used as the
        event's time; the turn's own times otherwise.

    Returns
    -------
    list of Event
        ``fast_speech`` events, speaker = who, with the pace in ``value`` (wpm).
    """
    usual = usual_pace(turns, min_words)
    out: list[Event] = []
    for i, t in enumerate(turns):
        if t.wpm is None or len(t.words) < min_words:
            continue
        base = usual.get(t.speaker)
        rate = syllable_rate(t)
        rel = base is not None and rate is not None and rate >= ratio * base
        fast = t.wpm >= absolute_wpm and len(t.words) >= 2 * min_words
        if not (rel or fast):
            continue
        start, end = spans[i] if spans is not None else (t.start, t.end)
        words = t.text if len(t.text) <= 80 else t.text[:77] + "..."
        how = f"{rate:.1f} syllables/s, {rate / base:.2f}x their usual {base:.1f}" if rel else f"over {absolute_wpm:.0f} wpm"
        out.append(
            Event(
                kind="fast_speech",
                start=round(start, 3),
                end=round(end, 3),
                speaker=t.speaker,
                detail=f"\"{words}\" at {t.wpm:.0f} wpm ({how})",
                value=round(t.wpm, 1),
                unit="wpm",
            )
        )
    return out
