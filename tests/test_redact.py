"""PII redaction: the detector (labelled set floors, spoken numbers, Luhn), masks, the report, the audio copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.cli import build_parser, config_from_args
from analysis.config import PrivacyConfig
from analysis.records import (
    CallInfo,
    CallMetrics,
    CallReport,
    Cue,
    Event,
    Evidence,
    Metrics,
    RoleDecision,
    Score,
    ScoreComponent,
    Speaker,
    Turn,
    Word,
    dump_report,
    load_report,
)
from analysis.redact import PII_KINDS, find_pii, luhn_ok, redact_report, redact_text, redact_words
from analysis.redact_audio import silence, spans_by_channel, write_redacted_audio
from analysis.turns import join_words

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench_redaction  # noqa: E402

CARD = "4532015112830366"  # Luhn-valid test number
UNITS = "zero one two three four five six seven eight nine".split()


def words_of(text: str, t0: float = 0.0, step: float = 0.4) -> list[Word]:
    return [Word(start=round(t0 + i * step, 3), end=round(t0 + i * step + 0.3, 3), text=w, probability=0.9) for i, w in enumerate(text.split())]


def found(text: str, **kw) -> list[tuple[str, str]]:
    words = words_of(text)
    return [(s.kind, " ".join(w.text for w in words[s.start_word:s.end_word])) for s in find_pii(words, **kw)]


# --- Luhn and numbers as ASR writes them -----------------------------------------------------


def test_luhn() -> None:
    for good in (CARD, "378282246310005", "6011111111111117", "5555555555554444", "4222222222222"):
        assert luhn_ok(good), good
    for bad in ("4532015112830367", "1234567812345678", "", "4532-0151"):
        assert not luhn_ok(bad), bad


@pytest.mark.parametrize(
    "said",
    [
        "4532 0151 1283 0366",
        "4532, 0151, 1283, 0366.",
        "4532-0151-1283-0366",
        "4532015112830366",
        "4 5 3 2 0 1 5 1 1 2 8 3 0 3 6 6",
        "4 -5 -3 -2 -0 -1 -5 -1 -1 -2 -8 -3 -0 -3 -6 -6",
        "45 32 01 51 12 83 03 66",
        "four five three two zero one five one one two eight three zero three six six",
        "four five three two oh one five one one two eight three oh three double six",
        "forty five thirty two, oh one fifty one, twelve eighty three, oh three sixty six",
        "forty-five thirty-two oh one fifty-one twelve eighty-three oh three sixty-six",
        "4532 zero one five one 1283 oh three six six",
        "Four, five, three, two, zero, one, five, one, one, two, eight, three, zero, three, six, six.",
    ],
)
def test_card_number_in_every_asr_form(said: str) -> None:
    got = found(f"Sure, my card number is {said} thanks")
    assert [k for k, _ in got] == ["card"], got
    assert got[0][1].rstrip(".") == said.rstrip("."), got


def _render(digits: str, style: int) -> str:
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    if style == 0:
        return " ".join(groups)
    if style == 1:
        return " ".join(digits)
    if style == 2:
        return " ".join(UNITS[int(c)] for c in digits)
    if style == 3:
        return ", ".join(" ".join("oh" if c == "0" else UNITS[int(c)] for c in g) for g in groups)
    return "-".join(groups)


def _with_check_digit(body: str) -> str:
    return next(body + c for c in "0123456789" if luhn_ok(body + c))


@settings(max_examples=60, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=15, max_size=15), style=st.integers(0, 4))
def test_any_luhn_valid_number_is_masked_and_an_invalid_one_without_context_is_not(body: str, style: int) -> None:
    valid = _with_check_digit("4" + body[1:])
    got = found(f"okay it's {_render(valid, style)} there you go")
    assert [k for k, _ in got] == ["card"]
    invalid = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    assert not luhn_ok(invalid)
    assert found(f"the tracking number is {_render(invalid, style)} there you go") == []


def test_digits_split_over_words_and_turns_of_one_speaker() -> None:
    # the customer reads the number in two turns, the agent says "mm-hmm" in between
    words = words_of("4532 0151", 0.0) + words_of("mm-hmm", 1.4) + words_of("1283 0366.", 2.5)
    speakers = ["c", "c", "a", "c", "c"]
    spans = find_pii(words, speakers)
    assert [(s.kind, s.start_word, s.end_word, s.speaker) for s in spans] == [("card", 0, 5, "c")]
    # a substantive reply by the other speaker ends the number: no 24-digit blob
    words = words_of("312 555 0147", 0.0) + words_of("and your zip code?", 1.5) + words_of("60614", 3.5)
    spans = find_pii(words, ["c"] * 3 + ["a"] * 4 + ["c"])
    assert [(s.kind, s.start_word, s.end_word) for s in spans] == [("phone", 0, 3)]


def test_context_in_the_other_speakers_question() -> None:
    words = words_of("What's the security code on the back?") + words_of("Seven three seven.", 5.0)
    spans = find_pii(words, ["a"] * 7 + ["c"] * 3)
    assert [(s.kind, s.speaker, s.start_word) for s in spans] == [("cvv", "c", 7)]


def test_each_kind_and_near_misses() -> None:
    assert found("my social is 219-09-9999") == [("ssn", "219-09-9999")]
    assert found("call me on (312) 555-0147.") == [("phone", "(312) 555-0147.")]
    assert found("my mobile is oh seven seven double oh nine double oh one two three") == [
        ("phone", "oh seven seven double oh nine double oh one two three")
    ]
    assert found("it's john dot smith at example dot com") == [("email", "john dot smith at example dot com")]
    assert found("email me at j.smith@example.co.uk.") == [("email", "j.smith@example.co.uk.")]
    assert found("it expires oh four twenty seven") == [("expiry", "oh four twenty seven")]
    assert found("date of birth is March 14, 1985.") == [("dob", "March 14, 1985.")]
    assert found("the CVV is 482") == [("cvv", "482")]
    for text in (
        "I was born in the spring",
        "I was born in 1985",
        "my order number is 2125551234",
        "that's $1,234.56 on the last statement",
        "the offer expires on March 31st",
        "we spoke at 10:30 this morning",
        "the promo code is 4521",
        "have a look at northwind dot com",
        "meet me at five",
        "the part number is 123-456-789",
        "the reference is 1234 5678 9012 3456",
    ):
        assert found(text) == [], text


def test_spoken_forms_found_by_the_blind_set() -> None:
    """Mistakes the blind held-out set showed: numbers said in an address, "slash" in a date, a context that belonged to an earlier number."""
    assert found("send it to j smith seventy at outlook dot co dot uk please") == [("email", "j smith seventy at outlook dot co dot uk")]
    assert found("it's r dot patel ninety one at proton dot me") == [("email", "r dot patel ninety one at proton dot me")]
    assert found("the expiry is twelve slash twenty six") == [("expiry", "twelve slash twenty six")]
    assert found("the order number was 88210070 and I paid with 4556 7375 8689 9855") == [("card", "4556 7375 8689 9855")]
    assert found("the order number is 88210070 and the reference is 1234 5678 9012 3456") == []
    assert found("a number in case we get cut off? It's 2125550163.") == [("phone", "2125550163.")]


def test_forms_found_by_the_third_blind_set() -> None:
    """Mistakes the third blind set showed, fixed in general form."""
    # a year as "'88" or "two thousand and one"; a first date-like stretch that is no date
    assert found("I was born March 3rd, '88") == [("dob", "March 3rd, '88")]
    assert found("date of birth? the eleventh of August two thousand and one") == [("dob", "the eleventh of August two thousand and one")]
    assert found("date of birth? I'm a July baby, fourth of July eighty-two") == [("dob", "fourth of July eighty-two")]
    # "runs out" is an expiry only while card details are being taken
    assert found("card number please. Sure, and it runs out in March twenty eight") == [("expiry", "March twenty eight")]
    assert found("My contract runs out in September twenty-seven, so what are my options?") == []
    # "account" that names no number does not cancel the social security context before it
    assert found("What's the social security number on the account? It's 456-32-1107.") == [("ssn", "456-32-1107.")]
    assert found("What's the account number? It's 4563-2110-7") == []
    # one number in groups with "and then" between, or corrected mid-way, is still one number
    said = "card? four two six three, nine one two eight, and then two nine six four, oh eight three eight"
    assert found(said) == [("card", "four two six three, nine one two eight, and then two nine six four, oh eight three eight")]
    assert found("card number? It's 4093 3221 4850, no wait, 4857 1662") == [("card", "4093 3221 4850, no wait, 4857 1662")]
    assert found("I need 3 and then 5 more boxes") == []
    # a name spelled letter by letter, "a" included
    assert found("it's d a v e seven at btinternet dot com") == [("email", "d a v e seven at btinternet dot com")]


def test_a_number_named_as_another_kind_is_no_card() -> None:
    """A Luhn-valid IMEI or serial, named in the other speaker's question or a few words before it, is no card."""
    imei = "490154203237518"  # passes the Luhn check, as IMEIs do
    assert _two_speakers(("a", "And the IMEI on the handset?"), ("c", "four nine oh one five four two oh three two three seven five one eight")) == []
    assert _two_speakers(("a", "Could you read me the serial?"), ("c", f"sure, {imei[:4]} {imei[4:8]} {imei[8:12]} {imei[12:]}")) == []
    assert found(f"the IMEI printed under the battery is {imei}") == []
    assert found(f"my card is {imei}") == [("card", imei)]


