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

* **card**: 13-19 digits that pass the Luhn check (any context, unless the
  nearest context says it is an order, account, reference... number), or
  13 digits or more said right after "card number", "Visa", ... even when
  the Luhn check fails (one misheard, dropped or repeated digit still
  leaves the rest of the number).
* **cvv**: 3-4 digits after "security code", "CVV", "three digits on the
  back", ...; **expiry**: a month and year after "expires", "expiry",
  "valid through", ...; **dob**: a date (two of day, month, year, or an
  all-digit date) after "date of birth", "born on", "DOB", "birthday", ...
* **ssn**: "ddd-dd-dddd", or 9 digits (give or take one) after "social", "SSN", ...
* **phone**: 10-digit North American numbers (+1), UK numbers (0 + 10
  digits, +44), or 7-12 digits after "phone", "mobile", "call me", ...
* **email**: "name@domain.tld" or the spoken form.

The context may be in the other speaker's previous words ("What's the
security code?" -- "Seven three seven."). A number a speaker repeats in part
(an agent reading back a card number) is masked as the number it echoes.

Masks keep the kind and the timings: the words of a span become one word
``[card]`` from the first word's start to the last word's end, probability the
lowest of theirs. :func:`redact_report` masks the turns and then every other
text of the report (event details, cue and evidence quotes, reasons,
warnings), so no string of the written report carries a value that was found.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from .config import PrivacyConfig
from .records import CallReport, Redaction, Turn, Word
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
           "sorry", "dash", "hyphen", "so"}
MONEY_AFTER = {"dollar", "dollars", "pound", "pounds", "quid", "cent", "cents", "pence", "p", "euro", "euros",
               "bucks", "percent", "%", "k", "grand", "million", "billion", "thousand", "hundred"}
MONEY_BEFORE = {"$", "£", "€"}

#: Context phrases: the kind of number they announce ("neg": a number that is none of ours).
CONTEXT: dict[str, list[str]] = {
    "card": ["card", "cards", "card number", "long number", "visa", "mastercard", "master card", "amex",
             "american express", "discover", "debit", "credit", "sixteen digits", "16 digits", "fifteen digits",
             "15 digits", "the digits on the card", "front of the card"],
    "cvv": ["security code", "security number", "security digits", "cvv", "cvv2", "cvc", "cvc2", "csc", "cv2",
            "three digits", "3 digits", "three digit code", "3 digit code", "three digit", "3 digit",
            "four digit code", "4 digit code", "on the back", "code on the back", "digits on the back",
            "on the back of the card", "back of the card", "on the back of your card", "back of your card",
            "card verification", "verification code", "verification value"],
    "expiry": ["expire", "expires", "expiring", "expiry", "expiration", "exp", "expiry date", "expiration date",
               "valid through", "valid thru", "valid until", "valid till", "valid to", "good through",
               "good thru", "good until", "end date"],
    "dob": ["date of birth", "dob", "d o b", "born", "born on", "birthday", "birth date", "birthdate", "birth"],
    "ssn": ["social", "social security", "social security number", "ssn", "s s n"],
    "phone": ["phone", "phone number", "telephone", "mobile", "cell", "cellphone", "cell phone", "landline",
              "call me", "call", "call back", "callback", "reach me", "text me", "ring me", "contact number",
              "my number", "home number", "work number", "daytime number", "number to reach", "area code",
              "calling from", "fax"],
    "neg": ["order", "reference", "ref", "tracking", "account", "confirmation", "invoice", "case number",
            "case reference", "case id", "ticket",
            "policy", "claim", "serial", "imei", "meter", "member", "membership", "transaction", "receipt",
            "booking", "zip", "zip code", "postcode", "post code", "postal code", "pin", "part number", "model",
            "customer id", "customer number", "id", "voucher", "promo", "promo code", "discount", "coupon",
            "social media", "social worker", "social services"],
    # a bare "code" is a CVV, and "runs out" announces an expiry, only while card details are being
    # taken (see _contexts): "my contract runs out in September" is no card's expiry
    "code": ["code", "the code"],
    "runs_out": ["runs out", "run out", "runs until", "ends"],
}
#: Tokens: a bare "code" counts as a CVV context this soon after card or expiry words.
CARD_SESSION = 60

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
_EMAIL_RE = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)


