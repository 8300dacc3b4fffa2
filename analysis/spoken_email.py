"""E-mail addresses in a call, written ("john.smith@example.com") or said ("john dot smith at example dot com")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .records import Word
from .spoken_numbers import FILLERS, REPEAT, TEENS, TENS, UNITS, Tok

TLDS = {"com", "net", "org", "edu", "gov", "co", "uk", "us", "io", "me", "info", "biz", "ca", "au", "de", "fr",
        "ie", "nz", "in", "app", "dev", "ai", "tv", "eu", "mail"}
PROVIDERS = {"gmail", "googlemail", "yahoo", "hotmail", "outlook", "icloud", "aol", "proton", "protonmail", "live",
             "msn", "comcast", "btinternet", "sky", "gmx"}
EMAIL_JOIN = {"dot": ".", ".": ".", "underscore": "_", "_": "_", "dash": "-", "-": "-", "hyphen": "-"}
#: Words that are never the last word of an e-mail's local part ("look at", "be at", "me at").
LOCAL_STOP = set("""
a an the i i'm im me my mine you you're your we we're our us they they're their them he him his she her it it's
its is are was were be been being am at to of in on for with from by as or and but so if then than that this these
those there here where when what who how why which look looking looked meet meeting call calling called stay
staying arrive arriving arrived be back home work working office store shop branch bank please email emails e-mail
address mail send sent write wrote reach contact it's is email's ok okay yes no well just also only now today
tomorrow yesterday tonight morning evening afternoon night still all get got have has had do does did will would
can could should may might must let lets let's up down out off over into onto about around
""".split())
_EMAIL_RE = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)


def emails_written(words: Sequence[Word]) -> list[tuple[int, int, int, int]]:
    """Written addresses inside single words: (word, char start, char end) as (w, a, w, b)."""
    out = []
    for wi, w in enumerate(words):
        for m in _EMAIL_RE.finditer(w.text):
            out.append((wi, m.start(), wi, m.end()))
    return out


#: Words a speaker adds about the address just before "at": "mary k jones, all one word, at yahoo dot com".
ASIDES = [("all", "one", "word"), ("one", "word"), ("all", "lowercase"), ("all", "lower", "case"), ("lowercase",),
          ("lower", "case"), ("no", "spaces"), ("all", "together")]
#: Words that take back part of an address: "a dot b dot c, sorry, a dot b dot chen at ...".
EMAIL_CORRECTIONS = [("no",), ("sorry",), ("no", "sorry"), ("i", "mean"), ("wait",), ("actually",)]


def _numberish(t: Tok) -> bool:
    """Digits or a number word: "smith70", "smith seventy", "funmi two double oh four" are all local parts."""
    return t.kind == "num" or t.text in UNITS or t.text in TEENS or t.text in TENS or t.text in REPEAT


def _name_tok(t: Tok) -> bool:
    return t.kind in ("alpha", "num", "code") and not t.ctx and t.text not in EMAIL_JOIN


class _View:
    """One speaker's tokens in order, as an address is read from them: commas (pauses) and the other
    speaker's backchannel ("mm-hmm") left out; any other word of the other speaker is a wall."""

    WALL = -1

    def __init__(self, toks: list[Tok], speaker: str | None) -> None:
        self.toks = toks
        self.idx: list[int] = []
        for i, t in enumerate(toks):
            if t.speaker == speaker:
                if t.text != ",":
                    self.idx.append(i)
            elif t.kind != "punct" and t.text not in FILLERS:
                self.idx.append(self.WALL)

    def __len__(self) -> int:
        return len(self.idx)

    def tok(self, p: int) -> Tok | None:
        """The token at view position ``p`` (None outside the view or at a wall)."""
        if 0 <= p < len(self.idx) and self.idx[p] != self.WALL:
            return self.toks[self.idx[p]]
        return None

    def text(self, p: int) -> str:
        t = self.tok(p)
        return t.text if t is not None else ""

    def name(self, p: int) -> bool:
        t = self.tok(p)
        return t is not None and _name_tok(t)

    def phrase(self, p: int, phrases: list[tuple[str, ...]], backwards: bool = False) -> int:
        """Length of the longest of ``phrases`` said at ``p`` (ending at ``p`` when ``backwards``), 0 if none."""
        best = 0
        for ph in phrases:
            q = p - len(ph) + 1 if backwards else p
            if len(ph) > best and all(self.text(q + k) == w for k, w in enumerate(ph)):
                best = len(ph)
        return best