def test_the_last_four_said_alone_are_no_card_but_a_full_number_after_them_is() -> None:
    assert _two_speakers(("a", "Which card is it?"), ("c", "the mastercard ending in five five one two")) == []
    # the full number said after its tail is masked whole, and the tail read back alone is not
    assert found("it ends with 4444, the card number is 5555 5555 5555 4444") == [("card", "5555 5555 5555 4444")]
    assert _two_speakers(("c", "my card number is 5555 5555 5555 4444"), ("a", "thank you, ending 4444, and the expiry?")) == [
        ("card", "c", "5555 5555 5555 4444")]


def test_expiry_said_before_the_cvv_is_asked_and_month_by_year() -> None:
    assert found(f"card number {CARD}, expires six twenty nine, and the CVV is four one two") == [
        ("card", f"{CARD},"), ("expiry", "six twenty nine,"), ("cvv", "four one two")]
    assert found("card number please. expiry is 11 by 28") == [("expiry", "11 by 28")]


def test_a_cvv_question_makes_a_bare_strip_or_code_a_cvv_context() -> None:
    said = "hang on, turning it over, so after the printed digits on the strip it says 318"
    assert _two_speakers(("a", "What's the CVV?"), ("c", said)) == [("cvv", "c", "318")]
    assert found(f"what's the code? {said}") == []  # no card details being taken


