"""Readable plain-text summary of a call report, for the terminal."""

from __future__ import annotations

from .records import CallReport
from .scoring import top_evidence


def _clock(t: float) -> str:
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m):02d}:{s:04.1f}"


def format_summary(report: CallReport, transcript_lines: int = 6) -> str:
    """A short multi-line summary: call, speakers and roles, talk shares, pace, transcript start."""
    c = report.call
    m = report.metrics
    lines = [
        f"{c.call_id}  {c.duration:.1f} s  {c.layout} ({c.channels} ch, {c.sample_rate} Hz)  model {c.asr_model}",
        f"  roles: {c.roles.method}, confidence {c.roles.confidence:.2f}",
        f"  {'speaker':<8} {'role':<9} {'talk':>7} {'share':>6} {'wpm':>5} {'turns':>5}",
    ]
    for sm in m.speakers:
        role = report.role_of(sm.speaker)
        wpm = f"{sm.wpm:.0f}" if sm.wpm is not None else "-"
        lines.append(
            f"  {sm.speaker:<8} {role:<9} {sm.talk_time:>6.1f}s {sm.talk_share * 100:>5.0f}% {wpm:>5} {sm.turns:>5}"
        )
    cm = m.call
    lines.append(
        f"  overlap {cm.overlap_time:.1f} s, silence {cm.silence_time:.1f} s (longest {cm.longest_silence:.1f} s)"
    )
    # voice and conversation dynamics (issue 4)
    for sm in m.speakers:
        role = report.role_of(sm.speaker)
        who = role if role != "unknown" else sm.speaker
        p, ld = sm.pitch, sm.loudness
        pitch = (
            f"pitch {p.median_hz:.0f} Hz sd {p.sd_semitones:.1f} st range {p.range_semitones:.1f} st"
            if p is not None and p.median_hz is not None
            else "pitch -"
        )
        loud = f"level {ld.median_dbfs:.0f} dBFS sd {ld.sd_db:.1f} dB" if ld is not None and ld.median_dbfs is not None else "level -"
        lines.append(
            f"  {who:<8} {pitch}, {loud}; longest turn {sm.longest_monologue:.1f} s, {sm.questions} questions, "
            f"interrupted others {sm.interruptions_made}x, was interrupted {sm.interrupted}x, {sm.backchannels} backchannels"
        )
    lat = cm.latency
    if lat is not None and lat.n:
        lines.append(f"  agent response latency: median {lat.median:.2f} s, p90 {lat.p90:.2f} s over {lat.n} replies")
    counts = {}
    for e in report.events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    if counts:
        lines.append("  events: " + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in counts.items()))
    if report.scores and report.call.rubric is not None:
        r = report.call.rubric
        lines.append(f"  scores (rubric {r.name} {r.version}, sha256 {r.sha256[:12]}):")
    for score in report.scores:
        value = f"{score.score:.0f}/100" if score.score is not None else score.reason
        lines.append(f"  {score.label or score.name}: {value}")
        for comp, ev in top_evidence(score, 3):
            sign = {"positive": "+", "negative": "-"}.get(ev.effect, " ")
            quote = f' "{ev.quote}"' if ev.quote else ""
            why = ev.why.split(" (pattern:")[0].split(" (semantic:")[0]
            lines.append(f"    {sign} [{_clock(ev.start)}] {comp.label or comp.name}: {why}{quote}")
    for t in report.turns[:transcript_lines]:
        role = report.role_of(t.speaker)
        text = t.text if len(t.text) <= 90 else t.text[:87] + "..."
        lines.append(f"  [{_clock(t.start)}] {role if role != 'unknown' else t.speaker:>8}: {text}")
    if len(report.turns) > transcript_lines:
        lines.append(f"  ... {len(report.turns) - transcript_lines} more turns")
    for w in report.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)