@dataclass
class _Tok:
    text: str  # lower case
    kind: str  # alpha, num, ord, code, punct
    word: int
    a: int  # char offsets in the word's text
    b: int
    speaker: str | None
    time: float
    used: bool = False  # part of a span already
    ctx: bool = False  # part of a context phrase


def _tokens(words: Sequence[Word], speakers: Sequence[str | None]) -> list[_Tok]:
    out: list[_Tok] = []
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
            out.append(_Tok(low, kind, wi, m.start(), m.end(), spk, w.start))
    return out


# --------------------------------------------------------------------------------------------
# Numbers


@dataclass
class _Item:
    """A number read from one or more tokens: its digits as spoken/written."""

    digits: str
    i0: int  # token range [i0, i1)
    i1: int
    ordinal: bool = False


def _next(toks: list[_Tok], i: int, skip: Iterable[str] = ("-",)) -> int:
    """Index of the next token after ``i`` of the same speaker that is not in ``skip``; -1 at the end."""
    j = i + 1
    while j < len(toks) and (toks[j].text in skip and toks[j].kind == "punct"):
        j += 1
    if j < len(toks) and toks[j].speaker == toks[i].speaker:
        return j
    return -1


def _is_numeric_word(t: _Tok) -> bool:
    return t.kind in ("num", "ord") or (
        t.kind == "alpha" and t.text not in ("oh", "o") and (t.text in UNITS or t.text in TEENS or t.text in TENS
                                                              or t.text in REPEAT or t.text in ORDINALS)
    )


def _zero_words(toks: list[_Tok]) -> set[int]:
    """Indices of "oh"/"o" tokens that are the digit zero: next to another number (punctuation between allowed)."""
    zeros: set[int] = set()
    cand = [i for i, t in enumerate(toks) if t.kind == "alpha" and t.text in ("oh", "o") and not t.ctx]

    def neighbour_numeric(i: int, step: int) -> bool:
        j = i + step
        while 0 <= j < len(toks) and toks[j].kind == "punct" and toks[j].text in JOINERS:
            j += step
        if not (0 <= j < len(toks)) or toks[j].speaker != toks[i].speaker or toks[j].ctx:
            return False
        return _is_numeric_word(toks[j]) or j in zeros

    changed = True
    while changed:
        changed = False
        for i in cand:
            if i not in zeros and (neighbour_numeric(i, 1) or neighbour_numeric(i, -1)):
                zeros.add(i)
                changed = True
    return zeros


def _homophone(toks: list[_Tok], i: int) -> int | None:
    """The digit an ASR homophone stands for, when written between two numbers of the same speaker ("0 for 27")."""
    t = toks[i]
    if t.kind != "alpha" or t.text not in HOMOPHONES or t.ctx:
        return None

    def numeric(step: int) -> bool:
        j = i + step
        while 0 <= j < len(toks) and toks[j].kind == "punct" and toks[j].text in JOINERS:
            j += step
        return 0 <= j < len(toks) and toks[j].speaker == t.speaker and not toks[j].ctx and (
            toks[j].kind == "num" or (_is_numeric_word(toks[j]) and toks[j].text not in ORDINALS)
        )

    return HOMOPHONES[t.text] if numeric(-1) and numeric(1) else None


def _unit(toks: list[_Tok], i: int, zeros: set[int]) -> int | None:
    t = toks[i]
    if t.kind == "alpha" and t.text in UNITS and (t.text not in ("oh", "o") or i in zeros):
        return UNITS[t.text]
    return None


def _small(toks: list[_Tok], i: int, zeros: set[int]) -> tuple[int, int, bool] | None:
    """A number below 100 said as words starting at ``i``: (value, next index, ordinal)."""
    t = toks[i]
    if t.kind != "alpha" or t.ctx:
        return None
    if t.text in TENS:
        j = _next(toks, i)
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


