"""Altair charts: the call timeline with its pitch and loudness contours, and the trend charts.

The timeline is one Vega-Lite figure: a lane per speaker with their turns, the
events of the call marked on it (overlaps, interruptions, silences, dead air,
holds, raised voice, pitch rises, fast speech, evidence moments), and the two
speakers' pitch and loudness contours aligned underneath on the same time axis.
Dragging / scrolling on it pans and zooms all three rows together.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis.records import CallReport

from .style import (
    EFFECT_COLOURS,
    EVENT_COLOURS,
    ROLE_COLOURS,
    SCORES,
    event_label,
    fmt_time,
    plain_why,
    score_label,
    speaker_name,
)

alt.data_transformers.disable_max_rows()

TIME_LABEL = "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + floor(datum.value % 60)"
TIMELINE_WIDTH = 880
MAX_CONTOUR_POINTS = 2000
"""Contours longer than this (per speaker) are averaged down for display."""
DISPLAY_RATE_HZ = 5.0
"""Contours are averaged down to about this many points per second for display (the browser draws them faster)."""

# Marks drawn on the timeline and their legend colours.
SPAN_KINDS = ("silence", "dead_air", "hold", "overlap")
SPEAKER_KINDS = ("raised_voice", "pitch_rise", "fast_speech")


def _legend_scale(who: list[str], present: set[str] | None = None) -> alt.Scale:
    """One colour scale for speakers, events and evidence (only what ``present`` names, when given)."""
    domain = list(who)
    rng = [ROLE_COLOURS.get(w.split(" ")[0].lower(), ROLE_COLOURS["unknown"]) for w in who]
    for kind in ("overlap", "interruption", "silence", "dead_air", "hold", "raised_voice", "pitch_rise", "fast_speech"):
        if present is None or event_label(kind) in present:
            domain.append(event_label(kind))
            rng.append(EVENT_COLOURS[kind])
    for name, effect in (("Evidence: helped", "positive"), ("Evidence: hurt", "negative"), ("Evidence: noted", "neutral")):
        if present is None or name in present:
            domain.append(name)
            rng.append(EFFECT_COLOURS[effect])
    return alt.Scale(domain=domain, range=rng)


def lanes(report: CallReport) -> list[tuple[str, str, str]]:
    """The timeline's lanes: (speaker label, lane name, role), agent first."""
    order = {"agent": 0, "customer": 1, "unknown": 2}
    out = []
    for s in sorted(report.speakers, key=lambda s: (order.get(s.role, 3), s.label)):
        name = speaker_name(s.role, s.label)
        if s.role in ("agent", "customer") and s.channel is not None:
            name += f" ({s.label})"
        out.append((s.label, name, s.role))
    return out


def who_name(report: CallReport, label: str | None) -> str:
    """Legend name of a speaker: 'Agent', 'Customer' or 'Speaker S0'."""
    return speaker_name(report.role_of(label), label)


