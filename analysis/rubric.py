"""The scoring rubric: a versioned, commented TOML file that a QA team can edit.

The rubric holds the cue definitions (phrase patterns and example phrases), the
event definitions the scores use, and each score's components with their
weights, thresholds and target bands. :func:`load_rubric` reads and validates
one; :func:`default_rubric_path` is the file shipped with callreview
(``analysis/default_rubric.toml``, which documents every key).

Errors are :class:`RubricError` and name the file, the key and the line at
fault, e.g. ``rubric.toml: line 57: key 'scores.empathy.ownership.weight':
Input should be a valid number``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import RubricError

DEFAULT_RUBRIC = Path(__file__).with_name("default_rubric.toml")

CUE_KINDS: tuple[str, ...] = (
    "acknowledgement",
    "empathy",
    "apology_sincere",
    "non_apology",
    "paraphrase",
    "open_question",
    "ownership",
    "policy_hiding",
    "blame",
    "hold_permission",
    "hold_thanks",
    "alternatives",
    "escalation_offer",
    "closing_loop",
    "customer_repetition",
    "customer_frustration",
    "manager_request",
    "customer_thanks",
)
"""Cue kinds the scores refer to; a rubric must define each of them."""


def default_rubric_path() -> Path:
    """Path of the rubric shipped with callreview."""
    return DEFAULT_RUBRIC


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RubricInfo(_Strict):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""


def _check_patterns(patterns: list[str]) -> list[str]:
    for i, p in enumerate(patterns):
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"pattern {i + 1} {p!r} is not a valid regular expression: {exc}") from None
        if "'" in p or "\u2019" in p:
            raise ValueError(f"pattern {i + 1} {p!r} contains an apostrophe: patterns match text with apostrophes removed")
    return patterns


class ParaphraseRule(_Strict):
    similarity: float = Field(0.55, ge=0.0, le=1.0)
    min_words: int = Field(3, ge=1)
    openers: list[str] = Field(default_factory=list, description="Patterns a restating sentence starts with; empty: any start.")
    requests: list[str] = Field(default_factory=list, description="Customer sentences matching these are requests: not restated.")

    @field_validator("openers", "requests")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        return _check_patterns(v)


class RepetitionRule(_Strict):
    similarity: float = Field(0.70, ge=0.0, le=1.0)
    min_words: int = Field(3, ge=1)
    model: str = Field(
        "builtin",
        min_length=1,
        description='Repetition in other words: "builtin" (shipped model), "none", or a JSON model from '
        "scripts/train_repetition.py (a relative path is relative to the rubric file).",
    )
    model_threshold: float = Field(0.7, gt=0.0, lt=1.0, description="Probability the repetition model needs.")


class Detection(_Strict):
    similarity: float = Field(0.60, ge=0.0, le=1.0, description="Default similarity threshold for example phrases.")
    margin: float = Field(0.03, ge=0.0, le=1.0)
    min_words: int = Field(2, ge=1)
    classifier: str = Field(
        "builtin",
        min_length=1,
        description='Cue classifier: "builtin" (shipped), "none" (patterns and examples only), or a .npz file '
        "from `callreview train-cues` (a relative path is relative to the rubric file).",
    )
    classifier_threshold: float = Field(0.7, gt=0.0, lt=1.0, description="Probability the classifier needs to report a cue.")
    classifier_context: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="Paraphrase and customer repetition found by the classifier also need this similarity with the customer's earlier words.",
    )
    paraphrase: ParaphraseRule = Field(default_factory=ParaphraseRule)
    repetition: RepetitionRule = Field(default_factory=RepetitionRule)


class CueRule(_Strict):
    speaker: Literal["agent", "customer"]
    label: str = ""
    patterns: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    similarity: float | None = Field(None, ge=0.0, le=1.0, description="Overrides detection.similarity for this cue.")
    classifier_threshold: float | None = Field(None, gt=0.0, lt=1.0, description="Overrides detection.classifier_threshold for this cue.")
    meaning_needs: list[str] = Field(
        default_factory=list,
        description="A match by meaning (classifier or example phrases) counts only when the utterance also matches "
        "one of these patterns (alternatives: the agent says no); empty: no condition.",
    )

    @field_validator("patterns", "meaning_needs")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        return _check_patterns(v)


class CounterExamples(_Strict):
    agent: list[str] = Field(default_factory=list)
    customer: list[str] = Field(default_factory=list)


class Events(_Strict):
    long_customer_turn: float = Field(8.0, gt=0)
    composure_window: float = Field(10.0, gt=0)
    composure_triggers: list[str] = Field(default_factory=lambda: ["raised_voice", "pitch_rise"])
    raised_voice: list[str] = Field(default_factory=lambda: ["raised_voice"])
    fast_speech: list[str] = Field(default_factory=lambda: ["fast_speech"])
    interruption: list[str] = Field(default_factory=lambda: ["interruption"])
    backchannel: list[str] = Field(default_factory=lambda: ["backchannel"])
    hold: list[str] = Field(default_factory=lambda: ["hold"])
    hold_permission_before: float = Field(30.0, ge=0)
    hold_thanks_after: float = Field(15.0, ge=0)
    hold_thanks_words: list[str] = Field(default_factory=lambda: ["thank you", "thanks", "appreciate", "grateful", "cheers"])
    min_customer_turns: int = Field(3, ge=1)


# --- component parameter shapes -------------------------------------------------------


class Component(_Strict):
    weight: float = Field(ge=0.0, description="Relative weight in its score; 0 switches the component off.")


class Ramp(Component):
    """Value at ``good`` (or better) scores 100, at ``bad`` (or worse) 0, linear between."""

    good: float
    bad: float

    @model_validator(mode="after")
    def _distinct(self) -> "Ramp":
        if self.good == self.bad:
            raise ValueError("'good' and 'bad' must differ")
        return self


class Band(Component):
    """100 inside [low, high], falling linearly to 0 at ``tolerance`` outside."""

    low: float
    high: float
    tolerance: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.low > self.high:
            raise ValueError("'low' must not be above 'high'")
        return self


class PaceBand(Band):
    per_item: float = Field(25.0, ge=0, description="Points off per fast-speech event.")


class Target(Component):
    target: int = Field(ge=1)


class Penalty(Component):
    per_item: float = Field(ge=0)


class Change(Component):
    full: float = Field(gt=0)


class AlternativesTarget(Target):
    refusal_patterns: list[str] = Field(default_factory=list)

    @field_validator("refusal_patterns")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        return _check_patterns(v)


# --- scores ---------------------------------------------------------------------------


class CalmTone(_Strict):
    label: str = "Calm tone"
    pitch_steadiness: Ramp
    volume_control: Penalty
    pace: PaceBand
    composure_loudness: Ramp
    composure_pitch: Ramp


class ActiveListening(_Strict):
    label: str = "Active listening"
    interruptions: Ramp
    backchannels: Ramp
    latency: Band
    talk_share: Band
    understanding: Target
    customer_repetition: Penalty
    closing_loop: Target


class Empathy(_Strict):
    label: str = "Empathy"
    acknowledgement: Target
    apology_quality: Ramp
    ownership: Target
    policy_blame: Penalty
    alternatives: AlternativesTarget
    hold_etiquette: Ramp


class Deescalation(_Strict):
    label: str = "Customer de-escalation (outcome)"
    loudness: Change
    pitch: Change
    sentiment: Change
    customer_language: Change


class Scores(_Strict):
    calm_tone: CalmTone
    active_listening: ActiveListening
    empathy: Empathy
    deescalation: Deescalation


class Rubric(_Strict):
    """A validated rubric. ``source`` and ``sha256`` identify the file it came from."""

    rubric: RubricInfo
    detection: Detection = Field(default_factory=Detection)
    cues: dict[str, CueRule]
    counter_examples: CounterExamples = Field(default_factory=CounterExamples)
    events: Events = Field(default_factory=Events)
    scores: Scores
    source: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _all_cues(self) -> "Rubric":
        missing = [k for k in CUE_KINDS if k not in self.cues]
        if missing:
            raise ValueError(f"cues missing from [cues]: {', '.join(missing)} (every cue the scores use must be defined)")
        unknown = [k for k in self.cues if k not in CUE_KINDS]
        if unknown:
            raise ValueError(f"unknown cue(s) {', '.join(unknown)}; known cues: {', '.join(CUE_KINDS)}")
        return self

    @property
    def name(self) -> str:
        return self.rubric.name

    @property
    def version(self) -> str:
        return self.rubric.version

    def cue_similarity(self, kind: str) -> float:
        """Similarity threshold of cue ``kind`` (its own, else the default)."""
        rule = self.cues[kind]
        return rule.similarity if rule.similarity is not None else self.detection.similarity

    def classifier_threshold(self, kind: str) -> float:
        """Classifier probability cue ``kind`` needs (its own, else the default)."""
        rule = self.cues[kind]
        return rule.classifier_threshold if rule.classifier_threshold is not None else self.detection.classifier_threshold

    def classifier_path(self) -> Path | None:
        """The classifier file the rubric names: None for "none"; the shipped file for "builtin"."""
        from .cue_model import BUILTIN

        return self._model_path(self.detection.classifier, BUILTIN)

    def repetition_model_path(self) -> Path | None:
        """The repetition model file the rubric names: None for "none"; the shipped file for "builtin"."""
        from .repetition import BUILTIN

        return self._model_path(self.detection.repetition.model, BUILTIN)

    def _model_path(self, choice: str, builtin: Path) -> Path | None:
        """A model setting ("builtin", "none" or a path, relative to the rubric file) as a file path."""
        choice = choice.strip()
        if choice.lower() == "none":
            return None
        if choice.lower() == "builtin":
            return builtin
        p = Path(choice).expanduser()
        if not p.is_absolute() and self.source and not self.source.startswith("<"):
            p = Path(self.source).parent / p
        return p

    def with_weights(self, weights: dict[str, float]) -> "Rubric":
        """A copy with component weights replaced, keys like ``"empathy.ownership"``.

        Raises
        ------
        RubricError
            When a key names no score component.
        """
        data = self.model_dump()
        for dotted, w in weights.items():
            score, _, comp = dotted.partition(".")
            node = data["scores"].get(score, {})
            if not isinstance(node.get(comp), dict):
                raise RubricError(f"{self.source or '<rubric>'}: no score component '{dotted}'")
            node[comp]["weight"] = w
        return rubric_from_dict(data, source=self.source, sha256=self.sha256)


# --- loading --------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(key: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)]


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map dotted key paths of a TOML document to the (1-based) line that sets them.

    Tables map to their header line. Keys inside multi-line arrays or strings are
    not indexed; a path not found falls back to its nearest indexed parent
    (see :func:`line_of`).
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    depth = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if depth > 0:
            depth += _bracket_delta(line)
            continue
        m = _TABLE.match(line)
        if m and not _KEY.match(line):
            table = tuple(_split_key(m.group(1)))
            for i in range(1, len(table) + 1):
                lines.setdefault(table[:i], n)
            continue
        k = _KEY.match(line)
        if k:
            path = table + tuple(_split_key(k.group(1)))
            lines.setdefault(path, n)
            rest = line[k.end():]
            for q in ('"""', "'''"):
                if rest.count(q) == 1:
                    in_multiline = q
            depth = max(0, _bracket_delta(rest))
    return lines


