"""Team overview: score distributions, agents side by side, trend by week."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import data, ui
from dashboard.charts import agents_chart, distribution_chart, weekly_trend_chart
from dashboard.style import SCORES, fmt_score, score_label


def agent_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per agent: calls, median of each score, share of calls with each flag."""
    rows = []
    for agent, g in df.groupby(df["agent"].fillna("(unknown)")):
        row = {"Agent": agent, "Team": ", ".join(sorted(g["team"].dropna().unique())), "Calls": len(g)}
        for s in SCORES:
            row[score_label(s)] = g[s].median() if g[s].notna().any() else None
        row["Interrupted (% calls)"] = 100 * (g["interruptions"].fillna(0) > 0).mean()
        row["Raised voice (% calls)"] = 100 * (g["raised_voice"].fillna(0) > 0).mean()
        row["Dead air (% calls)"] = 100 * (g["dead_air"].fillna(0) > 0).mean()
        row["Manager asked (% calls)"] = 100 * (g["escalation_asked"].fillna(0) > 0).mean()
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    st.title("Team overview")
    folder = ui.folder_or_stop()
    token = data.data_token(folder)
    f = ui.no_calls_or_stop(folder, token)
    c1, c2 = st.columns([3, 2])
    teams = c1.multiselect("Teams", f["teams"], key="keep_team_teams", placeholder="All teams")
    date_from = date_to = None
    first = date.fromisoformat(str(f["first"])[:10]) if f["first"] else None
    last = date.fromisoformat(str(f["last"])[:10]) if f["last"] else None
    if first and last:
        if "keep_team_dates" not in st.session_state:
            st.session_state["keep_team_dates"] = (first, last)
        picked = c2.date_input("Period", key="keep_team_dates", min_value=first, max_value=last, format="YYYY-MM-DD")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            date_from, date_to = picked[0].isoformat(), picked[1].isoformat()
    df = data.score_table(folder, token, tuple(teams), date_from, date_to)
    if df.empty:
        st.warning("No calls in this selection. Choose other teams or a longer period.", icon=":material/filter_alt_off:")
        return
    scored = df[list(SCORES)].notna().any(axis=1).sum()
    st.caption(f"{len(df):,} call(s), {df['agent'].nunique()} agent(s); {scored:,} scored.")
    cols = st.columns(len(SCORES))
    for col, s in zip(cols, SCORES):
        col.metric(f"{score_label(s)} (median)", fmt_score(df[s].median() if df[s].notna().any() else None), help=ui.how_computed(s))
    if scored == 0:
        st.info("None of these calls has scores yet: re-analyse them with scoring on (the default).", icon=":material/info:")
        return

    st.subheader("How scores are spread")
    st.altair_chart(distribution_chart(df), key="team_dist")
    st.caption("Number of calls in each 10-point band of each score.")

    st.subheader("Agents side by side")
    st.altair_chart(agents_chart(df), key="team_agents")
    st.caption("Each box spans the middle half of an agent's calls, the line inside is their median, the whiskers their lowest and highest call.")
    table = agent_table(df)
    pct = {c: st.column_config.NumberColumn(c, format="%.0f%%") for c in table.columns if c.endswith("(% calls)")}
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            **{score_label(s): st.column_config.ProgressColumn(score_label(s), min_value=0, max_value=100, format="%d") for s in SCORES},
            **pct,
        },
    )

    st.subheader("Trend by week")
    st.altair_chart(weekly_trend_chart(data.weekly_medians(df)), key="team_trend", width="stretch")
    st.caption("Median of each score over the calls of each week (weeks start on Monday).")


main()
