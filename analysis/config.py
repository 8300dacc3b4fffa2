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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

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
        10.0,
        description="Dual-channel: a channel's frames this many dB quieter than the other channel's are cross-talk, not its speaker.",
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
    """Who spoke when in mono calls (dual-channel calls are always split by channel).

    Backends: ``channels`` (one speaker per channel), ``pyannote`` (a pyannote.audio
    pipeline), ``cluster`` (offline: Silero voice activity, GE2E speaker embeddings,
    spectral clustering, smoothing). ``auto``: channels for dual-channel calls; for
    mono calls pyannote when its pipeline can be loaded, else cluster (with a warning).
    """

    backend: Literal["auto", "channels", "pyannote", "cluster"] = Field(
        "auto",
        description="auto: channels for dual-channel calls; mono: pyannote if usable, else cluster (warning in the report).",
    )
    speakers: Literal["auto"] | int = Field(
        2, description="Speakers in a call: a number (2 for a call), or 'auto' to estimate it within min_speakers..max_speakers."
    )
    min_speakers: int = Field(1, ge=1, description="speakers = 'auto': fewest speakers considered.")
    max_speakers: int = Field(4, ge=1, description="speakers = 'auto': most speakers considered.")
    pyannote_pipeline: str = Field(
        "pyannote/speaker-diarization-community-1",
        description="pyannote.audio pipeline: a Hugging Face model id, a local directory holding config.yaml, or a config.yaml file.",
    )
    hf_token: SecretStr | None = Field(
        None,
        description="Hugging Face token for gated pyannote pipelines; prefer the HF_TOKEN environment variable "
        "(used when this is unset). Masked in reports.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where diarisation models run (auto: CUDA when available).")
    vad_onset: float = Field(0.5, gt=0, lt=1, description="cluster: Silero speech probability that starts speech.")
    vad_offset: float = Field(0.25, gt=0, lt=1, description="cluster: speech goes on until the probability falls below this.")
    vad_grow_db: float = Field(
        10.0,
        ge=0,
        description="cluster: speech is extended over adjacent frames at least this many dB above the recording's noise floor "
        "(soft, far-field speech Silero misses); 0 turns this off.",
    )
    vad_bridge: float = Field(0.6, ge=0, description="cluster: pauses up to this long inside one person's speech are bridged, seconds.")
    vad_pad: float = Field(0.1, ge=0, description="cluster: speech regions are widened by this much on each side, seconds.")
    min_speech: float = Field(0.1, ge=0, description="cluster: speech regions shorter than this are dropped, seconds.")
    window: float = Field(1.5, gt=0.2, description="cluster: length of the windows clustered into speakers, seconds.")
    window_step: float = Field(0.5, gt=0, description="cluster: step between those windows, seconds.")
    short_window: float = Field(
        0.75,
        ge=0,
        description="cluster: the first this-many seconds of each window are also embedded (same pass) to place speaker changes "
        "more precisely (0: off), seconds.",
    )
    switch_penalty: float = Field(
        1.5,
        ge=0,
        description="cluster: smoothing; evidence needed to switch speaker (in 0.05 s frames of a clear preference); "
        "higher removes more short flips.",
    )
    threads: int = Field(
        1,
        ge=0,
        description="cluster: CPU threads of the speaker encoder (0: torch's default, all cores); one thread is fastest "
        "when other work shares the machine.",
    )
    overlap_seam: float = Field(
        0.1,
        ge=0,
        description="cluster: at a speaker change inside continuous speech both speakers are kept for this long on each "
        "side (overlapping talk at turn exchanges), seconds; 0: no overlap.",
    )
    overlap: str = Field(
        "auto",
        min_length=1,
        description="cluster: where two people talk at once, found by a pyannote.audio segmentation model. 'auto': the "
        "pyannote/segmentation model whose weights ship in the whisperx package (a report warning when it is not "
        "installed); 'off'; or a pyannote.audio segmentation model: a Hugging Face id (e.g. pyannote/segmentation-3.0, "
        "with HF_TOKEN) or a local checkpoint file.",
    )
    overlap_onset: float = Field(0.5, gt=0, lt=1, description="cluster: overlap score (second most active speaker) that starts an overlap.")
    overlap_offset: float = Field(0.5, gt=0, lt=1, description="cluster: an overlap goes on until the score falls below this.")
    overlap_min_duration: float = Field(0.1, ge=0, description="cluster: overlaps shorter than this are dropped, and gaps shorter than this filled, seconds.")
    overlap_step: float = Field(
        1.0, gt=0, le=5.0, description="cluster: step between the segmentation model's 5 s windows, seconds (smaller: slower, smoother)."
    )

    def model_post_init(self, __context: Any) -> None:
        if isinstance(self.speakers, int) and (isinstance(self.speakers, bool) or self.speakers < 1):
            raise ConfigError(f"key 'diarization.speakers': {self.speakers!r} is not 'auto' or a number of speakers (1 or more)")
        if self.min_speakers > self.max_speakers:
            raise ConfigError(
                f"key 'diarization.min_speakers': {self.min_speakers} is more than max_speakers ({self.max_speakers})"
            )