def _bracket_delta(s: str) -> int:
    s = re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", "", s)
    s = s.split("#", 1)[0]
    return s.count("[") - s.count("]")


def line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """Line of ``path``, else of its nearest parent that has one."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Read and validate a rubric file; ``None`` loads the shipped default.

    Parameters
    ----------
    path : str or Path, optional

    Returns
    -------
    Rubric

    Raises
    ------
    RubricError
        The file is missing, not TOML, or a key is unknown, missing or has a bad
        value; the message names the file, the line and the key.
    """
    p = Path(path) if path is not None else DEFAULT_RUBRIC
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise RubricError(f"{p}: rubric file not found (give --rubric a TOML rubric, e.g. a copy of {DEFAULT_RUBRIC})") from None
    except OSError as exc:
        raise RubricError(f"{p}: cannot read rubric file: {exc}") from None
    return parse_rubric(raw, source=str(p))


def parse_rubric(raw: bytes | str, source: str = "<rubric>") -> Rubric:
    """Validate rubric text (TOML). See :func:`load_rubric`."""
    data_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RubricError(f"{source}: rubric is not UTF-8 text: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{source}: not valid TOML: {exc}") from None
    sha = hashlib.sha256(data_bytes).hexdigest()
    return rubric_from_dict(data, source=source, sha256=sha, text=text)


