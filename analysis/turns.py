"""Turns: consecutive words of one speaker, laid out on one timeline.

A speaker's words form one turn until they pause longer than
``turns.max_pause``, or pause longer than ``turns.yield_pause`` while the other
speaker says something in the gap. Short words of a listener inside the other's
turn (backchannels, "mm-hmm") stay as their own short turns; turns of different
speakers may overlap in time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .config import TurnsConfig
from .records import Turn, Word


def join_words(words: Sequence[Word]) -> str:
    """Text of a run of words, spaced as Whisper spells it."""
    text = ""
    for w in words:
        t = w.text
        if text and not (t[:1] in ",.?!;:%'" or t.startswith("'")):
            text += " "
        text += t
    return text


def _other_spoke(others: Sequence[tuple[float, float]], start: float, end: float) -> bool:
    for s, e in others:
        if s >= start and e <= end:
            return True
    return False


def build_turns(words_by_speaker: Mapping[str, Sequence[Word]], cfg: TurnsConfig | None = None) -> list[Turn]:
    """Group each speaker's words into turns and merge them on one timeline.

    Parameters
    ----------
    words_by_speaker : mapping of label -> words
        Each speaker's words, in any order.
    cfg : TurnsConfig, optional

    Returns
    -------
    list of Turn
        Sorted by start time (then speaker label).
    """
    cfg = cfg or TurnsConfig()
    spans = {label: sorted(((w.start, w.end) for w in ws)) for label, ws in words_by_speaker.items()}
    turns: list[Turn] = []
    for label, words in words_by_speaker.items():
        ordered = sorted(words, key=lambda w: (w.start, w.end))
        others = sorted(s for other, sp in spans.items() if other != label for s in sp)
        run: list[Word] = []
        for w in ordered:
            if run:
                gap = w.start - run[-1].end
                if gap > cfg.max_pause or (gap > cfg.yield_pause and _other_spoke(others, run[-1].end, w.start)):
                    turns.append(_turn(label, run))
                    run = []
            run.append(w)
        if run:
            turns.append(_turn(label, run))
    turns.sort(key=lambda t: (t.start, t.speaker))
    return turns


def _turn(label: str, words: list[Word]) -> Turn:
    return Turn(speaker=label, start=words[0].start, end=max(w.end for w in words), text=join_words(words), words=list(words))