class ProsodyConfig(Section):
    """Pitch, loudness and pace per speaker, each measured on the speaker's own speech."""

    hop: float = Field(0.01, gt=0, le=0.05, description="Frame step of pitch, loudness and activity, seconds.")
    fmin: float = Field(60.0, gt=0, description="Lowest F0 searched, Hz.")
    fmax: float = Field(500.0, gt=0, description="Highest F0 searched, Hz.")
    pitch_window: float = Field(0.128, gt=0, le=0.5, description="Pitch analysis frame, seconds (pyin's default: 2048 samples at 16 kHz).")
    voicing: Literal["hmm", "threshold"] = Field(
        "hmm",
        description="Voicing decision: 'hmm' = pyin's hidden Markov model over the YIN dips; "
        "'threshold' = voiced when the YIN aperiodicity is below voicing_threshold.",
    )
    voicing_switch_prob: float = Field(
        0.01, gt=0, lt=0.5, description="'hmm' voicing: probability of switching voiced <-> unvoiced per 32 ms (pyin's switch_prob)."
    )
    yin_threshold: float = Field(
        0.15, gt=0, lt=1, description="'threshold' voicing: the first YIN dip of d' below this gives the period."
    )
    voicing_threshold: float = Field(
        0.5, gt=0, le=1, description="'threshold' voicing: a frame is voiced when its YIN aperiodicity is below this; "
        "both modes: dips above it are not used by the octave-error pass."
    )
    octave_window: float = Field(
        0.5, ge=0, description="Octave-error pass: each frame takes the YIN dip nearest the median pitch within +- this many seconds (0: off)."
    )
    min_voiced: float = Field(0.03, ge=0, description="Voiced runs shorter than this are dropped, seconds.")
    max_voiced_gap: float = Field(
        0.0, ge=0, description="Unvoiced gaps up to this long between voiced frames of similar pitch are bridged, seconds."
    )
    loudness_window: float = Field(0.03, gt=0, description="RMS window of the frame level, seconds.")
    activity_snr_db: float = Field(12.0, description="Speech frames are at least this far above the signal's noise floor (10th percentile of frame levels), dB.")
    activity_range_db: float = Field(40.0, description="Speech frames are at most this far below the speaker's loud speech (95th percentile), dB.")
    bleed_db: float = Field(
        15.0, description="Dual-channel: a frame this many dB quieter than the other channel is the other party leaking across, not speech."
    )
    activity_min_run: float = Field(0.05, ge=0, description="Shortest run of activity kept, seconds.")
    activity_bridge: float = Field(0.15, ge=0, description="Gaps in activity up to this long are filled, seconds.")
    turn_pad: float = Field(
        0.5, ge=0, description="A turn's own activity is looked for this far outside its recognised words; its span is snapped to that activity, seconds."
    )
    smoothing_window: float = Field(
        1.0, gt=0, description="Pitch-rise and raised-voice level: median over the speaker's frames in a centred window this long, seconds."
    )
    baseline_window: float = Field(120.0, gt=0, description="Running baseline: median over the speaker's own frames in this many preceding seconds.")
    baseline_min: float = Field(
        5.0, ge=0, description="Until the speaker has this many seconds of frames before a moment, their whole-call median is the baseline, seconds."
    )
    pitch_rise_st: float = Field(4.0, gt=0, description="Pitch rise: smoothed pitch at least this many semitones above the speaker's baseline.")
    pitch_rise_min: float = Field(1.0, gt=0, description="Pitch rise: lasting at least this long, seconds.")
    raised_voice_db: float = Field(6.0, gt=0, description="Raised voice: smoothed level at least this many dB above the speaker's baseline.")
    raised_voice_min: float = Field(1.0, gt=0, description="Raised voice: lasting at least this long, seconds.")
    hysteresis: float = Field(
        0.3, ge=0, lt=1, description="A pitch-rise or raised-voice stretch, once started, goes on while it stays above (1 - this) times its threshold."
    )
    fast_speech_ratio: float = Field(
        1.4, gt=1, description="Fast speech: a turn at this many times the speaker's usual (median turn) syllable rate or more."
    )
    fast_speech_wpm: float = Field(
        270.0, gt=0, description="Fast speech: a turn of at least twice fast_speech_min_words words at this many words per minute or more, whatever the speaker's usual pace."
    )
    fast_speech_min_words: int = Field(6, ge=1, description="Fast speech: turns with fewer words are not judged.")
    contour_rate: float = Field(10.0, gt=0, le=100, description="Samples per second of the display contours.")


