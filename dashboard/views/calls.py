"""Calls: every call in the catalog; filter, search the transcripts, sort, open one."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import data, ui
from dashboard.style import FLAG_HELP, FLAG_LABELS, SCORES, fmt_time, score_label

PAGE_SIZE = 200
KEEP = "keep_calls_"  # prefix of filter widgets whose values survive page switches (see app.py)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def filters_ui(f: dict) -> data.CallFilters:
    """The filter widgets; returns what they select."""
    c1, c0, c2, c3, c4 = st.columns([3, 2, 2, 2, 2])
    search = c1.text_input(
        "Search transcripts", key=KEEP + "search", placeholder="words said in the call, e.g. manager", help='All words must occur; "quotes" keep a phrase together.'
    )
    call_id = c0.text_input("Call id", key=KEEP + "call_id", placeholder="part of the id")
    agents = c2.multiselect("Agent", f["agents"], key=KEEP + "agents", placeholder="All agents")
    teams = c3.multiselect("Team", f["teams"], key=KEEP + "teams", placeholder="All teams")
    first, last = _date(f["first"]), _date(f["last"])
    date_from = date_to = None
    if first and last:
        if KEEP + "dates" not in st.session_state:
            st.session_state[KEEP + "dates"] = (first, last)
        picked = c4.date_input("Call date", key=KEEP + "dates", min_value=first, max_value=last, format="YYYY-MM-DD")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            if picked[0] > first:
                date_from = picked[0].isoformat()
            if picked[1] < last:
                date_to = picked[1].isoformat()
    st.caption("Only calls where:")
    cols = st.columns(len(FLAG_LABELS) + 1)
    flags = tuple(
        flag
        for col, (flag, label) in zip(cols, FLAG_LABELS.items())
        if col.checkbox(label, key=KEEP + "flag_" + flag, help=FLAG_HELP[flag])
    )
    reviewed = cols[-1].checkbox("Reviewed", key=KEEP + "reviewed", help="A reviewer left a note or overrode a score.")
    ranges = []
    with st.expander("Score ranges", expanded=False):
        st.caption("Narrow a range to keep only calls scored inside it (calls without that score are then left out).")
        rcols = st.columns(len(SCORES))
        for col, score in zip(rcols, SCORES):
            st.session_state.setdefault(KEEP + "range_" + score, (0, 100))
            lo, hi = col.slider(score_label(score), 0, 100, key=KEEP + "range_" + score)
            ranges.append((score, float(lo), float(hi)))
    return data.CallFilters(
        agents=tuple(agents),
        teams=tuple(teams),
        date_from=date_from,
        date_to=date_to,
        score_ranges=tuple(ranges),
        flags=flags,
        search=search,
        reviewed_only=reviewed,
        call_id=call_id,
    )


def table(df: pd.DataFrame) -> pd.DataFrame:
    """The calls as shown: readable dates and lengths, review marks."""
    out = pd.DataFrame(
        {
            "Call": df["call_id"],
            "Started": df["started"].fillna("").str.slice(0, 16).str.replace("T", " ", regex=False),
            "Agent": df["agent"],
            "Team": df["team"],
            "Length": df["duration"].map(fmt_time),
        }
    )
    for s in SCORES:
        out[score_label(s)] = df[s]
    out["Interruptions"] = df["interruptions"]
    out["Raised voice"] = df["raised_voice"]
    out["Dead air"] = df["dead_air"]
    out["Manager asked"] = df["escalation_asked"]
    out["Reviewed"] = [
        " ".join(x for x in (f"{n} note(s)" if n else "", f"{o} override(s)" if o else "") if x) for n, o in zip(df["notes"], df["overrides"])
    ]
    if "match" in df and df["match"].notna().any():
        out["Matching words"] = df["match"]
    return out


def main() -> None:
    st.title("Calls")
    folder = ui.folder_or_stop()
    token = data.data_token(folder)
    f = ui.no_calls_or_stop(folder, token)
    st.caption(f"{f['calls']:,} call(s) in the catalog. Filter them, search what was said, and open one to review it.")
    filters = filters_ui(f)
    c1, c2 = st.columns([2, 5])
    sort = c1.selectbox("Sort", list(data.SORTS), key=KEEP + "sort")
    df, total = data.list_calls(folder, token, filters, sort, PAGE_SIZE, 0)
    pages = max(1, -(-total // PAGE_SIZE))
    offset = 0
    if pages > 1:
        page = c2.number_input(f"Page (of {pages})", 1, pages, 1, key="calls_page")
        offset = (int(page) - 1) * PAGE_SIZE
        if offset:
            df, total = data.list_calls(folder, token, filters, sort, PAGE_SIZE, offset)
    if total == 0:
        st.warning("No call matches these filters. Clear the search or widen the filters.", icon=":material/filter_alt_off:")
        return
    shown = f"{offset + 1}-{offset + len(df)} of " if total > len(df) else ""
    st.markdown(f"**{shown}{total:,} matching call(s)**")
    score_cols = {
        score_label(s): st.column_config.ProgressColumn(score_label(s), min_value=0, max_value=100, format="%d", help=ui.how_computed(s))
        for s in SCORES
    }
    event = st.dataframe(
        table(df),
        hide_index=True,
        key="calls_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Call": st.column_config.TextColumn("Call", pinned=True),
            **score_cols,
            "Interruptions": st.column_config.NumberColumn("Interruptions", help="Times the agent talked over the customer"),
            "Raised voice": st.column_config.NumberColumn("Raised voice", help="Moments the agent's voice got clearly louder than usual"),
            "Dead air": st.column_config.NumberColumn("Dead air", help="Long silences with no hold announced"),
            "Manager asked": st.column_config.NumberColumn("Manager asked", help="Times the customer asked for a manager"),
        },
        height=min(38 + 35 * len(df), 560),
    )
    rows = event.selection.rows if event is not None else []
    ids = df["call_id"].tolist()
    chosen = ids[rows[0]] if rows else None
    c1, c2, _ = st.columns([3, 2, 3])
    pick = c1.selectbox(
        "Call to open",
        ids,
        index=ids.index(chosen) if chosen in ids else 0,
        key="calls_open_pick",
        help="Or click a row of the table.",
    )
    c2.write("")
    if c2.button("Open call review", type="primary", key="calls_open", icon=":material/headphones:") and pick:
        ui.open_call(pick)
    if f["failures"]:
        with st.expander(f"{f['failures']} recording(s) could not be analysed"):
            st.dataframe(data.failures(folder, token), hide_index=True)


main()