def test_a_year_said_as_a_bare_two_thousand() -> None:
    assert found("date of birth? the ninth of March two thousand") == [("dob", "the ninth of March two thousand")]
    assert found("date of birth? ninth of March, I owe two thousand") == [("dob", "ninth of March,")]


def test_an_email_domain_spelled_letter_by_letter() -> None:
    assert found("it is ana at b r i g h t o n dot net, b r i g h t o n") == [("email", "ana at b r i g h t o n dot net,")]
    assert found("the letters are a t b c") == []


def _two_speakers(*turns: tuple[str, str]) -> list[tuple[str, str, str]]:
    """find_pii over turns [(speaker, text)], a pause between turns: [(kind, speaker, the span's words)]."""
    words: list[Word] = []
    speakers: list[str] = []
    t = 0.0
    for who, text in turns:
        part = words_of(text, t)
        words += part
        speakers += [who] * len(part)
        t = part[-1].end + 1.0
    return [(s.kind, s.speaker, " ".join(w.text for w, p in zip(words[s.start_word:s.end_word], speakers[s.start_word:s.end_word])
                                         if p == s.speaker)) for s in find_pii(words, speakers)]


def test_ssn_said_in_three_two_four_groups_or_announced_after() -> None:
    """Nine digits in 3-2-4 groups (tens included, groups split by commas or pauses) are an SSN without any context."""
    assert found("sure, it's six twenty, forty one, eighty eight oh two") == [("ssn", "six twenty, forty one, eighty eight oh two")]
    assert _two_speakers(("c", "two one four"), ("a", "mm-hmm"), ("c", "six six"), ("a", "mm-hmm"), ("c", "one two three four")) == [
        ("ssn", "c", "two one four six six one two three four")]
    # ... and the word that announces it may come just after it
    assert found("it's 512346789, that's my social") == [("ssn", "512346789,")]
    # a year, a price or a room said in groups is no SSN
    assert found("the room number is four thirty one, and the floor is nine") == []
    assert found("it costs one twenty, forty five, and twelve ninety nine") == []


def test_a_value_corrected_on_the_way_is_masked_whole() -> None:
    """"..., sorry, ..." inside a number: the group taken back is left out of its digits, kept in the mask."""
    said = "two one three, five four, nine nine, sorry, nine eight seven six"
    assert found(f"my social is {said}") == [("ssn", said)]
    said = "four five three two, oh one five one, one two, no, one two eight three, oh three six six"
    assert found(f"card number {said}") == [("card", said)]
    said = "three one... three one seven"  # said again after a hesitation
    assert found(f"the security code is {said}") == [("cvv", said)]
    # a pause phrase inside a number is no correction
    said = "four five three two oh one five one, hang on, one two eight three oh three six six"
    assert found(said) == [("card", said)]
    # a whole date taken back and said again: two dates
    assert found("expiry? ten twenty six, no sorry, ten twenty eight") == [("expiry", "ten twenty six,"), ("expiry", "ten twenty eight")]
    assert found("DOB? twelfth of, no, thirteenth of May ninety") == [("dob", "twelfth of, no, thirteenth of May ninety")]
    assert found("I paid twenty, no, thirty dollars") == []


