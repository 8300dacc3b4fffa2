"""Printable exports: the call report and the agent coaching sheet, as self-contained HTML.

The charts are inline SVG drawn here (no script, no network), so the files open
and print the same anywhere, e-mail well, and survive being archived.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from analysis.records import CallReport

from .charts import lanes, timeline_frames, who_name
from .style import (
    EFFECT_COLOURS,
    EFFECT_LABELS,
    EVENT_COLOURS,
    ROLE_COLOURS,
    SCORE_HELP,
    SCORE_SCALE_NOTE,
    SCORES,
    component_label,
    event_label,
    fmt_score,
    fmt_time,
    fmt_value,
    plain_why,
    score_label,
    speaker_name,
)

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 24px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 6px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; } th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; } table.meta { width: auto; } .meta td { border: none; padding: 1px 16px 1px 0; } .muted { color: #666; }
.scores { display: flex; gap: 10px; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; min-width: 160px; flex: 1; }
.big { font-size: 26px; font-weight: 700; } .override { color: #8a4b00; font-weight: 600; }
.turn { margin: 2px 0; } .who { font-weight: 600; } mark { padding: 0 2px; border-radius: 2px; }
.legend span { display: inline-block; margin-right: 12px; } .sw { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.lines { border-bottom: 1px solid #bbb; height: 22px; }
@media print { body { margin: 10mm; } h2 { break-after: avoid; } .card, tr, .turn { break-inside: avoid; } }
@page { size: A4; margin: 12mm; }
"""