def _word_number(toks: list[_Tok], i: int, zeros: set[int]) -> tuple[str, int, bool] | None:
    """A number said in words starting at ``i``: (digits, next index, ordinal); hundreds and thousands combined."""
    t = toks[i]
    if t.kind != "alpha" or t.ctx:
        return None
    if t.text in REPEAT:
        j = _next(toks, i)
        if j >= 0 and not toks[j].ctx:
            u = _unit(toks, j, zeros) if toks[j].text not in ("oh", "o") else 0
            if u is None and toks[j].kind == "num" and len(toks[j].text) == 1:
                u = int(toks[j].text)
            if u is not None:
                return str(u) * REPEAT[t.text], j + 1, False
        return None
    got = _small(toks, i, zeros)
    if got is None:
        return None
    value, j, ordinal = got
    is_unit = toks[i].text in UNITS
    if ordinal or (is_unit and toks[i].text in ("oh", "o", "zero", "nought")):
        return str(value), j, ordinal
    k = _next(toks, j - 1) if j - 1 >= 0 else -1
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


def _rest_after_scale(toks: list[_Tok], m: int, zeros: set[int], scale: int) -> tuple[int, int] | None:
    """The part after "hundred"/"thousand": "and twelve", "twenty seven", "two hundred and five"."""
    if m >= len(toks) or toks[m].speaker != toks[m - 1].speaker:
        return None
    had_and = toks[m].text == "and"
    n = m + 1 if had_and else m
    if n >= len(toks) or toks[n].speaker != toks[m - 1].speaker or toks[n].ctx:
        return None
    got = _small(toks, n, zeros)
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
    # "eight hundred five five five": a bare digit after "hundred" is the next digit, not 805
    if not had_and and toks[n].text in UNITS:
        return None
    return value, nxt


def _items(toks: list[_Tok]) -> list[_Item]:
    """Every number in the tokens, in order (context-phrase tokens excluded)."""
    zeros = _zero_words(toks)
    out: list[_Item] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.ctx or t.used:
            i += 1
            continue
        if t.kind == "num":
            out.append(_Item(t.text, i, i + 1))
            i += 1
            continue
        if t.kind == "ord":
            out.append(_Item(t.text[:-2], i, i + 1, ordinal=True))
            i += 1
            continue
        got = _word_number(toks, i, zeros)
        if got is not None:
            digits, j, ordinal = got
            out.append(_Item(digits, i, j, ordinal))
            i = j
            continue
        h = _homophone(toks, i)
        if h is not None:
            out.append(_Item(str(h), i, i + 1))
        i += 1
    return out


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


def _contexts(toks: list[_Tok]) -> list[_Context]:
    """Context phrases in token order (punctuation inside a phrase ignored: "D.O.B." is "d o b")."""
    words = [i for i, t in enumerate(toks) if t.kind != "punct"]
    found: list[_Context] = []
    k = 0
    last_card = -10**9
    while k < len(words):
        i = words[k]
        cands = _PHRASES.get(toks[i].text, ())
        hit = None
        for phrase, kind in cands:
            n = len(phrase)
            if k + n <= len(words) and all(toks[words[k + m]].text == phrase[m] for m in range(n)):
                if all(toks[words[k + m]].speaker == toks[i].speaker for m in range(n)):
                    hit = (phrase, kind)
                    break
        if hit is None:
            k += 1
            continue
        phrase, kind = hit
        i1 = words[k + len(phrase) - 1] + 1
        if kind == "code":
            kind = "cvv" if i - last_card <= CARD_SESSION else ""
        elif kind == "runs_out":
            kind = "expiry" if i - last_card <= CARD_SESSION else ""
            # "zip code", "post code", "area code" are caught by their own phrases first
        if kind in ("card", "expiry"):
            last_card = i
        for m in range(i, i1):
            toks[m].ctx = True
        if kind:
            found.append(_Context(kind, i, i1))
        k += len(phrase)
    return found


