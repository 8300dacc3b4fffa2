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


def _with_defaults(f: dict) -> tuple[date | None, date | None]:
    """Put the initial call-date span and score ranges in the session state; the catalog's first and last day."""
    first, last = _date(f["first"]), _date(f["last"])
    if first and last and KEEP + "dates" not in st.session_state:
        st.session_state[KEEP + "dates"] = (first, last)
    for score in SCORES:
        st.session_state.setdefault(KEEP + "range_" + score, (0, 100))
    return first, last


def current_filters(f: dict) -> data.CallFilters:
    """What the filter widgets select, read from the session state (so before they are drawn)."""
    ss = st.session_state
    first, last = _with_defaults(f)
    date_from = date_to = None
    picked = ss.get(KEEP + "dates")
    if first and last and isinstance(picked, (tuple, list)) and len(picked) == 2:
        if picked[0] > first:
            date_from = picked[0].isoformat()
        if picked[1] < last:
            date_to = picked[1].isoformat()
    return data.CallFilters(
        agents=tuple(ss.get(KEEP + "agents") or ()),
        teams=tuple(ss.get(KEEP + "teams") or ()),
        date_from=date_from,
        date_to=date_to,
        score_ranges=tuple((score, float(lo), float(hi)) for score in SCORES for lo, hi in [ss[KEEP + "range_" + score]]),
        flags=tuple(flag for flag in FLAG_LABELS if ss.get(KEEP + "flag_" + flag)),
        search=ss.get(KEEP + "search") or "",
        reviewed_only=bool(ss.get(KEEP + "reviewed")),
        call_id=ss.get(KEEP + "call_id") or "",
    )


def filters_ui(f: dict) -> data.CallFilters:
    """The filter widgets; returns what they select.

    Call date and score ranges sit in an expander whose widgets are only made while it is
    open (their values are kept, and apply, while it is closed): a date picker and sliders
    are among the largest pieces a browser has to load for this page.
    """
    first, last = _with_defaults(f)
    c1, c0, c2, c3 = st.columns([3, 2, 2, 2])
    c1.text_input(
        "Search transcripts", key=KEEP + "search", placeholder="words said in the call, e.g. manager", help='All words must occur; "quotes" keep a phrase together.'
    )
    c0.text_input("Call id", key=KEEP + "call_id", placeholder="part of the id")
    c2.multiselect("Agent", f["agents"], key=KEEP + "agents", placeholder="All agents")
    c3.multiselect("Team", f["teams"], key=KEEP + "teams", placeholder="All teams")
    st.caption("Only calls where:")
    flag_row = st.container(horizontal=True, gap="large")
    for flag, label in FLAG_LABELS.items():
        flag_row.checkbox(label, key=KEEP + "flag_" + flag, help=FLAG_HELP[flag])
    flag_row.checkbox("Reviewed", key=KEEP + "reviewed", help="A reviewer left a note or overrode a score.")
    more = st.expander("Call date and score ranges", key=KEEP + "more_filters", on_change="rerun")
    if more.open:
        with more:
            if first and last:
                st.date_input("Call date", key=KEEP + "dates", min_value=first, max_value=last, format="YYYY-MM-DD", width=260)
            st.caption("Narrow a range to keep only calls scored inside it (calls without that score are then left out).")
            rcols = st.columns(len(SCORES))
            for col, score in zip(rcols, SCORES):
                col.slider(score_label(score), 0, 100, key=KEEP + "range_" + score)
    chosen = current_filters(f)
    narrowed = [score_label(s) for s, lo, hi in chosen.score_ranges if lo > 0 or hi < 100]
    if chosen.date_from or chosen.date_to:
        narrowed.insert(0, "call date")
    if narrowed and not more.open:
        st.caption(f"Narrowed under *Call date and score ranges*: {', '.join(narrowed)}.")
    return chosen


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
    # The table is sent to the browser before the filter widgets drawn above it: the browser then
    # starts loading the table's code first (the largest piece of this page). The query reads
    # the widgets' values from the session state, which Streamlit updates before every run.
    controls = st.container()
    filters = current_filters(f)
    sort = st.session_state.get(KEEP + "sort", "Newest first")
    if st.session_state.get("calls_query") != (filters, sort):  # other calls: back to the first page
        st.session_state["calls_query"] = (filters, sort)
        st.session_state.pop("calls_page", None)
    df, total = data.list_calls(folder, token, filters, sort, PAGE_SIZE, 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = st.session_state.get("calls_page", 1)
    offset = (page - 1) * PAGE_SIZE if isinstance(page, int) and 1 <= page <= pages else 0
    if offset:
        df, total = data.list_calls(folder, token, filters, sort, PAGE_SIZE, offset)
    if total == 0:
        st.warning("No call matches these filters. Clear the search or widen the filters.", icon=":material/filter_alt_off:")
    else:
        calls_table(df, total, offset)
    if f["failures"]:
        with st.expander(f"{f['failures']} recording(s) could not be analysed"):
            st.dataframe(data.failures(folder, token), hide_index=True)
    with controls:
        filters_ui(f)
        c1, c2 = st.columns([2, 5])
        c1.selectbox("Sort", list(data.SORTS), key=KEEP + "sort")
        if pages > 1:
            c2.selectbox("Page", range(1, pages + 1), format_func=lambda p: f"{p} of {pages}", key="calls_page", width=160)


def calls_table(df: pd.DataFrame, total: int, offset: int) -> None:
    """The matching calls (one page), and the control that opens one."""
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
    open_row = st.container(horizontal=True, vertical_alignment="bottom")
    pick = open_row.selectbox(
        "Call to open",
        ids,
        index=ids.index(chosen) if chosen in ids else 0,
        key="calls_open_pick",
        help="Or click a row of the table.",
        width=360,
    )
    if open_row.button("Open call review", type="primary", key="calls_open", icon=":material/headphones:") and pick:
        ui.open_call(pick)


main()
