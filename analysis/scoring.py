"""Behaviour scores of the agent, and the customer de-escalation outcome, with evidence.

Four scores, 0-100, each the weighted mean of its components (weights,
thresholds and bands come from the rubric, :mod:`analysis.rubric`):

calm_tone
    pitch_steadiness, volume_control, pace, composure_loudness, composure_pitch.
active_listening
    interruptions, backchannels, latency, talk_share, understanding,
    customer_repetition, closing_loop.
empathy
    acknowledgement, apology_quality, ownership, policy_blame, alternatives,
    hold_etiquette.
deescalation (an outcome, reported beside the scores)
    loudness, pitch, sentiment, customer_language.

Each component carries the measured value, its sub-score, its weight and the
evidence moments behind it. A component whose input is missing (no customer
speech, prosody not measured, no hold in the call...) is "not scored" with the
reason, and its weight is left out of the mean; a score none of whose
components can be scored is itself not scored, with the reasons.

All functions here are pure: the same inputs and rubric give the same scores.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .cues import compile_patterns, find_patterns, span_times
from .records import (
    CallReport,
    RubricIdentity,
    Contour,
    Cue,
    Event,
    Evidence,
    Metrics,
    Score,
    ScoreComponent,
    Speaker,
    SpeakerMetrics,
    Turn,
)
from .rubric import Rubric, Target
from .sentiment import text_sentiment, thirds

if TYPE_CHECKING:
    from .config import ScoringConfig
    from .cues import CueDetector

QUOTE_MAX = 140


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallView:
    """What the scores are computed from (the parts of a call report they read).

    Use :meth:`from_report` for an existing report.
    """

    speakers: Sequence[Speaker]
    turns: Sequence[Turn]
    metrics: Metrics
    events: Sequence[Event] = ()
    contours: Sequence[Contour] = ()
    cues: Sequence[Cue] = ()
    duration: float = 0.0

    @classmethod
    def from_report(cls, report: CallReport) -> "CallView":
        return cls(
            speakers=report.speakers,
            turns=report.turns,
            metrics=report.metrics,
            events=report.events,
            contours=report.contours,
            cues=report.cues,
            duration=report.call.duration,
        )

    def role_of(self, label: str | None) -> str:
        for s in self.speakers:
            if s.label == label:
                return s.role
        return "unknown"

    def labels(self, role: str) -> list[str]:
        return [s.label for s in self.speakers if s.role == role]

    def speaker_metrics(self, label: str) -> SpeakerMetrics | None:
        return next((m for m in self.metrics.speakers if m.speaker == label), None)

    def contour(self, label: str) -> Contour | None:
        return next((c for c in self.contours if c.speaker == label), None)


@dataclass
class _Parties:
    agent: str | None
    customers: list[str] = field(default_factory=list)
    problem: str = ""


def _parties(view: CallView) -> _Parties:
    agents = view.labels("agent")
    customers = view.labels("customer")
    if not agents:
        return _Parties(None, customers, "no speaker was identified as the agent (see call.roles), so the agent cannot be scored")
    agent = agents[0]
    if not any(t.speaker == agent for t in view.turns):
        return _Parties(agent, customers, "the agent says nothing that was recognised")
    return _Parties(agent, customers)


# --- sub-score shapes -------------------------------------------------------------------


def ramp(value: float, good: float, bad: float) -> float:
    """100 at ``good`` or better, 0 at ``bad`` or worse, linear between."""
    frac = (value - bad) / (good - bad)
    return _clip(100.0 * frac)


def band(value: float, low: float, high: float, tolerance: float) -> float:
    """100 within [low, high], falling linearly to 0 at ``tolerance`` outside."""
    if low <= value <= high:
        return 100.0
    off = low - value if value < low else value - high
    return _clip(100.0 * (1.0 - off / tolerance))


def target(count: float, goal: int) -> float:
    """0 for none, 100 at ``goal`` or more, linear between."""
    return _clip(100.0 * count / goal)


def penalty(count: float, per_item: float) -> float:
    """100 minus ``per_item`` per occurrence, never below 0."""
    return _clip(100.0 - per_item * count)


def change(delta: float, full: float, lower_is_better: bool) -> float:
    """50 for no change; a change of ``full`` in the good direction gives 100, in the bad 0."""
    signed = -delta if lower_is_better else delta
    return _clip(50.0 + 50.0 * signed / full)


def _clip(x: float) -> float:
    return round(min(100.0, max(0.0, x)), 1)


# --- evidence helpers ----------------------------------------------------------------------


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 3] + "..."


def _words_said(view: CallView, speaker: str | None, start: float, end: float) -> str:
    """What ``speaker`` said between ``start`` and ``end`` (their words overlapping it)."""
    if speaker is None:
        return ""
    words = [w.text for t in view.turns if t.speaker == speaker for w in t.words if w.end > start and w.start < end]
    if words:
        return _short(" ".join(words))
    for t in view.turns:
        if t.speaker == speaker and t.end > start and t.start < end:
            return _short(t.text)
    return ""


def _cue_evidence(cue: Cue, why: str, effect: str) -> Evidence:
    if cue.method == "model":  # "cue classifier, p = 0.93; closest rubric example: ..." says it all
        how, sim = cue.matched, ""
    else:
        how = f'pattern "{cue.matched}"' if cue.method == "pattern" else cue.matched if cue.matched.startswith(("restates", "said before")) else f'like "{cue.matched}"'
        sim = f", similarity {cue.similarity:.2f}" if cue.similarity is not None else ""
    return Evidence(
        start=cue.start,
        end=cue.end,
        speaker=cue.speaker,
        quote=_short(cue.quote),
        why=f"{why} ({cue.method}: {how}{sim})",
        effect=effect,  # type: ignore[arg-type]
        kind=cue.kind,
    )


def _event_evidence(view: CallView, ev: Event, why: str, effect: str, speaker: str | None = None) -> Evidence:
    who = speaker if speaker is not None else ev.speaker
    detail = f" [{ev.detail}]" if ev.detail else ""
    return Evidence(
        start=ev.start,
        end=ev.end,
        speaker=who,
        quote=_words_said(view, who, ev.start, ev.end),
        why=why + detail,
        effect=effect,  # type: ignore[arg-type]
        kind=ev.kind,
    )


def _not_scored(name: str, label: str, weight: float, reason: str, evidence: Iterable[Evidence] = (), value: float | None = None, unit: str = "") -> ScoreComponent:
    return ScoreComponent(name=name, label=label, value=value, unit=unit, score=None, weight=weight, reason=f"not scored: {reason}", evidence=list(evidence))


def _cues(view: CallView, kinds: Iterable[str], speakers: Iterable[str]) -> list[Cue]:
    kinds, speakers = set(kinds), set(speakers)
    return [c for c in view.cues if c.kind in kinds and c.speaker in speakers]


def _events(view: CallView, kinds: Iterable[str], speakers: Iterable[str] | None = None, targets: Iterable[str] | None = None) -> list[Event]:
    kinds = set(kinds)
    sp = set(speakers) if speakers is not None else None
    tg = set(targets) if targets is not None else None
    return [
        e
        for e in view.events
        if e.kind in kinds and (sp is None or e.speaker in sp) and (tg is None or e.target in tg or e.target is None)
    ]


def _conversation_measured(view: CallView) -> bool:
    return view.metrics.call.latency is not None


def _prosody_measured(view: CallView, label: str) -> bool:
    m = view.speaker_metrics(label)
    return m is not None and (m.pitch is not None or m.loudness is not None)


def _combine(key: str, label: str, kind: str, components: list[ScoreComponent], problem: str = "") -> Score:
    if problem:
        comps = [c.model_copy(update={"score": None, "reason": f"not scored: {problem}"}) for c in components]
        return Score(name=key, label=label, kind=kind, score=None, reason=f"not scored: {problem}", components=comps)  # type: ignore[arg-type]
    scored = [c for c in components if c.score is not None and c.weight > 0]
    total = sum(c.weight for c in scored)
    if not scored or total <= 0:
        why = "; ".join(f"{c.name}: {c.reason.removeprefix('not scored: ')}" for c in components if c.score is None) or "all weights are 0"
        return Score(name=key, label=label, kind=kind, score=None, reason=f"not scored: no component could be scored ({why})", components=components)  # type: ignore[arg-type]
    value = round(sum(c.weight * c.score for c in scored) / total, 1)  # type: ignore[operator]
    left_out = [c.name for c in components if c.score is None]
    reason = f"weighted mean of {len(scored)} of {len(components)} components"
    if left_out:
        reason += f" ({', '.join(left_out)} not scored)"
    return Score(name=key, label=label, kind=kind, score=value, reason=reason, components=components)  # type: ignore[arg-type]


def _cue_component(
    name: str, label: str, cues: list[Cue], params: Target, why: str, effect: str = "positive", none_reason: str = ""
) -> ScoreComponent:
    n = len(cues)
    sub = target(n, params.target)
    reason = f"{n} found (target {params.target})"
    if n == 0 and none_reason:
        reason += f": {none_reason}"
    return ScoreComponent(
        name=name, label=label, value=float(n), unit="count", score=sub, weight=params.weight, reason=reason,
        evidence=[_cue_evidence(c, why, effect) for c in cues],
    )


# --- calm tone ----------------------------------------------------------------------------


def _frames(contour: Contour | None, spans: Sequence[tuple[float, float]], attr: str) -> list[float]:
    """Non-null samples of ``contour.<attr>`` whose time falls inside any of ``spans``."""
    if contour is None:
        return []
    values = getattr(contour, attr)
    out = []
    for i, v in enumerate(values):
        if v is None:
            continue
        t = contour.start + i / contour.rate_hz
        if any(s <= t < e for s, e in spans):
            out.append(float(v))
    return out


def _all_frames(contour: Contour | None, attr: str) -> list[float]:
    if contour is None:
        return []
    return [float(v) for v in getattr(contour, attr) if v is not None]


def calm_tone(view: CallView, rubric: Rubric) -> Score:
    """Calm tone of the agent: pitch steadiness, volume control, pace, composure."""
    cfg = rubric.scores.calm_tone
    ev_cfg = rubric.events
    parties = _parties(view)
    comps: list[ScoreComponent] = []
    A = parties.agent
    if A is None or parties.problem:
        stub = [
            _not_scored(n, lab, getattr(cfg, n).weight, parties.problem)
            for n, lab in (("pitch_steadiness", "pitch steadiness"), ("volume_control", "volume control"), ("pace", "pace"),
                           ("composure_loudness", "composure: loudness"), ("composure_pitch", "composure: pitch"))
        ]
        return _combine("calm_tone", cfg.label, "score", stub, parties.problem)
    am = view.speaker_metrics(A)
    prosody = _prosody_measured(view, A)

    # pitch steadiness
    p = cfg.pitch_steadiness
    rises = _events(view, ["pitch_rise"], [A])
    rise_ev = [_event_evidence(view, e, "the agent's pitch rose well above their usual level", "negative") for e in rises]
    if not prosody or am is None or am.pitch is None or am.pitch.sd_semitones is None:
        why = "the agent's pitch was not measured (prosody missing or no voiced speech)" if not prosody or am is None or am.pitch is None else "too little voiced agent speech to measure pitch variation"
        comps.append(_not_scored("pitch_steadiness", "pitch steadiness", p.weight, why, rise_ev))
    else:
        sd = am.pitch.sd_semitones
        comps.append(ScoreComponent(
            name="pitch_steadiness", label="pitch steadiness", value=round(sd, 2), unit="semitones SD", score=ramp(sd, p.good, p.bad),
            weight=p.weight, reason=f"pitch varied {sd:.1f} st (SD) over {am.pitch.voiced_seconds:.0f} s of voiced speech; 100 at <= {p.good}, 0 at >= {p.bad}; {len(rises)} pitch rise(s)",
            evidence=rise_ev,
        ))

    # volume control
    v = cfg.volume_control
    raised = _events(view, ev_cfg.raised_voice, [A])
    raised_ev = [_event_evidence(view, e, "the agent raised their voice", "negative") for e in raised]
    if not prosody or am is None or am.loudness is None:
        comps.append(_not_scored("volume_control", "volume control", v.weight, "the agent's loudness was not measured (prosody missing)", raised_ev))
    else:
        comps.append(ScoreComponent(
            name="volume_control", label="volume control", value=float(len(raised)), unit="raised-voice events",
            score=penalty(len(raised), v.per_item), weight=v.weight,
            reason=f"{len(raised)} raised-voice event(s), {v.per_item:g} points off each", evidence=raised_ev,
        ))

    # pace
    pc = cfg.pace
    fast = _events(view, ev_cfg.fast_speech, [A])
    fast_ev = [_event_evidence(view, e, "the agent spoke fast", "negative") for e in fast]
    if am is None or am.wpm is None:
        comps.append(_not_scored("pace", "pace", pc.weight, "the agent's words per minute could not be measured", fast_ev))
    else:
        base = band(am.wpm, pc.low, pc.high, pc.tolerance)
        sub = _clip(base - pc.per_item * len(fast))
        comps.append(ScoreComponent(
            name="pace", label="pace", value=round(am.wpm, 1), unit="words per minute", score=sub, weight=pc.weight,
            reason=f"{am.wpm:.0f} wpm (target {pc.low:g}-{pc.high:g}: {base:.0f}); {len(fast)} fast-speech event(s), {pc.per_item:g} points off each",
            evidence=fast_ev,
        ))

    # composure: agent loudness / pitch in turns after customer trigger events, against the agent's own baseline
    comps.extend(_composure(view, rubric, A, parties.customers, prosody))
    return _combine("calm_tone", cfg.label, "score", comps)


def _composure(view: CallView, rubric: Rubric, A: str, customers: list[str], prosody: bool) -> list[ScoreComponent]:
    cfg = rubric.scores.calm_tone
    window = rubric.events.composure_window
    triggers = sorted(_events(view, rubric.events.composure_triggers, customers), key=lambda e: e.start)
    names = (("composure_loudness", "composure: loudness", cfg.composure_loudness, "loudness_db", "dB"),
             ("composure_pitch", "composure: pitch", cfg.composure_pitch, "pitch_st", "semitones"))
    if not prosody:
        return [_not_scored(n, lab, par.weight, "the agent's prosody was not measured") for n, lab, par, _, _ in names]
    if not triggers:
        why = "the customer never raised their voice or pitch, so the agent's composure was not tested"
        return [_not_scored(n, lab, par.weight, why) for n, lab, par, _, _ in names]
    contour = view.contour(A)
    agent_turns = [t for t in view.turns if t.speaker == A]
    out: list[ScoreComponent] = []
    for name, label, par, attr, unit in names:
        baseline_frames = _all_frames(contour, attr)
        if not baseline_frames:
            out.append(_not_scored(name, label, par.weight, f"no agent {attr.split('_')[0]} contour"))
            continue
        baseline = statistics.median(baseline_frames)
        rises: list[float] = []
        evidence: list[Evidence] = []
        for ev in triggers:
            after = [t for t in agent_turns if ev.start <= t.start <= ev.end + window]
            frames = _frames(contour, [(t.start, t.end) for t in after], attr)
            if not frames:
                continue
            rise = statistics.median(frames) - baseline
            rises.append(rise)
            sub = ramp(rise, par.good, par.bad)
            effect = "positive" if sub >= 50 else "negative"
            what = "stayed at their usual level" if sub >= 50 else "rose with the customer"
            evidence.append(Evidence(
                start=after[0].start, end=after[-1].end, speaker=A, quote=_short(" ".join(t.text for t in after)),
                why=f"after the customer's {ev.kind.replace('_', ' ')} at {ev.start:.1f} s the agent's {attr.split('_')[0]} {what} ({rise:+.1f} {unit} vs their median)",
                effect=effect,  # type: ignore[arg-type]
                kind=ev.kind,
            ))
        if not rises:
            out.append(_not_scored(name, label, par.weight, f"the agent did not speak within {window:g} s after any customer trigger event"))
            continue
        worst = max(rises)
        out.append(ScoreComponent(
            name=name, label=label, value=round(worst, 2), unit=f"{unit} above the agent's median", score=ramp(worst, par.good, par.bad),
            weight=par.weight, reason=f"largest rise after {len(rises)} customer trigger(s): {worst:+.1f} {unit}; 100 at <= {par.good:g}, 0 at >= {par.bad:g}",
            evidence=evidence,
        ))
    return out


# --- active listening -------------------------------------------------------------------------


def active_listening(view: CallView, rubric: Rubric) -> Score:
    """Active listening: interruptions, backchannels, latency, talk share, understanding, repetition, closing."""
    cfg = rubric.scores.active_listening
    ev_cfg = rubric.events
    parties = _parties(view)
    A, C = parties.agent, parties.customers
    all_names = ("interruptions", "backchannels", "latency", "talk_share", "understanding", "customer_repetition", "closing_loop")
    labels = {"interruptions": "interruptions of the customer", "backchannels": "backchannels in long customer turns",
              "latency": "response latency", "talk_share": "talk share", "understanding": "paraphrase and clarifying questions",
              "customer_repetition": "customer repetition", "closing_loop": "closing the loop"}
    if A is None or parties.problem:
        return _combine("active_listening", cfg.label, "score",
                        [_not_scored(n, labels[n], getattr(cfg, n).weight, parties.problem) for n in all_names], parties.problem)
    cust_turns = [t for t in view.turns if t.speaker in C]
    comps: list[ScoreComponent] = []
    no_customer = "the customer says nothing that was recognised" if C else "no speaker was identified as the customer"
    conv = _conversation_measured(view)

    # interruptions per 10 min
    p = cfg.interruptions
    ints = _events(view, ev_cfg.interruption, [A], C)
    int_ev = [_event_evidence(view, e, "the agent cut in while the customer was speaking", "negative") for e in ints]
    if not cust_turns:
        comps.append(_not_scored("interruptions", labels["interruptions"], p.weight, no_customer))
    elif not conv:
        comps.append(_not_scored("interruptions", labels["interruptions"], p.weight, "conversation dynamics were not measured"))
    else:
        minutes = max(view.duration, 1e-9) / 60.0
        rate = len(ints) / minutes * 10.0
        comps.append(ScoreComponent(
            name="interruptions", label=labels["interruptions"], value=round(rate, 2), unit="per 10 min", score=ramp(rate, p.good, p.bad),
            weight=p.weight, reason=f"{len(ints)} interruption(s) in {minutes:.1f} min; 100 at <= {p.good:g}, 0 at >= {p.bad:g} per 10 min",
            evidence=int_ev,
        ))

    # backchannels during long customer turns
    p = cfg.backchannels
    long_turns = [t for t in cust_turns if t.end - t.start >= ev_cfg.long_customer_turn]
    bcs = _events(view, ev_cfg.backchannel, [A])
    if not conv:
        comps.append(_not_scored("backchannels", labels["backchannels"], p.weight, "conversation dynamics were not measured"))
    elif not long_turns:
        comps.append(_not_scored("backchannels", labels["backchannels"], p.weight,
                                 f"no customer turn lasted {ev_cfg.long_customer_turn:g} s or more"))
    else:
        evidence = []
        with_bc = 0
        for t in long_turns:
            inside = [e for e in bcs if e.start >= t.start - 0.2 and e.end <= t.end + 0.2]
            if inside:
                with_bc += 1
                evidence.extend(_event_evidence(view, e, f"the agent acknowledged while the customer spoke for {t.end - t.start:.0f} s", "positive") for e in inside)
            else:
                evidence.append(Evidence(start=t.start, end=t.end, speaker=t.speaker, quote=_short(t.text),
                                         why=f"the customer spoke for {t.end - t.start:.0f} s with no backchannel from the agent",
                                         effect="negative", kind="long_turn"))
        share = with_bc / len(long_turns)
        comps.append(ScoreComponent(
            name="backchannels", label=labels["backchannels"], value=round(share, 3), unit="share of long customer turns",
            score=ramp(share, p.good, p.bad), weight=p.weight,
            reason=f"{with_bc} of {len(long_turns)} customer turns of {ev_cfg.long_customer_turn:g} s or more got a backchannel",
            evidence=evidence,
        ))

    # latency
    p = cfg.latency
    lat = view.metrics.call.latency
    if not conv or lat is None:
        comps.append(_not_scored("latency", labels["latency"], p.weight, "conversation dynamics were not measured"))
    elif lat.n == 0 or lat.median is None:
        comps.append(_not_scored("latency", labels["latency"], p.weight, "the agent never answered a customer turn"))
    else:
        p90 = f", 90th percentile {lat.p90:.2f} s" if lat.p90 is not None else ""
        comps.append(ScoreComponent(
            name="latency", label=labels["latency"], value=round(lat.median, 3), unit="seconds (median)",
            score=band(lat.median, p.low, p.high, p.tolerance), weight=p.weight,
            reason=f"median {lat.median:.2f} s over {lat.n} responses{p90}; target {p.low:g}-{p.high:g} s",
        ))

    # talk share
    p = cfg.talk_share
    am = view.speaker_metrics(A)
    if not cust_turns or am is None:
        comps.append(_not_scored("talk_share", labels["talk_share"], p.weight, no_customer))
    else:
        comps.append(ScoreComponent(
            name="talk_share", label=labels["talk_share"], value=round(am.talk_share, 3), unit="share of talk time",
            score=band(am.talk_share, p.low, p.high, p.tolerance), weight=p.weight,
            reason=f"the agent talked {am.talk_share * 100:.0f}% of the time; target {p.low * 100:.0f}-{p.high * 100:.0f}%",
        ))

    # paraphrase / confirmation and clarifying questions
    if not cust_turns:
        comps.append(_not_scored("understanding", labels["understanding"], cfg.understanding.weight, no_customer))
    else:
        comps.append(_cue_component("understanding", labels["understanding"], _cues(view, ["paraphrase", "open_question"], [A]),
                                    cfg.understanding, "checks understanding", none_reason="no paraphrase or clarifying question"))

    # customer repetition (negative)
    p = cfg.customer_repetition
    reps = _cues(view, ["customer_repetition"], C)
    if not cust_turns:
        comps.append(_not_scored("customer_repetition", labels["customer_repetition"], p.weight, no_customer))
    else:
        comps.append(ScoreComponent(
            name="customer_repetition", label=labels["customer_repetition"], value=float(len(reps)), unit="count",
            score=penalty(len(reps), p.per_item), weight=p.weight,
            reason=f"the customer repeated themself {len(reps)} time(s), {p.per_item:g} points off each",
            evidence=[_cue_evidence(c, "the customer had to say it again: not heard", "negative") for c in reps],
        ))

    # closing the loop
    comps.append(_cue_component("closing_loop", labels["closing_loop"], _cues(view, ["closing_loop"], [A]), cfg.closing_loop,
                                "closes the loop", none_reason="the agent never checked for anything else or promised a follow-up"))
    return _combine("active_listening", cfg.label, "score", comps)


# --- empathy --------------------------------------------------------------------------------------


def empathy(view: CallView, rubric: Rubric) -> Score:
    """Empathy: acknowledgement, apology quality, ownership, policy hiding and blame, alternatives, hold etiquette."""
    cfg = rubric.scores.empathy
    parties = _parties(view)
    A, C = parties.agent, parties.customers
    labels = {"acknowledgement": "acknowledgement and empathy statements", "apology_quality": "apology quality",
              "ownership": "ownership", "policy_blame": "policy hiding and blame", "alternatives": "alternatives offered",
              "hold_etiquette": "hold etiquette"}
    if A is None or parties.problem:
        return _combine("empathy", cfg.label, "score",
                        [_not_scored(n, lab, getattr(cfg, n).weight, parties.problem) for n, lab in labels.items()], parties.problem)
    cust_turns = [t for t in view.turns if t.speaker in C]
    comps: list[ScoreComponent] = []

    # acknowledgement / validation and empathy statements
    ack = _cues(view, ["acknowledgement", "empathy"], [A])
    if not cust_turns:
        comps.append(_not_scored("acknowledgement", labels["acknowledgement"], cfg.acknowledgement.weight, "the customer says nothing that was recognised"))
    else:
        comps.append(_cue_component("acknowledgement", labels["acknowledgement"], ack, cfg.acknowledgement,
                                    "acknowledges the customer", none_reason="the agent never acknowledged or empathised"))

    # apology quality
    p = cfg.apology_quality
    sincere = _cues(view, ["apology_sincere"], [A])
    non = _cues(view, ["non_apology"], [A])
    ev = [_cue_evidence(c, "sincere apology", "positive") for c in sincere] + [
        _cue_evidence(c, "non-apology: sorry without owning anything", "negative") for c in non]
    if not sincere and not non:
        comps.append(_not_scored("apology_quality", labels["apology_quality"], p.weight, "the agent made no apology, so its quality cannot be judged"))
    else:
        share = len(sincere) / (len(sincere) + len(non))
        comps.append(ScoreComponent(
            name="apology_quality", label=labels["apology_quality"], value=round(share, 3), unit="share of apologies that are sincere",
            score=ramp(share, p.good, p.bad), weight=p.weight,
            reason=f"{len(sincere)} sincere apology(ies), {len(non)} non-apology(ies)", evidence=sorted(ev, key=lambda e: e.start),
        ))

    # ownership
    comps.append(_cue_component("ownership", labels["ownership"], _cues(view, ["ownership"], [A]), cfg.ownership,
                                "takes ownership", none_reason="the agent never took ownership of the problem"))

    # policy hiding and blame (negative)
    p = cfg.policy_blame
    bad = _cues(view, ["policy_hiding", "blame"], [A])
    comps.append(ScoreComponent(
        name="policy_blame", label=labels["policy_blame"], value=float(len(bad)), unit="count", score=penalty(len(bad), p.per_item),
        weight=p.weight, reason=f"{len(bad)} policy-hiding or blaming remark(s), {p.per_item:g} points off each",
        evidence=[_cue_evidence(c, "hides behind policy" if c.kind == "policy_hiding" else "blames or dismisses the customer", "negative") for c in bad],
    ))

    # alternatives (and escalation) offered, judged when the agent refused something
    p = cfg.alternatives
    offers = _cues(view, ["alternatives", "escalation_offer"], [A])
    refusals = _refusals(view, A, p.refusal_patterns)
    refusal_ev = [Evidence(start=s, end=e, speaker=A, quote=_short(q), why="the agent says no", effect="neutral", kind="refusal")
                  for s, e, q in refusals]
    if offers:
        comps.append(ScoreComponent(
            name="alternatives", label=labels["alternatives"], value=float(len(offers)), unit="count", score=target(len(offers), p.target),
            weight=p.weight, reason=f"{len(offers)} alternative(s) or escalation offer(s); {len(refusals)} refusal(s)",
            evidence=[_cue_evidence(c, "offers an alternative" if c.kind == "alternatives" else "offers escalation", "positive") for c in offers] + refusal_ev,
        ))
    elif refusals:
        comps.append(ScoreComponent(
            name="alternatives", label=labels["alternatives"], value=0.0, unit="count", score=0.0, weight=p.weight,
            reason=f"the agent said no {len(refusals)} time(s) and offered no alternative or escalation",
            evidence=[e.model_copy(update={"effect": "negative", "why": "the agent says no and offers nothing instead"}) for e in refusal_ev],
        ))
    else:
        comps.append(_not_scored("alternatives", labels["alternatives"], p.weight, "the agent refused nothing, so no alternative was needed", value=0.0, unit="count"))

    # hold etiquette
    comps.append(_hold_etiquette(view, rubric, A, labels["hold_etiquette"]))
    return _combine("empathy", cfg.label, "score", comps)


def _refusals(view: CallView, agent: str, patterns: Sequence[str]) -> list[tuple[float, float, str]]:
    """Agent sentences that say no: refusal patterns, plus every policy-hiding cue."""
    compiled = compile_patterns(patterns)
    out: list[tuple[float, float, str]] = []
    for turn in view.turns:
        if turn.speaker != agent:
            continue
        for s, e, _ in find_patterns(turn.text, compiled):
            t0, t1 = span_times(turn, s, e)
            out.append((t0, t1, turn.text))
    for c in _cues(view, ["policy_hiding"], [agent]):
        if not any(abs(c.start - s) < 0.5 for s, _, _ in out):
            out.append((c.start, c.end, c.quote))
    out.sort()
    return out


def _hold_etiquette(view: CallView, rubric: Rubric, A: str, label: str) -> ScoreComponent:
    p = rubric.scores.empathy.hold_etiquette
    ev_cfg = rubric.events
    holds = _events(view, ev_cfg.hold)
    perms = _cues(view, ["hold_permission"], [A])
    thanks = _cues(view, ["hold_thanks"], [A])
    if not holds:
        evidence = [_cue_evidence(c, "asks permission before a hold", "positive") for c in perms] + [
            _cue_evidence(c, "thanks the customer for holding", "positive") for c in thanks]
        why = "no hold in the call" if _conversation_measured(view) else "holds were not measured (conversation dynamics missing)"
        return _not_scored("hold_etiquette", label, p.weight, why, evidence)
    done = 0
    evidence: list[Evidence] = []
    for h in holds:
        # cue times come from word timestamps, hold times from voice activity: compare starts, with the hold's start as the divide
        asked = [c for c in perms if h.start - ev_cfg.hold_permission_before <= c.start <= h.start]
        thanked = [c for c in thanks if h.start < c.start <= h.end + ev_cfg.hold_thanks_after]
        done += bool(asked) + bool(thanked)
        evidence.extend(_cue_evidence(c, f"asks permission before the hold at {h.start:.1f} s", "positive") for c in asked)
        evidence.extend(_cue_evidence(c, f"thanks the customer after the hold ending {h.end:.1f} s", "positive") for c in thanked)
        before = [t for t in view.turns if t.speaker == A and t.start <= h.start]
        said = _short(before[-1].text) if before else ""
        if not asked:
            evidence.append(_event_evidence(view, h, "hold without asking the customer's permission first", "negative", speaker=A)
                            .model_copy(update={"quote": said}))
        if not thanked:
            after = [t for t in view.turns if t.speaker == A and t.start >= h.start]
            evidence.append(_event_evidence(view, h, "no thanks to the customer after the hold", "negative", speaker=A)
                            .model_copy(update={"quote": _short(after[0].text) if after else ""}))
    share = done / (2 * len(holds))
    return ScoreComponent(
        name="hold_etiquette", label=label, value=round(share, 3), unit="share of hold steps done", score=ramp(share, p.good, p.bad),
        weight=p.weight, reason=f"{len(holds)} hold(s): permission asked and thanks given in {done} of {2 * len(holds)} places",
        evidence=sorted(evidence, key=lambda e: e.start),
    )


# --- de-escalation (outcome) ---------------------------------------------------------------------


def deescalation(view: CallView, rubric: Rubric) -> Score:
    """Customer de-escalation: the customer's loudness, pitch, sentiment and words, first third vs last third."""
    cfg = rubric.scores.deescalation
    C = view.labels("customer")
    cust_turns = sorted((t for t in view.turns if t.speaker in C), key=lambda t: t.start)
    names = {"loudness": "customer loudness", "pitch": "customer pitch", "sentiment": "customer sentiment", "customer_language": "customer words"}
    need = rubric.events.min_customer_turns
    if len(cust_turns) < need:
        problem = ("no speaker was identified as the customer" if not C else
                   f"the customer has {len(cust_turns)} turn(s); at least {need} are needed to compare early and late")
        return _combine("deescalation", cfg.label, "outcome",
                        [_not_scored(n, lab, getattr(cfg, n).weight, problem) for n, lab in names.items()], problem)
    early, late = thirds(cust_turns)
    e_span = (early[0].start, early[-1].end)
    l_span = (late[0].start, late[-1].end)
    span_txt = f"first third {e_span[0]:.0f}-{e_span[1]:.0f} s vs last third {l_span[0]:.0f}-{l_span[1]:.0f} s"
    comps: list[ScoreComponent] = []
    for name, attr, unit, par in (("loudness", "loudness_db", "dB", cfg.loudness), ("pitch", "pitch_st", "semitones", cfg.pitch)):
        e_vals: list[float] = []
        l_vals: list[float] = []
        for lab in C:
            contour = view.contour(lab)
            e_vals += _frames(contour, [(t.start, t.end) for t in early if t.speaker == lab], attr)
            l_vals += _frames(contour, [(t.start, t.end) for t in late if t.speaker == lab], attr)
        if not e_vals or not l_vals:
            comps.append(_not_scored(name, names[name], par.weight, f"no customer {name} contour in the first or last third (prosody missing or unvoiced)"))
            continue
        delta = statistics.median(l_vals) - statistics.median(e_vals)
        sub = change(delta, par.full, lower_is_better=True)
        comps.append(ScoreComponent(
            name=name, label=names[name], value=round(delta, 2), unit=f"{unit} change, late minus early", score=sub, weight=par.weight,
            reason=f"{span_txt}: {delta:+.1f} {unit} (50 = no change; {-par.full:+g} {unit} -> 100, {par.full:+g} -> 0)",
            evidence=_third_evidence(early, late, f"customer {name}"),
        ))

    par = cfg.sentiment
    e_s = [t.sentiment if t.sentiment is not None else text_sentiment(t.text) for t in early]
    l_s = [t.sentiment if t.sentiment is not None else text_sentiment(t.text) for t in late]
    delta = sum(l_s) / len(l_s) - sum(e_s) / len(e_s)
    worst_early = min(zip(e_s, early), key=lambda x: x[0])
    best_late = max(zip(l_s, late), key=lambda x: x[0])
    comps.append(ScoreComponent(
        name="sentiment", label=names["sentiment"], value=round(delta, 3), unit="sentiment change (-2..2), late minus early",
        score=change(delta, par.full, lower_is_better=False), weight=par.weight,
        reason=f"{span_txt}: mean sentiment {sum(e_s) / len(e_s):+.2f} -> {sum(l_s) / len(l_s):+.2f} (VADER compound)",
        evidence=[
            Evidence(start=worst_early[1].start, end=worst_early[1].end, speaker=worst_early[1].speaker, quote=_short(worst_early[1].text),
                     why=f"early customer turn, sentiment {worst_early[0]:+.2f}", effect="neutral", kind="sentiment"),
            Evidence(start=best_late[1].start, end=best_late[1].end, speaker=best_late[1].speaker, quote=_short(best_late[1].text),
                     why=f"late customer turn, sentiment {best_late[0]:+.2f}", effect="positive" if delta >= 0 else "negative", kind="sentiment"),
        ],
    ))

    par = cfg.customer_language
    late_turn_spans = [(t.start, t.end, t.speaker) for t in late]

    def is_late(c: Cue) -> bool:
        return any(c.speaker == sp and s - 0.01 <= c.start <= e + 0.01 for s, e, sp in late_turn_spans)

    cues = _cues(view, ["customer_frustration", "manager_request", "customer_thanks"], C)
    late_pos = [c for c in cues if c.kind == "customer_thanks" and is_late(c)]
    late_neg = [c for c in cues if c.kind != "customer_thanks" and is_late(c)]
    value = len(late_pos) - len(late_neg)
    evidence = []
    for c in cues:
        when = "late" if is_late(c) else "earlier"
        if c.kind == "customer_thanks":
            evidence.append(_cue_evidence(c, f"customer thanks or relief ({when})", "positive" if when == "late" else "neutral"))
        else:
            what = "customer frustration" if c.kind == "customer_frustration" else "customer asks for a manager"
            evidence.append(_cue_evidence(c, f"{what} ({when})", "negative" if when == "late" else "neutral"))
    comps.append(ScoreComponent(
        name="customer_language", label=names["customer_language"], value=float(value), unit="late thanks minus late frustration/manager requests",
        score=change(value, par.full, lower_is_better=False), weight=par.weight,
        reason=f"in the last third: {len(late_pos)} thanks/relief, {len(late_neg)} frustration or manager request(s)",
        evidence=evidence,
    ))
    return _combine("deescalation", cfg.label, "outcome", comps)