def _context_for(
    contexts: list[_Context], i0: int, i1: int, toks: list[_Tok], before: int = 14, after: int = 6, floor: int = 0
) -> str | None:
    """The kind announced for the tokens [i0, i1): the nearest context before (within ``before`` tokens), else just after.

    Contexts ending before ``floor`` (the end of the number said just before
    this one) are not looked at: "the order number was 8821 and I paid with
    4556..." -- "order" announced the first number, not the second.
    """
    best = None
    earlier: list[_Context] = []
    for c in contexts:
        if c.i1 <= i0 and i0 - c.i1 <= before and c.i0 >= floor:
            if best is not None:
                earlier.append(best)
            best = c
        elif c.i0 >= i1:
            break
    if best is not None and best.kind == "neg" and earlier and _weak_neg(best, i0, toks):
        # "What's the social security number on the account?" -- "account" names no number here
        pii = [c for c in earlier if c.kind != "neg"]
        if pii:
            return pii[-1].kind
    if best is not None:
        return best.kind
    for c in contexts:
        if c.i0 >= i1 and c.i0 - i1 <= after and toks[c.i0].speaker == toks[i0].speaker:
            return c.kind
        if c.i0 >= i1 + after:
            break
    return None


_NUMBER_NOUNS = {"number", "numbers", "no", "#", "id", "reference", "ref", "code", "num"}


def _weak_neg(c: _Context, i0: int, toks: list[_Tok]) -> bool:
    """A "neg" word that names no number: not followed by "number"/"no"/"id"..., and not right before the digits."""
    j = c.i1
    while j < len(toks) and toks[j].kind == "punct" and toks[j].text in (".", "'"):
        j += 1
    names_number = j < len(toks) and toks[j].text in _NUMBER_NOUNS
    return not names_number and i0 - c.i1 > 2


# --------------------------------------------------------------------------------------------
# Runs of digits


@dataclass
class _Run:
    items: list[_Item] = field(default_factory=list)
    seps: list[str] = field(default_factory=list)  # what came between item k and k+1 ("" = just a space)

    @property
    def digits(self) -> str:
        return "".join(it.digits for it in self.items)

    @property
    def i0(self) -> int:
        return self.items[0].i0

    @property
    def i1(self) -> int:
        return self.items[-1].i1


def _runs(toks: list[_Tok], items: list[_Item], max_gap: float) -> list[_Run]:
    """Group numbers said one after another by one speaker into runs."""
    runs: list[_Run] = []
    open_runs: dict[str | None, _Run] = {}
    for it in items:
        if it.ordinal:
            continue
        spk = toks[it.i0].speaker
        run = open_runs.get(spk)
        if run is not None and _joinable(toks, run.items[-1], it, max_gap):
            seps = "".join(toks[m].text for m in range(run.items[-1].i1, it.i0)
                           if toks[m].speaker == spk and toks[m].kind == "punct")
            run.seps.append(seps)
            run.items.append(it)
        else:
            run = _Run([it])
            runs.append(run)
            open_runs[spk] = run
    return runs


def _joinable(toks: list[_Tok], a: _Item, b: _Item, max_gap: float) -> bool:
    spk = toks[a.i0].speaker
    if toks[b.i0].time - toks[a.i1 - 1].time > max_gap:
        return False
    for m in range(a.i1, b.i0):
        t = toks[m]
        if t.ctx or t.used:
            return False
        if t.kind == "punct":
            if t.speaker == spk and t.text not in JOINERS:
                return False
            continue
        if t.kind == "alpha" and t.text in FILLERS:
            continue
        # "nine one two eight, and then two nine six four": "and then" / "then" between groups of one number,
        # ... and a correction inside one number: "4093 3221 4850, no wait, 4857 1662"
        if t.kind == "alpha" and t.speaker == spk and (
            t.text in ("then", "wait", "actually")
            or (t.text in ("and", "no") and m + 1 < b.i0 and toks[m + 1].text in ("then", "wait"))
        ):
            continue
        return False  # a word (either speaker's) that is not a filler ends the number
    return True


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


