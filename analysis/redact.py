"""PII redaction: find payment cards, CVVs, expiry dates, SSNs, phone numbers, e-mails and dates of birth.

Detection works on recognised words, the way an ASR writes them: digits
("4532"), digits split over words ("45", "32"), single digits with
punctuation ("4, 5, 3, 2", "4 -5 -3"), spoken digits ("four five three two",
"oh" for zero, "double four"), pairs ("forty five thirty two"), mixtures of
all of these, words an ASR writes for a digit between two digits ("0 for
27", "0 free 66"), and numbers that run on across turns of the same speaker.
Spoken e-mail addresses ("john dot smith at example dot com") are found as
well as written ones.

Which kind a number is depends on its shape and on the words around it:

* **card**: 13-19 digits that pass the Luhn check (any context, unless a
  nearer context says it is an order, account, IMEI, loyalty card, SIM...
  number), or 13 digits or more said right after "card number", "Visa", ...
  even when the Luhn check fails (one misheard, dropped or repeated digit
  still leaves the rest of the number). Four digits announced as a number's
  tail ("the visa ending 4523", "the last four are ...") are no PII, and no
  read-back either.
* **cvv**: 3-4 digits after "security code", "CVV", "CID", "three digits on
  the back", "the three little numbers", "the signature strip", ...;
  **expiry**: a month and year after "expires", "expiry", "valid through",
  "goes till", ... (not a passport's or a contract's); **dob**: a date (two
  of day, month, year, or an all-digit date; a year alone is none) after
  "date of birth", "born on", "DOB", "birthday", ...
* **ssn**: 9 digits said in 3-2-4 groups ("ddd-dd-dddd", "four thirty one,
  oh nine, seventy seven sixty five"), or 9 digits (give or take one)
  announced by "social", "SSN", ... (before them, or just after: "...,
  that's my social")
* **phone**: 10-digit North American numbers (+1), UK numbers (0 + 10
  digits, +44, 0044), or 7-12 digits after "phone", "mobile", "call me", ...;
  an extension said after it ("ext. 45") and an area code said apart ("seven
  oh three, the Virginia area code, five five five ...") belong to it.
* **email**: "name@domain.tld" or the spoken form.

The nearest context whose kind fits the number's length decides ("the four
digits on the front, above the long number": four digits are no card
number); the context may be in the other speaker's previous words ("What's
the security code?" -- "Seven three seven."), which count whole. Context
words said after a number announce it only when no value of their own
follows them ("oh two twenty nine, and the CVC is double seven five"). A
number of the same grouping said right after one announced is of its kind
("my husband's social is ..., and mine is ..."). A number a speaker repeats in
part (an agent reading back a card number) is masked as the number it
echoes. A value the speaker corrects on the way ("six two, sorry, six two
five one", "fourteenth of, no, fifteenth of February", "at gmail, no sorry,
at googlemail dot com") is masked whole, the taken-back part included; a
whole value taken back and said again is masked as two.

Spoken numbers are read in :mod:`analysis.spoken_numbers`, dates in
:mod:`analysis.spoken_dates`, e-mail addresses in :mod:`analysis.spoken_email`.

Masks keep the kind and the timings: the words of a span become one word
``[card]`` from the first word's start to the last word's end, probability the
lowest of theirs. :func:`redact_report` masks the turns and then every other
text of the report (event details, cue and evidence quotes, reasons,
warnings), so no string of the written report carries a value that was found.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from .config import PrivacyConfig
from .records import CallReport, Redaction, Turn, Word
from .spoken_dates import DATE_WINDOW, date_at, is_dob, is_expiry
from .spoken_email import emails_spoken, emails_written
from .spoken_numbers import (
    CORRECTIONS, FILLERS, JOINERS, PAUSES, REPEAT, TEENS, TENS, UNITS, Item, Tok, is_numeric_word, number_items,
    phrase_at, tokenize, zero_words,
)
from .turns import join_words

log = logging.getLogger(__name__)

#: The kinds of PII, in the order they are reported (PrivacyConfig.kinds takes the same names).
PII_KINDS = ("card", "cvv", "expiry", "ssn", "phone", "email", "dob")
MASK_RE = re.compile(r"\[(" + "|".join(PII_KINDS) + r")\]")


@dataclass(frozen=True)
class PiiSpan:
    """One piece of PII found in a sequence of words.

    Attributes
    ----------
    kind : str
        One of ``card``, ``cvv``, ``expiry``, ``ssn``, ``phone``, ``email``, ``dob``.
    start_word, end_word : int
        The span covers ``words[start_word:end_word]`` (end exclusive) -- of
        ``speaker`` only, when the words of several speakers are interleaved.
    start, end : float
        Seconds: the first word's start and the last word's end.
    speaker : str or None
        Whose words these are (None when the words carry no speaker).
    head : int
        Characters of the first word's text before the PII (kept in the mask).
    tail : int or None
        Characters of the last word's text up to the end of the PII; the rest
        is kept after the mask (None: the whole word).
    """

    kind: str
    start_word: int
    end_word: int
    start: float
    end: float
    speaker: str | None = None
    head: int = 0
    tail: int | None = None


# --------------------------------------------------------------------------------------------
# Vocabulary

MONEY_AFTER = {"dollar", "dollars", "pound", "pounds", "quid", "cent", "cents", "pence", "p", "euro", "euros",
               "bucks", "percent", "%", "k", "grand", "million", "billion", "thousand", "hundred"}
MONEY_BEFORE = {"$", "£", "€"}

#: Context phrases: the kind of number they announce ("neg": a number that is none of ours).
CONTEXT: dict[str, list[str]] = {
    "card": ["card", "cards", "card number", "long number", "visa", "mastercard", "master card", "amex",
             "american express", "discover", "debit", "credit", "sixteen digits", "16 digits", "fifteen digits",
             "15 digits", "the digits on the card", "front of the card"],
    "cvv": ["security code", "security number", "security digits", "cvv", "cvv2", "cvc", "cvc2", "csc", "cv2", "cid",
            "three digits", "3 digits", "three digit code", "3 digit code", "three digit", "3 digit",
            "four digit code", "4 digit code", "three little numbers", "three little digits",
            "on the back", "code on the back", "digits on the back",
            "on the back of the card", "back of the card", "on the back of your card", "back of your card",
            "signature strip", "signature panel", "signature box",
            "card verification", "verification code", "verification value", "verification number"],
    "expiry": ["expire", "expires", "expiring", "expiry", "expiration", "exp", "expiry date", "expiration date",
               "valid through", "valid thru", "valid until", "valid till", "valid to", "good through",
               "good thru", "good until", "end date", "validity"],
    "dob": ["date of birth", "dob", "d o b", "born", "born on", "birthday", "birth date", "birthdate", "birth"],
    "ssn": ["social", "social security", "social security number", "ssn", "s s n", "ss number", "s s number",
            "social security card"],
    "phone": ["phone", "phone number", "telephone", "mobile", "cell", "cellphone", "cell phone", "landline",
              "call me", "call", "call back", "callback", "reach me", "text me", "ring me", "contact number",
              "my number", "home number", "work number", "daytime number", "number to reach", "area code",
              "calling from", "fax"],
    "neg": ["order", "reference", "ref", "tracking", "account", "confirmation", "invoice", "case number",
            "case reference", "case id", "ticket",
            "policy", "claim", "serial", "imei", "iccid", "imsi", "meid", "meter", "member", "membership", "transaction", "receipt",
            "booking", "zip", "zip code", "postcode", "post code", "postal code", "pin", "part number", "model",
            "customer id", "customer number", "id", "voucher", "promo", "promo code", "discount", "coupon",
            "social media", "social worker", "social services",
            # cards that are no payment card: "loyalty card number", "the SIM card", "gift card" (see _contexts)
            "loyalty", "rewards", "reward", "gift", "sim", "parcel", "library"],
    # part of a number: "the last four of my social", "the visa ending 4523" -- four digits after it are a
    # card's or an SSN's tail said alone, no PII (see _last_four_alone); a longer number after it is itself
    "part": ["last four", "last 4", "last four digits", "last 4 digits", "ending", "ending in", "ending with",
             "ends in", "ends with"],
    # a bare "code", "strip" or "four digits" is a CVV, and "runs out" announces an expiry, only while card
    # details are being taken (see _contexts): "my contract runs out in September" is no card's expiry,
    # "my PIN is four digits" no CVV
    "code": ["code", "the code", "strip", "signature", "four digit", "4 digit", "four digits", "4 digits",
             "three numbers", "last three", "last 3"],
    "runs_out": ["runs out", "run out", "runs until", "runs till", "ends", "goes till", "goes until", "goes to",
                 "lasts until", "good till"],
}
#: Tokens: a "code" phrase counts as a CVV context, and a "runs_out" one as an expiry context, this soon
#: after card, expiry or CVV words ("Security code from the back?" -- "the last three on the strip are 206"),
#: or this soon before them, in the same breath ("the four digits on the front, above the card number?",
#: "good till oh two twenty seven, and the CVC is ...").
CARD_SESSION = 60
CARD_SESSION_AHEAD = 15
#: What else expires: "my passport expires 03/27" announces no card's expiry date.
NOT_CARD_EXPIRY = {"passport", "licence", "license", "contract", "subscription", "membership", "lease", "warranty",
                   "insurance", "policy", "offer", "trial", "permit", "registration", "certificate", "prescription",
                   "coupon", "voucher", "domain", "tenancy"}


# --------------------------------------------------------------------------------------------
# Context


@dataclass
class _Context:
    kind: str
    i0: int
    i1: int  # token range of the phrase


def _phrase_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    idx: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for kind, phrases in CONTEXT.items():
        for p in phrases:
            words = tuple(p.split())
            idx.setdefault(words[0], []).append((words, kind))
    for v in idx.values():
        v.sort(key=lambda x: -len(x[0]))  # longest first
    return idx


_PHRASES = _phrase_index()
#: Tokens the longest context phrase may take (its words and any punctuation inside: "D.O.B.").
_LONGEST_PHRASE = 16


def _contexts(toks: list[Tok]) -> list[_Context]:
    """Context phrases in token order (punctuation inside a phrase ignored: "D.O.B." is "d o b")."""
    words = [i for i, t in enumerate(toks) if t.kind != "punct"]
    hits: list[tuple[str, int, int]] = []  # kind, token range of the phrase
    k = 0
    while k < len(words):
        hit = _phrase_hit(toks, words, k)
        if hit is None:
            k += 1
            continue
        phrase, kind = hit
        hits.append((kind, words[k], words[k + len(phrase) - 1] + 1))
        k += len(phrase)
    ends = {i1: kind for kind, _, i1 in hits}
    card_words = [i for kind, i, _ in hits if kind in ("card", "expiry", "cvv") and ends.get(i) != "neg"]
    found: list[_Context] = []
    last_card = -10**9
    for kind, i, i1 in hits:
        if kind in ("code", "runs_out"):  # "zip code", "post code", "area code" are caught by their own phrases first
            ahead = any(i < m <= i + CARD_SESSION_AHEAD for m in card_words)
            in_session = i - last_card <= CARD_SESSION or ahead
            kind = ("cvv" if kind == "code" else "expiry") if in_session else ""
        if kind == "expiry" and _other_thing_expires(toks, i):
            kind = ""
        if kind == "card" and found and found[-1].kind == "neg" and found[-1].i1 == i:
            kind = "neg"  # "loyalty card number", "SIM card": no payment card
        if kind in ("card", "expiry", "cvv"):  # card details are being taken
            last_card = i
        for m in range(i, i1):
            toks[m].ctx = True
        if kind:
            found.append(_Context(kind, i, i1))
    return found


def _between(contexts: list[_Context], lo: int, hi: int) -> list[_Context]:
    """The contexts (in token order) that start in the tokens [lo, hi)."""
    return contexts[bisect_left(contexts, lo, key=lambda c: c.i0):bisect_left(contexts, hi, key=lambda c: c.i0)]


def _phrase_hit(toks: list[Tok], words: list[int], k: int) -> tuple[tuple[str, ...], str] | None:
    """The longest context phrase said (by one speaker) from the ``k``-th word on: (its words, its kind)."""
    i = words[k]
    for phrase, kind in _PHRASES.get(toks[i].text, ()):
        n = len(phrase)
        if k + n <= len(words) and all(toks[words[k + m]].text == phrase[m] for m in range(n)):
            if all(toks[words[k + m]].speaker == toks[i].speaker for m in range(n)):
                return phrase, kind
    return None


def _other_thing_expires(toks: list[Tok], i: int, back: int = 4) -> bool:
    """An expiry word right after something other than a card: "my passport expires", "the contract's expiry"."""
    for m in range(max(0, i - back), i):
        if toks[m].speaker == toks[i].speaker and toks[m].text in NOT_CARD_EXPIRY:
            return True
    return False


def _context_kinds(
    contexts: list[_Context], i0: int, i1: int, toks: list[Tok], before: int = 14, after: int = 6, floor: int = 0
) -> list[str]:
    """The kinds announced for the tokens [i0, i1), nearest first: contexts before (within ``before``
    tokens), then, when none of them names PII, just after (within ``after`` tokens, same speaker:
    "..., that's my social").

    The other speaker's question just before counts whole, however long
    ("And the four digits printed on the front, above the card number, for
    the Amex?" -- "yeah it's 3349"). Contexts ending before ``floor`` (the
    end of the number said just before this one) are not looked at: "the
    order number was 8821 and I paid with 4556..." -- "order" announced the
    first number, not the second. A "neg" word that names no number ("What's
    the social security number on the account?", "Contact details for the
    claim?", "the phone number on the account is ...") is left out. A context
    after the number that has a value of its own after it announces that one
    ("oh two twenty nine, and the CVC is double seven five").
    """
    asked = _question_start(toks, i0, before)
    lo = max(floor, min(asked, i0 - before - _LONGEST_PHRASE))
    near = [c for c in _between(contexts, lo, i0) if c.i1 <= i0 and (i0 - c.i1 <= before or c.i0 >= asked)]
    kinds = [c.kind for j, c in reversed(list(enumerate(near)))
             if not (c.kind == "neg" and _weak_neg(c, i0, toks, near[j - 1] if j else None))]
    if all(k == "neg" for k in kinds):
        kinds += [c.kind for c in _between(contexts, i1, i1 + after + 1)
                  if toks[c.i0].speaker == toks[i0].speaker and not _value_after(c, toks)]
    return kinds


def _question_start(toks: list[Tok], i0: int, lead: int, reach: int = 40) -> int:
    """First token of the other speaker's turn just before ``i0`` (answered within ``lead`` tokens), at
    most ``reach`` tokens back; ``i0`` when there is none."""
    j = i0 - 1
    while j >= 0 and toks[j].speaker == toks[i0].speaker and i0 - j <= lead:
        j -= 1
    if j < 0 or toks[j].speaker == toks[i0].speaker:
        return i0
    q = j
    while q > 0 and toks[q - 1].speaker == toks[j].speaker and i0 - q < reach:
        q -= 1
    return q


def _value_after(c: _Context, toks: list[Tok], reach: int = 3) -> bool:
    """A number said within ``reach`` tokens after the context ``c``, by the same speaker: "the CVC is 775"."""
    for t in toks[c.i1:c.i1 + reach]:
        if t.speaker != toks[c.i0].speaker:
            return False
        if t.kind == "num" or is_numeric_word(t) or t.text in ("oh", "o"):
            return True
    return False


_NUMBER_NOUNS = {"number", "numbers", "no", "#", "id", "reference", "ref", "code", "num"}


def _weak_neg(c: _Context, i0: int, toks: list[Tok], prev: _Context | None = None) -> bool:
    """A "neg" word that names no number: not followed by "number"/"no"/"id"..., and not right before the
    digits (more than two tokens between, or a question of the other speaker: "... on the account?"), or
    saying whose the phone number or SSN named just before it is ("the phone number on the account should
    be ..."; a card's details on a voucher are the voucher's: "the code on the voucher is 482")."""
    if c.i1 > i0:
        return False  # after the number: "4532... is the order number"
    if _names_number(c, toks):
        return False
    owner = prev is not None and prev.kind in ("phone", "ssn", "dob") and c.i0 - prev.i1 <= 3
    return owner or i0 - c.i1 > 2 or toks[c.i0].speaker != toks[i0].speaker


#: "neg" words that are the name of a number by themselves: "What's the IMEI?", "the serial on the box".
NUMBER_NAMES = {"imei", "iccid", "imsi", "meid", "serial", "tracking"}


def _names_number(c: _Context, toks: list[Tok]) -> bool:
    """A context that names a number: followed by "number", "no.", "id"... ("order number", "account
    no."), or a number's name by itself ("IMEI", "serial")."""
    if toks[c.i1 - 1].text in NUMBER_NAMES:
        return True
    j = c.i1
    while j < len(toks) and toks[j].kind == "punct" and toks[j].text in (".", "'"):
        j += 1
    return j < len(toks) and toks[j].text in _NUMBER_NOUNS


# --------------------------------------------------------------------------------------------
# Runs of digits

#: Seconds from one word's start to the next one's beyond which a pause splits the groups of a number.
GROUP_PAUSE = 1.0

# How two pieces of a run are joined (see _gap): straight on ("four five" in "four five three two"),
# a space between written numbers ("4532 0151"), a marked boundary (punctuation, "dash", a pause,
# the other speaker's "mm-hmm"), a correction ("..., no, ..."), or a hesitation ("five eight... five eight three").
_ON, _SPACE, _MARK, _FIX, _RESTART = "", " ", ",", "fix", "..."


@dataclass
class _Run:
    """Numbers said one after another by one speaker: the pieces of one candidate number."""

    items: list[Item] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # how item k and k+1 are joined: one of _ON ... _RESTART

    @property
    def digits(self) -> str:
        return "".join(it.digits for it in self.items)

    @property
    def i0(self) -> int:
        return self.items[0].i0

    @property
    def i1(self) -> int:
        return self.items[-1].i1

    def groups(self, corrected: bool = True) -> list[tuple[str, str]]:
        """The groups said (digits, and how each is joined to the one before).

        ``corrected``: a group taken back ("six two, sorry, six two five one"),
        or said again after a hesitation ("five eight... five eight three"),
        is left out.
        """
        out: list[tuple[str, str]] = []
        for k, it in enumerate(self.items):
            gap = self.gaps[k - 1] if k else _MARK
            if gap == _ON:
                out[-1] = (out[-1][0] + it.digits, out[-1][1])
            else:
                out.append((it.digits, gap))
        if not corrected:
            return out
        kept: list[tuple[str, str]] = []
        for d, gap in out:
            if kept and (gap == _FIX or (gap == _RESTART and d.startswith(kept[-1][0]) and len(d) > len(kept[-1][0]))):
                kept.pop()
            kept.append((d, gap))
        return kept

    def readings(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The digits of the run as corrected and, when that differs, as said: [(digits, groups)]."""
        out = []
        for corrected in (True, False):
            groups = self.groups(corrected)
            digits = "".join(d for d, _ in groups)
            if not out or digits != out[0][0]:
                out.append((digits, groups))
        return out


def _runs(toks: list[Tok], items: list[Item], max_gap: float) -> list[_Run]:
    """Group numbers said one after another by one speaker into runs."""
    runs: list[_Run] = []
    open_runs: dict[str | None, _Run] = {}
    for it in items:
        if it.ordinal:
            continue
        spk = toks[it.i0].speaker
        run = open_runs.get(spk)
        gap = _gap(toks, run.items[-1], it, max_gap) if run is not None else None
        if run is not None and gap is not None:
            run.gaps.append(gap)
            run.items.append(it)
        else:
            run = _Run([it])
            runs.append(run)
            open_runs[spk] = run
    return runs


def _written(toks: list[Tok], it: Item) -> bool:
    """A number written in digits, more than one (single written digits are a spoken number read out)."""
    return toks[it.i0].kind == "num" and len(it.digits) > 1


def _gap(toks: list[Tok], a: Item, b: Item, max_gap: float) -> str | None:
    """How the numbers ``a`` and ``b`` of one speaker are joined, or None when they are two numbers.

    Between the pieces of one number there may be punctuation, fillers, the
    other speaker's backchannel ("mm-hmm"), a pause shorter than ``max_gap``,
    a hesitation ("hang on", "and then") or a correction ("no, sorry").
    """
    spk = toks[a.i0].speaker
    if toks[b.i0].time - toks[a.i1 - 1].time > max_gap:
        return None
    marked = toks[b.i0].time - toks[a.i1 - 1].time > GROUP_PAUSE
    fix = restart = False
    m = a.i1
    while m < b.i0:
        t = toks[m]
        if t.ctx or t.used:
            return None
        if t.speaker != spk:  # the other speaker's "mm-hmm" between two groups
            if t.kind != "punct" and t.text not in FILLERS:
                return None
            marked = True
            m += 1
            continue
        if t.kind == "punct":
            if t.text not in JOINERS:
                return None
            marked = True
            restart |= t.text == "…" or (t.text == "." and m + 1 < b.i0 and toks[m + 1].text == ".")
            m += 1
            continue
        if t.text in FILLERS:
            marked |= t.text in ("dash", "hyphen")
            m += 1
            continue
        n = phrase_at(toks, m, b.i0, CORRECTIONS)
        if n:
            fix = True
        elif n := phrase_at(toks, m, b.i0, PAUSES):
            marked = True
        else:
            return None  # a word (either speaker's) that is not a filler ends the number
        m += n
    if fix:
        return _FIX
    if restart:
        return _RESTART
    if marked:
        return _MARK
    return _SPACE if _written(toks, a) or _written(toks, b) else _ON


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn (mod 10) check used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for k, ch in enumerate(reversed(digits)):
        n = int(ch)
        if k % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _nanp(d: str) -> bool:
    return len(d) == 10 and d[0] in "23456789" and d[3] in "23456789"


def _uk(d: str) -> bool:
    return (len(d) == 11 and d[0] == "0" and d[1] in "12378") or (len(d) == 12 and d[:2] == "44" and d[2] in "12378")


def _ssn_valid(d: str) -> bool:
    return len(d) == 9 and d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


def _card_window(run: _Run) -> tuple[int, int] | None:
    """Item range of a Luhn-valid 16- or 15-digit card at the start or the end of a longer run.

    Covers a stray digit read before the number ("oh, 4532...") or the expiry
    said straight after it with nothing between.
    """
    n = len(run.items)
    for want in (16, 15):
        for a, b in [(0, k) for k in range(1, n)] + [(k, n) for k in range(1, n)]:
            d = "".join(it.digits for it in run.items[a:b])
            if len(d) == want and luhn_ok(d):
                return a, b
    return None


#: How many digits a number announced as each kind may have (an SSN: 9, give or take one the ASR dropped or added).
_LENGTHS = {"cvv": (3, 4), "ssn": (8, 10), "card": (13, 99), "phone": (7, 12)}


def _is_money(run: _Run, toks: list[Tok]) -> bool:
    """A sum of money or a percentage: "$1,234", "fifty pounds", "20 %"."""
    before = toks[run.i0 - 1].text if run.i0 > 0 else ""
    after_i = run.i1
    while after_i < len(toks) and toks[after_i].kind == "punct" and toks[after_i].text in (",", "."):
        after_i += 1
    after = toks[after_i].text if after_i < len(toks) else ""
    return before in MONEY_BEFORE or after in MONEY_AFTER


def _classify(run: _Run, kinds: list[str], toks: list[Tok]) -> str | None:
    """The kind of PII a run of digits is, given the kinds announced for it (nearest first); None: not PII.

    The nearest announced kind the number's length fits wins ("the four
    digits on the front, above the long number": 4 digits are no card
    number, so a CVV); a "neg" context ("order number") before any fitting
    kind means no PII. Without a fitting context the shape decides (Luhn,
    phone numbering plans, an SSN said in 3-2-4 groups).
    """
    if _is_money(run, toks):
        return None
    readings = run.readings()
    for kind in kinds:
        if kind == "neg":
            return None
        lo, hi = _LENGTHS.get(kind, (0, -1))
        if any(lo <= len(d) <= hi for d, _ in readings):
            return kind
    for d, groups in readings:
        kind = _kind_by_shape(d, groups, run, toks)
        if kind is not None:
            return kind
    return None


def _last_four_alone(run: _Run, kinds: list[str]) -> bool:
    """Four digits announced as the end of a number ("the visa ending 4523", "the last four are 6620")
    before any kind they fit: a tail said alone, neither PII nor the read-back of a number said before."""
    if len(run.digits) != 4:
        return False
    for kind in kinds:
        if kind == "part":
            return True
        lo, hi = _LENGTHS.get(kind, (0, -1))
        if lo <= 4 <= hi:
            return False
    return False


def _kind_by_shape(d: str, groups: list[tuple[str, str]], run: _Run, toks: list[Tok]) -> str | None:
    """The kind of a number from its digits and grouping alone."""
    n = len(d)
    marked = all(gap not in (_ON, _SPACE) for _, gap in groups[1:])
    if [len(g) for g, _ in groups] == [3, 2, 4] and marked and _ssn_valid(d):
        return "ssn"
    if 13 <= n <= 19 and d[0] != "0" and luhn_ok(d):  # no payment card number starts with 0
        return "card"
    if n > 16 and _card_window(run) is not None:
        return "card"
    if _nanp(d) or (n == 11 and d[0] == "1" and _nanp(d[1:])) or _uk(d):
        return "phone"
    before = toks[run.i0 - 1].text if run.i0 > 0 else ""
    plus = before == "+" or (run.i0 > 1 and toks[run.i0 - 1].text == "(" and toks[run.i0 - 2].text == "+")
    if plus and 8 <= n <= 15:
        return "phone"
    if d.startswith("00") and (_uk(d[2:]) or (d[2:3] == "1" and _nanp(d[3:]))):  # "double oh four four ...": +44
        return "phone"
    return None


def _phone_tail(run: _Run) -> int | None:
    """Where (item index) the end of a run that is a whole phone number said after a pause or a comma
    starts, when the run as a whole is none of ours: "it should end six one four not six one five, so oh
    seven seven double oh nine ..."."""
    for k in range(1, len(run.items)):
        d = "".join(it.digits for it in run.items[k:])
        if run.gaps[k - 1] in (_MARK, _FIX) and (_nanp(d) or (d[0] == "1" and _nanp(d[1:])) or _uk(d)):
            return k
    return None


def _like_the_last(run: _Run, last: tuple[str, _Run] | None, reach: int = 8) -> str | None:
    """The kind of the number said just before (``last``), for a number of the same grouping said right
    after it with no context of its own: "my husband's social is 143 27 6605, and mine is 143 27 8810"."""
    if last is None:
        return None
    kind, prev = last
    if kind not in ("card", "ssn", "phone") or run.i0 - prev.i1 > reach:
        return None
    shape = [len(d) for d, _ in run.groups()]
    return kind if shape == [len(d) for d, _ in prev.groups()] else None


#: Words that announce a phone extension: "212-555-0187 ext. 45", "..., extension two one four".
EXTENSION = {"ext", "extension", "x"}


def _extension_after(run: _Run, later: list[_Run], toks: list[Tok]) -> int:
    """End (token index) of a phone number with the extension said after it, if any."""
    j = run.i1
    while j < len(toks) and toks[j].text in (",", ".") and toks[j].speaker == toks[run.i0].speaker:
        j += 1
    if j >= len(toks) or toks[j].text not in EXTENSION or toks[j].speaker != toks[run.i0].speaker:
        return run.i1
    j += 1
    while j < len(toks) and toks[j].text == ".":
        j += 1
    ext = next((r for r in later if r.i0 == j), None)
    return ext.i1 if ext is not None and len(ext.digits) <= 6 else run.i1


def _area_code_before(
    run: _Run, pending: list[_Run], contexts: list[_Context], toks: list[Tok], reach: int = 12
) -> int:
    """Start (token index) of a 7-digit phone number with its area code said before it, apart:
    "seven oh three, you know, the Virginia area code, five five five, oh one nine one"."""
    prev = pending[-1] if pending else None
    if prev is None or len(prev.digits) != 3 or toks[prev.i0].speaker != toks[run.i0].speaker:
        return run.i0
    if run.i0 - prev.i1 > reach or not _nanp(prev.digits + run.digits):
        return run.i0
    said = any(toks[c.i0].text == "area" for c in _between(contexts, prev.i1, run.i0))
    return prev.i0 if said else run.i0


# --------------------------------------------------------------------------------------------
# Dates after their context

#: Tokens: a date this close to its context (or to the date before it) needs no year to be a date of birth.
NEAR = 8


def _dates_after(toks: list[Tok], c: _Context, contexts: list[_Context], zeros: set[int]) -> list[tuple[int, int]]:
    """Token ranges of the expiry dates or dates of birth said after the context ``c``.

    Looked for in the next :data:`DATE_WINDOW` tokens, up to the next context
    that announces another number (a card's own words do not: "expiry date as
    shown on the card, please?"). Date-like stretches that are no date ("the
    second person on the policy", "the one on file") are passed over; every
    date in the window is taken ("3/12/1979, that's the third of December").
    A piece the speaker takes back ("fourteenth of, no, fifteenth of
    February") belongs to the date said after it; a whole date taken back is
    a date of its own ("twelve twenty-five... no, sorry, twelve twenty-seven").
    """
    end = c.i1 + DATE_WINDOW
    since = c.i1
    for other in _between(contexts, c.i1, end):
        if not _asked_with(c, other, toks, since):
            end = other.i0
            break
        since = max(since, other.i1)
    # "CVV and expiry?" -- "three four eight, ...": three digits are the CVV when a CVV was asked for
    # before them ("expires nine twenty eight, CVV five nine one": a CVV asked for after them is not)
    cvv_asked = [o.i0 for o in _between(contexts, c.i0 - NEAR, c.i0 + NEAR + 1) if o.kind == "cvv"]
    out: list[tuple[int, int]] = []
    start = near = c.i1
    while start < end:
        pieces = date_at(toks, start, zeros, end)
        if pieces is None:
            break
        begin = None
        for i0, i1 in pieces:
            begin = i0 if begin is None else begin
            if c.kind == "expiry":
                ok = is_expiry(toks, i0, i1, three_digits=not any(a < i0 for a in cvv_asked))
            else:  # far from the question a day and month alone are some other date ("the bill from the 12th of May")
                ok = is_dob(toks, i0, i1, need_year=begin - near > NEAR)
            if ok:
                out.append((begin, i1))
                begin = None
                near = i1
        start = pieces[-1][1]
    return out


def _asked_with(c: _Context, other: _Context, toks: list[Tok], since: int) -> bool:
    """A context after ``c`` that does not end the search for ``c``'s date: a card's own words
    ("expiry date as shown on the card"), a "neg" word that names no number ("... on the policy?"),
    or the next thing asked for in the same breath ("your date of birth and a phone number?", "Expiry,
    and then the card verification number on the back?"): said by the same speaker, within 6 tokens of
    the end (``since``) of ``c`` or of the thing asked with it before, with no number between."""
    if other.kind in ("card", "part") or (other.kind == "neg" and not _names_number(other, toks)):
        return True
    between = toks[c.i1:other.i0]
    return (toks[other.i0].speaker == toks[c.i0].speaker and other.i0 - since <= 6
            and not any(t.kind == "num" or t.text in UNITS for t in between))


# --------------------------------------------------------------------------------------------
# The detector


def find_pii(
    words: Sequence[Word],
    speakers: Sequence[str | None] | None = None,
    kinds: Iterable[str] | None = None,
    max_gap: float = 6.0,
) -> list[PiiSpan]:
    """Find PII in a sequence of recognised words.

    Parameters
    ----------
    words : sequence of Word
        In the order spoken. Words of several speakers may be interleaved (by
        start time); a number is only ever made of one speaker's words, but a
        context ("What's the security code?") counts whoever said it.
    speakers : sequence of str or None, optional
        The speaker of each word (default: all one speaker).
    kinds : iterable of str, optional
        The kinds to report (default: all of :data:`analysis.config.PII_KINDS`).
    max_gap : float
        Longest pause inside one number, seconds.

    Returns
    -------
    list of PiiSpan
        In word order, not overlapping.
    """
    wanted = set(PII_KINDS if kinds is None else kinds)
    spk = list(speakers) if speakers is not None else [None] * len(words)
    if len(spk) != len(words):
        raise ValueError("find_pii: one speaker per word expected")
    toks = tokenize(words, spk)
    found: list[tuple[str, int, int, int, int, int, int]] = []  # kind, word0, a, word1, b, tok0, tok1

    def add_tokens(kind: str, i0: int, i1: int) -> None:
        for m in range(i0, i1):
            toks[m].used = True
        # a "(" or "+" just before a phone number belongs to it
        while kind == "phone" and i0 > 0 and toks[i0 - 1].text in ("(", "+") and toks[i0 - 1].speaker == toks[i0].speaker:
            i0 -= 1
        if kind == "phone" and i1 < len(toks) and toks[i1].text == ")" and toks[i1].speaker == toks[i1 - 1].speaker:
            i1 += 1
        found.append((kind, toks[i0].word, toks[i0].a, toks[i1 - 1].word, toks[i1 - 1].b, i0, i1))

    # 1. written e-mail addresses
    for w0, a, w1, b in emails_written(words):
        for t in toks:
            if t.word == w0 and t.a >= a and t.b <= b:
                t.used = True
        found.append(("email", w0, a, w1, b, -1, -1))
    # 2. context phrases, then spoken e-mails (their words are not numbers)
    contexts = _contexts(toks)
    for i0, i1 in emails_spoken(toks):
        if any(toks[m].used for m in range(i0, i1)):
            continue
        add_tokens("email", i0, i1)
    # 3. dates after expiry / date-of-birth contexts
    zeros = zero_words(toks)
    for c in contexts:
        if c.kind in ("expiry", "dob"):
            for i0, i1 in _dates_after(toks, c, contexts, zeros):
                add_tokens(c.kind, i0, i1)
    # 4. runs of digits
    items = number_items(toks)
    runs = _runs(toks, items, max_gap)
    secrets: list[tuple[str, str, float]] = []
    pending: list[_Run] = []
    prev_end: dict[str | None, int] = {}
    said: dict[str | None, tuple[str, _Run]] = {}  # speaker -> the kind and run of their latest number found
    for k, run in enumerate(runs):
        if any(toks[m].used for m in range(run.i0, run.i1)):
            continue  # a phone extension taken with its number
        who = toks[run.i0].speaker
        ctx = _context_kinds(contexts, run.i0, run.i1, toks, floor=prev_end.get(who, 0))
        if len(run.digits) > 1:  # a lone digit answers no context: "it's a four digit one on the front, 6229"
            prev_end[who] = run.i1
        if _last_four_alone(run, ctx):
            continue
        kind = _classify(run, ctx, toks)
        if kind is None and not ctx:
            kind = _like_the_last(run, said.get(who))
        if kind is None and "neg" not in ctx and (k_tail := _phone_tail(run)) is not None:
            pending.append(_Run(run.items[:k_tail], run.gaps[:k_tail - 1]))
            run, kind = _Run(run.items[k_tail:], run.gaps[k_tail:]), "phone"
        if kind is None:
            pending.append(run)
            continue
        said[who] = (kind, run)
        i0, i1 = run.i0, run.i1
        if kind == "phone":
            i0 = _area_code_before(run, pending, contexts, toks)
            i1 = _extension_after(run, runs[k + 1:], toks)
        add_tokens(kind, i0, i1)
        if kind in ("card", "ssn"):
            secrets.append((kind, run.digits, toks[run.i0].time))
    # 5. echoes: part of a card/SSN number said again (a read-back), 4 digits or more, within 5 minutes
    for run in pending:
        d = run.digits
        if len(d) < 4 or any(toks[m].used for m in range(run.i0, run.i1)):
            continue
        for kind, full, t in secrets:
            if d in full and abs(toks[run.i0].time - t) <= 300:
                add_tokens(kind, run.i0, run.i1)
                break

    spans: list[PiiSpan] = []
    last: dict[str | None, int] = {}  # speaker -> index in spans of their latest span
    for kind, w0, a, w1, b, _i0, _i1 in sorted(found, key=lambda f: (f[1], f[2])):
        if kind not in wanted:
            continue
        tail = None if b >= len(words[w1].text) else b
        span = PiiSpan(kind, w0, w1 + 1, words[w0].start, max(w.end for w in words[w0:w1 + 1]), spk[w0], a, tail)
        k = last.get(spk[w0])
        if k is not None and w0 < spans[k].end_word:  # shares a word with the speaker's previous span: one mask for both
            prev = spans[k]
            if (w1 + 1, tail if tail is not None else 10**9) > (prev.end_word, prev.tail if prev.tail is not None else 10**9):
                spans[k] = PiiSpan(prev.kind, prev.start_word, w1 + 1, prev.start, max(prev.end, span.end), prev.speaker, prev.head, tail)
            continue
        last[spk[w0]] = len(spans)
        spans.append(span)
    return spans


# --------------------------------------------------------------------------------------------
# Masking words and texts


def mask_text(kind: str) -> str:
    """The mask that replaces a span of ``kind``: ``[card]``."""
    return f"[{kind}]"


def _mask_word(words: Sequence[Word], kind: str, head: int, tail: int | None) -> Word:
    first, last = words[0], words[-1]
    prefix = first.text[:head]
    suffix = "" if tail is None else last.text[tail:]
    if any(c.isdigit() for c in prefix):
        prefix = ""
    if any(c.isdigit() for c in suffix):
        suffix = ""
    return Word(
        start=first.start,
        end=max(w.end for w in words),
        text=prefix + mask_text(kind) + suffix,
        probability=min(w.probability for w in words),
    )


def redact_words(words: Sequence[Word], spans: Sequence[PiiSpan]) -> list[Word]:
    """Replace the words of each span (all one speaker's) by one mask word; other words are kept."""
    out: list[Word] = []
    i = 0
    for s in sorted(spans, key=lambda s: s.start_word):
        if s.start_word < i:
            continue
        out.extend(words[i:s.start_word])
        out.append(_mask_word(words[s.start_word:s.end_word], s.kind, s.head, s.tail))
        i = s.end_word
    out.extend(words[i:])
    return out


def _pseudo_words(text: str) -> tuple[list[Word], list[int]]:
    words, offsets = [], []
    for m in re.finditer(r"\S+", text):
        words.append(Word(start=0.0, end=0.0, text=m.group(0), probability=1.0))
        offsets.append(m.start())
    return words, offsets


@dataclass(frozen=True)
class _Echo:
    kind: str
    tokens: tuple[str, ...]


_ECHO_LIGHT = {"dot", "at", "underscore", "dash", "hyphen", "com", "the", "and", "oh", "uh", "um", "okay", "ok"}


def _echo_weight(tok: str) -> int:
    if tok.isdigit():
        return len(tok)
    if tok in UNITS or tok in TEENS or tok in TENS or tok in REPEAT:
        return 1
    if tok in _ECHO_LIGHT:
        return 0
    return 2


def _alnum_tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+|\d+", text)]


def _echoes(turn_words: Sequence[Sequence[Word]], spans: Sequence[PiiSpan]) -> list[_Echo]:
    """The words found as PII, as token sequences, to find them again in quotes of the transcript."""
    out = []
    for words, s in zip(turn_words, spans):
        text = " ".join(w.text for w in words)
        toks = tuple(t for t, _, _ in _alnum_tokens(text))
        if toks:
            out.append(_Echo(s.kind, toks))
    return out


def redact_text(text: str, kinds: Iterable[str] | None = None, echoes: Sequence[_Echo] = ()) -> tuple[str, list[str]]:
    """Mask PII in a free text (a quote, a detail, a warning).

    The detector runs on the text itself, then any stretch of it that repeats
    words found as PII elsewhere (``echoes``: a quote cut short, a number whose
    context is not in the quote) is masked too.

    Returns
    -------
    (str, list of str)
        The masked text and the kinds masked.
    """
    if not text or not any(c.isalnum() for c in text):
        return text, []
    words, offsets = _pseudo_words(text)
    spans = find_pii(words, kinds=kinds)
    cuts: list[tuple[int, int, str]] = []
    for s in spans:
        a = offsets[s.start_word] + s.head
        last = s.end_word - 1
        b = offsets[last] + (len(words[last].text) if s.tail is None else s.tail)
        cuts.append((a, b, s.kind))
    if echoes:
        toks = _alnum_tokens(text)
        texts = [t for t, _, _ in toks]
        i = 0
        while i < len(toks):
            best = None
            for e in echoes:
                for a0 in (k for k, x in enumerate(e.tokens) if x == texts[i]):
                    n = 0
                    while i + n < len(texts) and a0 + n < len(e.tokens) and texts[i + n] == e.tokens[a0 + n]:
                        n += 1
                    weight = sum(_echo_weight(x) for x in texts[i:i + n])
                    if (n == len(e.tokens) or weight >= 4) and (best is None or n > best[0]):
                        best = (n, e.kind)
            if best is None:
                i += 1
                continue
            n, kind = best
            cuts.append((toks[i][1], toks[i + n - 1][2], kind))
            i += n
    if not cuts:
        return text, []
    cuts.sort()
    merged: list[tuple[int, int, str]] = []
    for a, b, k in cuts:
        if merged and a <= merged[-1][1]:
            pa, pb, pk = merged[-1]
            merged[-1] = (pa, max(pb, b), pk)
        else:
            merged.append((a, b, k))
    out, pos = [], 0
    for a, b, k in merged:
        out.append(text[pos:a])
        out.append(mask_text(k))
        pos = b
    out.append(text[pos:])
    return "".join(out), [k for _, _, k in merged]


# --------------------------------------------------------------------------------------------
# The report


#: Fields that name things rather than quote the call, or hold no text: never masked
#: (``call`` is provenance; its ``roles`` reasons are masked on their own).
_IDENTIFIERS = {"speaker", "target", "label", "kind", "role", "method", "unit", "effect", "name", "schema_version",
                "matched", "agent", "words", "call", "contours", "metrics"}


def _map_strings(obj: BaseModel, fn: Callable[[str], str]) -> BaseModel:
    """A copy of a record with ``fn`` applied to every free-text string field (recursively)."""
    update = {}
    for name in type(obj).model_fields:
        if name in _IDENTIFIERS:
            continue
        value = getattr(obj, name)
        new = _map_value(value, fn)
        if new is not value:
            update[name] = new
    return obj.model_copy(update=update) if update else obj


def _map_value(value, fn):
    if isinstance(value, str):
        new = fn(value)
        return value if new == value else new
    if isinstance(value, BaseModel):
        return _map_strings(value, fn)
    if isinstance(value, list):
        new = [_map_value(v, fn) for v in value]
        return value if all(a is b for a, b in zip(new, value)) else new
    if isinstance(value, dict):
        new_d = {k: _map_value(v, fn) for k, v in value.items()}
        return value if all(new_d[k] is v for k, v in value.items()) else new_d
    return value


def call_words(report: CallReport) -> list[tuple[Word, str, int, int]]:
    """Every word of the call with its speaker, turn index and index in the turn, in time order."""
    out = [(w, t.speaker, ti, wi) for ti, t in enumerate(report.turns) for wi, w in enumerate(t.words)]
    out.sort(key=lambda x: (x[0].start, x[2], x[3]))
    return out


def find_report_pii(report: CallReport, cfg: PrivacyConfig | None = None) -> list[tuple[PiiSpan, list[tuple[int, int]]]]:
    """PII in the turns of a report: each span with its (turn, word) positions."""
    cfg = cfg or PrivacyConfig()
    flat = call_words(report)
    words = [w for w, _, _, _ in flat]
    spans = find_pii(words, [s for _, s, _, _ in flat], cfg.kinds, cfg.max_gap)
    out = []
    for s in spans:
        where = [(ti, wi) for (w, spk, ti, wi) in flat[s.start_word:s.end_word] if spk == s.speaker]
        out.append((s, where))
    return out


def redact_report(report: CallReport, cfg: PrivacyConfig | None = None) -> tuple[CallReport, list[PiiSpan]]:
    """Mask the PII of a report everywhere it is written, and record what was done.

    Parameters
    ----------
    report : CallReport
        As the analysis built it (not changed).
    cfg : PrivacyConfig, optional
        ``cfg.redact`` False (``--no-redact``): the PII is found and counted
        but left in the text, and the report says ``mode: "unredacted"``.

    Returns
    -------
    (CallReport, list of PiiSpan)
        The report (with ``call.redaction`` set) and the spans found, in the
        time order of all words of the call (see :func:`call_words`); their
        times are the times of the masked audio.
    """
    cfg = cfg or PrivacyConfig()
    located = find_report_pii(report, cfg)
    spans = [s for s, _ in located]
    counts = Counter(s.kind for s in spans)
    if not cfg.redact:
        info = report.call.model_copy(
            update={"redaction": Redaction(mode="unredacted", kinds=dict(sorted(counts.items())), enabled=list(cfg.kinds))}
        )
        if spans:
            log.info("%s: %d PII span(s) found and left unredacted (--no-redact)", report.call.call_id, len(spans))
        return report.model_copy(update={"call": info}), spans

    # 1. the turns: one mask word per span part, per turn
    per_turn: dict[int, list[PiiSpan]] = {}
    quoted: list[list[Word]] = []
    for s, where in located:
        quoted.append([report.turns[ti].words[wi] for ti, wi in where])
        by_turn: dict[int, list[int]] = {}
        for ti, wi in where:
            by_turn.setdefault(ti, []).append(wi)
        parts = sorted(by_turn.items())
        for n, (ti, wis) in enumerate(parts):
            head = s.head if n == 0 else 0
            tail = s.tail if n == len(parts) - 1 else None
            per_turn.setdefault(ti, []).append(PiiSpan(s.kind, min(wis), max(wis) + 1, s.start, s.end, s.speaker, head, tail))
    echoes = _echoes(quoted, spans)
    kinds = list(cfg.kinds)

    def fn(text: str) -> str:
        return redact_text(text, kinds, echoes)[0]

    turns: list[Turn] = []
    for ti, t in enumerate(report.turns):
        if ti in per_turn:
            words = redact_words(t.words, per_turn[ti])
            turns.append(t.model_copy(update={"words": words, "text": join_words(words)}))
        else:
            text = fn(t.text)  # a turn's text not backed by its words still gets the text detector
            turns.append(t if text == t.text else t.model_copy(update={"text": text}))

    # 2. every other text that quotes the call
    rest = report.model_copy(update={"turns": []})
    rest = _map_strings(rest, fn)
    roles = _map_strings(report.call.roles, fn)
    info = report.call.model_copy(
        update={"roles": roles, "redaction": Redaction(mode="redacted", kinds=dict(sorted(counts.items())), enabled=kinds)}
    )
    out = rest.model_copy(update={"turns": turns, "call": info})
    if spans:
        log.info("%s: %d PII span(s) masked (%s)", report.call.call_id, len(spans),
                 ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    return out, spans


def masked_spans(report: CallReport) -> list[tuple[str, str, float, float]]:
    """The masks already in a redacted report's turns: (speaker, kind, start, end)."""
    out = []
    for t in report.turns:
        for w in t.words:
            m = MASK_RE.search(w.text)
            if m:
                out.append((t.speaker, m.group(1), w.start, w.end))
    return out