class ConversationConfig(Section):
    """Interruptions, backchannels, silences, holds and latency, from turns and per-speaker activity."""

    overlap_min: float = Field(0.2, ge=0, description="Both speaking at least this long is an overlap event, seconds.")
    interruption_min_overlap: float = Field(0.5, ge=0, description="Interruption: B talks over A at least this long, seconds ...")
    interruption_yield: float = Field(1.0, ge=0, description="... or A stops within this long after B starts, seconds.")
    interruption_min_into_turn: float = Field(
        0.5, ge=0, description="B must start at least this long after A started (starting together is an overlap, not an interruption), seconds."
    )
    interruption_pause: float = Field(
        0.3, ge=0, description="Interruption: A must have spoken within this long before B starts (B starting in A's pause "
        "takes a turn, it does not interrupt), seconds; 0: not checked."
    )
    backchannel_max_words: int = Field(3, ge=1, description="Backchannel: at most this many words.")
    backchannel_max_duration: float = Field(1.5, gt=0, description="Backchannel: at most this long, seconds.")
    backchannel_phrases: list[str] = Field(
        default_factory=lambda: [
            "mm-hmm", "mhm", "mm", "hmm", "uh-huh", "uh huh", "yeah", "yes", "yep", "yup", "right", "all right",
            "alright", "okay", "ok", "i see", "sure", "got it", "i understand", "exactly", "of course", "true",
            "oh", "ah", "wow", "really", "great", "good", "fine", "correct", "indeed", "no", "uh", "um",
        ],
        description="Backchannel vocabulary: every word of a backchannel must come from these phrases.",
    )
    backchannel_from_voice: bool = Field(
        True,
        description="Dual-channel: a short voiced burst on the listener's own channel with no recognised words, while the other keeps talking, is a backchannel.",
    )
    silence_min: float = Field(2.0, gt=0, description="Both silent at least this long is a silence, seconds.")
    dead_air_min: float = Field(5.0, gt=0, description="A silence at least this long that is not a hold is dead air, seconds.")
    hold_phrases: list[str] = Field(
        default_factory=lambda: [
            "on hold", "on a hold", "on a brief hold", "on a short hold", "on a quick hold", "on a little hold",
            "hold the line", "hold for a moment", "hold for a minute", "hold for a second", "hold on a moment",
            "hold on a second", "hold on a minute", "right back", "be back", "bear with me", "one moment",
            "just a moment", "give me a moment", "give me a minute", "give me a second", "just a second",
            "place you on", "put you on",
        ],
        description="An agent turn containing one of these asks for or announces a hold.",
    )
    hold_return_phrases: list[str] = Field(
        default_factory=lambda: [
            "thank you for holding", "thanks for holding", "thank you for waiting", "thanks for waiting",
            "thank you for your patience", "thanks for your patience", "sorry for the wait", "sorry to keep you waiting",
            "sorry for keeping you waiting", "thank you for bearing with me", "thanks for bearing with me",
        ],
        description="An agent turn right after a silence starting with one of these shows the silence was a hold.",
    )
    hold_lookback: float = Field(
        20.0, ge=0, description="A silence is a hold when an agent hold phrase ended at most this long before it, seconds."
    )
    question_openers: list[str] = Field(
        default_factory=lambda: [
            "can you", "could you", "would you", "will you", "do you", "did you", "are you", "is it", "is there",
            "is that", "have you", "may i", "can i", "could i", "shall i", "how can", "how may", "how do", "how much",
            "how long", "what can", "what is your", "what's your", "when did", "when will", "where did", "why did",
        ],
        description="A sentence starting with one of these is a question even when the transcript has no question mark.",
    )