def timeline_frames(report: CallReport) -> dict[str, pd.DataFrame]:
    """The data behind the timeline, as tables (also used by the printable report).

    Returns
    -------
    dict
        ``turns`` (lane, who, start, end, text), ``spans`` (whole-height: silences,
        dead air, holds, overlaps), ``marks`` (per-speaker events), ``interruptions``,
        ``evidence`` (lane 'Evidence') and ``contours`` (t, who, pitch, loudness).
    """
    lane_of = {label: name for label, name, _ in lanes(report)}
    turns = pd.DataFrame(
        [
            {
                "lane": lane_of.get(t.speaker, t.speaker),
                "what": who_name(report, t.speaker),
                "start": t.start,
                "end": max(t.end, t.start + 0.05),
                "from": fmt_time(t.start),
                "to": fmt_time(t.end),
                "text": t.text if len(t.text) <= 160 else t.text[:157] + "...",
            }
            for t in report.turns
        ],
        columns=["lane", "what", "start", "end", "from", "to", "text"],
    )
    spans, marks, inter = [], [], []
    for e in report.events:
        row = {
            "what": event_label(e.kind),
            "start": e.start,
            "end": max(e.end, e.start + 0.1),
            "from": fmt_time(e.start),
            "to": fmt_time(e.end),
            "detail": e.detail,
        }
        if e.kind in SPAN_KINDS:
            spans.append(row)
        elif e.kind in SPEAKER_KINDS and e.speaker in lane_of:
            marks.append({**row, "lane": lane_of[e.speaker]})
        elif e.kind == "interruption" and e.speaker in lane_of:
            inter.append({**row, "lane": lane_of[e.speaker], "detail": f"{who_name(report, e.speaker)} cut in: {e.detail}"})
    evidence = []
    seen: set[tuple[float, str]] = set()
    for sc in report.scores:
        for comp in sc.components:
            for ev in comp.evidence:
                key = (round(ev.start, 1), ev.effect)
                if key in seen:
                    continue
                seen.add(key)
                evidence.append(
                    {
                        "lane": "Evidence",
                        "what": {"positive": "Evidence: helped", "negative": "Evidence: hurt"}.get(ev.effect, "Evidence: noted"),
                        "start": ev.start,
                        "from": fmt_time(ev.start),
                        "detail": f"{score_label(sc.name)}: {plain_why(ev.why)}" + (f' - "{ev.quote}"' if ev.quote else ""),
                    }
                )
    cols = ["what", "start", "end", "from", "to", "detail"]
    return {
        "turns": turns,
        "spans": pd.DataFrame(spans, columns=cols),
        "marks": pd.DataFrame(marks, columns=cols + ["lane"]),
        "interruptions": pd.DataFrame(inter, columns=cols + ["lane"]),
        "evidence": pd.DataFrame(evidence, columns=["lane", "what", "start", "from", "detail"]),
        "contours": contour_frame(report),
    }


