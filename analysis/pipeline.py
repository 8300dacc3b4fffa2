"""The analysis of one call, end to end: decode, split, transcribe, attribute, measure.

Use :class:`Analyzer` to analyse many calls with models loaded once::

    from analysis import Analyzer, Config
    analyzer = Analyzer(Config())
    report = analyzer.analyze("call.wav")
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .activity import channel_activity, snap_turns, words_in_activity
from .asr import Transcriber
from .audio import Audio, file_sha256, load_audio
from .channels import Layout, detect_layout, frame_db, mono_signal
from .config import Config
from .memory import release_memory
from .metrics import basic_metrics
from .records import CallInfo, CallReport, Speaker, Word
from .roles import decide_roles
from .turns import build_turns

log = logging.getLogger(__name__)

CHANNEL_LABELS = ("left", "right")
# Mono calls longer than this are diarised after transcription rather than beside it:
# the two stages' working memory then never adds up (a 3-hour call stays in bounded memory).
CONCURRENT_DIARIZATION_MAX = 3600.0
# Calls at least this long hand freed heap memory back (memory.release_memory) before these
# stages: after transcription and diarisation, and after the pitch tracker.
RELEASE_MIN_SECONDS = 600.0
RELEASE_BEFORE = ("turns", "scores", "redaction")

Progress = Callable[[str], None]


def call_id_for(path: str | Path) -> str:
    """A call id from a file name: its stem with unsafe characters replaced."""
    stem = Path(path).stem or "call"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "call"


class Analyzer:
    """Analyse call recordings with one configuration, reusing loaded models.

    Parameters
    ----------
    config : Config, optional
        Defaults work offline.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.transcriber = Transcriber(self.config.asr)
        from .scoring import ScoringStage  # rubric read now (bad rubric fails early); embedding model on first use

        self._scoring = ScoringStage(self.config.scoring) if self.config.scoring.enabled else None

    def analyze(self, path: str | Path, call_id: str | None = None, progress: Progress | None = None) -> CallReport:
        """Analyse one recording.

        Parameters
        ----------
        path : str or Path
            Audio file.
        call_id : str, optional
            Defaults to the file's stem.
        progress : callable, optional
            Called with the name of each stage as it starts.

        Returns
        -------
        CallReport

        Raises
        ------
        AudioError
            The file cannot be decoded or is not usable.
        ModelUnavailableError
            The ASR model cannot be loaded.
        """
        cfg = self.config
        report_stage = progress or (lambda _stage: None)
        long_call = False

        def step(stage: str) -> None:
            if long_call and stage in RELEASE_BEFORE:
                release_memory()  # what transcription and diarisation freed, before the next stage's arrays
            report_stage(stage)

        t0 = time.perf_counter()
        step("decode")
        audio = load_audio(path, cfg.audio.sample_rate, cfg.audio.min_duration, cfg.audio.max_duration)
        long_call = audio.duration >= RELEASE_MIN_SECONDS
        layout = detect_layout(audio.samples, audio.sample_rate, cfg.audio.duplicate_correlation)
        warnings = list(audio.warnings)
        if layout.kind != "dual" and audio.channels > 1:
            warnings.append(layout.detail)
        log.info("%s: %s, %.1f s, %s", path, audio.codec, audio.duration, layout.detail)

        step("transcribe")
        overlaps: list[tuple[float, float]] = []
        if layout.kind == "dual":
            speakers, words, activity = self._dual_channel_words(audio, layout, warnings)
            diarization = "channels"
            agent_channel = {"left": 0, "right": 1}.get(cfg.roles.agent_channel)
        else:
            speakers, words, overlaps = self._mono_words(audio, layout, warnings)
            diarization = self._mono_diarization
            agent_channel = None
            if cfg.roles.agent_channel != "auto":
                warnings.append("agent channel option ignored: the call is not dual-channel")

        step("turns")
        turns = build_turns(words, cfg.turns)
        if not turns:
            warnings.append("no speech recognised: the recording is silent, noise or music; nothing to score")
        if layout.kind == "dual":
            turns = snap_turns(turns, activity)
        speakers, roles = decide_roles(speakers, turns, cfg.roles, agent_channel)
        if roles.method == "content" and roles.confidence < 0.6:
            warnings.append(f"agent/customer roles uncertain (confidence {roles.confidence:.2f})")

        step("metrics")
        metrics = basic_metrics(speakers, turns, audio.duration)
        events: list = []
        # [stage: prosody + conversation] (issue 4)
        from .dynamics import analyse_dynamics

        step("prosody")
        dynamics = analyse_dynamics(
            self._speaker_signals(audio, layout, speakers), speakers, turns, metrics, audio.duration, cfg.prosody, cfg.conversation,
            overlaps=overlaps,
        )
        events.extend(dynamics.events)
        contours = dynamics.contours
        # Nothing after this stage reads the samples: let them go before the scoring models
        # load (3 hours of stereo at 16 kHz hold 0.7 GB even as float16).
        duration, n_channels, source_rate, codec = audio.duration, audio.channels, audio.source_rate, audio.codec
        del audio, dynamics  # (a long call's freed heap goes back before the next stage: RELEASE_BEFORE)
        # [stage: cues + scores] (issue 5)
        cues, scores, rubric_id = [], [], None
        if self._scoring is not None:
            step("scores")
            turns, cues, scores, rubric_id = self._scoring.apply(speakers, turns, metrics, events, contours, duration)
        info = CallInfo(
            call_id=call_id or call_id_for(path),
            source=str(path),
            source_sha256=file_sha256(path),
            duration=round(duration, 3),
            channels=n_channels,
            sample_rate=source_rate,
            codec=codec,
            layout=layout.kind,  # type: ignore[arg-type]
            analysed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            tool_version=__version__,
            asr_model=cfg.asr.model,
            diarization=diarization,
            roles=roles,
            config=cfg.to_dict(),
            rubric=rubric_id,
        )
        report = CallReport(call=info, speakers=speakers, turns=turns, metrics=metrics, events=events, contours=contours, cues=cues, scores=scores, warnings=warnings)
        from .redact import redact_report  # [stage: redaction] (issue 8)

        step("redaction")
        report, _pii = redact_report(report, cfg.privacy)
        log.info("%s analysed in %.1f s (%.1fx real time)", path, time.perf_counter() - t0, duration / max(1e-9, time.perf_counter() - t0))
        return report

    def _dual_channel_words(
        self, audio: Audio, layout: Layout, warnings: list[str]
    ) -> tuple[list[Speaker], dict[str, list[Word]], dict[str, list[tuple[float, float]]]]:
        """Transcribe each channel on its own; drop words that are cross-talk from the other channel.

        Returns the speakers, their words, and where each one's channel carries their voice.
        """
        sr = audio.sample_rate
        levels = [frame_db(audio.samples[c], sr) for c in layout.channels]
        speakers = [Speaker(label=CHANNEL_LABELS[c], channel=c) for c in layout.channels]
        activity = {
            CHANNEL_LABELS[c]: channel_activity(levels[i], levels[1 - i], bleed_margin_db=self.config.asr.bleed_db)
            for i, c in enumerate(layout.channels)
        }
        words: dict[str, list[Word]] = {}
        dropped = 0
        for c in layout.channels:
            label = CHANNEL_LABELS[c]
            got = self.transcriber.transcribe(audio.samples[c])
            kept = words_in_activity(got, activity[label])
            dropped += len(got) - len(kept)
            words[label] = kept
        if dropped:
            log.info("%s: %d words dropped: cross-talk from the other channel or no voice on their own", audio.path, dropped)
        return speakers, words, activity

    def _speaker_signals(self, audio: Audio, layout: Layout, speakers: list[Speaker]) -> list:
        """The signal each speaker's voice is measured on: their own channel (dual), else the mono signal."""
        from .prosody import SpeakerSignal

        sr = audio.sample_rate
        if layout.kind == "dual":
            chans = [s.channel for s in speakers if s.channel is not None]
            out = []
            for s in speakers:
                if s.channel is None:
                    continue
                other = next((c for c in chans if c != s.channel), None)
                out.append(SpeakerSignal(s.label, audio.samples[s.channel], sr, True, audio.samples[other] if other is not None else None))
            return out
        signal = mono_signal(audio.samples, layout)
        return [SpeakerSignal(s.label, signal, sr, False) for s in speakers]

    def _mono_words(
        self, audio: Audio, layout: Layout, warnings: list[str]
    ) -> tuple[list[Speaker], dict[str, list[Word]], list[tuple[float, float]]]:
        """Transcribe the one signal; diarise it (``diarization`` settings); give each word the speaker it overlaps most.

        Returns the speakers, their words, and where two people talk at once (cluster backend).
        Sets ``self._mono_diarization`` to the backend used (recorded as ``call.diarization``).
        """
        from .diarization import attribute_words, diarize

        signal = mono_signal(audio.samples, layout)
        if audio.duration > CONCURRENT_DIARIZATION_MAX:
            words = self.transcriber.transcribe(signal)
            release_memory()
            result = diarize(signal, audio.sample_rate, self.config.diarization)
        else:
            # Diarisation needs only the audio: it runs in a second thread while the
            # recogniser transcribes (both release the GIL in their native code, and
            # Whisper's decoding leaves cores idle), so its cost is mostly hidden.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="diarize") as pool:
                pending = pool.submit(diarize, signal, audio.sample_rate, self.config.diarization)
                words = self.transcriber.transcribe(signal)  # an error here waits for the thread, then propagates
                result = pending.result()  # re-raises a diarisation error
        self._mono_diarization = result.backend
        warnings.extend(result.warnings)
        by_speaker = attribute_words(words, result.tuples())
        silent = [lab for lab, ws in by_speaker.items() if not ws]
        if silent and len(silent) < len(by_speaker):
            log.info("%s: diarised speakers without recognised words left out: %s", audio.path, ", ".join(silent))
            by_speaker = {lab: ws for lab, ws in by_speaker.items() if ws}
        if not by_speaker:
            by_speaker = {"S0": []}
        return [Speaker(label=lab) for lab in by_speaker], by_speaker, list(result.overlaps)

