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