def emails_spoken(toks: list[Tok]) -> list[tuple[int, int]]:
    """Token ranges of addresses said or half-written: "john dot smith at example dot com", "peter.r.k at gmail.com"."""
    out: list[tuple[int, int]] = []
    for speaker in dict.fromkeys(t.speaker for t in toks):
        view = _View(toks, speaker)
        p = 0
        while p < len(view):
            got = _email_at(view, p)
            if got is None:
                p += 1
                continue
            first, last = got
            out.append((view.idx[first], view.idx[last] + 1))
            p = last + 1
    out += _emails_without_at(toks, out)
    return sorted(out)


def _email_at(view: _View, at: int) -> tuple[int, int] | None:
    """View positions (first, last) of an address said around the "at" at position ``at``, or None."""
    t = view.tok(at)
    if t is None or t.text not in ("at", "@") or t.used:
        return None
    after = at + 1 + (view.text(at + 1) in ("symbol", "sign"))  # "at symbol"
    last = _domain_end(view, after)
    if last is None:
        return None
    last = _domain_corrected(view, last)
    first = _local_start(view, at - 1 - view.phrase(at - 1, ASIDES, backwards=True))
    if first is None:
        return None
    return first, last


def _letter(view: _View, p: int) -> bool:
    """A single letter said on its own: part of a name spelled out ("t o m b")."""
    t = view.tok(p)
    return t is not None and _name_tok(t) and t.kind == "alpha" and len(t.text) == 1


def _label_end(view: _View, p: int) -> int:
    """Last position of a domain label starting at ``p``: a label spelled letter by letter ("t o m b dot
    io"), a hyphenated label ("northwind-energy"), or up to three words said for one before a dot ("chris
    davies photography dot com", "proton mail dot com")."""
    q = p
    while _letter(view, q) and _letter(view, q + 1):
        q += 1
    if q > p:
        return q
    while view.text(p + 1) in ("-", "dash", "hyphen") and view.name(p + 2):
        p += 2
    for extra in (1, 2):
        words = range(p + 1, p + 1 + extra)
        if all(view.name(q) and (view.text(q) == "mail" or view.text(q) not in LOCAL_STOP | TLDS) for q in words) \
                and view.text(p + extra + 1) in ("dot", "."):
            return p + extra
    if view.text(p + 1) == "mail":  # "at proton mail", "g mail"
        return p + 1
    return p


def _domain_end(view: _View, p: int) -> int | None:
    """Last position of a domain starting at ``p``: labels joined by dots ending in a TLD, or a mail provider."""
    end = None
    labels = 0
    while view.name(p) and labels < 6:
        q = _label_end(view, p)
        labels += 1
        words = "".join(view.text(k) for k in range(p, q + 1) if view.text(k) not in ("-", "dash", "hyphen"))
        if labels == 1 and words in PROVIDERS:  # "gmail", "proton mail"
            end = q
        if labels >= 2 and view.text(q) in TLDS:
            end = q
        if view.text(q + 1) in ("dot", ".") and view.name(q + 2):
            p = q + 2
            continue
        break
    return end


