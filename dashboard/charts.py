"""Charts: the call timeline with its pitch and loudness contours, and the (Altair) trend charts.

The timeline shows a lane per speaker with their turns, the events of the call
marked on it (overlaps, interruptions, silences, dead air, holds, raised voice,
pitch rises, fast speech, evidence moments), and the two speakers' pitch and
loudness contours aligned underneath on the same time axis. Scrolling / dragging
on it zooms and pans all three rows together. It is drawn in the browser by
``timeline.js`` (a few kilobytes) from :func:`timeline_data`, rather than as a
Vega-Lite chart: the Call review page then loads no chart library, which is most
of what a fresh browser tab used to wait for. The coaching and team charts are
Altair (Vega-Lite).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.records import CallReport, Evidence

if TYPE_CHECKING:
    import altair as alt

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

MAX_CONTOUR_POINTS = 1500
"""Contours longer than this (per speaker) are averaged down for display."""
DISPLAY_RATE_HZ = 5.0
"""Contours are averaged down to about this many points per second for display (the browser draws them faster)."""

# Marks drawn on the timeline and their legend colours.
SPAN_KINDS = ("silence", "dead_air", "hold", "overlap")
SPEAKER_KINDS = ("raised_voice", "pitch_rise", "fast_speech")


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


def evidence_marks(report: CallReport) -> list[tuple[Evidence, str, str]]:
    """Evidence moments to mark on a timeline: (evidence, "Evidence: helped/hurt/noted", why).

    One mark per 0.1 s and effect: the same moment cited by several components is shown once.
    """
    out = []
    seen: set[tuple[float, str]] = set()
    for sc in report.scores:
        for comp in sc.components:
            for ev in comp.evidence:
                key = (round(ev.start, 1), ev.effect)
                if key in seen:
                    continue
                seen.add(key)
                what = {"positive": "Evidence: helped", "negative": "Evidence: hurt"}.get(ev.effect, "Evidence: noted")
                detail = f"{score_label(sc.name)}: {plain_why(ev.why)}" + (f' - "{ev.quote}"' if ev.quote else "")
                out.append((ev, what, detail))
    return out


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
    evidence = [
        {"lane": "Evidence", "what": what, "start": ev.start, "from": fmt_time(ev.start), "detail": detail}
        for ev, what, detail in evidence_marks(report)
    ]
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


def _tip_time(start: float, end: float | None = None) -> list[list[str]]:
    rows = [["From", fmt_time(start)]]
    if end is not None:
        rows.append(["To", fmt_time(end)])
    return rows


def _r(x: float) -> float:
    return round(float(x), 2)


def timeline_data(report: CallReport, max_points: int = MAX_CONTOUR_POINTS, rate_hz: float = DISPLAY_RATE_HZ) -> dict[str, Any]:
    """What the call timeline draws (see ``timeline.js``), as JSON-ready data.

    Returns
    -------
    dict
        ``duration``; ``lanes`` (names, agent first, then 'Evidence' when there is
        evidence); ``legend`` ([label, colour]); ``turns``, ``spans`` (whole-height:
        silences, dead air, holds, overlaps), ``marks`` (per-speaker events),
        ``inter`` (interruptions) and ``evidence``, each a list of
        ``{"l": lane, "s": start, "e": end, "c": colour, "tip": [[label, text], ...]}``;
        ``contours``: per speaker ``{"who", "c", "t0", "dt", "pitch", "loudness"}``, the
        contours averaged down to about ``rate_hz`` points a second and at most
        ``max_points`` per speaker (None = not speaking).
    """
    lane_list = lanes(report)
    lane_idx = {label: i for i, (label, _, _) in enumerate(lane_list)}
    names = [name for _, name, _ in lane_list]
    legend: dict[str, str] = {}
    for label, _, role in lane_list:
        legend.setdefault(who_name(report, label), ROLE_COLOURS.get(role or "unknown", ROLE_COLOURS["unknown"]))
    turns = []
    for t in report.turns:
        if t.speaker not in lane_idx:
            continue
        text = t.text if len(t.text) <= 160 else t.text[:157] + "..."
        turns.append(
            {
                "l": lane_idx[t.speaker],
                "s": _r(t.start),
                "e": _r(max(t.end, t.start + 0.05)),
                "c": ROLE_COLOURS.get(report.role_of(t.speaker) or "unknown", ROLE_COLOURS["unknown"]),
                "tip": [["Speaker", who_name(report, t.speaker)], *_tip_time(t.start, t.end), ["Said", text]],
            }
        )
    spans, marks, inter = [], [], []
    kinds_seen: set[str] = set()
    for e in report.events:
        colour = EVENT_COLOURS.get(e.kind)
        if colour is None:
            continue
        row = {"s": _r(e.start), "e": _r(max(e.end, e.start + 0.1)), "c": colour}
        tip = [["What", event_label(e.kind)], *_tip_time(e.start, e.end)]
        if e.kind in SPAN_KINDS:
            spans.append({**row, "tip": tip + ([["Details", e.detail]] if e.detail else [])})
        elif e.kind in SPEAKER_KINDS and e.speaker in lane_idx:
            marks.append({**row, "l": lane_idx[e.speaker], "tip": tip + ([["Details", e.detail]] if e.detail else [])})
        elif e.kind == "interruption" and e.speaker in lane_idx:
            inter.append({**row, "l": lane_idx[e.speaker], "tip": tip + [["Details", f"{who_name(report, e.speaker)} cut in: {e.detail}"]]})
        else:
            continue
        kinds_seen.add(e.kind)
    for kind in ("overlap", "interruption", "silence", "dead_air", "hold", "raised_voice", "pitch_rise", "fast_speech"):
        if kind in kinds_seen:
            legend.setdefault(event_label(kind), EVENT_COLOURS[kind])
    ev_lane = len(names)
    evidence = [
        {
            "l": ev_lane,
            "s": _r(ev.start),
            "e": _r(ev.start),
            "c": EFFECT_COLOURS.get(ev.effect, EFFECT_COLOURS["neutral"]),
            "tip": [["Evidence", what], ["At", fmt_time(ev.start)], ["Why", detail]],
        }
        for ev, what, detail in evidence_marks(report)
    ]
    for name, effect in (("Evidence: helped", "positive"), ("Evidence: hurt", "negative"), ("Evidence: noted", "neutral")):
        if any(e["c"] == EFFECT_COLOURS[effect] for e in evidence):
            legend.setdefault(name, EFFECT_COLOURS[effect])
    if evidence:
        names.append("Evidence")
    contours = []
    for c in report.contours:
        n = max(len(c.pitch_st), len(c.loudness_db))
        if n == 0 or not c.rate_hz:
            continue
        factor = max(1, math.ceil(n / max_points), int(round(c.rate_hz / rate_hz)))
        series: dict[str, Any] = {
            "who": who_name(report, c.speaker),
            "c": ROLE_COLOURS.get(report.role_of(c.speaker) or "unknown", ROLE_COLOURS["unknown"]),
            "t0": round(c.start + (factor - 1) / 2 / c.rate_hz, 3),
            "dt": round(factor / c.rate_hz, 4),
        }
        for key, values in (("pitch", c.pitch_st), ("loudness", c.loudness_db)):
            arr = _decimate(list(values) + [None] * (n - len(values)), factor)
            series[key] = [None if math.isnan(v) else round(float(v), 2) for v in arr]
        contours.append(series)
    return {
        "duration": _r(max(report.call.duration, 0.0)),
        "lanes": names,
        "legend": [[k, v] for k, v in legend.items()],
        "turns": turns,
        "spans": spans,
        "marks": marks,
        "inter": inter,
        "evidence": evidence,
        "contours": contours,
    }


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no '<', '>' or '&' that could end it)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@functools.lru_cache(maxsize=1)
def _timeline_js() -> str:
    """``timeline.js`` ready to inline: every '<' that starts a tag in its strings written as '\\x3c'.

    Streamlit sanitises ``st.html`` with DOMPurify, which drops a script whose text looks like
    markup ('<' followed by a letter or '/'); in the script, '<' as an operator is always
    followed by a space or '='.
    """
    js = re.sub(r"<(?=[/\w!?])", r"\\x3c", Path(__file__).with_name("timeline.js").read_text(encoding="utf-8"))
    assert not re.search(r"<[/\w!?]", js)
    return js


def timeline_json(report: CallReport) -> str:
    """:func:`timeline_data` as the JSON text :func:`timeline_html` embeds (cache it per report)."""
    return _script_json(timeline_data(report))


def timeline_view(html: str) -> dict[str, Any]:
    """The view (``window``, ``focus``) a :func:`timeline_html` body opens with (for tests and tools)."""
    m = re.search(r'<script type="application/json" id="[^"]+-view">(.*?)</script>', html, re.S)
    return json.loads(m.group(1)) if m else {}


def timeline_html(data_json: str, window: tuple[float, float] | None = None, focus: tuple[float, float] | None = None) -> str:
    """The interactive call timeline as HTML for ``st.html(..., unsafe_allow_javascript=True)``.

    Parameters
    ----------
    data_json : str
        :func:`timeline_json` of the call.
    window : (float, float), optional
        The time span shown first, seconds (default: the whole call); the reviewer can
        zoom and pan from there, and double-click to come back to it.
    focus : (float, float), optional
        The moment being played, marked on every row.
    """
    view = {
        "window": [float(window[0]), float(window[1])] if window else None,
        "focus": {"s": float(focus[0]), "e": float(focus[1])} if focus else None,
    }
    view_json = _script_json(view)
    uid = "crtl-" + hashlib.sha1((data_json + view_json).encode("utf-8")).hexdigest()[:12]
    return (
        f'<div class="cr-timeline" id="{uid}" style="min-height:380px"></div>'
        f'<script type="application/json" id="{uid}-data">{data_json}</script>'
        f'<script type="application/json" id="{uid}-view">{view_json}</script>'
        f"<script>{_timeline_js()}({json.dumps(uid)});</script>"
    )


# --------------------------------------------------------------------------------------
# Coaching and team charts
# --------------------------------------------------------------------------------------


def _altair():
    """Altair, imported on first use: only the coaching and team pages draw with it (the import
    takes about half a second, which the Calls and Call review pages need not wait for)."""
    import altair as alt

    alt.data_transformers.disable_max_rows()
    return alt


def _score_colours() -> alt.Scale:
    alt = _altair()
    return alt.Scale(domain=[score_label(s) for s in SCORES], range=["#0072B2", "#009E73", "#CC79A7", "#E69F00"])


def agent_trend_chart(calls: pd.DataFrame, team_weekly: pd.DataFrame, agent: str) -> alt.FacetChart:
    """An agent's scores per call over time against the team's weekly median (one panel per score)."""
    alt = _altair()
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
    alt = _altair()
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
    alt = _altair()
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
    alt = _altair()
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
