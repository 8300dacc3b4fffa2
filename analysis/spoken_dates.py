"""Dates said in a call: card expiry dates and dates of birth.

:func:`date_at` finds a date-like stretch of tokens (numbers, month names,
ordinals and the words between them: "the 3rd of March, '88", "oh four slash
twenty seven", "the tenth month, twenty seven", "the first of the first, oh
two"), in pieces where the speaker takes something back ("fourteenth of, no,
fifteenth of February"); :func:`is_expiry` and :func:`is_dob` say whether a
stretch is a card expiry (month and year) or a date of birth (day and month,
with or without the year; or month and a four-digit year).
"""

from __future__ import annotations

from .spoken_numbers import (
    CORRECTIONS, FILLERS, JOINERS, MONTHS, Item, Tok, homophone, is_numeric_word, number_items, phrase_at,
)

#: Words and marks between the parts of a date ("'": a short year, "March 3rd, '88"; "by": month by year
#: in Indian English, "10 by 27").
_DATE_JOIN = {"of", "the", ",", "/", "-", ".", "–", "slash", "dash", "hyphen", "stroke", "'", "’", "by"}
#: Words inside a date said in words: "two thousand and one", "uh"; never its last word, but for a
#: "hundred" or "thousand" right after a number ("nineteen hundred", "two thousand").
_DATE_INSIDE = {"uh", "um", "er", "erm", "hundred", "thousand"}
_SCALES = {"hundred", "thousand"}
#: Tokens a date is looked for after its context ("what's the date of birth of the passenger travelling with you?").
DATE_WINDOW = 30
#: The most tokens one date (with its corrections) takes.
_DATE_LONGEST = 30


def is_month(t: Tok) -> bool:
    return t.kind == "alpha" and t.text in MONTHS and not t.ctx


def _date_word(toks: list[Tok], j: int, zeros: set[int]) -> bool:
    t = toks[j]
    return not t.ctx and (t.kind in ("num", "ord") or is_month(t) or is_numeric_word(t) or j in zeros
                          or homophone(toks, j) is not None)


def _skip_joiners(toks: list[Tok], j: int, end: int) -> int:
    while j < end and (toks[j].text in JOINERS or toks[j].text in FILLERS):
        j += 1
    return j


def date_at(toks: list[Tok], start: int, zeros: set[int], end: int | None = None) -> list[tuple[int, int]] | None:
    """The first date-like stretch beginning in ``[start, end)``: its pieces as token ranges, or None.

    One piece, unless the speaker takes back part of it: "fourteenth of, no,
    fifteenth of February seventy four" is two pieces, the first said again
    in the second. The stretch takes in a "the" or an "end of" just before it
    ("the end of March twenty eight"), the other speaker's "mm-hmm" inside it,
    and leaves out an "oh," that opens it ("expiry, um, oh, oh six, twenty
    nine").
    """
    end = len(toks) if end is None else min(end, len(toks))
    first = next((i for i in range(start, end) if not toks[i].used and _date_word(toks, i, zeros)), None)
    if first is None:
        return None
    spk = toks[first].speaker
    if toks[first].text in ("oh", "o") and first + 2 < len(toks) and toks[first + 1].text == ",":
        nxt = _skip_joiners(toks, first + 1, len(toks))
        if nxt < len(toks) and toks[nxt].speaker == spk and _date_word(toks, nxt, zeros):
            first = nxt
    pieces = []
    begin = last = first
    j = first + 1
    while j < len(toks) and j - first < _DATE_LONGEST:
        t = toks[j]
        if t.ctx or t.used:
            break
        if t.speaker != spk:  # the other speaker's "mm-hmm" between the day and the year
            if t.kind != "punct" and t.text not in FILLERS:
                break
        elif _date_word(toks, j, zeros) or (t.text in _SCALES and last == j - 1 and is_numeric_word(toks[last])):
            last = j
        elif t.text == "month" and toks[last].kind in ("alpha", "ord") and j == last + 1:
            pass  # "the tenth month"
        elif t.text == "and" and toks[j - 1].text in ("hundred", "thousand"):
            pass  # "two thousand and one" (any other "and" ends the date: "..., and the fifth of May")
        elif t.text not in _DATE_JOIN and t.text not in _DATE_INSIDE:
            n = phrase_at(toks, j, len(toks), CORRECTIONS)
            nxt = _skip_joiners(toks, j + n, len(toks)) if n else j
            if not (n and nxt < len(toks) and toks[nxt].speaker == spk and _date_word(toks, nxt, zeros)):
                break
            pieces.append((begin, last + 1))
            begin = last = j = nxt
        j += 1
    pieces.append((begin, _keep_month(toks, last, j) + 1))
    pieces[0] = (_lead_in(toks, pieces[0][0]), pieces[0][1])
    return pieces


def _keep_month(toks: list[Tok], last: int, j: int) -> int:
    """The last token of a date: its last number, or a "month" right after it ("the fifth month")."""
    return last + 1 if last + 1 < j and toks[last + 1].text == "month" else last


#: Words before "the end of" that make it their phrase: "it expires at the end of March 2029" -- the date is "March 2029".
_PREPOSITIONS = {"at", "by", "until", "till", "before", "after", "from", "to", "in", "on"}


def _lead_in(toks: list[Tok], first: int) -> int:
    """Where a date starting at ``first`` begins: with its "the" ("the third"), or its "end of" when that
    is said as the date ("expiry end of March twenty eight", not "expires at the end of March 2029")."""
    spk = toks[first].speaker

    def said(k: int, *words: str) -> bool:
        return k >= 0 and all(toks[k + m].text == w and toks[k + m].speaker == spk for m, w in enumerate(words))

    if said(first - 2, "end", "of"):
        k = first - 4 if said(first - 3, "the") else first - 3
        if not (k >= 0 and toks[k].text in _PREPOSITIONS):
            return first - 2
    if said(first - 1, "the"):
        return first - 1
    return first


