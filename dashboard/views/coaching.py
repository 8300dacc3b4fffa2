"""Agent coaching: one agent's scores over time against the team, strengths, weaknesses, best and worst moments."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import data, ui
from dashboard.charts import agent_trend_chart
from dashboard.errors import CallNotFoundError
from dashboard.report_html import coaching_sheet_html, esc, strongest_weakest
from dashboard.style import EFFECT_COLOURS, SCORES, component_label, fmt_score, fmt_time, plain_why, score_label

PERIODS = {"All calls": None, "Last 12 weeks": 84, "Last 4 weeks": 28}
RECENT_CALLS = 20


def play(call_key: str, call_id: str, start: float) -> None:
    """Button callback: play a moment in the coaching page's player."""
    nonce = int(st.session_state.get("coach_nonce", 0)) + 1
    st.session_state["coach_nonce"] = nonce
    st.session_state["coach_play"] = {"call_key": call_key, "call_id": call_id, "start": float(start), "nonce": nonce}


def moments_list(title: str, df: pd.DataFrame, effect: str, key: str) -> None:
    st.markdown(f"**{title}**")
    if df.empty:
        st.caption("None in the recent calls.")
        return
    colour = EFFECT_COLOURS[effect]
    for i, r in df.iterrows():
        b, t = st.columns([1.5, 5], vertical_alignment="top")
        b.button(f"▶ {fmt_time(r['start'])}", key=f"{key}_{i}", on_click=play, args=(r["call_key"], r["call_id"], r["start"]), help="Play this moment")
        quote = f" — “{esc(r['quote'])}”" if r["quote"] else ""
        t.html(
            f"<div style='line-height:1.45'><span style='color:{colour};font-weight:600'>{esc(score_label(r['score']))} · "
            f"{esc(component_label(r['component']))}</span> <span style='color:#666'>{esc(r['call_id'])}, {esc(str(r['started'])[:10])}</span>"
            f"{quote}<br>{esc(plain_why(r['why']))}</div>"
        )


def main() -> None:
    st.title("Agent coaching")
    folder = ui.folder_or_stop()
    token = data.data_token(folder)
    f = ui.no_calls_or_stop(folder, token)
    if not f["agents"]:
        st.info(
            "No call in the catalog names its agent. Give agents to calls with a manifest CSV or a file-name pattern "
            "(`callreview batch --help`), or type the agent's name when you analyse a call.",
            icon=":material/info:",
        )
        return
    wanted = st.query_params.get("agent")
    if wanted in f["agents"] and "keep_coach_agent" not in st.session_state:
        st.session_state["keep_coach_agent"] = wanted
    c1, c2, c3 = st.columns([2, 2, 2])
    agent = c1.selectbox("Agent", f["agents"], key="keep_coach_agent")
    period = c3.selectbox("Period", list(PERIODS), key="keep_coach_period")
    all_scores = data.score_table(folder, token)
    mine = all_scores[all_scores["agent"] == agent]
    teams = mine["team"].dropna()
    home = teams.mode().iloc[0] if not teams.empty else None
    team_opts = ([home] if home else []) + ["All teams"]
    team_pick = c2.selectbox("Compare with", team_opts, format_func=lambda t: t if t == "All teams" else f"Team {t}", key="coach_team")
    team = None if team_pick == "All teams" else team_pick
    date_from = None
    days = PERIODS[period]
    if days and f["last"]:
        date_from = (date.fromisoformat(str(f["last"])[:10]) - timedelta(days=days)).isoformat()
    scope = data.score_table(folder, token, (team,) if team else (), date_from)
    calls = scope[scope["agent"] == agent].sort_values("date")
    if calls.empty:
        st.info(f"{agent} has no calls in this period. Choose a longer period.", icon=":material/info:")
        return
    st.caption(f"{len(calls)} call(s) by {agent} · compared with {len(scope)} call(s) of {'team ' + team if team else 'all teams'}.")

    cols = st.columns(len(SCORES))
    for col, s in zip(cols, SCORES):
        a = calls[s].median() if calls[s].notna().any() else None
        t = scope[s].median() if scope[s].notna().any() else None
        delta = None if a is None or t is None else f"{a - t:+.0f} vs team median {t:.0f}"
        col.metric(f"{score_label(s)} (median)", fmt_score(a), delta=delta, help=ui.how_computed(s))

    st.subheader("Scores over time")
    weekly = data.weekly_medians(scope)
    st.altair_chart(agent_trend_chart(calls, weekly, agent), key="coach_trend")
    st.caption("Dots: the agent's calls. Dashed line: the median of the comparison group, week by week.")

    comps = data.component_means(folder, token, agent, team, RECENT_CALLS)
    strong, weak = strongest_weakest(comps)
    st.subheader(f"Strongest and weakest parts (last {RECENT_CALLS} calls)")
    left, right = st.columns(2)
    for col, title, df in ((left, "Strongest", strong), (right, "To work on", weak)):
        with col:
            st.markdown(f"**{title}**")
            if df.empty:
                st.caption("No scored calls yet.")
                continue
            st.dataframe(
                pd.DataFrame(
                    {
                        "Part": [component_label(c) for c in df["component"]],
                        "Score": [score_label(s) for s in df["score"]],
                        agent: df["agent_mean"].round(0),
                        "Team": df["team_mean"].round(0),
                    }
                ),
                hide_index=True,
                column_config={agent: st.column_config.ProgressColumn(agent, min_value=0, max_value=100, format="%d")},
            )

    st.subheader("Best and worst moments")
    best, worst = data.agent_moments(folder, token, agent, RECENT_CALLS, 5)
    playing = st.session_state.get("coach_play")
    if playing:
        try:
            row = data.call_row(folder, token, playing["call_key"])
        except CallNotFoundError as exc:
            st.warning(str(exc))
        else:
            with st.container(key=f"coach_player_{playing['nonce']}"):
                ui.audio_player(folder, row, start=playing["start"], autoplay=True)
            c1, c2 = st.columns([4, 1])
            c1.caption(f"▶ {row['call_id']} from {fmt_time(playing['start'])}")
            if c2.button("Open this call", key="coach_open"):
                ui.open_call(row["call_id"])
    left, right = st.columns(2)
    with left:
        moments_list("Five best moments", best, "positive", "coach_best")
    with right:
        moments_list("Five moments to discuss", worst, "negative", "coach_worst")

    st.subheader("Coaching sheet")

    def sheet() -> bytes:
        return coaching_sheet_html(agent, team, calls, scope, comps, best, worst, coach=ui.reviewer()).encode("utf-8")

    st.download_button(
        "Coaching sheet (HTML, one page)",
        data=sheet,
        file_name=f"coaching-{agent}.html".replace(" ", "_"),
        mime="text/html",
        key="coach_export",
        icon=":material/print:",
        on_click="ignore",
        help="Scores against the team, strengths, things to work on, best and worst moments, and space for goals; print it.",
    )

main()