def test_phone_extension_area_code_apart_and_international_prefix() -> None:
    assert found("call me on 212 555 0187, extension three four") == [("phone", "212 555 0187, extension three four")]
    assert found("it's 312-555-0148 ext. 12 thanks") == [("phone", "312-555-0148 ext. 12")]
    said = "two one two, that's the Manhattan area code, five five five, oh one four seven"
    assert found(f"it's {said}") == [("phone", said)]
    said = "oh oh four four, seven nine one one, one two three, four five six"  # 0044 for +44; no card starts with 0
    assert found(said) == [("phone", said)]


def test_cvv_wordings_and_the_nearest_context_that_fits() -> None:
    assert found("card please. and the CVV2 is four four one") == [("cvv", "four four one")]
    assert found("card please. the three little numbers are six one two") == [("cvv", "six one two")]
    assert found("card please. the numbers at the end of the signature strip are six one two") == [("cvv", "six one two")]
    # four digits are no card number: the next context back that fits is the CVV
    assert _two_speakers(("a", "For Amex it's the four digits printed above the long number."), ("c", "okay, two seven one one")) == [
        ("cvv", "c", "two seven one one")]
    assert found("and the Amex? it's a four digit one on the front, eight two one one") == [("cvv", "eight two one one")]
    # "four digits" is a CVV only while a card is being talked about
    assert found("my PIN is four digits, one two three four") == []
    assert found("the last three digits of my phone are 187") == []
    # "CVV and expiry?" -- three digits are the CVV, not a month and year
    assert _two_speakers(("a", "CVV and expiry?"), ("c", "it's five one seven, and expiry June twenty nine")) == [
        ("cvv", "c", "five one seven,"), ("expiry", "c", "June twenty nine")]


def test_numbers_of_cards_that_are_no_payment_card() -> None:
    assert found("my loyalty card number is 4532 0151 1283 0366") == []
    assert found("the SIM card number is 4532 0151 1283 0366") == []
    assert found("the three digit code on the gift card was eight eight two") == []
    assert found("my card number is 4532 0151 1283 0366") == [("card", "4532 0151 1283 0366")]


def test_a_neg_word_that_names_no_number_does_not_hide_one() -> None:
    assert _two_speakers(("a", "Any details for the booking?"), ("c", "it's 312 555 0148")) == [("phone", "c", "312 555 0148")]
    assert _two_speakers(("a", "What's the booking number?"), ("c", "312 555 0148")) == []


def test_expiry_forms() -> None:
    assert found("expiry? the ninth month, twenty eight") == [("expiry", "the ninth month, twenty eight")]
    assert found("expiry is oh four dash twenty nine") == [("expiry", "oh four dash twenty nine")]
    assert found("expiry date zero three slash two thousand twenty nine") == [("expiry", "zero three slash two thousand twenty nine")]
    assert found("the card goes till, um, let me check, ten twenty eight") == [("expiry", "ten twenty eight")]
    assert found("expiry? um, oh, oh six, thirty") == [("expiry", "oh six, thirty")]  # "oh," opening it is no zero
    # "end of" is part of the date said as the date, not of "at the end of"
    assert found("it expires end of June twenty nine") == [("expiry", "end of June twenty nine")]
    assert found("it expires at the end of June 2029") == [("expiry", "June 2029")]
    # other things expire too
    assert found("my passport expires oh four twenty nine") == []
    assert found("my driving licence expiry is March twenty eight") == []
    # the date may come a while after the question, which may say where to look
    assert _two_speakers(("a", "Expiry date as shown on the front of the card, please."), ("c", "yes, one moment, it's twelve twenty seven")) == [
        ("expiry", "c", "twelve twenty seven")]


def test_date_of_birth_forms() -> None:
    assert found("date of birth? the fourth of the tenth, eighty eight") == [("dob", "the fourth of the tenth, eighty eight")]
    assert found("date of birth? the second of the third, oh four") == [("dob", "the second of the third, oh four")]
    assert found("date of birth? May the fourth, two thousand one") == [("dob", "May the fourth, two thousand one")]
    assert found("DOB? the sixth, um, sixth of the eighth, ninety") == [("dob", "the sixth, um, sixth of the eighth, ninety")]
    assert found("DOB? 4/10/1988, so the fourth of October") == [("dob", "4/10/1988,"), ("dob", "the fourth of October")]
    assert _two_speakers(("a", "Date of birth?"), ("c", "the ninth of June"), ("a", "mm-hmm"), ("c", "nineteen ninety")) == [
        ("dob", "c", "the ninth of June nineteen ninety")]
    # a year alone is no date of birth; far from the question a day and month need a year
    assert found("born in nineteen eighty one") == []
    assert found("date of birth? sure, but first, about the bill from the fifth of May") == []
    # the next thing asked for in the same question does not end the search
    assert _two_speakers(("a", "I need your date of birth and a phone number."), ("c", "third of March, nineteen sixty")) == [
        ("dob", "c", "third of March, nineteen sixty")]