def _domain_corrected(view: _View, last: int) -> int:
    """Last position of an address whose domain is taken back and said again:
    "... at gmail, no sorry, at googlemail dot com"."""
    n = view.phrase(last + 1, EMAIL_CORRECTIONS)
    if n and view.text(last + 1 + n) in ("at", "@"):
        again = _domain_end(view, last + 2 + n)
        if again is not None:
            return again
    return last


#: Words between a letter and the word that spells it: "s as in sugar", "k for kilo".
SPELLED_AS = [("as", "in"), ("for",)]


def _letter_as_word(view: _View, p: int) -> int | None:
    """Position of the letter that the word at ``p`` spells ("s as in sugar": ``p`` at "sugar"), or None."""
    if not view.name(p):
        return None
    n = view.phrase(p - 1, SPELLED_AS, backwards=True)
    return p - 1 - n if n and _letter(view, p - 1 - n) else None


def _local_start(view: _View, k: int) -> int | None:
    """First position of the local part that ends at ``k`` (the word before "at"), or None.

    Names joined by "dot", "underscore", "dash"; a name spelled letter by
    letter ("d a v e", "oconnor, o c o n n o r"), a letter said with a word
    ("s as in sugar, k, y, e"); numbers said as words ("funmi two double oh
    four"); up to three bare words when a single letter or a number is next
    to them ("mary k jones"); and a first try taken back ("a dot b dot c,
    sorry, a dot b dot chen").
    """
    spelled_with = _letter_as_word(view, k)  # "... s as in sugar at ..."
    k = k if spelled_with is None else spelled_with
    t = view.tok(k)
    spelled_out = len(view.text(k)) == 1 and len(view.text(k - 1)) == 1  # "... k o w a l s k i at"
    if t is None or not _name_tok(t) or (t.text in LOCAL_STOP and not spelled_out):
        return None
    first = k
    bare = spelled = 0
    while True:
        p = view.tok(k - 1)
        if p is None:
            break
        here = view.tok(k)
        if p.text in EMAIL_JOIN and view.name(k - 2):
            k -= 2
        elif (letter := _letter_as_word(view, k - 1)) is not None and spelled < 16 and (
                len(here.text) == 1 or _numberish(here)):
            k = letter  # "s as in sugar, k, y, e at ..."
            spelled += 1
        elif (p.kind == "alpha" and len(p.text) == 1 and not p.ctx and spelled < 16
              and here.kind in ("alpha", "num") and (len(here.text) == 1 or _numberish(here))):
            k -= 1  # a name spelled letter by letter ("d a v e seven at..."): single letters, "a" and "i" included
            spelled += 1
        elif _name_tok(p) and _numberish(p) and spelled < 16:
            k -= 1
            spelled += 1
        elif _name_tok(p) and p.text not in LOCAL_STOP and bare < 3 and (
                len(p.text) == 1 or len(here.text) == 1 or _numberish(here)):
            k -= 1
            bare += 1
        else:
            n = view.phrase(k - 1, EMAIL_CORRECTIONS, backwards=True)
            if n and view.name(k - 1 - n) and view.text(k - 2 - n) in EMAIL_JOIN:
                k -= n + 1  # the first try, taken back, belongs to the address
                continue
            break
        first = k
    return first


def _emails_without_at(toks: list[Tok], found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """An "at" the ASR lost: "john .miss .gmail .com" -- name(s) dotted onto a mail provider's domain."""
    out = []
    for i, t in enumerate(toks):
        if t.text not in PROVIDERS or t.used or i + 2 >= len(toks):
            continue
        if toks[i + 1].text not in (".", "dot") or toks[i + 2].text not in TLDS or toks[i - 1].text in ("at", "@"):
            continue
        first = i
        while first - 2 >= 0 and toks[first - 1].text in (".", "dot") and _name_tok(toks[first - 2]) \
                and toks[first - 2].text not in LOCAL_STOP and toks[first - 2].speaker == t.speaker:
            first -= 2
        if first < i and not any(a <= i < b for a, b in found):
            out.append((first, i + 3))
    return out