def _classify(run: _Run, ctx: str | None, toks: list[_Tok]) -> str | None:
    """The kind of PII a run of digits is, given the context announced for it; None: not PII."""
    d = run.digits
    n = len(d)
    before = toks[run.i0 - 1].text if run.i0 > 0 else ""
    after_i = run.i1
    while after_i < len(toks) and toks[after_i].kind == "punct" and toks[after_i].text in (",", "."):
        after_i += 1
    after = toks[after_i].text if after_i < len(toks) else ""
    if before in MONEY_BEFORE or after in MONEY_AFTER or after == "%":
        return None
    if ctx == "neg":
        return None
    if ctx == "cvv" and n in (3, 4):
        return "cvv"
    if ctx == "ssn" and 8 <= n <= 10:  # 9 digits, give or take one the ASR dropped or added
        return "ssn"
    lens = [len(it.digits) for it in run.items]
    written = all(toks[it.i0].kind == "num" for it in run.items)
    if lens == [3, 2, 4] and written and _ssn_valid(d) and (all("-" in s for s in run.seps) or ctx == "ssn"):
        return "ssn"
    if (13 <= n <= 19 and luhn_ok(d)) or (ctx == "card" and n >= 13):
        return "card"
    if n > 16 and _card_window(run) is not None:
        return "card"
    plus = before == "+" or (run.i0 > 1 and toks[run.i0 - 1].text == "(" and toks[run.i0 - 2].text == "+")
    if _nanp(d) or (n == 11 and d[0] == "1" and _nanp(d[1:])) or _uk(d):
        return "phone"
    if plus and 8 <= n <= 15:
        return "phone"
    if ctx == "phone" and 7 <= n <= 12:
        return "phone"
    return None


# --------------------------------------------------------------------------------------------
# Dates (expiry, date of birth)

_DATE_JOIN = {"of", "the", ",", "/", "-", ".", "–", "slash", "'", "’"}  # "'": a short year ("March 3rd, '88")


def _is_month(t: _Tok) -> bool:
    return t.kind == "alpha" and t.text in MONTHS and not t.ctx


def _date_at(toks: list[_Tok], start: int, zeros: set[int], limit: int = 16) -> tuple[int, int] | None:
    """Token range of a date-like stretch starting at or after ``start`` (first 8 tokens searched)."""
    spk = None
    i = start
    first = None
    while i < len(toks) and i < start + 8:
        t = toks[i]
        if t.used:
            return None
        if not t.ctx and (t.kind in ("num", "ord") or _is_month(t) or _is_numeric_word(t) or i in zeros):
            first = i
            break
        i += 1
    if first is None:
        return None
    spk = toks[first].speaker
    if first > 0 and toks[first - 1].text == "the" and toks[first - 1].speaker == spk:
        first -= 1
    j = first
    last = first
    while j < len(toks) and j < first + limit:
        t = toks[j]
        if t.speaker != spk or t.ctx or t.used:
            break
        if t.kind in ("num", "ord") or _is_month(t) or _is_numeric_word(t) or j in zeros or _homophone(toks, j) is not None:
            last = j
        elif t.text in _DATE_JOIN or (t.kind == "alpha" and t.text in ("uh", "um", "hundred", "thousand", "and")):
            pass  # "and" / "thousand" inside a year said as words; a trailing one is not kept (``last``)
        else:
            break
        j += 1
    return first, last + 1


def _date_parts(toks: list[_Tok], i0: int, i1: int) -> tuple[int | None, int | None, str, list[_Item]]:
    """Month (from a month name), day (from an ordinal), the other digits, and the number items."""
    sub = toks[i0:i1]
    month = None
    for t in sub:
        if _is_month(t):
            month = MONTHS[t.text]
    items = _items(sub)
    day = None
    rest = []
    for it in items:
        if it.ordinal and day is None and it.digits.isdigit() and 1 <= int(it.digits) <= 31:
            day = int(it.digits)
        else:
            rest.append(it)
    return month, day, "".join(it.digits for it in rest), rest