def test_spoken_email_forms() -> None:
    for said in (
        "anna dot kowalski, k o w a l s k i, at outlook dot com",  # a name spelled out again
        "peter j wong, all one word, at yahoo dot com",  # an aside before "at"
        "sam dot lee at symbol gmx dot de",
        "jo at tuta mail dot com",  # a domain said in two words
        "info at green valley farms dot com",
        "kemi three double seven at gmail dot com",  # digits said as words
        "j dot r dot s, sorry, j dot r dot smith at aol dot com",  # corrections
        "tom dot ward at gmail, no sorry, at hotmail dot com",
    ):
        assert found(f"it's {said} thanks") == [("email", said)], said
    assert _two_speakers(("c", "nina dot park"), ("a", "mm-hmm"), ("c", "at icloud dot com")) == [
        ("email", "c", "nina dot park at icloud dot com")]
    assert found("I'm at home, mary at the office dot com") == []


def test_card_words_after_a_value_announce_the_value_after_them() -> None:
    """An expiry said first, then a CVV announced in the same turn: the CVV's words are not the expiry's."""
    assert found("it's oh five twenty eight, and the CVV is three one two") == [("cvv", "three one two")]
    # the expiry asked for first, then the CVV in the same breath: the answer's first date is the expiry
    assert _two_speakers(("a", "The expiry date, and then the verification number on the back, please."),
                         ("c", "oh five twenty eight, and the verification number is three one two")) == [
        ("expiry", "c", "oh five twenty eight,"), ("cvv", "c", "three one two")]


def test_runs_out_or_code_said_just_before_card_words() -> None:
    assert found("it's good till ten twenty nine, and the CVC is one one four") == [
        ("expiry", "ten twenty nine,"), ("cvv", "one one four")]
    assert found("my contract runs out in September twenty-seven, and the code is 1234") == []


def test_a_long_question_counts_whole() -> None:
    question = "Then the four digits printed on the front of it, just above the long card number, for your American Express?"
    assert _two_speakers(("a", question), ("c", "sure, 7316")) == [("cvv", "c", "7316")]


def test_a_month_and_year_with_a_slash_is_an_expiry_even_when_a_cvv_was_asked_first() -> None:
    assert _two_speakers(("a", "I need the expiry and the code on the back."), ("c", "expiry 4/28 and code 615")) == [
        ("expiry", "c", "4/28"), ("cvv", "c", "615")]
    assert _two_speakers(("a", "CVV and expiry?"), ("c", "six one five and 4/28")) == [
        ("cvv", "c", "six one five"), ("expiry", "c", "4/28")]


def test_a_letter_spelled_with_a_word_in_an_email_name() -> None:
    assert found("it's t as in tango, o, m at gmail dot com") == [("email", "t as in tango, o, m at gmail dot com")]
    assert found("it's n for november, e, d at hotmail dot co dot uk") == [("email", "n for november, e, d at hotmail dot co dot uk")]


def test_a_second_number_of_the_same_shape_said_right_after_one_announced() -> None:
    assert found("her social is 212 45 7788, and mine is 212 45 9901") == [("ssn", "212 45 7788,"), ("ssn", "212 45 9901")]
    assert found("my social is 212-45-7788, and the room is 1204") == [("ssn", "212-45-7788,")]


def test_a_phone_number_said_after_other_digits_in_one_breath() -> None:
    said = "it ends four five six not four five seven, so oh seven nine one one one two three four five six"
    assert found(said) == [("phone", "oh seven nine one one one two three four five six")]
    assert found("the order was four five seven, so oh seven nine one one one two three four five six") == []


def test_a_phone_number_on_the_account_is_still_a_phone_number() -> None:
    assert found("my date of birth is 3rd May 1990 and the mobile number on the account is 07700 900 123") == [
        ("dob", "3rd May 1990"), ("phone", "07700 900 123")]
    assert found("card please. the code on the gift voucher is 316") == []  # a voucher's code is no CVV


def test_kinds_can_be_switched_off() -> None:
    text = f"card {CARD} and email a.b@example.com"
    assert {k for k, _ in found(text)} == {"card", "email"}
    assert [k for k, _ in found(text, kinds=["email"])] == ["email"]
    # the config's names are the detector's
    (literal,) = typing.get_args(PrivacyConfig.model_fields["kinds"].annotation)
    assert set(typing.get_args(literal)) == set(PII_KINDS) == set(PrivacyConfig().kinds)


# --- the labelled set --------------------------------------------------------------------------