def _date_parts(toks: list[Tok], i0: int, i1: int) -> tuple[int | None, int | None, str, list[Item]]:
    """Month, day, the other digits, and their number items.

    The month is a month name, an ordinal before "month" ("the tenth month")
    or an ordinal after the day ("the third of the ninth"); the day is the
    first other ordinal. An ordinal said twice ("the fifth, uh, fifth of")
    counts once.
    """
    sub = [t for t in toks[i0:i1] if t.speaker == toks[i0].speaker]
    month = None
    for t in sub:
        if is_month(t):
            month = MONTHS[t.text]
    items = _without_repeats(number_items(sub), sub)
    day = None
    rest = []
    for it in items:
        value = int(it.digits) if it.digits.isdigit() else 0
        if it.ordinal and month is None and 1 <= value <= 12 and it.i1 < len(sub) and sub[it.i1].text == "month":
            month = value
        elif it.ordinal and day is None and 1 <= value <= 31:
            day = value
        elif it.ordinal and day is not None and month is None and 1 <= value <= 12:
            month = value
        else:
            rest.append(it)
    return month, day, "".join(it.digits for it in rest), rest


def _without_repeats(items: list[Item], toks: list[Tok]) -> list[Item]:
    """The items with an ordinal said twice in a row counted once: "the fifth, uh, fifth of the seventh"."""
    out: list[Item] = []
    for it in items:
        if (out and it.ordinal and out[-1].ordinal and it.digits == out[-1].digits
                and all(t.kind == "punct" or t.text in FILLERS for t in toks[out[-1].i1:it.i0])):
            continue
        out.append(it)
    return out


def _year_ok(y: str) -> bool:
    return len(y) == 2 or (len(y) == 4 and y[:2] in ("19", "20"))


def _valid_mdy(m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= 31


def _numeric_date(digits: str, items: list[Item]) -> bool:
    """An all-digit date of birth: M/D/Y or D/M/Y, 2- or 4-digit year, or Y-M-D.

    Said in several numbers, the month, day and year each start a number:
    "nineteen seventy nine" (19, 79) is a year, not 1/9/79.
    """
    lens = [len(it.digits) for it in items]
    if len(items) == 3 and lens[2] in (2, 4) and all(x <= 2 for x in lens[:2]):
        a, b = int(items[0].digits), int(items[1].digits)
        if _year_ok(items[2].digits) and (_valid_mdy(a, b) or _valid_mdy(b, a)):
            return True
    if len(items) == 3 and lens[0] == 4 and _year_ok(items[0].digits):
        a, b = int(items[1].digits), int(items[2].digits)
        if _valid_mdy(a, b):
            return True
    n = len(digits)
    starts = {sum(lens[:k]) for k in range(len(lens) + 1)}
    for mlen in (1, 2):
        for dlen in (1, 2):
            ylen = n - mlen - dlen
            if ylen not in (2, 4):
                continue
            if len(items) > 1 and not {mlen, mlen + dlen} <= starts:
                continue
            a, b, y = int(digits[:mlen]), int(digits[mlen:mlen + dlen]), digits[mlen + dlen:]
            if _year_ok(y) and (_valid_mdy(a, b) or _valid_mdy(b, a)):
                if n >= 6 or len(items) >= 2:
                    return True
    if n == 8 and digits[:2] in ("19", "20") and _valid_mdy(int(digits[4:6]), int(digits[6:])):
        return True
    return False


def is_expiry(toks: list[Tok], i0: int, i1: int, three_digits: bool = True) -> bool:
    """A card expiry: month and year ("March twenty eight", "oh four twenty seven", "the tenth month, twenty seven").

    ``three_digits`` False: "three four eight" is no expiry (said when a CVV was asked for too), unless
    the month and the year are split by a slash or a dash ("3/27", "three slash twenty seven").
    """
    month, day, digits, items = _date_parts(toks, i0, i1)
    if day is not None:
        return False
    if month is not None:
        return _year_ok(digits)
    n = len(digits)
    if n == 3:
        return (three_digits or _month_slash_year(toks, i0, i1, items)) and digits[0] != "0" and _year_ok(digits[1:])
    if n == 4:
        return 1 <= int(digits[:2]) <= 12
    if n == 6:
        return 1 <= int(digits[:2]) <= 12 and digits[2:4] == "20"
    return False


_SLASHES = {"/", "-", "slash", "stroke", "dash"}


def _month_slash_year(toks: list[Tok], i0: int, i1: int, items: list[Item]) -> bool:
    """A one-digit month and a two-digit year with a slash or a dash between them: "3/27"."""
    if [len(it.digits) for it in items] != [1, 2]:
        return False
    sub = [t for t in toks[i0:i1] if t.speaker == toks[i0].speaker]
    return any(t.text in _SLASHES for t in sub[items[0].i1:items[1].i0])


def is_dob(toks: list[Tok], i0: int, i1: int, need_year: bool = False) -> bool:
    """A date of birth: day and month (with the year, or without it unless ``need_year``), month and a
    four-digit year, or an all-digit date."""
    month, day, digits, items = _date_parts(toks, i0, i1)
    if month is not None:
        if day is not None:
            return (digits == "" and not need_year) or _year_ok(digits)
        if digits == "":
            return False
        if _year_ok(digits) and len(digits) == 4:
            return True  # month and year
        first = items[0].digits if items else ""
        if first.isdigit() and 1 <= int(first) <= 31:
            others = "".join(it.digits for it in items[1:])
            return others == "" or _year_ok(others)
        return False
    if day is not None:
        return False
    return _numeric_date(digits, items)