def _year_ok(y: str) -> bool:
    return len(y) == 2 or (len(y) == 4 and y[:2] in ("19", "20"))


def _valid_mdy(m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= 31


def _numeric_date(digits: str, items: list[_Item]) -> bool:
    """An all-digit date of birth: M/D/Y or D/M/Y, 2- or 4-digit year, or Y-M-D."""
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
    for mlen in (1, 2):
        for dlen in (1, 2):
            ylen = n - mlen - dlen
            if ylen not in (2, 4):
                continue
            a, b, y = int(digits[:mlen]), int(digits[mlen:mlen + dlen]), digits[mlen + dlen:]
            if _year_ok(y) and (_valid_mdy(a, b) or _valid_mdy(b, a)):
                if n >= 6 or len(items) >= 2:
                    return True
    if n == 8 and digits[:2] in ("19", "20") and _valid_mdy(int(digits[4:6]), int(digits[6:])):
        return True
    return False


def _is_expiry(toks: list[_Tok], i0: int, i1: int) -> bool:
    month, day, digits, _ = _date_parts(toks, i0, i1)
    if day is not None:
        return False
    if month is not None:
        return _year_ok(digits)
    n = len(digits)
    if n == 3:
        return digits[0] != "0" and _year_ok(digits[1:])
    if n == 4:
        return 1 <= int(digits[:2]) <= 12
    if n == 6:
        return 1 <= int(digits[:2]) <= 12 and digits[2:4] == "20"
    return False


def _is_dob(toks: list[_Tok], i0: int, i1: int) -> bool:
    month, day, digits, items = _date_parts(toks, i0, i1)
    if month is not None:
        if day is not None:
            return digits == "" or _year_ok(digits)
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


# --------------------------------------------------------------------------------------------
# E-mail


def _emails_written(words: Sequence[Word]) -> list[tuple[int, int, int, int]]:
    """Written addresses inside single words: (word, char start, char end) as (w, a, w, b)."""
    out = []
    for wi, w in enumerate(words):
        for m in _EMAIL_RE.finditer(w.text):
            out.append((wi, m.start(), wi, m.end()))
    return out


def _numberish(t: _Tok) -> bool:
    """Digits or a number word: "smith70", "smith seventy", "patel ninety one" are all local parts."""
    return t.kind == "num" or t.text in UNITS or t.text in TEENS or t.text in TENS


def _name_tok(t: _Tok) -> bool:
    return t.kind in ("alpha", "num", "code") and not t.ctx and t.text not in EMAIL_JOIN


def _emails_spoken(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Token ranges of addresses said or half-written: "john dot smith at example dot com", "peter.r.k at gmail.com"."""
    out: list[tuple[int, int]] = []
    for i, t in enumerate(toks):
        if t.text not in ("at", "@") or t.used:
            continue
        spk = t.speaker
        # domain: label (joiner label)* ending in a TLD, or a well-known provider
        j = i + 1
        labels: list[int] = []
        end = None
        while j < len(toks) and toks[j].speaker == spk and _name_tok(toks[j]) and len(labels) < 6:
            labels.append(j)
            # a hyphenated label (northwind-energy), or two words said for one ("northwind energy dot co dot uk")
            k = j + 1
            while k + 1 < len(toks) and toks[k].text in ("-", "dash", "hyphen") and _name_tok(toks[k + 1]) and toks[k + 1].speaker == spk:
                k += 2
            if (k + 2 < len(toks) and k == j + 1 and _name_tok(toks[k]) and toks[k].text not in LOCAL_STOP
                    and toks[k].text not in TLDS and toks[k + 1].text in ("dot", ".") and toks[k].speaker == spk):
                k += 1
            j = k
            if toks[labels[-1]].text in PROVIDERS and len(labels) == 1:
                end = j
            if len(labels) >= 2 and toks[j - 1].text in TLDS:
                end = j
            if j < len(toks) and toks[j].speaker == spk and toks[j].text in ("dot", ".") and j + 1 < len(toks) and _name_tok(toks[j + 1]):
                j += 1
                continue
            break
        if end is None:
            continue
        # local part, backwards from the word before "at"
        k = i - 1
        if k < 0 or toks[k].speaker != spk or not _name_tok(toks[k]) or toks[k].text in LOCAL_STOP:
            continue
        first = k
        bare = 0
        spelled = 0
        while k - 1 >= 0 and toks[k - 1].speaker == spk:
            p = toks[k - 1]
            if p.text in EMAIL_JOIN and k - 2 >= 0 and _name_tok(toks[k - 2]) and toks[k - 2].speaker == spk:
                k -= 2
                first = k
                continue
            # a name spelled letter by letter ("d a v e seven at..."): single letters, "a" and "i" included
            if (p.kind == "alpha" and len(p.text) == 1 and not p.ctx and spelled < 16
                    and toks[k].kind in ("alpha", "num") and (len(toks[k].text) == 1 or _numberish(toks[k]))):
                k -= 1
                first = k
                spelled += 1
                continue
            if _name_tok(p) and p.text not in LOCAL_STOP and bare < 3 and (
                len(p.text) == 1 or _numberish(p) or len(toks[k].text) == 1 or _numberish(toks[k])
            ):
                k -= 1
                first = k
                bare += 1
                continue
            break
        out.append((first, end))
    # an "at" the ASR lost: "john .miss .gmail .com" -- name(s) dotted onto a mail provider's domain
    for i, t in enumerate(toks):
        if t.text not in PROVIDERS or t.used or i + 2 >= len(toks):
            continue
        if toks[i + 1].text not in (".", "dot") or toks[i + 2].text not in TLDS or toks[i - 1].text in ("at", "@"):
            continue
        first = i
        while first - 2 >= 0 and toks[first - 1].text in (".", "dot") and _name_tok(toks[first - 2]) \
                and toks[first - 2].text not in LOCAL_STOP and toks[first - 2].speaker == t.speaker:
            first -= 2
        if first < i and not any(a <= i < b for a, b in out):
            out.append((first, i + 3))
    return out


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
    toks = _tokens(words, spk)
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
    for w0, a, w1, b in _emails_written(words):
        for t in toks:
            if t.word == w0 and t.a >= a and t.b <= b:
                t.used = True
        found.append(("email", w0, a, w1, b, -1, -1))
    # 2. context phrases, then spoken e-mails (their words are not numbers)
    contexts = _contexts(toks)
    for i0, i1 in _emails_spoken(toks):
        if any(toks[m].used for m in range(i0, i1)):
            continue
        add_tokens("email", i0, i1)
    # 3. dates after expiry / date-of-birth contexts
    zeros = _zero_words(toks)
    for c in contexts:
        if c.kind not in ("expiry", "dob"):
            continue
        start = c.i1
        for _attempt in range(3):  # "I'm a July baby, fourth of July eighty-two": the first stretch is no date
            got = _date_at(toks, start, zeros)
            if got is None:
                break
            i0, i1 = got
            if c.kind == "expiry" and _is_expiry(toks, i0, i1):
                add_tokens("expiry", i0, i1)
                break
            if c.kind == "dob" and _is_dob(toks, i0, i1):
                add_tokens("dob", i0, i1)
                break
            start = i1
    # 4. runs of digits
    items = _items(toks)
    runs = _runs(toks, items, max_gap)
    secrets: list[tuple[str, str, float]] = []
    pending: list[_Run] = []
    prev_end: dict[str | None, int] = {}
    for run in runs:
        who = toks[run.i0].speaker
        ctx = _context_for(contexts, run.i0, run.i1, toks, floor=prev_end.get(who, 0))
        prev_end[who] = run.i1
        kind = _classify(run, ctx, toks)
        if kind is None:
            pending.append(run)
            continue
        add_tokens(kind, run.i0, run.i1)
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