def _third_evidence(early: list[Turn], late: list[Turn], what: str) -> list[Evidence]:
    return [
        Evidence(start=early[0].start, end=early[-1].end, speaker=early[0].speaker, quote=_short(early[0].text),
                 why=f"{what}: first third of the customer's turns", effect="neutral", kind="early"),
        Evidence(start=late[0].start, end=late[-1].end, speaker=late[-1].speaker, quote=_short(late[-1].text),
                 why=f"{what}: last third of the customer's turns", effect="neutral", kind="late"),
    ]


# --- all scores ------------------------------------------------------------------------------------


SCORE_KEYS = ("calm_tone", "active_listening", "empathy", "deescalation")


def score_call(view: CallView, rubric: Rubric) -> list[Score]:
    """The three agent scores and the de-escalation outcome of one call.

    Parameters
    ----------
    view : CallView
        The call's speakers (with roles), turns, metrics, events, contours and cues.
    rubric : Rubric

    Returns
    -------
    list of Score
        calm_tone, active_listening, empathy, deescalation (in that order).
    """
    return [calm_tone(view, rubric), active_listening(view, rubric), empathy(view, rubric), deescalation(view, rubric)]


def top_evidence(score: Score, n: int = 3) -> list[tuple[ScoreComponent, Evidence]]:
    """The moments that explain a score best, negative and positive in proportion to it.

    Negative evidence is ranked by how many points its component loses
    (weight x (100 - sub-score)), positive evidence by how many it earns
    (weight x sub-score). Of ``n`` moments, about ``n x (100 - score) / 100``
    are negative (at least one when there is any and the score is below 100),
    the rest positive; either side fills in when the other runs out.
    """
    neg: list[tuple[float, int, ScoreComponent, Evidence]] = []
    pos: list[tuple[float, int, ScoreComponent, Evidence]] = []
    for ci, c in enumerate(score.components):
        if c.score is None or c.weight <= 0:
            continue
        for e in c.evidence:
            if e.effect == "negative":
                neg.append((-c.weight * (100.0 - c.score), ci, c, e))
            elif e.effect == "positive":
                pos.append((-c.weight * c.score, ci, c, e))
    neg.sort(key=lambda x: (x[0], x[1], x[3].start))
    pos.sort(key=lambda x: (x[0], x[1], x[3].start))
    value = score.score if score.score is not None else 0.0
    k = round(n * (100.0 - value) / 100.0)
    if neg and value < 100:
        k = max(k, 1)
    k = min(k, len(neg))
    picked = neg[:k] + pos[: n - k]
    if len(picked) < n:
        picked += neg[k : k + n - len(picked)]
    return [(c, e) for _, _, c, e in picked]


