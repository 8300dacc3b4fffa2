"""First metrics of a call: talk time and share, pace, turns, overlap and silence.

Definitions
-----------
talk time
    Length of the union of the speaker's turns.
words per minute
    The speaker's words over their speech time, where speech time is the union
    of their word spans with gaps of up to 0.3 s bridged (longer pauses inside a
    turn do not count).
overlap time
    Time in which two or more speakers' turns overlap.
silence time
    Time between the start and the end of the recording in which no turn runs;
    ``longest_silence`` is its longest stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import intervals as iv
from .records import CallMetrics, Metrics, Speaker, SpeakerMetrics, Turn

WORD_BRIDGE = 0.3


def speech_time(turns: Sequence[Turn]) -> float:
    """Seconds of speech in ``turns``: union of word spans, short gaps bridged."""
    spans = [(w.start, w.end) for t in turns for w in t.words] or [(t.start, t.end) for t in turns]
    return iv.total(iv.union(spans, bridge=WORD_BRIDGE))


def basic_metrics(speakers: Sequence[Speaker], turns: Sequence[Turn], duration: float) -> Metrics:
    """Per-speaker and whole-call metrics from the turns.

    Parameters
    ----------
    speakers : sequence of Speaker
    turns : sequence of Turn
    duration : float
        Length of the recording, seconds.

    Returns
    -------
    Metrics
    """
    by_speaker = {s.label: [t for t in turns if t.speaker == s.label] for s in speakers}
    talk = {lab: iv.total((t.start, t.end) for t in ts) for lab, ts in by_speaker.items()}
    all_talk = sum(talk.values())
    per: list[SpeakerMetrics] = []
    for s in speakers:
        ts = by_speaker[s.label]
        n_words = sum(len(t.words) for t in ts)
        st = speech_time(ts)
        per.append(
            SpeakerMetrics(
                speaker=s.label,
                talk_time=round(talk[s.label], 3),
                talk_share=round(talk[s.label] / all_talk, 4) if all_talk > 0 else 0.0,
                words=n_words,
                wpm=round(n_words / (st / 60.0), 1) if st > 0 else None,
                turns=len(ts),
            )
        )

    overlap = overlap_spans(turns)
    anyone = iv.union((t.start, t.end) for t in turns)
    silences = iv.complement(anyone, 0.0, duration)
    call = CallMetrics(
        speech_time=round(iv.total(anyone), 3),
        overlap_time=round(iv.total(overlap), 3),
        silence_time=round(sum(e - s for s, e in silences), 3),
        longest_silence=round(max((e - s for s, e in silences), default=0.0), 3),
    )
    return Metrics(speakers=per, call=call)


def overlap_spans(turns: Sequence[Turn] | Sequence[Any]) -> list[iv.Interval]:
    """Spans in which two different speakers speak at once.

    Parameters
    ----------
    turns : sequence of Turn, or of anything with ``speaker``, ``start`` and ``end``
        (the activity spans of :mod:`analysis.conversation` work too).

    Returns
    -------
    list of (start, end)
        Disjoint, sorted.
    """
    labels = sorted({t.speaker for t in turns})
    spans = {lab: iv.union((t.start, t.end) for t in turns if t.speaker == lab) for lab in labels}
    out: list[iv.Interval] = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            out.extend(iv.intersect(spans[a], spans[b]))
    return iv.union(out)