def test_labelled_set_is_well_formed() -> None:
    rows = bench_redaction.load_set()
    assert len(rows) >= 120
    assert {r["split"] for r in rows} == {"dev", "heldout"}
    assert sum(1 for r in rows if not r["spans"]) >= 30, "negatives that look like PII"
    assert any(any(w in r["text"].lower() for w in ("four five", "oh ", "double")) for r in rows), "spoken forms"
    for r in rows:
        for sp in r["spans"]:
            assert sp["kind"] in PII_KINDS and sp["text"] in r["text"], r["id"]
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("kind", PII_KINDS)
def test_precision_and_recall_floors_on_the_labelled_set(kind: str) -> None:
    table, errors = bench_redaction.evaluate(bench_redaction.load_set())
    p_floor, r_floor = bench_redaction.FLOORS[kind]
    row = table[kind]
    assert row["n"] >= 10, f"too few labelled {kind} spans to measure"
    assert row["precision"] is not None and row["precision"] >= p_floor, (row, [e for e in errors if f" {kind}:" in e])
    assert row["recall"] >= r_floor, (row, [e for e in errors if f" {kind}:" in e])


@pytest.mark.parametrize("kind", PII_KINDS)
def test_floors_on_the_dev5_set(kind: str) -> None:
    """The hard-case development set (tuned on: a regression guard, not a measurement)."""
    rows = bench_redaction.load_set(bench_redaction.DEV5)
    assert {r["split"] for r in rows} == {"dev5"} and len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert all(sp["kind"] in PII_KINDS and sp["text"] in r["text"] for sp in r["spans"]), r["id"]
    table, errors = bench_redaction.evaluate(rows)
    p_floor, r_floor = bench_redaction.FLOORS[kind]
    row = table[kind]
    assert row["precision"] is not None and row["precision"] >= p_floor, (row, [e for e in errors if f" {kind}:" in e])
    assert row["recall"] >= r_floor, (row, [e for e in errors if f" {kind}:" in e])


def test_floors_are_the_issues() -> None:
    assert bench_redaction.FLOORS["card"] == (0.95, 0.98)
    assert all(bench_redaction.FLOORS[k] == (0.9, 0.9) for k in PII_KINDS if k != "card")


# --- masks -------------------------------------------------------------------------------------


def test_masks_keep_timings_and_the_rest_of_the_words() -> None:
    words = words_of(f"my card is {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}. thanks")
    words[5] = words[5].model_copy(update={"probability": 0.42})
    spans = find_pii(words)
    out = redact_words(words, spans)
    assert [w.text for w in out] == ["my", "card", "is", "[card].", "thanks"]
    mask = out[3]
    assert (mask.start, mask.end, mask.probability) == (words[3].start, words[6].end, 0.42)
    assert out[:3] == words[:3] and out[4] == words[7]
    assert join_words(out) == "my card is [card]. thanks"


def test_redact_text_masks_quotes_cut_short_by_echo() -> None:
    words = words_of(f"card number {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}")
    report = _report(words)
    red, _ = redact_report(report)
    assert red.turns[0].text == "card number [card]"
    # a free text on its own: the detector
    assert redact_text(f"said {CARD} loudly")[0] == "said [card] loudly"


def _report(customer_words: list[Word], agent_words: list[Word] | None = None) -> CallReport:
    turns = [Turn(speaker="right", start=customer_words[0].start, end=customer_words[-1].end, text=join_words(customer_words), words=customer_words)]
    if agent_words:
        turns.append(Turn(speaker="left", start=agent_words[0].start, end=agent_words[-1].end, text=join_words(agent_words), words=agent_words))
    turns.sort(key=lambda t: t.start)
    return CallReport(
        call=CallInfo(
            call_id="c1", source="c1.wav", source_sha256="ab" * 32, duration=60.0, channels=2, sample_rate=8000, codec="WAV",
            layout="dual", analysed_at="2026-01-01T00:00:00+00:00", tool_version="0", asr_model="tiny.en", diarization="channels",
            roles=RoleDecision(method="configured", confidence=1.0, agent="left"),
        ),
        speakers=[Speaker(label="left", role="agent", channel=0), Speaker(label="right", role="customer", channel=1)],
        turns=turns,
        metrics=Metrics(call=CallMetrics(speech_time=1, overlap_time=0, silence_time=0, longest_silence=0)),
    )


