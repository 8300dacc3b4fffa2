"""Call review: scores with their parts, timeline and contours, transcript, evidence, notes, overrides, exports."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from analysis.errors import CallReviewError
from analysis.records import CallReport
from dashboard import data, ui
from dashboard.charts import timeline_html, timeline_json
from dashboard.errors import CallNotFoundError, DashboardError
from dashboard.report_html import call_report_html, components_html, esc, evidence_rows, highlight_turn, turn_evidence
from dashboard.style import (
    EFFECT_COLOURS,
    EFFECT_ICONS,
    EFFECT_LABELS,
    ROLE_COLOURS,
    SCORE_HELP,
    SCORE_SCALE_NOTE,
    SCORES,
    component_label,
    fmt_score,
    fmt_time,
    plain_why,
    score_label,
    speaker_name,
)

log = logging.getLogger(__name__)

WINDOW = 15.0  # seconds shown either side of a moment when the timeline jumps to it
PARTS_CELL = "text-align:left;padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top;font-size:0.85em"


@st.cache_data(show_spinner=False, max_entries=64)
def timeline_base(folder: str, call_id: str, report_path: str, analysed_at: str | None) -> str:
    """The timeline data of a call (JSON), built once per report (the arguments are the cache key)."""
    row = data.call_row(folder, data.data_token(folder), call_id)
    return timeline_json(data.call_report(folder, row))


# --------------------------------------------------------------------------------------
# State: which moment is being played
# --------------------------------------------------------------------------------------


def focus_for(call_key: str) -> dict[str, Any] | None:
    """The moment being played in this call, if any."""
    f = st.session_state.get("focus")
    return f if f and f.get("call_key") == call_key else None


def jump(call_key: str, start: float, end: float, label: str) -> None:
    """Button callback: play the call from ``start`` and move the timeline there."""
    nonce = int(st.session_state.get("focus_nonce", 0)) + 1
    st.session_state["focus_nonce"] = nonce
    st.session_state["focus"] = {"call_key": call_key, "start": float(start), "end": float(end), "label": label, "nonce": nonce, "play": True}
    st.session_state["timeline_whole"] = False


def flash(message: str) -> None:
    """A success message shown once on the next run."""
    st.session_state["review_flash"] = message


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def header(row: dict[str, Any], report: CallReport) -> None:
    info = report.call
    st.title(f"Call review · {info.call_id}")
    bits = [
        f"Agent **{row.get('agent') or 'unknown'}**",
        f"team **{row.get('team') or '-'}**",
        str(row.get("started_at") or info.analysed_at)[:16].replace("T", " "),
        f"{fmt_time(info.duration)} long",
        {"dual": "two-channel recording", "mono": "single-channel recording"}.get(info.layout, info.layout + " recording"),
    ]
    st.markdown(" · ".join(bits))
    roles = info.roles
    chips = " &nbsp; ".join(
        ui.speaker_chip(speaker_name(s.role, s.label) + (f" ({s.label})" if s.channel is not None else ""), s.role) for s in report.speakers
    )
    st.html(
        f"<div>Speakers: {chips} <span style='opacity:.7'>— roles decided by {esc(roles.method)}"
        f"{f', confidence {roles.confidence:.0%}' if roles.method == 'content' else ''}</span></div>"
    )
    m = report.metrics
    agent = next((s.label for s in report.speakers if s.role == "agent"), None)
    sm = {s.speaker: s for s in m.speakers}
    facts = []
    if agent in sm:
        facts.append(f"agent talked {sm[agent].talk_share:.0%} of the time")
        facts.append(f"interrupted the customer {sm[agent].interruptions_made}x")
    counts: dict[str, int] = {}
    for e in report.events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    facts.append(f"{counts.get('raised_voice', 0)} raised-voice moment(s)")
    facts.append(f"{counts.get('dead_air', 0)} dead air, {counts.get('hold', 0)} hold(s)")
    facts.append(f"longest silence {m.call.longest_silence:.0f} s")
    st.caption("Key facts: " + " · ".join(facts))
    if report.warnings:
        with st.expander(f"{len(report.warnings)} note(s) from the analysis", icon=":material/warning:"):
            for w in report.warnings:
                st.markdown(f"- {w}")


SCORE_CARDS_CSS = """<style>
.cr-scorebox{position:relative}
.cr-scorebox>input{position:absolute;opacity:0;width:1px;height:1px;pointer-events:none}
.cr-scores{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:1rem}
.cr-score{border:1px solid rgba(128,128,128,.35);border-radius:.5rem;padding:.8rem 1rem;min-width:0}
.cr-score .lbl{font-size:.875rem}
.cr-score .val{font-size:2.25rem;line-height:1.3}
.cr-score .cap{font-size:.8rem;opacity:.65;margin-bottom:.4rem}
.cr-score .ovr{font-size:.875rem;margin:.3rem 0 .5rem}.cr-score .ovr b{color:#E07000}
.cr-score label{display:block;cursor:pointer;font-size:.875rem;border:1px solid rgba(128,128,128,.3);border-radius:.5rem;padding:.35rem .7rem;margin-top:.3rem}
.cr-score label::before{content:"\\25B8  "}
.cr-panel{display:none;margin-top:.75rem;border:1px solid rgba(128,128,128,.35);border-radius:.5rem;padding:.6rem 1rem;font-size:.875rem}
.cr-panel p{margin:.3rem 0}
</style>"""


def score_cards_html(report: CallReport, latest: dict[str, dict[str, Any]]) -> str:
    """The four score cards as one HTML block: score, who computed it, the reviewer's score, and
    *How this score is computed*, which shows a panel under the cards (explanation, this call's
    reason, the parts table); a toggle each, drawn with CSS alone.

    One element instead of some thirty Streamlit elements (metrics, captions, expanders), which the
    browser draws several times faster.
    """
    by_name = {s.name: s for s in report.scores}
    toggles, cards, panels, css = [], [], [], []
    for name in SCORES:
        sc = by_name.get(name)
        value = sc.score if sc else None
        caption = "computed by callreview" if value is not None else (sc.reason if sc else "not in this report")
        parts = [
            f'<div class="cr-score" data-score="{name}"><div class="lbl" title="{esc(SCORE_HELP.get(name, ""))}">{esc(score_label(name))}</div>'
            f'<div class="val">{esc(fmt_score(value))}</div><div class="cap">{esc(caption)}</div>'
        ]
        if name in latest:
            o = latest[name]
            parts.append(
                f'<div class="ovr"><b>Reviewer score: {o["value"]:.0f}</b><br>by {esc(o["reviewer"])}, '
                f'{esc(str(o["at"])[:16].replace("T", " "))}<br><i>{esc(o["reason"])}</i></div>'
            )
        if sc is not None:
            box = f"cr-how-{name}"
            toggles.append(f'<input type="checkbox" id="{box}" aria-controls="{box}-panel">')
            parts.append(f'<label for="{box}">How this score is computed</label>')
            panel = [
                f'<div class="cr-panel" id="{box}-panel" data-score="{name}"><p><b>{esc(score_label(name))}.</b> {esc(SCORE_HELP.get(name, ""))}</p>'
                f"<p>{esc(SCORE_SCALE_NOTE)}</p>"
            ]
            if sc.reason:
                panel.append(f"<p><b>This call:</b> {esc(sc.reason)}</p>")
            if sc.components:
                panel.append(components_html(sc, PARTS_CELL))
            panel.append("</div>")
            panels.append("".join(panel))
            css.append(
                f"#{box}:checked~.cr-panels #{box}-panel{{display:block}}"
                f"#{box}:checked~.cr-scores label[for={box}]{{background:rgba(128,128,128,.15)}}"
                f"#{box}:checked~.cr-scores label[for={box}]::before{{content:'\\25BE  '}}"
                f"#{box}:focus-visible~.cr-scores label[for={box}]{{outline:2px solid #0072B2}}"
            )
        parts.append("</div>")
        cards.append("".join(parts))
    return (
        SCORE_CARDS_CSS.replace("</style>", "".join(css) + "</style>")
        + '<div class="cr-scorebox">' + "".join(toggles)
        + '<div class="cr-scores">' + "".join(cards) + '</div><div class="cr-panels">' + "".join(panels) + "</div></div>"
    )


def scores_section(report: CallReport, latest: dict[str, dict[str, Any]]) -> None:
    st.subheader("Scores")
    if not report.scores:
        st.info(
            "This call has no scores: its report was written without the scoring stage. "
            "Re-analyse it with a current callreview (`callreview batch ... --out DIR`) to score it.",
            icon=":material/info:",
        )
        return
    st.html(score_cards_html(report, latest))


def timeline_section(folder: str, row: dict[str, Any], report: CallReport, focus: dict[str, Any] | None) -> None:
    st.subheader("Timeline")
    c1, c2 = st.columns([4, 1])
    with c1:
        if focus:
            with st.container(key=f"player_{focus['nonce']}"):
                ui.audio_player(folder, row, start=focus["start"], autoplay=focus.get("play", False))
            st.caption(f"▶ Playing from **{fmt_time(focus['start'])}** — {focus['label']}")
        else:
            with st.container(key="player_0"):
                ui.audio_player(folder, row)
            st.caption("Press ▶ on an evidence moment below to play the call from there; the timeline jumps to it.")
    whole = st.session_state.get("timeline_whole", False) or not focus
    if focus and c2.button("Show the whole call", key="timeline_whole_btn", icon=":material/zoom_out_map:"):
        st.session_state["timeline_whole"] = True
        whole = True
    window = None
    if not whole and focus:
        window = (max(0.0, focus["start"] - WINDOW), min(report.call.duration, focus["end"] + WINDOW))
    base = timeline_base(folder, row["call_id"], str(row.get("report_path")), row.get("analysed_at"))
    st.html(timeline_html(base, window, (focus["start"], focus["end"]) if focus else None), unsafe_allow_javascript=True)


def group_moments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence rows of the same moment (time, speaker, quote) merged: one entry with all the score parts it counts for."""
    groups: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (round(r["start"], 1), r["speaker"], r["quote"])
        g = groups.setdefault(key, {**r, "items": []})
        g["end"] = max(g["end"], r["end"])
        g["items"].append(r)
    return sorted(groups.values(), key=lambda g: g["start"])


def evidence_section(report: CallReport, call_key: str) -> None:
    st.subheader("Evidence")
    rows = evidence_rows(report)
    if not rows:
        st.info("No evidence moments: this call has no scores yet.", icon=":material/info:")
        return
    c1, c2 = st.columns(2)
    which = c1.selectbox("Score", ["All scores"] + [score_label(s) for s in SCORES], key="ev_score")
    effects = {
        "Hurt or helped the score": ("negative", "positive"),
        "Hurt the score": ("negative",),
        "Helped the score": ("positive",),
        "All moments (also those only noted)": ("negative", "positive", "neutral"),
    }
    effect = c2.selectbox("Effect", list(effects), key="ev_effect")
    keep = [
        r
        for r in rows
        if (which == "All scores" or score_label(r["score"]) == which) and r["effect"] in effects[effect]
    ]
    moments = group_moments(keep)
    st.caption(f"{len(moments)} moment(s). ▶ plays the call from the moment and moves the timeline there.")
    if not moments:
        st.info("No moment of this kind; choose another score or effect.", icon=":material/filter_alt_off:")
    with st.container(height=520, key="evidence_list"):
        for i, m in enumerate(moments):
            row = st.container(horizontal=True, wrap=False, vertical_alignment="top", gap="small")  # 3 elements a moment, not 5 (columns)
            first = m["items"][0]
            label = f"{score_label(first['score'])} · {component_label(first['component'])}"
            row.button(
                f"▶ {fmt_time(m['start'])}",
                key=f"ev_play_{i}",
                on_click=jump,
                args=(call_key, m["start"], m["end"], f"{label}: {plain_why(first['why'])}"),
                width=84,
            )
            who = ui.speaker_chip(m["who"], report.role_of(m["speaker"])) if m["who"] else ""
            quote = f" “{esc(m['quote'])}”" if m["quote"] else ""
            lines = [f"{who}{quote}"] if (who or quote) else []
            for r in m["items"]:
                colour = EFFECT_COLOURS.get(r["effect"], "#777")
                lines.append(
                    f"{EFFECT_ICONS.get(r['effect'], '')} <span style='color:{colour};font-weight:600'>"
                    f"{esc(score_label(r['score']))} · {esc(component_label(r['component']))}</span> "
                    f"<span style='opacity:.7'>({EFFECT_LABELS.get(r['effect'], r['effect'])})</span> — {esc(plain_why(r['why']))}"
                )
            row.html("<div style='line-height:1.45'>" + "<br>".join(lines) + "</div>")


def transcript_section(report: CallReport, focus: dict[str, Any] | None) -> None:
    st.subheader("Transcript")
    if not report.turns:
        st.info("Nobody was heard speaking in this recording.", icon=":material/info:")
        return
    per_turn = turn_evidence(report)
    parts = []
    for i, t in enumerate(report.turns):
        role = report.role_of(t.speaker)
        colour = ROLE_COLOURS.get(role, ROLE_COLOURS["unknown"])
        marks = per_turn.get(i, [])
        text = highlight_turn(t.text, marks)
        playing = focus is not None and t.start - 0.5 <= focus["start"] <= t.end + 0.5
        style = "padding:3px 6px;margin:2px 0;border-left:3px solid "
        style += "currentColor;background:rgba(128,128,128,.16)" if playing else (f"{EFFECT_COLOURS.get(marks[0]['effect'], '#ccc')}" if marks else "transparent")
        parts.append(
            f'<div style="{style}" data-start="{t.start:.2f}"><span style="color:#888;font-size:0.85em">{fmt_time(t.start)}</span> '
            f'<b style="color:{colour}">{esc(speaker_name(role, t.speaker))}</b>: {text}</div>'
        )
    with st.container(height=520, key="transcript"):
        st.html("".join(parts))
    st.caption("Highlighted words are evidence for a score (hover for why); a coloured bar marks turns with evidence.")


def notes_section(folder: str, row: dict[str, Any], notes: list[dict[str, Any]], focus: dict[str, Any] | None) -> None:
    st.subheader("Reviewer notes")
    if notes:
        for n in notes:
            at = f" at {fmt_time(n['start'])}" if n.get("start") is not None else ""
            st.markdown(f"**{n['reviewer']}** · {str(n['at'])[:16].replace('T', ' ')}{at}  \n{n['text']}")
    else:
        st.caption("No notes yet.")
    with st.form("note_form", clear_on_submit=True):
        text = st.text_area("Add a note", key="note_text", placeholder="What should the agent keep doing or change?")
        attach = False
        if focus:
            attach = st.checkbox(f"Attach to the moment being played ({fmt_time(focus['start'])})", value=True, key="note_attach")
        if st.form_submit_button("Save note", icon=":material/note_add:", key="note_save"):
            try:
                data.add_note(folder, row["call_key"], ui.reviewer(), text, start=focus["start"] if (focus and attach) else None)
            except CallReviewError as exc:  # ReviewInputError, CatalogError
                st.error(str(exc))
            else:
                flash("Note saved.")
                st.rerun()


def overrides_section(folder: str, row: dict[str, Any], report: CallReport, overrides: list[dict[str, Any]]) -> None:
    st.subheader("Override a score")
    st.caption("Your score is stored next to the computed one, with your name, the time and your reason; the computed score is kept.")
    by_name = {s.name: s for s in report.scores}
    with st.form("override_form", clear_on_submit=True):
        score = st.selectbox("Score", list(SCORES), format_func=score_label, key="ovr_score")
        value = st.number_input("Your score (0-100)", min_value=0, max_value=100, value=50, step=1, key="ovr_value")
        reason = st.text_area("Reason (required)", key="ovr_reason", placeholder="Why the computed score is wrong for this call")
        if st.form_submit_button("Save override", icon=":material/edit:", key="ovr_save"):
            try:
                data.add_override(folder, row["call_key"], score, float(value), reason, ui.reviewer())
            except CallReviewError as exc:  # ReviewInputError, CatalogError
                st.error(str(exc))
            else:
                computed = by_name.get(score).score if score in by_name else None
                flash(f"Override saved: {score_label(score)} {value:.0f} (computed {fmt_score(computed)}).")
                st.rerun()
    if overrides:
        cell = PARTS_CELL
        head = "".join(f'<th style="{cell}">{h}</th>' for h in ("When", "Reviewer", "Score", "Computed", "Override", "Reason"))
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="{cell}">{esc(v)}</td>'
                for v in (
                    str(o["at"])[:16].replace("T", " "),
                    o["reviewer"],
                    score_label(o["score"]),
                    fmt_score(by_name[o["score"]].score) if o["score"] in by_name else "not scored",
                    f"{o['value']:.0f}",
                    o["reason"],
                )
            )
            + "</tr>"
            for o in overrides
        )
        st.html(f'<p style="margin:0 0 4px"><b>History</b></p><table class="override-history" style="width:100%;border-collapse:collapse"><tr>{head}</tr>{body}</table>')


