"""Sentiment of turns (VADER) and the customer's sentiment trend.

VADER (Hutto & Gilbert, 2014) is a lexicon- and rule-based sentiment model
made for short informal text; its *compound* score runs from -1 (most negative)
to +1 (most positive). It runs offline and needs no model download.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from .errors import ModelUnavailableError
from .records import Turn


@functools.lru_cache(maxsize=1)
def _analyzer():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise ModelUnavailableError("VADER is not installed: pip install vaderSentiment") from None
    return SentimentIntensityAnalyzer()


def text_sentiment(text: str) -> float:
    """VADER compound sentiment of ``text``, -1 to 1 (0 for empty text).

    Raises
    ------
    ModelUnavailableError
        When vaderSentiment is not installed.
    """
    if not text.strip():
        return 0.0
    return round(float(_analyzer().polarity_scores(text)["compound"]), 4)


def with_sentiment(turns: Sequence[Turn]) -> list[Turn]:
    """Copies of ``turns`` with :attr:`Turn.sentiment` set from their text."""
    return [t.model_copy(update={"sentiment": text_sentiment(t.text)}) for t in turns]


def thirds(turns: Sequence[Turn]) -> tuple[list[Turn], list[Turn]]:
    """The first and the last third of ``turns`` (by count, in time order).

    With n turns each part holds ceil(n / 3) turns; with fewer than 2 turns both
    parts are empty.
    """
    ordered = sorted(turns, key=lambda t: t.start)
    if len(ordered) < 2:
        return [], []
    k = max(1, math.ceil(len(ordered) / 3))
    return ordered[:k], ordered[-k:]


def sentiment_trend(turns: Sequence[Turn]) -> tuple[float, float] | None:
    """Mean sentiment of the first and last third of ``turns``; None with fewer than 2 turns.

    Turns without a sentiment are scored from their text.
    """
    early, late = thirds(turns)
    if not early or not late:
        return None

    def mean(ts: list[Turn]) -> float:
        vals = [t.sentiment if t.sentiment is not None else text_sentiment(t.text) for t in ts]
        return sum(vals) / len(vals)

    return round(mean(early), 4), round(mean(late), 4)
