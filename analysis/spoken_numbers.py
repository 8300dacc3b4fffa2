"""Numbers as an ASR writes them: tokens of recognised words, and the numbers they say.

A number may be written ("4532"), split over words ("45", "32"), single digits
with punctuation ("4, 5, 3, 2"), spoken digits ("four five three two", "oh"
for zero, "double four"), pairs ("forty five thirty two"), hundreds and
thousands ("two thousand and one"), ordinals ("the third", "14th"), or ASR
homophones of a digit between two digits ("0 for 27"). :func:`tokenize`
splits words into tokens that remember their word and speaker;
:func:`number_items` reads the numbers in them, each with its token range.
Which numbers are personal data is decided in :mod:`analysis.redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .records import Word

# --------------------------------------------------------------------------------------------
# Vocabulary

UNITS = {"zero": 0, "oh": 0, "o": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
         "six": 6, "seven": 7, "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
            "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
            "twentieth": 20, "thirtieth": 30}
REPEAT = {"double": 2, "triple": 3}
#: Words an ASR writes for a spoken digit ("oh four, twenty seven" -> "0 for 27"): digits only between two digits.
HOMOPHONES = {"for": 4, "fore": 4, "to": 2, "too": 2, "free": 3, "tree": 3, "won": 1, "ate": 8, "so": 0}
MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
MONTHS.update({"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
               "oct": 10, "nov": 11, "dec": 12})

#: Words and marks that may come between the pieces of one number.
JOINERS = {",", ".", "-", "–", "—", "/", "(", ")", "+", "…"}
FILLERS = {"uh", "um", "er", "erm", "ah", "hmm", "mm", "mhm", "huh", "okay", "ok", "yeah", "yep", "yes", "right",
           "dash", "hyphen", "so"}

#: Words between two pieces of one number that take back the piece before: "six two, sorry, six two five one".
CORRECTIONS = [("no",), ("sorry",), ("wait",), ("actually",), ("i", "mean"), ("i", "meant"), ("scratch", "that"),
               ("my", "mistake"), ("my", "bad")]
#: ... and words that only pause it: "nine two three eight, hang on, five three eight seven".
PAUSES = [("then",), ("and", "then"), ("hang", "on"), ("hold", "on"), ("let", "me", "see"), ("let", "me", "check"),
          ("bear", "with", "me"), ("just", "a", "sec"), ("just", "a", "second")]


# --------------------------------------------------------------------------------------------
# Tokens

_TOKEN_RE = re.compile(
    r"(?<![\d.])\d+\.\d+(?![.\d])"  # a decimal number (17.5, 0.82): a quantity, never part of PII
    r"|\d+(?:st|nd|rd|th)\b"  # ordinal digits: 14th
    r"|(?=[a-z]*\d)(?=\d*[a-z])[a-z\d]+"  # letters and digits mixed: a code, never part of a number
    r"|['’]s\b"  # the clitic of "expiry's", "social's", "it's": a token of its own
    r"|[a-z]+(?:['’](?!s\b)[a-z]+)*"
    r"|\d+"
    r"|[^\sa-z\d]",
    re.IGNORECASE,
)


@dataclass
class Tok:
    text: str  # lower case
    kind: str  # alpha, num, ord, code, punct
    word: int
    a: int  # char offsets in the word's text
    b: int
    speaker: str | None
    time: float
    used: bool = False  # part of a span already
    ctx: bool = False  # part of a context phrase


def tokenize(words: Sequence[Word], speakers: Sequence[str | None]) -> list[Tok]:
    out: list[Tok] = []
    for wi, w in enumerate(words):
        spk = speakers[wi]
        for m in _TOKEN_RE.finditer(w.text):
            t = m.group(0)
            low = t.lower().replace("’", "'")
            if t[0].isdigit() and "." in t:
                kind = "code"
            elif t[0].isdigit():
                kind = "ord" if low[-2:] in ("st", "nd", "rd", "th") and low[:-2].isdigit() else ("num" if t.isdigit() else "code")
            elif t[0].isalpha():
                kind = "code" if any(c.isdigit() for c in t) else "alpha"
            else:
                kind = "punct"
            out.append(Tok(low, kind, wi, m.start(), m.end(), spk, w.start))
    return out



# --------------------------------------------------------------------------------------------
# Numbers


@dataclass
class Item:
    """A number read from one or more tokens: its digits as spoken/written."""

    digits: str
    i0: int  # token range [i0, i1)
    i1: int
    ordinal: bool = False


def next_index(toks: list[Tok], i: int, skip: Iterable[str] = ("-",)) -> int:
    """Index of the next token after ``i`` of the same speaker that is not in ``skip``; -1 at the end."""
    j = i + 1
    while j < len(toks) and (toks[j].text in skip and toks[j].kind == "punct"):
        j += 1
    if j < len(toks) and toks[j].speaker == toks[i].speaker:
        return j
    return -1


def is_numeric_word(t: Tok) -> bool:
    return t.kind in ("num", "ord") or (
        t.kind == "alpha" and t.text not in ("oh", "o") and (t.text in UNITS or t.text in TEENS or t.text in TENS
                                                              or t.text in REPEAT or t.text in ORDINALS)
    )


def zero_words(toks: list[Tok]) -> set[int]:
    """Indices of "oh"/"o" tokens that are the digit zero: next to another number (punctuation between allowed)."""
    zeros: set[int] = set()
    cand = [i for i, t in enumerate(toks) if t.kind == "alpha" and t.text in ("oh", "o") and not t.ctx]

    def neighbour_numeric(i: int, step: int) -> bool:
        j = i + step
        while 0 <= j < len(toks) and toks[j].kind == "punct" and toks[j].text in JOINERS:
            j += step
        if not (0 <= j < len(toks)) or toks[j].speaker != toks[i].speaker or toks[j].ctx:
            return False
        return is_numeric_word(toks[j]) or j in zeros

    changed = True
    while changed:
        changed = False
        for i in cand:
            if i not in zeros and (neighbour_numeric(i, 1) or neighbour_numeric(i, -1)):
                zeros.add(i)
                changed = True
    return zeros


def homophone(toks: list[Tok], i: int) -> int | None:
    """The digit an ASR homophone stands for, when written between two numbers of the same speaker ("0 for 27")."""
    t = toks[i]
    if t.kind != "alpha" or t.text not in HOMOPHONES or t.ctx:
        return None

    def numeric(step: int) -> bool:
        j = i + step
        while 0 <= j < len(toks) and toks[j].kind == "punct" and toks[j].text in JOINERS:
            j += step
        return 0 <= j < len(toks) and toks[j].speaker == t.speaker and not toks[j].ctx and (
            toks[j].kind == "num" or (is_numeric_word(toks[j]) and toks[j].text not in ORDINALS)
        )

    return HOMOPHONES[t.text] if numeric(-1) and numeric(1) else None


def _unit(toks: list[Tok], i: int, zeros: set[int]) -> int | None:
    t = toks[i]
    if t.kind == "alpha" and t.text in UNITS and (t.text not in ("oh", "o") or i in zeros):
        return UNITS[t.text]
    return None


def small_number(toks: list[Tok], i: int, zeros: set[int]) -> tuple[int, int, bool] | None:
    """A number below 100 said as words starting at ``i``: (value, next index, ordinal)."""
    t = toks[i]
    if t.kind != "alpha" or t.ctx:
        return None
    if t.text in TENS:
        j = next_index(toks, i)
        if j >= 0 and not toks[j].ctx:
            u = toks[j].text
            if u in UNITS and u not in ("zero", "oh", "o", "nought"):
                return TENS[t.text] + UNITS[u], j + 1, False
            if u in ORDINALS and ORDINALS[u] < 10:
                return TENS[t.text] + ORDINALS[u], j + 1, True
        return TENS[t.text], i + 1, False
    if t.text in TEENS:
        return TEENS[t.text], i + 1, False
    if t.text in ORDINALS:
        return ORDINALS[t.text], i + 1, True
    u = _unit(toks, i, zeros)
    if u is not None:
        return u, i + 1, False
    return None


def word_number(toks: list[Tok], i: int, zeros: set[int]) -> tuple[str, int, bool] | None:
    """A number said in words starting at ``i``: (digits, next index, ordinal); hundreds and thousands combined."""
    t = toks[i]
    if t.kind != "alpha" or t.ctx:
        return None
    if t.text in REPEAT:
        j = next_index(toks, i)
        if j >= 0 and not toks[j].ctx:
            u = _unit(toks, j, zeros) if toks[j].text not in ("oh", "o") else 0
            if u is None and toks[j].kind == "num" and len(toks[j].text) == 1:
                u = int(toks[j].text)
            if u is not None:
                return str(u) * REPEAT[t.text], j + 1, False
        return None
    got = small_number(toks, i, zeros)
    if got is None:
        return None
    value, j, ordinal = got
    is_unit = toks[i].text in UNITS
    if ordinal or (is_unit and toks[i].text in ("oh", "o", "zero", "nought")):
        return str(value), j, ordinal
    k = next_index(toks, j - 1) if j - 1 >= 0 else -1
    if k >= 0 and toks[k].text in ("hundred", "thousand") and not toks[k].ctx:
        scale = 100 if toks[k].text == "hundred" else 1000
        total = value * scale
        m = k + 1
        rest = _rest_after_scale(toks, m, zeros, scale)
        if rest is not None:
            r_value, m = rest
            total += r_value
        return str(total), m, False
    return str(value), j, False


def _rest_after_scale(toks: list[Tok], m: int, zeros: set[int], scale: int) -> tuple[int, int] | None:
    """The part after "hundred"/"thousand": "and twelve", "twenty seven", "two hundred and five"."""
    if m >= len(toks) or toks[m].speaker != toks[m - 1].speaker:
        return None
    had_and = toks[m].text == "and"
    n = m + 1 if had_and else m
    if n >= len(toks) or toks[n].speaker != toks[m - 1].speaker or toks[n].ctx:
        return None
    got = small_number(toks, n, zeros)
    if got is None or got[2]:
        return None
    value, nxt, _ = got
    if scale == 1000:
        k = nxt if nxt < len(toks) else -1
        if k >= 0 and toks[k].text == "hundred":
            value *= 100
            nxt = k + 1
            more = _rest_after_scale(toks, nxt, zeros, 100)
            if more is not None:
                value += more[0]
                nxt = more[1]
            return value, nxt
    # "eight hundred five five five": a bare digit after "hundred" is the next digit, not 805 ("two thousand one" is 2001)
    if scale == 100 and not had_and and toks[n].text in UNITS:
        return None
    return value, nxt


def number_items(toks: list[Tok]) -> list[Item]:
    """Every number in the tokens, in order (context-phrase tokens excluded)."""
    zeros = zero_words(toks)
    out: list[Item] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.ctx or t.used:
            i += 1
            continue
        if t.kind == "num":
            out.append(Item(t.text, i, i + 1))
            i += 1
            continue
        if t.kind == "ord":
            out.append(Item(t.text[:-2], i, i + 1, ordinal=True))
            i += 1
            continue
        got = word_number(toks, i, zeros)
        if got is not None:
            digits, j, ordinal = got
            out.append(Item(digits, i, j, ordinal))
            i = j
            continue
        h = homophone(toks, i)
        if h is not None:
            out.append(Item(str(h), i, i + 1))
        i += 1
    return out



def phrase_at(toks: list[Tok], m: int, end: int, phrases: list[tuple[str, ...]]) -> int:
    """Length in tokens of the longest of ``phrases`` said at ``m`` (before ``end``), 0 if none."""
    best = 0
    for p in phrases:
        if m + len(p) <= end and len(p) > best and all(toks[m + k].text == w for k, w in enumerate(p)):
            best = len(p)
    return best
