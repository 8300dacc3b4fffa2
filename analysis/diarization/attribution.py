"""Words to speakers: each recognised word gets the speaker of the diarisation turn it overlaps most.

A word that overlaps no diarisation turn takes the speaker of the nearest one.
Words are attributed one by one, never smoothed: a listener's short "mm-hmm"
inside the other speaker's turn keeps its own speaker, so it becomes a short
turn of its own when turns are built (:func:`analysis.turns.build_turns`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..records import Word

RESOLUTION = 0.01  # seconds
TIE_CONTEXT = 50  # frames either side looked at to break a tie (0.5 s)


def attribute_words(
    words: Sequence[Word], segments: Sequence[tuple[float, float, str]], default: str = "S0"
) -> dict[str, list[Word]]:
    """Group words by the diarisation speaker they overlap most.

    Parameters
    ----------
    words : sequence of Word
    segments : sequence of (start, end, label)
        Diarisation turns; they may overlap (two speakers at once).
    default : str
        Label given to every word when there are no segments at all.

    Returns
    -------
    dict of label -> list of Word
        Every label of ``segments`` is a key (possibly with no words), in order of first
        appearance; each word appears under exactly one label, in time order.
    """
    labels: list[str] = []
    for _, _, lab in sorted(segments):
        if lab not in labels:
            labels.append(lab)
    ordered = sorted(words, key=lambda w: (w.start, w.end))
    if not labels:
        return {default: list(ordered)} if ordered else {}
    out: dict[str, list[Word]] = {lab: [] for lab in labels}
    if not ordered:
        return out

    end_time = max(max(e for _, e, _ in segments), max(w.end for w in ordered)) + 1.0
    n = int(np.ceil(end_time / RESOLUTION)) + 1
    index = {lab: i for i, lab in enumerate(labels)}
    active = np.zeros((len(labels), n), dtype=np.int32)
    for s, e, lab in segments:
        if e > s:
            a = _frame(s, n)
            active[index[lab], a : max(a + 1, _frame(e, n))] = 1
    cum = np.concatenate((np.zeros((len(labels), 1), dtype=np.int64), np.cumsum(active, axis=1)), axis=1)

    # nearest segment of any speaker, for words in no turn
    any_active = active.any(axis=0)
    idx = np.arange(n)
    prev_on = np.where(any_active, idx, -1)
    prev_on = np.maximum.accumulate(prev_on)
    next_on = np.where(any_active, idx, n)
    next_on = np.minimum.accumulate(next_on[::-1])[::-1]
    first_label = active.argmax(axis=0)

    for w in ordered:
        a, b = _frame(w.start, n), _frame(w.end, n)
        b = max(b, a + 1)
        overlap = cum[:, b] - cum[:, a]
        if overlap.max() > 0:
            best = np.flatnonzero(overlap == overlap.max())
            if best.size > 1:  # a tie (inside overlapping talk): the speaker of the wider context
                wa, wb = max(0, a - TIE_CONTEXT), min(n, b + TIE_CONTEXT)
                wide = cum[best, wb] - cum[best, wa]
                best = best[[int(np.argmax(wide))]]
            lab = labels[int(best[0])]
        else:
            before = prev_on[min(a, n - 1)]
            after = next_on[min(b, n - 1)] if b < n else n
            d_before = a - before if before >= 0 else np.inf
            d_after = after - b if after < n else np.inf
            frame = before if d_before <= d_after else after
            lab = labels[int(first_label[frame])] if 0 <= frame < n else labels[0]
        out[lab].append(w)
    return out


def _frame(t: float, n: int) -> int:
    return int(min(n - 1, max(0, round(t / RESOLUTION))))