def export_section(folder: str, row: dict[str, Any], report: CallReport, notes: list, overrides: list) -> None:
    st.subheader("Export")
    path = data.report_path(folder, row)

    def html_bytes() -> bytes:
        return call_report_html(report, row, data.notes(folder, row["call_key"]), data.overrides(folder, row["call_key"])).encode("utf-8")

    def json_bytes() -> bytes:
        return path.read_bytes()

    row_ = st.container(horizontal=True, gap="medium")
    row_.download_button(
        "Printable report (HTML)",
        data=html_bytes,  # made when clicked, not with every run of the page
        file_name=f"{report.call.call_id}-review.html",
        mime="text/html",
        key="export_html",
        icon=":material/print:",
        on_click="ignore",
        help="Scores with their parts, timeline and contour charts, evidence, notes and transcript; open it and print.",
    )
    row_.download_button(
        "Report (JSON)",
        data=json_bytes,
        file_name=path.name,
        mime="application/json",
        key="export_json",
        icon=":material/data_object:",
        on_click="ignore",
        help="The call's analysis report as written by callreview (the source of truth).",
    )


def pick_call(folder: str, token: tuple) -> None:
    """Empty state: no call chosen yet."""
    st.info("Choose a call to review: open one from the **Calls** page, or pick a recent one here.", icon=":material/info:")
    df, _ = data.list_calls(folder, token, data.CallFilters(), "Newest first", 200, 0)
    if df.empty:
        return
    pick = st.selectbox("Recent calls", df["call_id"].tolist(), key="review_pick")
    if st.button("Open", key="review_pick_open", type="primary"):
        ui.open_call(pick)
    st.page_link(ui.CALLS_PAGE, label="Go to Calls", icon=":material/list:")