def _leaky_report() -> CallReport:
    """A card number said over two customer turns and quoted, in part and in full, all over the report."""
    g = [CARD[i:i + 4] for i in range(0, 16, 4)]
    c1 = words_of(f"yes my card number is {g[0]}, {g[1]},", 10.0)
    c2 = words_of(f"{g[2]}, {g[3]}. and my email is mary.k@example.com", 13.5)
    agent = words_of("mm-hmm", 12.6) + words_of(f"thank you, so that's {g[2]} {g[3]}?", 20.0)
    report = _report(c1, agent)
    turns = sorted(report.turns + [Turn(speaker="right", start=c2[0].start, end=c2[-1].end, text=join_words(c2), words=c2)], key=lambda t: t.start)
    quote = f"... number is {g[0]}, {g[1]},"  # cut short: no context, not a whole card
    return report.model_copy(
        update={
            "turns": turns,
            "events": [Event(kind="fast_speech", start=10.0, end=15.0, speaker="right", detail=f'"{join_words(c2)}" at 260 wpm (fast)')],
            "cues": [Cue(kind="acknowledgement", speaker="left", turn=2, start=20.0, end=22.0, quote=f"so that's {g[2]} {g[3]}", matched="so")],
            "scores": [
                Score(name="calm_tone", score=80.0, components=[
                    ScoreComponent(name="pace", value=1.0, score=80.0, weight=1.0, reason=f"customer read {CARD} fast",
                                   evidence=[Evidence(start=10.0, end=12.0, speaker="right", quote=quote, why=f"said {g[0]} {g[1]}")])
                ])
            ],
            "warnings": [f"low confidence: 'my card number is {' '.join(g)}'"],
        }
    )


def test_a_card_number_survives_in_no_string_of_the_report() -> None:
    report = _leaky_report()
    red, spans = redact_report(report, PrivacyConfig())
    doc = dump_report(red)
    for i in range(0, 16, 4):
        assert CARD[i:i + 4] not in doc, (CARD[i:i + 4], doc)
    assert "mary.k@example.com" not in doc and "[email]" in doc
    assert red.call.redaction.mode == "redacted"
    assert red.call.redaction.kinds == {"card": 2, "email": 1}  # the customer's number and the agent's read-back
    assert "[card]" in red.turns[0].text and "[card]" in red.events[0].detail and "[card]" in red.cues[0].quote
    ev = red.scores[0].components[0].evidence[0]
    assert "[card]" in ev.quote and "[card]" in ev.why and "[card]" in red.scores[0].components[0].reason
    # the timings of the masks are those of the words they replace (the number spans two turns: one mask in each)
    masks = [(t.speaker, w) for t in red.turns for w in t.words if w.text.startswith("[card]")]
    assert [m[1].start for m in masks if m[0] == "right"] == [report.turns[0].words[5].start, 13.5]
    assert load_report(doc) == red
    assert {s.kind for s in spans} == {"card", "email"}
    # the input report is left as it was
    assert CARD[:4] in dump_report(report)


def test_no_redact_keeps_the_text_and_says_so() -> None:
    report = _leaky_report()
    kept, spans = redact_report(report, PrivacyConfig(redact=False))
    assert kept.call.redaction.mode == "unredacted" and kept.call.redaction.kinds["card"] == 2
    assert kept.turns == report.turns and kept.events == report.events
    assert CARD[:4] in dump_report(kept)
    # counts, never values
    assert not any(c.isdigit() for c in json.dumps(kept.call.redaction.model_dump()["enabled"]))
    assert spans


def test_cli_options_map_to_the_privacy_config() -> None:
    parser = build_parser()
    cfg = config_from_args(parser.parse_args(["analyze", "x.wav"]))
    assert cfg.privacy.redact is True and cfg.privacy.audio is False
    cfg = config_from_args(parser.parse_args(["analyze", "x.wav", "--no-redact", "--redact-audio"]))
    assert cfg.privacy.redact is False and cfg.privacy.audio is True


# --- the audio copy ----------------------------------------------------------------------------


def test_silence_per_channel_with_fades() -> None:
    rate = 8000
    x = np.full((rate * 3, 2), 0.5, dtype=np.float32)
    out = silence(x, rate, {1: [(1.0, 2.0)]})
    assert np.all(out[rate:2 * rate, 1] == 0.0)
    assert np.all(out[:, 0] == 0.5), "the other party's channel is untouched"
    assert out[rate - 100, 1] == 0.5 and 0.0 < out[rate - 10, 1] < 0.5, "5 ms fade before the span"
    assert np.all(x == 0.5), "input unchanged"
    both = silence(x, rate, {None: [(0.5, 0.75)]})
    assert np.all(both[4000:6000] == 0.0)