# --- the pipeline stage -------------------------------------------------------------------------------


def classifier_identity(rubric: "Rubric") -> tuple[str | None, str | None]:
    """Name ("builtin" or the file's name) and SHA-256 of the cue classifier ``rubric`` uses; (None, None) for none.

    Raises
    ------
    ModelUnavailableError
        The rubric names a classifier file that does not exist.
    """
    from .cue_model import BUILTIN

    return _model_identity(
        rubric.classifier_path(),
        BUILTIN,
        "the shipped cue classifier is missing; reinstall callreview, or set "
        '[detection] classifier = "none" in the rubric (patterns and example phrases only)',
        f"cue classifier file named by the rubric ({rubric.source}) not found; "
        'train one with `callreview train-cues` or set [detection] classifier = "builtin"',
    )


def repetition_identity(rubric: "Rubric") -> tuple[str | None, str | None]:
    """Name ("builtin" or the file's name) and SHA-256 of the customer-repetition model ``rubric`` uses.

    The model weighs a customer turn against their earlier ones with the cue
    classifier's probability among its inputs, so it is used only beside a
    classifier: (None, None) when the rubric names none of the two.

    Raises
    ------
    ModelUnavailableError
        The rubric names a repetition model file that does not exist.
    """
    from .repetition import BUILTIN

    if rubric.classifier_path() is None:
        return None, None
    return _model_identity(
        rubric.repetition_model_path(),
        BUILTIN,
        'the shipped repetition model is missing; reinstall callreview, or set [detection.repetition] model = "none" '
        "in the rubric",
        f"repetition model file named by the rubric ({rubric.source}) not found; train one with "
        'scripts/train_repetition.py or set [detection.repetition] model = "builtin"',
    )


