"""Typed records for one analysed call and its JSON document.

The report of one call is a :class:`CallReport`. It serialises to one JSON
document carrying ``schema_version``; :func:`dump_report` and
:func:`load_report` round-trip it losslessly (``load(dump(x)) == x``).
The JSON Schema generated from these records is kept in the repository as
``analysis/schema/call_report.schema.json`` (regenerate it with
``callreview schema --write``).

Times are seconds from the start of the recording.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import SchemaError

SCHEMA_VERSION = "1.2"

Role = Literal["agent", "customer", "unknown"]


class Record(BaseModel):
    """Base of all records: strict about unknown keys, compared by value."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Word(Record):
    """One recognised word."""

    start: float = Field(description="Start time, seconds.")
    end: float = Field(description="End time, seconds.")
    text: str = Field(description="The word as recognised, without surrounding spaces.")
    probability: float = Field(ge=0.0, le=1.0, description="Recogniser confidence, 0-1.")


class Turn(Record):
    """A stretch of speech by one speaker (consecutive words of theirs)."""

    speaker: str = Field(description="Label of the speaker (see CallReport.speakers).")
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    wpm: float | None = Field(default=None, description="Words per minute over the turn's speech time (pauses excluded).")
    sentiment: float | None = Field(default=None, description="Sentiment of the turn's text, -1 (negative) to 1 (positive).")


class Speaker(Record):
    """A speaker of the call."""

    label: str = Field(description="Stable label used by turns and events, e.g. 'left', 'right', 'S0'.")
    role: Role = "unknown"
    channel: int | None = Field(default=None, description="Channel index when the speaker has a channel of their own.")


class RoleDecision(Record):
    """How the agent/customer roles were decided."""

    method: Literal["configured", "content", "default", "none"]
    confidence: float = Field(ge=0.0, le=1.0)
    agent: str | None = Field(default=None, description="Label of the speaker taken as the agent.")
    reasons: list[str] = Field(default_factory=list)


class PitchStats(Record):
    """Fundamental frequency of one speaker over their own voiced speech."""

    median_hz: float | None = Field(description="Median F0, Hz.")
    sd_semitones: float | None = Field(description="Standard deviation of F0 in semitones around the speaker's median.")
    range_semitones: float | None = Field(description="5th to 95th percentile of F0, semitones.")
    voiced_seconds: float = Field(description="Seconds of voiced speech the figures come from.")


class LoudnessStats(Record):
    """Frame energy of one speaker over their own speech frames (compared with themself only)."""

    median_dbfs: float | None = Field(description="Median frame energy, dBFS.")
    sd_db: float | None = Field(description="Standard deviation of frame energy, dB.")
    speech_seconds: float = Field(default=0.0, description="Seconds of speech frames the figures come from.")


class LatencyStats(Record):
    """Response latency: end of a customer turn to the start of the agent's next turn."""

    n: int = 0
    median: float | None = Field(default=None, description="Seconds; negative when the agent started before the customer ended.")
    p90: float | None = Field(default=None, description="90th percentile, seconds.")


class SpeakerMetrics(Record):
    """Per-speaker measurements."""

    speaker: str
    talk_time: float = Field(description="Seconds of speech (union of the speaker's turns).")
    talk_share: float = Field(description="Share of all speech time, 0-1.")
    words: int
    wpm: float | None = Field(description="Words per minute over the speaker's speech time; null without speech.")
    turns: int
    longest_monologue: float = Field(default=0.0, description="Longest turn, seconds.")
    questions: int = Field(default=0, description="Turns containing a question.")
    interruptions_made: int = 0
    interrupted: int = Field(default=0, description="Times this speaker was interrupted.")
    backchannels: int = Field(default=0, description="Backchannels this speaker gave while listening.")
    pitch: PitchStats | None = None
    loudness: LoudnessStats | None = None


class CallMetrics(Record):
    """Whole-call measurements."""

    speech_time: float = Field(description="Seconds in which anyone speaks.")
    overlap_time: float = Field(description="Seconds in which two or more speakers speak at once.")
    silence_time: float = Field(description="Seconds in which nobody speaks (within the recording).")
    longest_silence: float = Field(description="Longest stretch in which nobody speaks, seconds.")
    overlaps: int = 0
    interruptions: int = 0
    backchannels: int = 0
    silences: int = 0
    dead_air: int = 0
    holds: int = 0
    latency: LatencyStats | None = None


class Metrics(Record):
    speakers: list[SpeakerMetrics] = Field(default_factory=list)
    call: CallMetrics


class Event(Record):
    """Something that happened at a moment of the call (overlap, silence, ...)."""

    kind: str
    start: float
    end: float
    speaker: str | None = None
    target: str | None = Field(default=None, description="The other party, e.g. who was interrupted.")
    detail: str = Field(default="", description="What happened, in words: the words spoken and the measured value.")
    value: float | None = Field(
        default=None,
        description="The measured value: dB or semitones over the speaker's baseline, words per minute, or seconds (overlap, silence).",
    )
    unit: str = Field(default="", description="Unit of value: 'dB', 'st', 'wpm' or 's'.")


class Contour(Record):
    """Display contours of one speaker, sampled at ``rate_hz`` from ``start``; null where not speaking/unvoiced."""

    speaker: str
    rate_hz: float = 10.0
    start: float = 0.0
    pitch_st: list[float | None] = Field(default_factory=list, description="Pitch, semitones relative to the speaker's median.")
    loudness_db: list[float | None] = Field(default_factory=list, description="Frame energy, dBFS.")