def test_write_redacted_audio_keeps_format_and_silences_spans(tmp_path: Path) -> None:
    rate = 8000
    t = np.arange(rate * 2) / rate
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sin(2 * np.pi * 500 * t)], axis=1).astype(np.float32)
    src = tmp_path / "call.wav"
    sf.write(src, stereo, rate, subtype="PCM_16")
    for suffix in (".wav", ".flac"):
        out = write_redacted_audio(src, {0: [(0.5, 1.0)]}, tmp_path / f"call.redacted{suffix}")
        y, r = sf.read(out, dtype="float32", always_2d=True)
        assert r == rate and y.shape == stereo.shape
        assert np.all(y[4000:8000, 0] == 0.0)
        assert np.abs(y[4000:8000, 1]).max() > 0.2
        assert np.abs(y[:3900, 0]).max() > 0.2
    # copied in small blocks (a long call), the result is the same
    small = write_redacted_audio(src, {0: [(0.5, 1.0)], None: [(1.5, 1.6)]}, tmp_path / "small.wav", block=777)
    whole = silence(sf.read(src, dtype="float32", always_2d=True)[0], rate, {0: [(0.5, 1.0)], None: [(1.5, 1.6)]})
    assert np.allclose(sf.read(small, dtype="float32", always_2d=True)[0], whole, atol=1e-4)


def test_spans_by_channel_from_a_redacted_or_unredacted_report() -> None:
    report = _leaky_report()
    red, _ = redact_report(report)
    cfg = PrivacyConfig(audio_pad=0.0)
    a = spans_by_channel(red, cfg)
    b = spans_by_channel(redact_report(report, PrivacyConfig(redact=False))[0], cfg)
    assert a == b
    assert set(a) == {0, 1}  # the customer's number (channel 1) and the agent's read-back (channel 0)
    assert a[1][0][0] == report.turns[0].words[5].start
    assert set(spans_by_channel(red, PrivacyConfig(audio_channels="all"))) == {None}


# --- real audio: espeak-ng, the real pipeline, the CLI ------------------------------------------


@pytest.fixture(scope="module")
def spoken_card(tmp_path_factory) -> Path:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed (apt-get install -y espeak-ng)")
    digits = ", ".join(" ".join(UNITS[int(c)] for c in CARD[i:i + 4]) for i in range(0, 16, 4))
    path = tmp_path_factory.mktemp("tts") / "card_call.wav"
    subprocess.run([exe, "-s", "150", "-w", str(path), f"Hello. My card number is {digits}. Thank you."], check=True, capture_output=True)
    return path


@pytest.mark.slow
def test_real_pipeline_masks_a_spoken_card_number_and_silences_it(spoken_card: Path, analyzer, tmp_path: Path) -> None:
    from analysis.redact_audio import write_report_audio

    report = analyzer.analyze(spoken_card)
    doc = dump_report(report)
    assert "[card]" in doc, [t.text for t in report.turns]
    for i in range(0, 16, 4):
        assert CARD[i:i + 4] not in doc
    assert report.call.redaction.mode == "redacted" and report.call.redaction.kinds.get("card") == 1
    mask = next(w for t in report.turns for w in t.words if w.text.startswith("[card]"))
    out = write_report_audio(report, spoken_card, tmp_path, PrivacyConfig())
    assert out.name == "card_call.redacted.wav"
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    x, rate0 = sf.read(spoken_card, dtype="float32", always_2d=True)
    assert rate == rate0 and y.shape == x.shape
    a, b = int(mask.start * rate), int(mask.end * rate)
    assert b - a > rate, "the number takes more than a second to say"
    assert np.all(y[a:b] == 0.0), "the card number is silent in the copy"
    assert np.abs(x[a:b]).max() > 0.05, "... and was not silent in the original"
    before = y[: max(0, a - int(0.3 * rate))]
    assert np.abs(before).max() > 0.05, "the words before it are kept"


def _cli(*args: str) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


@pytest.mark.slow
def test_cli_redacts_by_default_writes_the_audio_copy_and_no_redact_keeps_the_number(spoken_card: Path, tmp_path: Path) -> None:
    p = _cli("analyze", str(spoken_card), "--out", str(tmp_path / "red"), "--redact-audio", "--format", "json")
    assert p.returncode == 0, p.stderr
    written = (tmp_path / "red" / "card_call.json").read_text()
    for text in (written, p.stdout):
        assert "[card]" in text and CARD[:4] not in text and CARD[-4:] not in text
    assert json.loads(written)["call"]["redaction"]["mode"] == "redacted"
    assert (tmp_path / "red" / "card_call.redacted.wav").exists()
    p = _cli("analyze", str(spoken_card), "--out", str(tmp_path / "raw"), "--no-redact")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "raw" / "card_call.json").read_text())
    assert doc["call"]["redaction"]["mode"] == "unredacted" and doc["call"]["redaction"]["kinds"] == {"card": 1}
    assert CARD[:4] in json.dumps(doc) and not (tmp_path / "raw" / "card_call.redacted.wav").exists()
