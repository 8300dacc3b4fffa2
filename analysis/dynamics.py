"""The prosody + conversation stage: per-speaker voice and conversation dynamics of one call.

Takes the speakers' own signals (:class:`analysis.prosody.SpeakerSignal`), the
turns and the first metrics; fills ``Turn.wpm``, the per-speaker pitch,
loudness and conversation counts, the whole-call event counts and latency, and
returns the events and the display contours. See :mod:`analysis.prosody`,
:mod:`analysis.pace` and :mod:`analysis.conversation` for the definitions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import intervals as iv
from .config import ConversationConfig, ProsodyConfig
from .conversation import Span, analyse_conversation, place_overlaps, snap_turns, wordless_bursts
from .frames import intervals_to_mask, n_frames
from .metrics import overlap_spans
from .pace import fast_speech_events, speech_seconds, turn_wpm
from .prosody import SpeakerSignal, VoiceTrack, contour, loudness_stats, pitch_stats, track_voice, voice_events
from .records import Contour, Event, Metrics, Speaker, Turn

log = logging.getLogger(__name__)

EVENT_ORDER = ("overlap", "interruption", "backchannel", "silence", "dead_air", "hold", "pitch_rise", "raised_voice", "fast_speech")


@dataclass
class DynamicsResult:
    """What the stage adds to a report."""

    events: list[Event] = field(default_factory=list)
    contours: list[Contour] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    voices: dict[str, VoiceTrack] = field(default_factory=dict)


def analyse_dynamics(
    signals: Sequence[SpeakerSignal],
    speakers: Sequence[Speaker],
    turns: Sequence[Turn],
    metrics: Metrics,
    duration: float,
    prosody: ProsodyConfig | None = None,
    conversation: ConversationConfig | None = None,
    overlaps: Sequence[tuple[float, float]] = (),
) -> DynamicsResult:
    """Measure voice and conversation dynamics; fill ``turns`` and ``metrics`` in place.

    Parameters
    ----------
    signals : sequence of SpeakerSignal
        One per speaker with audio (speakers without one get no voice figures).
    speakers : sequence of Speaker
        With roles decided.
    turns : sequence of Turn
        ``wpm`` is set on each.
    metrics : Metrics
        From :func:`analysis.metrics.basic_metrics`; its per-speaker and call
        records get the new figures.
    duration : float
        Seconds.
    prosody, conversation : config sections, optional
    overlaps : sequence of (start, end), optional
        Mono calls: where two people talk at once (from the diarisation's
        overlap detector); both speakers are given that time
        (:func:`analysis.conversation.place_overlaps`).

    Returns
    -------
    DynamicsResult
    """
    pcfg = prosody or ProsodyConfig()
    ccfg = conversation or ConversationConfig()
    hop = pcfg.hop
    n = n_frames(duration, hop)
    turn_spans = {s.label: [(t.start, t.end) for t in turns if t.speaker == s.label] for s in speakers}

    # 1. voice activity and pitch, on each speaker's own signal
    voices: dict[str, VoiceTrack] = {}
    for sig in signals:
        # mono: the speaker can only be where their turns are; own channel: anywhere
        allowed = None if sig.own_channel else intervals_to_mask(turn_spans.get(sig.label, []), n, hop)
        voices[sig.label] = track_voice(sig, pcfg, allowed=allowed)

    # 2. turns snapped to activity; wordless bursts on own channels
    spans = snap_turns(turns, {lab: v.activity for lab, v in voices.items()}, hop, pcfg.turn_pad)
    bursts: list[Span] = []
    if ccfg.backchannel_from_voice:
        for sig in signals:
            if sig.own_channel:
                v = voices[sig.label]
                bursts += wordless_bursts(v.activity, v.pitch.voiced, spans, sig.label, hop, ccfg.backchannel_max_duration)
    if overlaps and not any(sig.own_channel for sig in signals):
        spans, extra = place_overlaps(spans, overlaps)
        bursts += extra
    all_spans = sorted(spans + bursts, key=lambda s: (s.start, s.end, s.speaker))

    # 3. speech frames of each speaker (voice figures: their voice alone); talking frames (pace: overlaps too)
    talking: dict[str, np.ndarray] = {}
    for sig in signals:
        v = voices[sig.label]
        own = [(s.start, s.end) for s in all_spans if s.speaker == sig.label]
        speech = v.activity & intervals_to_mask(own, len(v.activity), hop)
        talking[sig.label] = speech.copy()
        if not sig.own_channel:  # mono: only where no one else speaks (overlaps included)
            others = [(s.start, s.end) for s in all_spans if s.speaker != sig.label]
            speech &= ~intervals_to_mask(others, len(v.activity), hop)
        v.speech = speech

    # 4. voice figures, contours and events
    events: list[Event] = []
    contours: list[Contour] = []
    by_label = {sm.speaker: sm for sm in metrics.speakers}
    for lab, v in voices.items():
        ps = pitch_stats(v)
        sm = by_label.get(lab)
        if sm is not None:
            sm.pitch = ps
            sm.loudness = loudness_stats(v)
        words = [(w.start, w.end, w.text) for t in turns if t.speaker == lab for w in t.words]
        events += voice_events(v, pcfg, words)
        contours.append(contour(v, ps.median_hz, duration, pcfg.contour_rate))

    # 5. pace: words over the speech time of the turn's own voice activity
    speech_time: dict[str, float] = {}
    for sp in spans:
        t = turns[sp.turn]
        v = voices.get(t.speaker)
        secs = speech_seconds(talking[t.speaker], sp.start, sp.end, hop) if v is not None else 0.0
        w = turn_wpm(t, secs)
        t.wpm = round(w, 1) if w is not None else None
        if w is not None:
            speech_time[t.speaker] = speech_time.get(t.speaker, 0.0) + len(t.words) / w * 60.0
    for sm in metrics.speakers:
        if speech_time.get(sm.speaker):
            sm.wpm = round(sm.words / (speech_time[sm.speaker] / 60.0), 1)
    events += fast_speech_events(
        turns,
        ratio=pcfg.fast_speech_ratio,
        absolute_wpm=pcfg.fast_speech_wpm,
        min_words=pcfg.fast_speech_min_words,
        spans=[(s.start, s.end) for s in spans],
    )

    # 6. conversation
    agent = next((s.label for s in speakers if s.role == "agent"), None)
    customer = next((s.label for s in speakers if s.role == "customer"), None)
    conv = analyse_conversation(all_spans, turns, agent, customer, ccfg, {lab: v.activity for lab, v in voices.items()}, hop)
    events += conv.events
    for sm in metrics.speakers:
        lab = sm.speaker
        sm.longest_monologue = conv.longest_monologue.get(lab, 0.0)
        sm.questions = conv.questions.get(lab, 0)
        sm.interruptions_made = conv.interruptions_made.get(lab, 0)
        sm.interrupted = conv.interrupted.get(lab, 0)
        sm.backchannels = conv.backchannels.get(lab, 0)
    cm = metrics.call
    # the same activity spans as the overlap events, so the time and the count agree
    cm.overlap_time = round(iv.total(overlap_spans(all_spans)), 3)
    cm.overlaps = conv.count("overlap")
    cm.interruptions = conv.count("interruption")
    cm.backchannels = conv.count("backchannel")
    cm.silences = conv.count("silence")
    cm.dead_air = conv.count("dead_air")
    cm.holds = conv.count("hold")
    cm.latency = conv.latency

    events.sort(key=lambda e: (e.start, e.end, EVENT_ORDER.index(e.kind) if e.kind in EVENT_ORDER else 99, e.speaker or ""))
    log.debug(
        "dynamics: %d events, %d spans (%d wordless bursts), %.0f s of speech frames",
        len(events),
        len(all_spans),
        len(bursts),
        sum(float(np.sum(v.speech)) * hop for v in voices.values()),
    )
    return DynamicsResult(events=events, contours=contours, spans=all_spans, voices=voices)
