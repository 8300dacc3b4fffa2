"""Small pieces of page layout shared by the dashboard pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import data
from .errors import AudioMissingError
from .style import ROLE_COLOURS, SCORE_HELP, SCORE_SCALE_NOTE, score_label

REVIEW_PAGE = "views/review.py"
CALLS_PAGE = "views/calls.py"
ANALYSE_PAGE = "views/analyse.py"


def folder_or_stop() -> str:
    """The catalog folder as a string; stops the page with instructions when it has no catalog."""
    folder = data.catalog_dir()
    if not data.has_catalog(folder):
        st.info(
            f"**No calls to show yet.** `{folder}` has no catalog.\n\n"
            f"- Analyse a folder of recordings: `callreview batch RECORDINGS... --out {folder}`, then reload this page.\n"
            "- Or analyse one recording on the **Analyse a call** page.\n"
            "- Or start the dashboard on another folder: `callreview dashboard DIR`.",
            icon=":material/info:",
        )
        st.page_link(ANALYSE_PAGE, label="Analyse a call", icon=":material/upload:")
        st.stop()
    return str(folder)


def no_calls_or_stop(folder: str, token: tuple) -> dict:
    """The catalog's facets; stops the page with instructions when it holds no call."""
    f = data.facets(folder, token)
    if f["calls"] == 0:
        st.info(
            "**The catalog is empty.** Run `callreview batch RECORDINGS... --out "
            f"{folder}` or use **Analyse a call**; calls appear here as they finish.",
            icon=":material/info:",
        )
        st.page_link(ANALYSE_PAGE, label="Analyse a call", icon=":material/upload:")
        st.stop()
    return f


def open_call(call_id: str) -> None:
    """Go to the Call review page for ``call_id``."""
    st.session_state["call_id"] = call_id
    st.switch_page(REVIEW_PAGE, query_params={"call": call_id})


def speaker_chip(name: str, role: str | None) -> str:
    """Markdown/HTML of a speaker name in their colour."""
    colour = ROLE_COLOURS.get(role or "unknown", ROLE_COLOURS["unknown"])
    return f'<span style="color:{colour};font-weight:600">{name}</span>'


def how_computed(score: str) -> str:
    """The short 'how this score is computed' text of a score."""
    return f"**{score_label(score)}.** {SCORE_HELP.get(score, '')}\n\n{SCORE_SCALE_NOTE}"


def reviewer() -> str:
    """The reviewer's name from the sidebar ('' when not entered)."""
    return (st.session_state.get("reviewer") or "").strip()


def audio_player(folder: str, row: dict, start: float = 0.0, autoplay: bool = False) -> Path | None:
    """The call's recording in a player, from ``start`` seconds; a warning when the file is gone."""
    try:
        path = data.audio_file(folder, row)
    except AudioMissingError as exc:
        st.warning(f"Audio unavailable: {exc}", icon=":material/volume_off:")
        return None
    st.audio(str(path), format=data.audio_mime(path), start_time=start, autoplay=autoplay)
    return path