def main() -> None:
    folder = ui.folder_or_stop()
    token = data.data_token(folder)
    call = st.query_params.get("call") or st.session_state.get("call_id")
    if not call:
        st.title("Call review")
        pick_call(folder, token)
        return
    try:
        row = data.call_row(folder, token, call)
        report = data.call_report(folder, row)
    except (CallNotFoundError, DashboardError) as exc:
        st.title("Call review")
        st.error(str(exc), icon=":material/error:")
        pick_call(folder, token)
        return
    st.session_state["call_id"] = row["call_id"]
    if st.query_params.get("call") != row["call_id"]:
        st.query_params["call"] = row["call_id"]
    if msg := st.session_state.pop("review_flash", None):
        st.success(msg, icon=":material/check_circle:")
    notes = data.notes(folder, row["call_key"])
    overrides = data.overrides(folder, row["call_key"])
    focus = focus_for(row["call_key"])
    header(row, report)
    scores_section(report, data.latest_overrides(overrides))
    timeline_section(folder, row, report, focus)
    left, right = st.columns([5, 6], gap="medium")
    with left:
        evidence_section(report, row["call_key"])
    with right:
        transcript_section(report, focus)
    left, right = st.columns(2, gap="medium")
    with left:
        notes_section(folder, row, notes, focus)
    with right:
        overrides_section(folder, row, report, overrides)
    export_section(folder, row, report, notes, overrides)


main()