class Cue(Record):
    """A language cue found in the transcript (acknowledgement, policy hiding, ...)."""

    kind: str
    speaker: str
    turn: int = Field(description="Index into CallReport.turns.")
    start: float
    end: float
    quote: str = Field(description="The words that matched.")
    method: Literal["pattern", "semantic", "model", "rule"] = "pattern"
    matched: str = Field(description="The rubric pattern or example phrase that matched, or the classifier's probability.")
    similarity: float | None = None


class Evidence(Record):
    """A moment of the call that supports or counts against a score."""

    start: float
    end: float
    speaker: str | None = None
    quote: str = ""
    why: str = Field(default="", description="What the moment shows, and how it was found.")
    effect: Literal["positive", "negative", "neutral"] = "neutral"
    kind: str = Field(default="", description="The cue or event kind behind it, e.g. 'policy_hiding', 'interruption'.")


class ScoreComponent(Record):
    name: str = Field(description="Component key, as in the rubric, e.g. 'pitch_steadiness'.")
    label: str = Field(default="", description="Plain-words name of the component.")
    value: float | None = Field(description="The measured value the sub-score comes from.")
    unit: str = ""
    score: float | None = Field(description="Sub-score 0-100; null when not scored.")
    weight: float
    reason: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class Score(Record):
    name: str = Field(description="Score key: calm_tone, active_listening, empathy, deescalation.")
    label: str = Field(default="", description="Plain-words name of the score.")
    kind: Literal["score", "outcome"] = Field(default="score", description="score: the agent's behaviour; outcome: how the customer ended up.")
    score: float | None = Field(description="0-100; null when not scored (see reason).")
    reason: str = ""
    components: list[ScoreComponent] = Field(default_factory=list)


class RubricIdentity(Record):
    """The scoring rubric a report was scored with."""

    name: str
    version: str
    sha256: str = Field(description="SHA-256 of the rubric file's bytes.")
    source: str = Field(default="", description="Path of the rubric file as given.")
    classifier: str | None = Field(default=None, description='The cue classifier used: "builtin", a file name, or null (none).')
    classifier_sha256: str | None = Field(default=None, description="SHA-256 of the cue classifier file.")
    repetition_model: str | None = Field(
        default=None, description='The customer-repetition model used: "builtin", a file name, or null (none).'
    )
    repetition_model_sha256: str | None = Field(default=None, description="SHA-256 of the repetition model file.")


class Redaction(Record):
    """What PII redaction did to the report's texts (counts only, never the values found)."""

    mode: Literal["redacted", "unredacted"] = Field(
        description="redacted: PII in every text is replaced by a mask naming its kind, e.g. '[card]'; unredacted: the user asked for the text as recognised (--no-redact)."
    )
    kinds: dict[str, int] = Field(default_factory=dict, description="Spans found, by kind (card, cvv, expiry, ssn, phone, email, dob).")
    enabled: list[str] = Field(default_factory=list, description="The kinds looked for.")


class CallInfo(Record):
    """Identity and provenance of the analysed call."""

    call_id: str
    source: str = Field(description="Path of the audio file as given.")
    source_sha256: str
    duration: float = Field(description="Seconds.")
    channels: int = Field(description="Channels in the file.")
    sample_rate: int = Field(description="Sample rate of the file, Hz (analysis runs at 16 kHz).")
    codec: str = ""
    layout: Literal["dual", "mono", "duplicate_mono", "multi"] = Field(
        description="dual: one speaker per channel; mono: one channel; duplicate_mono: channels carry the same signal; multi: more channels, mixed."
    )
    analysed_at: str = Field(description="ISO 8601 UTC time of the analysis.")
    tool_version: str
    asr_model: str
    diarization: str = Field(description="Backend that decided who spoke when.")
    roles: RoleDecision
    config: dict[str, Any] = Field(default_factory=dict, description="The configuration used, as a mapping.")
    redaction: Redaction | None = Field(default=None, description="PII redaction of the report's texts; null: not run.")
    rubric: RubricIdentity | None = Field(default=None, description="The scoring rubric used; null when the call was not scored.")


class CallReport(Record):
    """Everything callreview knows about one call."""

    schema_version: str = SCHEMA_VERSION
    call: CallInfo
    speakers: list[Speaker]
    turns: list[Turn]
    metrics: Metrics
    events: list[Event] = Field(default_factory=list)
    contours: list[Contour] = Field(default_factory=list)
    cues: list[Cue] = Field(default_factory=list)
    scores: list[Score] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def speaker(self, label: str) -> Speaker:
        """Return the speaker with ``label``."""
        for s in self.speakers:
            if s.label == label:
                return s
        raise KeyError(label)

    def role_of(self, label: str | None) -> Role:
        """Return the role of the speaker ``label`` ("unknown" for None or unknown labels)."""
        if label is None:
            return "unknown"
        for s in self.speakers:
            if s.label == label:
                return s.role
        return "unknown"


def dump_report(report: CallReport, indent: int | None = 1) -> str:
    """Serialise a report to its JSON document.

    Parameters
    ----------
    report : CallReport
    indent : int or None
        JSON indentation; None for the most compact form.

    Returns
    -------
    str
    """
    return report.model_dump_json(indent=indent)


def load_report(text: str | bytes, source: str = "<string>") -> CallReport:
    """Parse a JSON document into a :class:`CallReport`.

    Raises
    ------
    SchemaError
        When the document is not a callreview report or has another schema version.
    """
    try:
        report = CallReport.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise SchemaError(f"{source}: not a callreview report: {where}: {first.get('msg')}") from None
    if report.schema_version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise SchemaError(
            f"{source}: schema_version {report.schema_version} is not supported (this callreview reads {SCHEMA_VERSION})"
        )
    return report


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report document, generated from the records."""
    schema = CallReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://callreview.dev/schema/call_report-{SCHEMA_VERSION}.json"
    return schema