def rubric_from_dict(data: dict[str, Any], source: str = "<rubric>", sha256: str = "", text: str | None = None) -> Rubric:
    """Build a rubric from a mapping, with errors naming the key (and line, when ``text`` is given)."""
    lines = key_lines(text) if text is not None else {}

    def fail(loc: tuple[str, ...], msg: str) -> RubricError:
        line = line_of(lines, tuple(x for x in loc if not x.isdigit())) if lines else None
        where = f"line {line}: " if line else ""
        keypart = f"key '{'.'.join(loc)}': " if loc else ""
        return RubricError(f"{source}: {where}{keypart}{msg}")

    cues = data.get("cues")
    if isinstance(cues, dict):
        for name in cues:
            if name not in CUE_KINDS:
                raise fail(("cues", name), f"unknown cue '{name}'; known cues: {', '.join(CUE_KINDS)}")
        missing = [k for k in CUE_KINDS if k not in cues]
        if missing:
            raise fail(("cues",), f"cue(s) missing: {', '.join(missing)} (every cue the scores use must be defined)")
    try:
        rub = Rubric.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        first = errors[0]
        loc = tuple(str(x) for x in first.get("loc", ()))
        msg = first.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if first.get("type") == "extra_forbidden":
            msg = "unknown key (check the spelling against the default rubric)"
        elif first.get("type") == "missing":
            msg = "required key is missing"
        raise fail(loc, msg) from None
    return rub.model_copy(update={"source": source, "sha256": sha256})
