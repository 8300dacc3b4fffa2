"""Customer repetition said in other words: a small model over a pair (what the customer says now, what they said before).

A customer who says again what they already said ("nobody came on Tuesday, I
waited in all day" after "the engineer never turned up on Tuesday") is a sign
of not being heard, but often shares few words, and only middling embedding
similarity, with the first time; while a follow-up on the same subject ("and
it also says I'm on the wrong tariff" after "my bill went up") shares many.
This model weighs how alike the two are against what is new in the second:

* ``maxcos``: highest cosine similarity (all-MiniLM-L6-v2) between a sentence
  or clause said now and one said before (questions left out);
* ``whole``: highest similarity of the whole turn with one earlier turn;
* ``p``: the cue classifier's probability of ``customer_repetition`` for the
  turn on its own (its wording: "still", "nine days now", "every single time"),
  and ``maxcos * p``;
* lexical: share of the turn's content words said before, how many content
  words are new, how many are shared, an additive marker ("also", "another",
  "as well", "on top of"), a question, a new number/amount/day, and length;
  an explanation ("because", "that's why": a reason given is new), a start
  with a pronoun (a new fact about what was just raised: "he's fourteen..."),
  both the turn and the earlier sentence negative ("nobody came" / "never
  turned up"), persistence words ("still", "every time", "for days"), the
  share of the turn in the part that matched, and the turn's length against
  the earlier sentence's.

Logistic regression over these (``analysis/models/repetition.json``, trained
by ``scripts/train_repetition.py`` on the labelled sets). Pure functions; the
encoder and classifier are passed in by :class:`analysis.cues.CueDetector`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ConfigError

BUILTIN = Path(__file__).resolve().parent / "models" / "repetition.json"
FEATURES = (
    "maxcos", "whole", "p", "maxcos_x_p",
    "shared_share", "log_new", "log_shared", "additive", "question", "new_number", "log_words",
    "explains", "pronoun_start", "both_negative", "persistence", "span_share", "length_ratio",
)

_STOP = frozenset(
    """a an the and or but so if then of to in on at for with by from up down out over about into as is are was were be
    been being am i me my mine we us our you your yours he she it its they them their this that these those there here
    what which who whom whose do does did done doing have has had having will would shall should can could may might
    must not no nor dont didnt doesnt isnt arent wasnt werent wont cant couldnt wouldnt shouldnt havent hasnt hadnt im
    ive id ill youre youve its thats theres theyre were just really very still even only also too now then well oh okay
    ok yeah yes right like get got go going gone one some any all more most much many again said say says told tell
    telling saying""".split()
)
_WORD = re.compile(r"[a-z0-9]+")
_ADDITIVE = re.compile(r"\b(?:also|another|as well|too|plus|on top of|besides|other thing|one more thing|what about|and the)\b")
_EXPLAINS = re.compile(r"\b(?:because|cos|cause|so i|so we|thats why|which is why|since)\b")
_PRONOUN_START = re.compile(r"^(?:and |but |well |oh |yeah |no |so )?(?:he|she|they|his|her|their|hes|shes|theyre|its|it)\b")
_NEGATIVE = re.compile(
    r"\b(?:not|never|no|nobody|nothing|none|didnt|hasnt|havent|wasnt|isnt|wont|cant|doesnt|still)\b"
)
_PERSISTENCE = re.compile(r"\b(?:still|yet|keeps?|every time|again|same|over and over|all day|for days|for weeks|weeks|days)\b")
_NUMBERISH = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"pounds?|dollars?|quid|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
)


def _plain(text: str) -> str:
    """Lower case, apostrophes dropped (the form the word patterns are written for)."""
    return text.lower().replace("'", "").replace("\u2019", "")


def _words(text: str) -> list[str]:
    return _WORD.findall(_plain(text))


def _stem(w: str) -> str:
    for suf in ("ing", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def content_words(text: str) -> set[str]:
    """Stemmed words of ``text`` that carry its content (stop words and words of 1-2 letters left out)."""
    return {_stem(w) for w in _words(text) if w not in _STOP and len(w) > 2}


def lexical_features(text: str, earlier: Sequence[str], span: str | None = None, said: str | None = None) -> list[float]:
    """The lexical features of ``text`` against the customer's ``earlier`` turns (see the module notes).

    ``span`` is the part of ``text`` most like what was said before and ``said`` that earlier
    sentence (both default to the whole texts).
    """
    span = text if span is None else span
    said = " ".join(earlier) if said is None else said
    plain = _plain(text)
    mine = content_words(text)
    before = set().union(*(content_words(t) for t in earlier)) if earlier else set()
    shared = len(mine & before)
    low = text.lower()
    new_numbers = set(_NUMBERISH.findall(low)) - set(_NUMBERISH.findall(" ".join(earlier).lower()))
    return [
        shared / max(1, len(mine)),
        float(np.log1p(len(mine - before))),
        float(np.log1p(shared)),
        float(bool(_ADDITIVE.search(low))),
        float(text.rstrip().endswith("?")),
        float(bool(new_numbers)),
        float(np.log1p(len(_words(text)))),
        float(bool(_EXPLAINS.search(plain))),
        float(bool(_PRONOUN_START.search(plain.lstrip()))),
        float(bool(_NEGATIVE.search(plain)) and bool(_NEGATIVE.search(_plain(said)))),
        float(bool(_PERSISTENCE.search(plain))),
        len(content_words(span)) / max(1, len(mine)),
        float(np.log((1 + len(_words(text))) / (1 + len(_words(said))))),
    ]


def pair_features(
    text: str, earlier: Sequence[str], maxcos: float, whole: float, p: float, span: str | None = None, said: str | None = None
) -> np.ndarray:
    """Feature vector (in :data:`FEATURES` order) of a customer turn against their earlier turns.

    Parameters
    ----------
    text : str
        What the customer says now.
    earlier : sequence of str
        Their earlier turns.
    maxcos, whole, p : float
        Best sentence similarity, whole-turn similarity, classifier probability (module notes).
    span, said : str, optional
        The part of ``text`` and the earlier sentence that ``maxcos`` was found between.
    """
    return np.array([maxcos, whole, p, maxcos * p, *lexical_features(text, earlier, span, said)], dtype=np.float64)


@dataclass(frozen=True)
class RepetitionModel:
    """Logistic regression over :data:`FEATURES` (standardised inside: ``(x - mean) / scale``)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    name: str = "repetition"

    def probability(self, features: np.ndarray) -> float:
        """Probability that the turn repeats something said before."""
        z = float(((np.asarray(features) - self.mean) / self.scale) @ self.coef + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_json(self, path: str | Path, **info) -> None:
        """Write the model (and ``info``: how it was trained and measured) as JSON."""
        from .output import write_atomic

        doc = {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            **info,
        }
        write_atomic(Path(path), json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "RepetitionModel":
        """Read a model written by :meth:`to_json`.

        Raises
        ------
        ConfigError
            The file is missing, not JSON, or for other features.
        """
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            if tuple(doc["features"]) != FEATURES:
                raise ValueError(f"features {doc['features']} are not {list(FEATURES)}")
            n = len(FEATURES)
            arrays = [np.asarray(doc[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (n,) for a in arrays):
                raise ValueError(f"mean, scale and coef must each have {n} numbers")
            return cls(*arrays, float(doc["intercept"]), name=str(p))
        except FileNotFoundError:
            raise ConfigError(f"{p}: repetition model file not found; set [detection.repetition] model to \"builtin\" or \"none\"") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{p}: not a repetition model ({exc}); train one with scripts/train_repetition.py") from None