class ScoringConfig(Section):
    """Language cues, behaviour scores (calm tone, active listening, empathy) and customer de-escalation."""

    enabled: bool = Field(True, description="False: no cues, sentiment or scores (faster; report.scores stays empty).")
    rubric: str | None = Field(
        None, description="Rubric file (TOML) with the cue phrases, thresholds and weights; null: the shipped default rubric."
    )
    semantic: bool = Field(
        True,
        description="Also find cues by meaning with the bundled sentence-embedding model (all-MiniLM-L6-v2); false: phrase patterns only.",
    )
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="Where the sentence-embedding model runs.")


class PrivacyConfig(Section):
    """PII redaction: what is masked in every text of the report and, on request, silenced in a copy of the audio."""

    redact: bool = Field(
        True,
        description="Mask PII in every text of the report. False (--no-redact): found and counted, left in the text; the report says 'unredacted'.",
    )
    kinds: list[Literal["card", "cvv", "expiry", "ssn", "phone", "email", "dob"]] = Field(
        default_factory=lambda: ["card", "cvv", "expiry", "ssn", "phone", "email", "dob"],
        description="Kinds of PII looked for: payment card numbers, card security codes, card expiry dates, US social security numbers, phone numbers, e-mail addresses, dates of birth.",
    )
    audio: bool = Field(
        False, description="Also write <out>/<call_id>.redacted.wav with the PII spans silenced (--redact-audio)."
    )
    audio_channels: Literal["speaker", "all"] = Field(
        "speaker",
        description="Dual-channel calls: silence a span on the speaker's own channel only, or on every channel (also removes cross-talk).",
    )
    audio_pad: float = Field(
        0.2, ge=0, le=2, description="Seconds silenced beyond each end of a span in the audio copy (word timings are approximate)."
    )
    max_gap: float = Field(6.0, gt=0, description="Longest pause inside one spoken number (a card number read in groups), seconds.")


class BatchConfig(Section):
    """Batch runs over call archives (``callreview batch``). None of these change a call's result."""

    workers: int = Field(1, ge=1, description="Worker processes (local engine) or calls in parallel (Ray); each loads its models once.")
    engine: Literal["local", "ray"] = Field("local", description="local: worker processes on this machine; ray: Ray tasks (pip install 'callreview[ray]').")
    name_pattern: str | None = Field(
        None,
        description="Metadata from file names, e.g. '{agent}_{date}_{call_id}.wav' or '{team}/{agent}/{*}.wav'; "
        "fields: call_id, agent, team, date, time, started_at, agent_channel, language; {*} matches anything.",
    )
    archive_roots: list[str] = Field(
        default_factory=list,
        description="Folders every batch input may name recordings under, besides the input's own folder "
        "(a manifest's folder, a folder input, a glob's fixed part); paths resolving elsewhere are refused.",
    )
    ray_address: str | None = Field(None, description="Ray cluster to join ('auto', 'ray://head:10001'); null: start a local Ray instance.")
    ray_cpus_per_call: float = Field(1.0, gt=0, description="CPUs each call's Ray task asks for (also its ASR threads).")
    ray_gpus_per_call: float = Field(
        1.0, ge=0, description="GPUs each call's Ray task asks for when the cluster has GPUs (a fraction shares one GPU); 0: never ask."
    )
    ray_ship_audio: bool = Field(
        True, description="Ray: the driver sends each file's bytes with its task (no shared storage needed); false: tasks read the path."
    )


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
    batch: BatchConfig = Field(default_factory=BatchConfig)

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
