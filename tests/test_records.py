"""The report document: lossless round trip, schema version, the schema file kept in the repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.errors import SchemaError
from analysis.records import (
    SCHEMA_VERSION,
    CallInfo,
    CallMetrics,
    CallReport,
    Event,
    Metrics,
    RoleDecision,
    Speaker,
    SpeakerMetrics,
    Turn,
    Word,
    dump_report,
    json_schema,
    load_report,
)

ROOT = Path(__file__).resolve().parents[1]


def make_report() -> CallReport:
    words = [Word(start=0.1, end=0.35, text="Hello,", probability=0.91), Word(start=0.4, end=0.9, text="there.", probability=0.733)]
    return CallReport(
        call=CallInfo(
            call_id="c1",
            source="calls/c1.wav",
            source_sha256="ab" * 32,
            duration=12.345,
            channels=2,
            sample_rate=8000,
            codec="WAV/ULAW",
            layout="dual",
            analysed_at="2026-11-23T10:00:00+00:00",
            tool_version="0.1.0",
            asr_model="tiny.en",
            diarization="channels",
            roles=RoleDecision(method="content", confidence=0.8, agent="left", reasons=["speaks first"]),
            config={"asr": {"model": "tiny.en"}},
        ),
        speakers=[Speaker(label="left", role="agent", channel=0), Speaker(label="right", role="customer", channel=1)],
        turns=[Turn(speaker="left", start=0.1, end=0.9, text="Hello, there.", words=words)],
        metrics=Metrics(
            speakers=[SpeakerMetrics(speaker="left", talk_time=0.8, talk_share=1.0, words=2, wpm=150.0, turns=1)],
            call=CallMetrics(speech_time=0.8, overlap_time=0.0, silence_time=11.5, longest_silence=11.4),
        ),
        events=[Event(kind="silence", start=0.9, end=12.3, detail="11.4 s")],
        warnings=["example"],
    )


def test_round_trip_is_lossless() -> None:
    r = make_report()
    text = dump_report(r)
    assert load_report(text) == r
    assert load_report(dump_report(r, indent=None)) == r
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION


def test_round_trip_of_a_real_report(analyzed) -> None:
    from tests.conftest import shared_file

    r = analyzed(shared_file("real/faster_whisper/stereo_diarization.wav"))
    assert load_report(dump_report(r)) == r


def test_unknown_key_rejected() -> None:
    doc = json.loads(dump_report(make_report()))
    doc["call"]["surprise"] = 1
    with pytest.raises(SchemaError, match=r"call\.surprise"):
        load_report(json.dumps(doc))


def test_other_major_schema_version_rejected() -> None:
    doc = json.loads(dump_report(make_report()))
    doc["schema_version"] = "99.0"
    with pytest.raises(SchemaError, match="schema_version 99.0"):
        load_report(json.dumps(doc))


def test_schema_file_in_repo_is_current() -> None:
    kept = json.loads((ROOT / "analysis" / "schema" / "call_report.schema.json").read_text())
    assert kept == json.loads(json.dumps(json_schema())), "run: callreview schema --write"


def test_schema_validates_a_report() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(dump_report(make_report())), json_schema())