def _decimate(values: list[float | None], factor: int) -> np.ndarray:
    """Means of consecutive blocks of ``factor`` samples (None/NaN ignored; all-NaN blocks stay NaN)."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if factor <= 1:
        return arr
    n = len(arr) // factor * factor
    blocks = arr[:n].reshape(-1, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN blocks: not speaking
        return np.nanmean(blocks, axis=1)


def contour_frame(report: CallReport, max_points: int = MAX_CONTOUR_POINTS, rate_hz: float = DISPLAY_RATE_HZ) -> pd.DataFrame:
    """Pitch and loudness contours of every speaker, long format: t, who, pitch, loudness (NaN = not speaking)."""
    parts = []
    for c in report.contours:
        n = max(len(c.pitch_st), len(c.loudness_db))
        if n == 0:
            continue
        factor = max(1, math.ceil(n / max_points), int(round(c.rate_hz / rate_hz)))
        pitch = _decimate(list(c.pitch_st) + [None] * (n - len(c.pitch_st)), factor)
        loud = _decimate(list(c.loudness_db) + [None] * (n - len(c.loudness_db)), factor)
        t = c.start + (np.arange(len(pitch)) * factor + (factor - 1) / 2) / c.rate_hz
        parts.append(pd.DataFrame({"t": np.round(t, 2), "who": who_name(report, c.speaker), "pitch": pitch, "loudness": loud}))
    if not parts:
        return pd.DataFrame(columns=["t", "who", "pitch", "loudness"])
    df = pd.concat(parts, ignore_index=True)
    return df.astype({"pitch": float, "loudness": float})


def timeline_chart(
    report: CallReport, window: tuple[float, float] | None = None, focus: tuple[float, float] | None = None, width: int = 880
) -> alt.VConcatChart:
    """The zoomable timeline with aligned pitch and loudness contours.

    Parameters
    ----------
    report : CallReport
    window : (float, float), optional
        Visible time span, seconds (default: the whole call). Used to jump to a moment.
    focus : (float, float), optional
        A moment to mark (the evidence being played).
    width : int
        Width of the plots, pixels (lane names and axes come on top of it). Vega-Lite cannot
        fit stacked charts to their container, so the width is fixed.

    Returns
    -------
    altair.VConcatChart
    """
    frames = timeline_frames(report)
    duration = max(report.call.duration, 1.0)
    domain = list(window) if window else [0.0, duration]
    lane_names = [name for _, name, _ in lanes(report)]
    lane_order = lane_names + (["Evidence"] if not frames["evidence"].empty else [])
    who = [who_name(report, label) for label, _, _ in lanes(report)]
    present = set()
    for key in ("spans", "marks", "interruptions", "evidence"):
        present |= set(frames[key]["what"])
    colour = _legend_scale(list(dict.fromkeys(who)), present)
    x_axis = alt.Axis(title=None, labelExpr=TIME_LABEL, grid=True, labelFlush=True)
    x_scale = alt.Scale(domain=domain, nice=False, zero=False)
    zoom = alt.selection_interval(bind="scales", encodings=["x"], name="zoom")
    y_lane = alt.Y("lane:N", sort=lane_order, scale=alt.Scale(domain=lane_order), title=None, axis=alt.Axis(labelLimit=160))
    colour_enc = alt.Color(
        "what:N", scale=colour, title=None, legend=alt.Legend(orient="top", columns=6, symbolType="square", labelLimit=140)
    )
    tooltip_span = [alt.Tooltip("what:N", title="What"), alt.Tooltip("from:N", title="From"), alt.Tooltip("to:N", title="To"), alt.Tooltip("detail:N", title="Details")]

    layers: list[alt.Chart] = []
    if not frames["spans"].empty:
        layers.append(
            alt.Chart(frames["spans"])
            .mark_rect(clip=True, opacity=0.35)
            .encode(x=alt.X("start:Q", scale=x_scale, axis=x_axis), x2="end:Q", color=colour_enc, tooltip=tooltip_span)
        )
    layers.append(
        alt.Chart(frames["turns"])
        .mark_bar(clip=True, height={"band": 0.55}, cornerRadius=2)
        .encode(
            x=alt.X("start:Q", scale=x_scale, axis=x_axis),
            x2="end:Q",
            y=y_lane,
            color=colour_enc,
            tooltip=[alt.Tooltip("what:N", title="Speaker"), alt.Tooltip("from:N", title="From"), alt.Tooltip("to:N", title="To"), alt.Tooltip("text:N", title="Said")],
        )
    )
    if not frames["marks"].empty:
        layers.append(
            alt.Chart(frames["marks"])
            .mark_bar(clip=True, height={"band": 0.85}, filled=False, strokeWidth=2.5)
            .encode(x="start:Q", x2="end:Q", y=y_lane, stroke=alt.Stroke("what:N", scale=colour, legend=None), tooltip=tooltip_span + [])
        )
    if not frames["interruptions"].empty:
        layers.append(
            alt.Chart(frames["interruptions"])
            .mark_point(clip=True, shape="triangle-down", size=140, filled=True, opacity=1, yOffset=-12)
            .encode(x="start:Q", y=y_lane, color=colour_enc, tooltip=tooltip_span)
        )
    if not frames["evidence"].empty:
        layers.append(
            alt.Chart(frames["evidence"])
            .mark_point(clip=True, shape="diamond", size=110, filled=True, opacity=0.95)
            .encode(
                x="start:Q",
                y=y_lane,
                color=colour_enc,
                tooltip=[alt.Tooltip("what:N", title="Evidence"), alt.Tooltip("from:N", title="At"), alt.Tooltip("detail:N", title="Why")],
            )
        )
    if focus is not None:
        fdf = pd.DataFrame([{"start": focus[0], "end": max(focus[1], focus[0] + 0.2), "label": f"Playing from {fmt_time(focus[0])}"}])
        layers.append(alt.Chart(fdf).mark_rect(clip=True, opacity=0.15, color="#000000").encode(x="start:Q", x2="end:Q"))
        layers.append(alt.Chart(fdf).mark_rule(clip=True, strokeWidth=2, strokeDash=[4, 3], color="#000000").encode(x="start:Q", tooltip=["label:N"]))
    lane_height = 34
    top = alt.layer(*layers).properties(
        height=lane_height * len(lane_order) + 20, width=width, title="Who spoke when (drag to pan, scroll to zoom)"
    )
    top = top.add_params(zoom)

    contours = frames["contours"]
    rows: list[alt.Chart] = [top]
    if not contours.empty:
        base = alt.Chart(contours).encode(
            x=alt.X("t:Q", scale=x_scale, axis=x_axis),
            color=alt.Color("who:N", scale=colour, legend=None),
        )
        pitch = base.mark_line(clip=True, strokeWidth=1.4).encode(
            y=alt.Y("pitch:Q", title="Pitch (st)", axis=alt.Axis(titleFontSize=11)),
            tooltip=[alt.Tooltip("who:N", title="Speaker"), alt.Tooltip("t:Q", title="Second", format=".1f"), alt.Tooltip("pitch:Q", title="Semitones from usual", format=".1f")],
        ).properties(height=110, width=width, title="Pitch, in semitones from each speaker's usual pitch")
        loud = base.mark_line(clip=True, strokeWidth=1.4).encode(
            y=alt.Y("loudness:Q", title="Loudness (dB)", scale=alt.Scale(zero=False), axis=alt.Axis(titleFontSize=11)),
            tooltip=[alt.Tooltip("who:N", title="Speaker"), alt.Tooltip("t:Q", title="Second", format=".1f"), alt.Tooltip("loudness:Q", title="dBFS", format=".1f")],
        ).properties(height=110, width=width, title="Loudness (dB; higher = louder)")
        rows += [pitch, loud]
    return alt.vconcat(*rows, spacing=8).resolve_scale(x="shared", color="shared").configure_view(strokeWidth=0).configure_title(
        fontSize=13, anchor="start"
    )


def timeline_spec(report: CallReport) -> dict[str, Any]:
    """The timeline of the whole call as a Vega-Lite spec (dict); cache it per report and
    move it with :func:`focus_spec` (building the Altair chart is the slow part of a review)."""
    return timeline_chart(report).to_dict(validate=False)


def focus_spec(spec: dict[str, Any], window: tuple[float, float] | None, focus: tuple[float, float] | None) -> dict[str, Any]:
    """A copy of a :func:`timeline_spec` showing ``window`` (seconds) with the moment ``focus`` marked."""
    out = copy.deepcopy(spec)
    if window is not None:
        for enc in _encodings(out):
            scale = enc.get("x", {}).get("scale") if isinstance(enc.get("x"), dict) else None
            if isinstance(scale, dict) and "domain" in scale:
                scale["domain"] = [float(window[0]), float(window[1])]
    if focus is not None and out.get("vconcat"):
        top = out["vconcat"][0]
        values = [{"start": focus[0], "end": max(focus[1], focus[0] + 0.2), "label": f"Playing from {fmt_time(focus[0])}"}]
        top.setdefault("layer", []).extend(
            [
                {"data": {"values": values}, "mark": {"type": "rect", "opacity": 0.15, "color": "#000000", "clip": True},
                 "encoding": {"x": {"field": "start", "type": "quantitative"}, "x2": {"field": "end"}}},
                {"data": {"values": values}, "mark": {"type": "rule", "strokeWidth": 2, "strokeDash": [4, 3], "color": "#000000", "clip": True},
                 "encoding": {"x": {"field": "start", "type": "quantitative"}, "tooltip": [{"field": "label", "type": "nominal"}]}},
            ]
        )
    return out


def _encodings(spec: Any):
    """Every ``encoding`` mapping in a Vega-Lite spec."""
    if isinstance(spec, dict):
        if isinstance(spec.get("encoding"), dict):
            yield spec["encoding"]
        for key, value in spec.items():
            if key not in ("datasets", "data", "encoding"):
                yield from _encodings(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _encodings(value)


# --------------------------------------------------------------------------------------
# Coaching and team charts
# --------------------------------------------------------------------------------------


def _score_colours() -> alt.Scale:
    return alt.Scale(domain=[score_label(s) for s in SCORES], range=["#0072B2", "#009E73", "#CC79A7", "#E69F00"])


def agent_trend_chart(calls: pd.DataFrame, team_weekly: pd.DataFrame, agent: str) -> alt.FacetChart:
    """An agent's scores per call over time against the team's weekly median (one panel per score)."""
    long = calls.melt(id_vars=["date", "call_id"], value_vars=list(SCORES), var_name="score", value_name="value").dropna(subset=["value"])
    long["series"] = agent
    team = team_weekly.rename(columns={"week": "date", "median": "value"})[["date", "score", "value", "calls"]].copy()
    team["series"] = "Team median (week)"
    team["call_id"] = ""
    df = pd.concat([long.assign(calls=1), team], ignore_index=True)
    df["Score"] = df["score"].map(score_label)
    series = alt.Scale(domain=[agent, "Team median (week)"], range=[ROLE_COLOURS["agent"], "#555555"])
    base = alt.Chart().encode(
        x=alt.X("date:T", title=None),
        y=alt.Y("value:Q", title="Score", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("series:N", scale=series, title=None, legend=alt.Legend(orient="top")),
    )
    agent_points = base.transform_filter(alt.datum.series == agent).mark_line(point=alt.OverlayMarkDef(size=45), opacity=0.8).encode(
        tooltip=[alt.Tooltip("call_id:N", title="Call"), alt.Tooltip("date:T", title="Date"), alt.Tooltip("value:Q", title="Score", format=".0f")]
    )
    team_line = base.transform_filter(alt.datum.series != agent).mark_line(strokeDash=[5, 3]).encode(
        tooltip=[alt.Tooltip("date:T", title="Week of"), alt.Tooltip("value:Q", title="Team median", format=".0f"), alt.Tooltip("calls:Q", title="Team calls")]
    )
    return (
        alt.layer(team_line, agent_points, data=df)
        .properties(width=280, height=170)
        .facet(facet=alt.Facet("Score:N", sort=[score_label(s) for s in SCORES], title=None), columns=2)
    )


def distribution_chart(scores: pd.DataFrame) -> alt.FacetChart:
    """Histogram of each score over the selected calls."""
    long = scores.melt(value_vars=list(SCORES), var_name="score", value_name="value").dropna(subset=["value"])
    long["Score"] = long["score"].map(score_label)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", bin=alt.Bin(extent=[0, 100], step=10), title="Score"),
            y=alt.Y("count():Q", title="Calls"),
            color=alt.Color("Score:N", scale=_score_colours(), legend=None),
            tooltip=[alt.Tooltip("count():Q", title="Calls")],
        )
        .properties(width=230, height=150)
        .facet(facet=alt.Facet("Score:N", sort=[score_label(s) for s in SCORES], title=None), columns=4)
    )


def agents_chart(scores: pd.DataFrame) -> alt.FacetChart:
    """Agents side by side: box plot of each score per agent."""
    long = scores.melt(id_vars=["agent"], value_vars=list(SCORES), var_name="score", value_name="value").dropna(subset=["value", "agent"])
    long["Score"] = long["score"].map(score_label)
    return (
        alt.Chart(long)
        .mark_boxplot(extent="min-max", size=14)
        .encode(
            y=alt.Y("agent:N", title=None, sort="ascending"),
            x=alt.X("value:Q", title="Score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("Score:N", scale=_score_colours(), legend=None),
        )
        .properties(width=230, height=alt.Step(22))
        .facet(column=alt.Column("Score:N", sort=[score_label(s) for s in SCORES], title=None))
    )


def weekly_trend_chart(weekly: pd.DataFrame) -> alt.Chart:
    """Median of each score per week."""
    df = weekly.copy()
    df["Score"] = df["score"].map(score_label)
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="Week starting", axis=alt.Axis(format="%d %b", tickCount="week")),
            y=alt.Y("median:Q", title="Median score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("Score:N", scale=_score_colours(), title=None),
            tooltip=[
                alt.Tooltip("Score:N"),
                alt.Tooltip("week:T", title="Week of"),
                alt.Tooltip("median:Q", title="Median", format=".0f"),
                alt.Tooltip("calls:Q", title="Calls"),
            ],
        )
        .properties(height=260, width="container")
    )