def model_identities(rubric: "Rubric") -> dict[str, str | None]:
    """The models ``rubric`` scores with by meaning, as :class:`RubricIdentity` fields.

    Returns
    -------
    dict
        ``classifier``, ``classifier_sha256``, ``repetition_model``, ``repetition_model_sha256``
        (None where the rubric names none).

    Raises
    ------
    ModelUnavailableError
        A model file the rubric names does not exist.
    """
    clf_name, clf_sha = classifier_identity(rubric)
    rep_name, rep_sha = repetition_identity(rubric)
    return {"classifier": clf_name, "classifier_sha256": clf_sha, "repetition_model": rep_name, "repetition_model_sha256": rep_sha}


def _model_identity(path: Path | None, builtin: Path, missing_builtin: str, missing_file: str) -> tuple[str | None, str | None]:
    if path is None:
        return None, None
    from .cue_model import file_sha256

    try:
        sha = file_sha256(path)
    except OSError:
        from .errors import ModelUnavailableError

        raise ModelUnavailableError(f"{path}: {missing_builtin if path == builtin else missing_file}") from None
    return ("builtin" if path == builtin else path.name), sha


class ScoringStage:
    """Cues, sentiment and scores for the :class:`~analysis.pipeline.Analyzer`.

    The rubric is read (and validated) when the stage is made, so a bad rubric
    fails before any audio is processed; the sentence-embedding model is loaded
    on the first call that needs it and then reused.

    Parameters
    ----------
    cfg : ScoringConfig

    Raises
    ------
    RubricError
        The rubric file is missing or invalid.
    """

    def __init__(self, cfg: "ScoringConfig") -> None:
        from .rubric import load_rubric

        self.cfg = cfg
        self.rubric = load_rubric(cfg.rubric)
        if cfg.semantic:
            model_identities(self.rubric)  # a missing model file fails now, before any audio
        self._detector: "CueDetector | None" = None

    @property
    def identity(self) -> RubricIdentity:
        r = self.rubric
        models = model_identities(r) if self.cfg.semantic else {}
        return RubricIdentity(name=r.name, version=r.version, sha256=r.sha256, source=r.source, **models)

    def detector(self) -> "CueDetector":
        """The cue detector (loads the embedding model and the cue classifier the first time when ``semantic`` is on)."""
        if self._detector is None:
            from .cues import CueDetector

            encode = None
            classifier = None
            if self.cfg.semantic:
                from .embeddings import get_encoder

                encode = get_encoder(self.cfg.device).encode
                path = self.rubric.classifier_path()
                if path is not None:
                    from .cue_model import get_classifier

                    classifier = get_classifier(path, self.cfg.device)
            self._detector = CueDetector(self.rubric, encode, classifier)
        return self._detector

    def apply(
        self,
        speakers: Sequence[Speaker],
        turns: Sequence[Turn],
        metrics: Metrics,
        events: Sequence[Event],
        contours: Sequence[Contour],
        duration: float,
    ) -> tuple[list[Turn], list[Cue], list[Score], RubricIdentity]:
        """Sentiment per turn, cues, and the four scores of one call.

        Returns
        -------
        (turns, cues, scores, rubric)
            The turns with sentiment set, the cues found, the scores, and the
            identity of the rubric used.
        """
        from .sentiment import with_sentiment

        scored_turns = with_sentiment(turns)
        roles = {s.label: s.role for s in speakers}
        from .cues import rule_cues

        def role_of(label: str) -> str:
            return roles.get(label, "unknown")

        cues = self.detector().detect(scored_turns, role_of)  # type: ignore[arg-type]
        cues = sorted(cues + rule_cues(scored_turns, events, cues, role_of, self.rubric), key=lambda c: (c.start, c.turn, c.kind))  # type: ignore[arg-type]
        view = CallView(speakers=speakers, turns=scored_turns, metrics=metrics, events=events, contours=contours, cues=cues, duration=duration)
        return scored_turns, cues, score_call(view, self.rubric), self.identity
