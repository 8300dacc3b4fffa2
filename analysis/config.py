"""The one configuration object of callreview, loaded from a TOML file.

Every field has a default that works offline, so ``Config()`` is a working
configuration. A file only needs the keys it changes::

    [asr]
    model = "small.en"

    [roles]
    agent_channel = "left"
    company_names = ["Northwind Energy"]

Command-line options override the file (see :meth:`Config.with_overrides`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AudioConfig(Section):
    sample_rate: int = Field(16000, description="Analysis sample rate, Hz (audio is resampled once to it).")
    duplicate_correlation: float = Field(
        0.98, description="Two channels whose correlation is at least this are one signal saved twice (mono)."
    )
    max_duration: float = Field(4 * 3600.0, description="Longest call accepted, seconds.")
    min_duration: float = Field(0.5, description="Shortest call accepted, seconds.")


class AsrConfig(Section):
    model: str = Field("tiny.en", description="faster-whisper model name or local model directory.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field("auto", description="'auto': int8 on CPU, float16 on CUDA; or any CTranslate2 type.")
    language: str | None = Field("en", description="Spoken language; null to detect it.")
    beam_size: int = 5
    vad_filter: bool = True
    cpu_threads: int = Field(0, description="0: all cores.")
    bleed_db: float = Field(
        15.0,
        description="Dual-channel: a word is dropped as cross-talk when its own channel is this many dB quieter than the other.",
    )


class RolesConfig(Section):
    agent_channel: Literal["auto", "left", "right"] = "auto"
    company_names: list[str] = Field(default_factory=list, description="Names the agent says when answering.")
    agent_phrases: list[str] = Field(
        default_factory=lambda: [
            "thank you for calling",
            "thanks for calling",
            "how can i help",
            "how may i help",
            "how can i assist",
            "my name is",
            "speaking",
            "you've reached",
            "you have reached",
            "welcome to",
            "is there anything else",
            "may i have your",
            "can i have your",
            "let me check",
            "let me look",
            "place you on hold",
            "put you on hold",
        ]
    )
    customer_phrases: list[str] = Field(
        default_factory=lambda: [
            "i'm calling about",
            "i am calling about",
            "i'm calling because",
            "my bill",
            "my account",
            "my order",
            "i want to",
            "i'd like to",
            "speak to a manager",
            "speak to your manager",
            "i was charged",
        ]
    )


class TurnsConfig(Section):
    max_pause: float = Field(1.0, description="A pause longer than this inside one speaker's speech starts a new turn, seconds.")
    yield_pause: float = Field(
        0.3, description="A pause longer than this starts a new turn when the other speaker spoke in it, seconds."
    )


class MetricsConfig(Section):
    silence_min: float = Field(2.0, description="Both silent at least this long is a silence, seconds.")


class DiarizationConfig(Section):
    """Who spoke when in mono calls (dual-channel calls are split by channel)."""

    backend: Literal["auto", "channels", "pyannote", "cluster"] = "auto"


class ProsodyConfig(Section):
    """Pitch, loudness and pace per speaker."""


class ConversationConfig(Section):
    """Interruptions, backchannels, silences, holds and latency."""


class ScoringConfig(Section):
    """Behaviour scores."""


class PrivacyConfig(Section):
    """PII redaction."""


class Config(Section):
    """All settings of one analysis."""

    audio: AudioConfig = Field(default_factory=AudioConfig)
    asr: AsrConfig = Field(default_factory=AsrConfig)
    diarization: DiarizationConfig = Field(default_factory=DiarizationConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    turns: TurnsConfig = Field(default_factory=TurnsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    prosody: ProsodyConfig = Field(default_factory=ProsodyConfig)
    conversation: ConversationConfig = Field(default_factory=ConversationConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

    @classmethod
    def load(cls, path: str | Path | None) -> "Config":
        """Load a configuration file (TOML); ``None`` gives the defaults.

        Raises
        ------
        ConfigError
            When the file is missing, not TOML, or has an unknown key or a bad value
            (the message names the key).
        """
        if path is None:
            return cls()
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: configuration file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: cannot read configuration file: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> "Config":
        """Build a configuration from a mapping, with errors naming the key at fault."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first.get("loc", ()))
            raise ConfigError(f"{source}: key '{key}': {first.get('msg')}") from None

    def with_overrides(self, overrides: dict[str, Any]) -> "Config":
        """Return a copy with dotted keys replaced, e.g. ``{"asr.model": "small.en"}``.

        ``None`` values are ignored, so unset command-line options keep the file's value.
        """
        data = self.model_dump()
        for dotted, value in overrides.items():
            if value is None:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = value
        return type(self).from_dict(data, source="command line")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
