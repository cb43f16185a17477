"""What a browser remembers across server restarts without logins: the annotator's name, in a cookie.

A session's state ends with the server process; the browser reconnects to a new session. Without an access file
the Curation page's "Annotator" box would then be empty after every restart (and every new tab). The name is kept
in a first-party cookie of this browser (`mujo_annotator`, a year, SameSite=Lax), written by a small script when it
changes and read from the request (`st.context.cookies`) when a session starts. With an access file the name is the
login's and no cookie is used.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

import streamlit as st

from mujo.ui.state import StateKeys

COOKIE = "mujo_annotator"
MAX_AGE_S = 365 * 24 * 3600


def remembered(limit: int = 80) -> str:
    """The name this browser remembered ("" when none), at most `limit` characters."""
    try:
        raw = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001  (no request context: bare mode)
        return ""
    return unquote(raw).strip()[:limit] if isinstance(raw, str) else ""  # AppTest's context is a mock


def restore_once(key: str) -> None:
    """At a session's first run, put the remembered name into the widget state `key` unless it holds one."""
    if st.session_state.get(StateKeys.CUR_ANNOTATOR_RESTORED):
        return
    st.session_state[StateKeys.CUR_ANNOTATOR_RESTORED] = True
    if not st.session_state.get(key):
        st.session_state[key] = remembered()


def remember(value: str) -> None:
    """Have the browser remember `value` (forget it for ""). Once the name differed from the cookie this session
    started with, the writing script is drawn on every run (the same element, run once by the browser; a new one
    when the name changes): drawn only in the run after a change, it could be gone before the browser ran it, when
    a key press follows soon on a loaded machine."""
    value = value.strip()
    if value == remembered() and not st.session_state.get(StateKeys.CUR_ANNOTATOR_SAVED):
        return  # the browser has had it since the session started
    st.session_state[StateKeys.CUR_ANNOTATOR_SAVED] = True
    cookie = f"{COOKIE}={quote(value, safe='')}; path=/; max-age={MAX_AGE_S if value else 0}; SameSite=Lax"
    # json.dumps makes a JS string literal; "<" escaped so that no text can close the script element
    literal = json.dumps(cookie).replace("<", "\\u003c")
    st.html(f"<script>document.cookie = {literal};</script>", unsafe_allow_javascript=True, width="content")
