"""Readable plain-text summary of a call report, for the terminal."""

from __future__ import annotations

from .records import CallReport


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
    for score in report.scores:
        value = f"{score.score:.0f}" if score.score is not None else "not scored"
        lines.append(f"  {score.name}: {value}")
    for t in report.turns[:transcript_lines]:
        role = report.role_of(t.speaker)
        text = t.text if len(t.text) <= 90 else t.text[:87] + "..."
        lines.append(f"  [{_clock(t.start)}] {role if role != 'unknown' else t.speaker:>8}: {text}")
    if len(report.turns) > transcript_lines:
        lines.append(f"  ... {len(report.turns) - transcript_lines} more turns")
    for w in report.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)
