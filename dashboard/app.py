"""The callreview dashboard (Streamlit entry point).

Start it with ``callreview dashboard DIR`` (DIR: a ``callreview batch`` output folder
with its ``catalog.sqlite``), or ``streamlit run dashboard/app.py --server.address 127.0.0.1 -- DIR``.

Pages (one module each in ``dashboard/views``): Calls, Call review, Analyse a call,
Agent coaching, Team overview. The sidebar holds the reviewer's name (stored with
notes and overrides) and which folder is shown.

When a password (``CALLREVIEW_DASHBOARD_PASSWORD`` or ``..._PASSWORD_HASH``) or
OIDC (``[auth]`` in ``.streamlit/secrets.toml``) is configured, every session
sees only the sign-in form until it has signed in (:func:`dashboard.auth.gate`):
no page runs and nothing is read from the catalog before that.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run`: make the checkout importable
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)

import streamlit as st  # noqa: E402

from dashboard import auth, data  # noqa: E402

HERE = Path(__file__).parent

PAGES = {
    "calls": st.Page(str(HERE / "views" / "calls.py"), title="Calls", icon=":material/list:", default=True),
    "review": st.Page(str(HERE / "views" / "review.py"), title="Call review", icon=":material/headphones:", url_path="review"),
    "analyse": st.Page(str(HERE / "views" / "analyse.py"), title="Analyse a call", icon=":material/upload:", url_path="analyse"),
    "coaching": st.Page(str(HERE / "views" / "coaching.py"), title="Agent coaching", icon=":material/school:", url_path="coaching"),
    "team": st.Page(str(HERE / "views" / "team.py"), title="Team overview", icon=":material/groups:", url_path="team"),
}


def sidebar() -> None:
    """Reviewer name and the folder being shown."""
    with st.sidebar:
        if "reviewer" not in st.session_state:
            st.session_state["reviewer"] = os.environ.get("CALLREVIEW_REVIEWER", "")
        st.text_input(
            "Reviewer",
            key="reviewer",
            placeholder="Your name",
            help="Stored with every note and score override you make.",
        )
        folder = data.catalog_dir()
        st.caption(f"Calls from `{folder}`")


KEEP_PREFIX = "keep_"  # widgets whose key starts with this keep their value across page switches


def keep_widget_state() -> None:
    """Stop Streamlit from dropping the values of filter widgets on pages not shown this run."""
    for key in list(st.session_state.keys()):
        if str(key).startswith(KEEP_PREFIX):
            st.session_state[key] = st.session_state[key]


def main() -> None:
    st.set_page_config(page_title="callreview", page_icon=":material/headphones:", layout="wide")
    if not auth.gate(st):
        st.stop()  # signed out: no navigation, no page, no catalog access
    keep_widget_state()
    nav = st.navigation(list(PAGES.values()))
    linked = st.query_params.get("call")
    if st.session_state.pop(auth.JUST_SIGNED_IN, False) and linked:
        st.switch_page(PAGES["review"], query_params={"call": linked})  # a link to a call, opened before signing in
    sidebar()
    nav.run()


main()