def esc(value: Any) -> str:
    """HTML-escaped text of any value ('' for None)."""
    return "" if value is None else html.escape(str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------------------
# SVG figures
# --------------------------------------------------------------------------------------


def _ticks(duration: float) -> list[float]:
    steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]
    step = next((s for s in steps if duration / s <= 12), 3600)
    return [i * step for i in range(int(duration // step) + 1)]


def timeline_svg(report: CallReport, width: int = 1000) -> str:
    """The timeline (a lane per speaker, events, evidence) as an SVG element."""
    frames = timeline_frames(report)
    lane_names = [name for _, name, _ in lanes(report)] + (["Evidence"] if not frames["evidence"].empty else [])
    left, right, lane_h, top = 150, 10, 30, 8
    height = top + lane_h * len(lane_names) + 24
    duration = max(report.call.duration, 1.0)
    plot_w = width - left - right

    def x(t: float) -> float:
        return left + max(0.0, min(t, duration)) / duration * plot_w

    def y(lane: str) -> float:
        return top + lane_names.index(lane) * lane_h if lane in lane_names else top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="Call timeline">']
    for lane in lane_names:
        parts.append(f'<text x="{left - 6}" y="{y(lane) + lane_h / 2 + 4:.1f}" font-size="11" text-anchor="end">{esc(lane)}</text>')
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(lane) + lane_h:.1f}" y2="{y(lane) + lane_h:.1f}" stroke="#eee"/>')
    for _, r in frames["spans"].iterrows():
        kind = _kind_of(r["what"])
        parts.append(
            f'<rect x="{x(r.start):.1f}" y="{top}" width="{max(1.0, x(r.end) - x(r.start)):.1f}" height="{lane_h * len(lane_names)}" '
            f'fill="{EVENT_COLOURS.get(kind, "#ccc")}" opacity="0.35"><title>{esc(r.what)} {esc(r["from"])}-{esc(r.to)}: {esc(r.detail)}</title></rect>'
        )
    role_of_lane = {name: role for _, name, role in lanes(report)}
    for _, r in frames["turns"].iterrows():
        colour = ROLE_COLOURS.get(role_of_lane.get(r.lane, "unknown"), ROLE_COLOURS["unknown"])
        parts.append(
            f'<rect x="{x(r.start):.1f}" y="{y(r.lane) + lane_h * 0.22:.1f}" width="{max(1.0, x(r.end) - x(r.start)):.1f}" height="{lane_h * 0.56:.1f}" '
            f'fill="{colour}" rx="2"><title>{esc(r["from"])} {esc(r.text)}</title></rect>'
        )
    for _, r in frames["marks"].iterrows():
        kind = _kind_of(r["what"])
        parts.append(
            f'<rect x="{x(r.start):.1f}" y="{y(r.lane) + lane_h * 0.08:.1f}" width="{max(1.0, x(r.end) - x(r.start)):.1f}" height="{lane_h * 0.84:.1f}" '
            f'fill="none" stroke="{EVENT_COLOURS.get(kind, "#000")}" stroke-width="2"><title>{esc(r.what)}: {esc(r.detail)}</title></rect>'
        )
    for _, r in frames["interruptions"].iterrows():
        cx, cy = x(r.start), y(r.lane) + 2
        parts.append(
            f'<path d="M{cx - 6:.1f},{cy:.1f} L{cx + 6:.1f},{cy:.1f} L{cx:.1f},{cy + 9:.1f} Z" fill="{EVENT_COLOURS["interruption"]}"><title>{esc(r.detail)}</title></path>'
        )
    for _, r in frames["evidence"].iterrows():
        cx, cy = x(r.start), y("Evidence") + lane_h / 2
        colour = {"Evidence: helped": EFFECT_COLOURS["positive"], "Evidence: hurt": EFFECT_COLOURS["negative"]}.get(r.what, EFFECT_COLOURS["neutral"])
        parts.append(
            f'<path d="M{cx:.1f},{cy - 7:.1f} L{cx + 6:.1f},{cy:.1f} L{cx:.1f},{cy + 7:.1f} L{cx - 6:.1f},{cy:.1f} Z" fill="{colour}"><title>{esc(r["from"])} {esc(r.detail)}</title></path>'
        )
    axis_y = top + lane_h * len(lane_names)
    for t in _ticks(duration):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="#888"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y + 16}" font-size="10" text-anchor="middle" fill="#555">{fmt_time(t)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _kind_of(label: str) -> str:
    for kind in EVENT_COLOURS:
        if event_label(kind) == label:
            return kind
    return ""


def contour_svg(report: CallReport, measure: str, title: str, width: int = 1000, height: int = 110) -> str:
    """One contour panel (``measure`` 'pitch' or 'loudness') of both speakers as SVG; '' without contours."""
    df = timeline_frames(report)["contours"]
    if df.empty or df[measure].notna().sum() == 0:
        return ""
    left, right, top, bottom = 150, 10, 16, 6
    duration = max(report.call.duration, 1.0)
    lo, hi = float(df[measure].min()), float(df[measure].max())
    if hi - lo < 1e-6:
        hi = lo + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + t / duration * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">']
    parts.append(f'<text x="{left}" y="11" font-size="11" fill="#333">{esc(title)}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end" fill="#666">{hi:.0f}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end" fill="#666">{lo:.0f}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#eee"/>')
    roles = {who_name(report, s.label): s.role for s in report.speakers}
    for who, g in df.groupby("who", sort=False):
        colour = ROLE_COLOURS.get(roles.get(who, "unknown"), ROLE_COLOURS["unknown"])
        segs: list[list[str]] = [[]]
        for t, v in zip(g["t"].to_numpy(), g[measure].to_numpy()):
            if v is None or math.isnan(v):
                if segs[-1]:
                    segs.append([])
                continue
            segs[-1].append(f"{x(float(t)):.1f},{y(float(v)):.1f}")
        for seg in segs:
            if len(seg) > 1:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="1.2"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend_html(report: CallReport) -> str:
    """Colour key of the timeline."""
    items = []
    for label, name, role in lanes(report):
        items.append((ROLE_COLOURS.get(role, ROLE_COLOURS["unknown"]), speaker_name(role, label)))
    kinds = {e.kind for e in report.events} & set(EVENT_COLOURS)
    for kind in ("overlap", "interruption", "silence", "dead_air", "hold", "raised_voice", "pitch_rise", "fast_speech"):
        if kind in kinds:
            items.append((EVENT_COLOURS[kind], event_label(kind)))
    items += [(EFFECT_COLOURS["positive"], "Evidence: helped"), (EFFECT_COLOURS["negative"], "Evidence: hurt")]
    return '<div class="legend">' + "".join(f'<span><i class="sw" style="background:{c}"></i>{esc(n)}</span>' for c, n in dict.fromkeys(items)) + "</div>"


# --------------------------------------------------------------------------------------
# The call report
# --------------------------------------------------------------------------------------


def evidence_rows(report: CallReport) -> list[dict[str, Any]]:
    """Every evidence moment of the report, by time: score, component, start, end, speaker, who, quote, why, effect."""
    rows = []
    for sc in report.scores:
        for comp in sc.components:
            for ev in comp.evidence:
                rows.append(
                    {
                        "score": sc.name,
                        "component": comp.name,
                        "start": ev.start,
                        "end": ev.end,
                        "speaker": ev.speaker,
                        "who": speaker_name(report.role_of(ev.speaker), ev.speaker) if ev.speaker else "",
                        "quote": ev.quote,
                        "why": plain_why(ev.why),
                        "effect": ev.effect,
                    }
                )
    rows.sort(key=lambda r: (r["start"], r["score"]))
    return rows


def highlight_turn(text: str, marks: Iterable[dict[str, Any]]) -> str:
    """A turn's text, escaped, with the evidence quotes found in it highlighted (hover: score and why).

    A quote with elisions ("..." ) is matched piece by piece; overlapping matches keep the first.
    """
    spans: list[tuple[int, int, dict[str, Any]]] = []
    low = text.lower()
    for m in marks:
        quote = (m.get("quote") or "").strip().strip('"\u201c\u201d').strip()
        for piece in (p.strip(" ,;") for p in re.split(r"\.\.\.|\u2026", quote)):
            if len(piece) < 3:
                continue
            i = low.find(piece.lower())
            if i >= 0 and not any(i < e and i + len(piece) > s for s, e, _ in spans):
                spans.append((i, i + len(piece), m))
    spans.sort(key=lambda x: x[0])
    out: list[str] = []
    pos = 0
    for s, e, m in spans:
        colour = EFFECT_COLOURS.get(m.get("effect", "neutral"), EFFECT_COLOURS["neutral"])
        tip = esc(f"{score_label(m['score'])}: {m.get('why', '')}")
        out.append(esc(text[pos:s]))
        out.append(f'<mark style="background:{colour}33;border-bottom:2px solid {colour}" title="{tip}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def turn_evidence(report: CallReport) -> dict[int, list[dict[str, Any]]]:
    """Evidence moments per turn index: those overlapping the turn, by the same speaker (or no speaker)."""
    out: dict[int, list[dict[str, Any]]] = {}
    evs = evidence_rows(report)
    for i, t in enumerate(report.turns):
        for ev in evs:
            if ev["speaker"] not in (None, t.speaker):
                continue
            if ev["start"] <= t.end + 0.05 and ev["end"] >= t.start - 0.05:
                out.setdefault(i, []).append(ev)
    return out


def components_html(score: Any, style: str = "") -> str:
    """A score's parts as an HTML table: plain name, measured value, sub-score, weight, why."""
    cell = f' style="{style}"' if style else ""
    rows = [f"<tr><th{cell}>Part</th><th{cell}>Measured</th><th{cell}>Sub-score</th><th{cell}>Weight</th><th{cell}>Why</th></tr>"]
    for c in score.components:
        rows.append(
            f"<tr><td{cell}>{esc(component_label(c.name))}</td><td{cell}>{esc(fmt_value(c.value, c.unit))}</td>"
            f"<td{cell}>{esc(fmt_score(c.score))}</td><td{cell}>{c.weight:g}</td><td{cell}>{esc(c.reason)}</td></tr>"
        )
    return '<table class="parts">' + "".join(rows) + "</table>"


def call_report_html(
    report: CallReport,
    row: dict[str, Any] | None = None,
    notes: list[dict[str, Any]] | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> str:
    """The printable report of one call.

    Parameters
    ----------
    report : CallReport
        The call's report (source of truth).
    row : dict, optional
        Its catalog row (agent, team, start time, rubric).
    notes, overrides : list of dict, optional
        Reviewer notes and score overrides from the catalog.

    Returns
    -------
    str
        A complete HTML document.
    """
    row = row or {}
    notes = notes or []
    overrides = overrides or []
    info = report.call
    title = f"Call review: {info.call_id}"
    meta = [
        ("Agent", row.get("agent") or "-"),
        ("Team", row.get("team") or "-"),
        ("Call started", row.get("started_at") or "-"),
        ("Length", fmt_time(info.duration)),
        ("Recording", f"{info.layout}, {info.channels} channel(s), {info.sample_rate} Hz"),
        ("Speech recognition", info.asr_model),
        ("Rubric", " ".join(x for x in (row.get("rubric_name"), row.get("rubric_version")) if x) or "-"),
        ("Analysed", f"{info.analysed_at} (callreview {info.tool_version})"),
    ]
    body = [f"<h1>{esc(title)}</h1>", f'<div class="muted">Printed {_now()} from {esc(info.source)}</div>']
    body.append('<table class="meta">' + "".join(f"<tr><td class=\"muted\">{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta) + "</table>")

    # Scores
    body.append("<h2>Scores</h2>")
    latest: dict[str, dict[str, Any]] = {}
    for o in overrides:
        latest[o["score"]] = o
    by_name = {s.name: s for s in report.scores}
    if not by_name:
        body.append('<p class="muted">This call was not scored (no scores in its report).</p>')
    else:
        cards = []
        for name in [n for n in SCORES if n in by_name] + [n for n in by_name if n not in SCORES]:
            sc = by_name[name]
            card = [f'<div class="card"><div>{esc(score_label(name))}</div><div class="big">{esc(fmt_score(sc.score))}</div>']
            card.append('<div class="muted">computed</div>')
            if name in latest:
                o = latest[name]
                card.append(
                    f'<div class="override">Reviewer: {o["value"]:.0f}</div><div class="muted">by {esc(o["reviewer"])}, {esc(o["at"])}: {esc(o["reason"])}</div>'
                )
            card.append("</div>")
            cards.append("".join(card))
        body.append('<div class="scores">' + "".join(cards) + "</div>")
        body.append(f'<p class="muted">{esc(SCORE_SCALE_NOTE)}</p>')
        for name in [n for n in SCORES if n in by_name]:
            sc = by_name[name]
            body.append(f"<h3>{esc(score_label(name))}: {esc(fmt_score(sc.score))}</h3>")
            body.append(f'<p class="muted">How it is computed: {esc(SCORE_HELP.get(name, ""))}</p>')
            if sc.reason:
                body.append(f"<p>{esc(sc.reason)}</p>")
            if sc.components:
                body.append(components_html(sc))

    # Timeline
    body.append("<h2>Timeline</h2>")
    body.append(legend_html(report))
    body.append(timeline_svg(report))
    body.append(contour_svg(report, "pitch", "Pitch, semitones from each speaker's usual pitch"))
    body.append(contour_svg(report, "loudness", "Loudness, dB (higher = louder)"))
    kinds: dict[str, int] = {}
    for e in report.events:
        kinds[event_label(e.kind)] = kinds.get(event_label(e.kind), 0) + 1
    if kinds:
        body.append('<p class="muted">Events: ' + esc(", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))) + "</p>")

    # Evidence
    evs = evidence_rows(report)
    body.append("<h2>Evidence moments</h2>")
    if not evs:
        body.append('<p class="muted">No evidence moments (the call was not scored).</p>')
    else:
        body.append("<table><tr><th>Time</th><th>Score / part</th><th>Who</th><th>Quote</th><th>Why</th><th>Effect</th></tr>")
        for ev in evs:
            colour = EFFECT_COLOURS.get(ev["effect"], "#777")
            body.append(
                f"<tr><td>{fmt_time(ev['start'])}</td><td>{esc(score_label(ev['score']))} / {esc(component_label(ev['component']))}</td>"
                f"<td>{esc(ev['who'])}</td><td>{esc(ev['quote'])}</td><td>{esc(ev['why'])}</td>"
                f'<td style="color:{colour}">{esc(EFFECT_LABELS.get(ev["effect"], ev["effect"]))}</td></tr>'
            )
        body.append("</table>")

    # Reviewer notes and overrides
    body.append("<h2>Reviewer notes</h2>")
    if notes:
        body.append("<table><tr><th>When</th><th>Reviewer</th><th>At</th><th>Note</th></tr>")
        for n in notes:
            body.append(
                f"<tr><td>{esc(n['at'])}</td><td>{esc(n['reviewer'])}</td><td>{fmt_time(n.get('start'))}</td><td>{esc(n['text'])}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append('<p class="muted">No notes.</p>')
    if overrides:
        body.append("<h3>Score overrides (history)</h3><table><tr><th>When</th><th>Reviewer</th><th>Score</th><th>Computed</th><th>Override</th><th>Reason</th></tr>")
        for o in overrides:
            computed = by_name.get(o["score"]).score if o["score"] in by_name else None
            body.append(
                f"<tr><td>{esc(o['at'])}</td><td>{esc(o['reviewer'])}</td><td>{esc(score_label(o['score']))}</td>"
                f"<td>{esc(fmt_score(computed))}</td><td>{o['value']:.0f}</td><td>{esc(o['reason'])}</td></tr>"
            )
        body.append("</table>")

    # Transcript
    body.append("<h2>Transcript</h2>")
    per_turn = turn_evidence(report)
    for i, t in enumerate(report.turns):
        role = report.role_of(t.speaker)
        colour = ROLE_COLOURS.get(role, ROLE_COLOURS["unknown"])
        text = highlight_turn(t.text, per_turn.get(i, []))
        body.append(
            f'<div class="turn"><span class="muted">[{fmt_time(t.start)}]</span> '
            f'<span class="who" style="color:{colour}">{esc(speaker_name(role, t.speaker))}:</span> {text}</div>'
        )
    if report.warnings:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in report.warnings) + "</ul>")
    return _page(title, "\n".join(body))


# --------------------------------------------------------------------------------------
# The coaching sheet
# --------------------------------------------------------------------------------------


def coaching_sheet_html(
    agent: str,
    team: str | None,
    calls: pd.DataFrame,
    team_scores: pd.DataFrame,
    components: pd.DataFrame,
    best: pd.DataFrame,
    worst: pd.DataFrame,
    coach: str = "",
) -> str:
    """A one-page coaching sheet for an agent.

    Parameters
    ----------
    agent, team : str
    calls : DataFrame
        The agent's calls in the period (scores per call).
    team_scores : DataFrame
        The team's calls in the period (for medians).
    components : DataFrame
        :func:`dashboard.data.component_means` output.
    best, worst : DataFrame
        :func:`dashboard.data.agent_moments` output.
    coach : str
        Who prepares the session.
    """
    title = f"Coaching sheet: {agent}"
    period = ""
    if not calls.empty and calls["date"].notna().any():
        period = f"{calls['date'].min():%d %b %Y} - {calls['date'].max():%d %b %Y}"
    body = [f"<h1>{esc(title)}</h1>"]
    body.append(
        f'<div class="muted">Team {esc(team or "-")} · {len(calls)} call(s) {esc(period)} · prepared {_now()}'
        + (f" by {esc(coach)}" if coach else "")
        + "</div>"
    )
    body.append("<h2>Scores (median per call)</h2><table><tr><th>Score</th><th>Agent</th><th>Team</th><th>Difference</th></tr>")
    for s in SCORES:
        a = calls[s].median() if s in calls and calls[s].notna().any() else None
        t = team_scores[s].median() if s in team_scores and team_scores[s].notna().any() else None
        diff = "" if a is None or t is None else f"{a - t:+.0f}"
        body.append(f"<tr><td>{esc(score_label(s))}</td><td>{esc(fmt_score(a))}</td><td>{esc(fmt_score(t))}</td><td>{diff}</td></tr>")
    body.append("</table>")
    strong, weak = strongest_weakest(components)
    body.append('<div class="scores">')
    for heading, df in (("Strongest", strong), ("To work on", weak)):
        body.append(f'<div class="card"><h3>{heading}</h3><table>')
        for _, r in df.iterrows():
            team_txt = "" if pd.isna(r.get("team_mean")) else f" (team {r['team_mean']:.0f})"
            body.append(f"<tr><td>{esc(component_label(r['component']))} <span class=\"muted\">{esc(score_label(r['score']))}</span></td><td>{r['agent_mean']:.0f}{esc(team_txt)}</td></tr>")
        if df.empty:
            body.append('<tr><td class="muted">No scored calls yet.</td></tr>')
        body.append("</table></div>")
    body.append("</div>")
    for heading, df in (("Five best moments", best), ("Five moments to discuss", worst)):
        body.append(f"<h2>{heading}</h2>")
        if df.empty:
            body.append('<p class="muted">None in the recent calls.</p>')
            continue
        body.append("<table><tr><th>Call</th><th>At</th><th>Score / part</th><th>Quote</th><th>Why</th></tr>")
        for _, r in df.iterrows():
            body.append(
                f"<tr><td>{esc(r['call_id'])}<br><span class=\"muted\">{esc(str(r['started'])[:10])}</span></td><td>{fmt_time(r['start'])}</td>"
                f"<td>{esc(score_label(r['score']))} / {esc(component_label(r['component']))}</td><td>{esc(r['quote'])}</td><td>{esc(plain_why(r['why']))}</td></tr>"
            )
        body.append("</table>")
    body.append("<h2>Agreed goals</h2>" + '<div class="lines"></div>' * 4)
    return _page(title, "\n".join(body))


def strongest_weakest(components: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The agent's ``n`` best and worst components by mean sub-score (scored components only)."""
    if components.empty:
        return components, components
    df = components.dropna(subset=["agent_mean"]).sort_values(["agent_mean", "score", "component"])
    weak = df.head(n).reset_index(drop=True)
    strong = df.iloc[::-1].head(n)
    strong = strong[~strong.set_index(["score", "component"]).index.isin(weak.set_index(["score", "component"]).index)] if len(df) > n else strong
    return strong.reset_index(drop=True), weak
