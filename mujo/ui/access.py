"""Who is using the app: the login gate of a lab server and `current_user()`.

Without an access file (`$MUJO_AUTH` unset) nothing asks for a login and everyone is the local admin
(`mujo.access.local_user`). With one, `login_gate` (called by every page's `page_setup`) shows
streamlit-authenticator's login form and stops the page until a user of the file has logged in; the user's role is
read from the file on every run, so a changed role or a removed user takes effect at the next click. A malformed
access file lets nobody in (the error names the file).

The re-login cookie is signed with the file's `cookie.key` or the secret generated beside it (never a key written
in the code). The library is given the credentials as a dictionary, never the file's path, so it never rewrites the
access file (it would on every login otherwise).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from mujo.access import AccessFile, AccessFileError, Action, User, auth_configured, local_user, read_access_file
from mujo.ui.text import md_escape, short

LOGIN_FORM = "access.login"  # the login form's key
LOGOUT = "access.logout"  # the sidebar's logout button
# streamlit-authenticator's session-state keys
_STATUS, _USERNAME, _LOGOUT_FLAG = "authentication_status", "username", "logout"
_SET_COOKIE = "access.set_cookie"  # set the re-login cookie in this run (the one after the login)
_FIELDS = {"Form name": "Log in to MuJo Studio", "Username": "User name", "Password": "Password", "Login": "Log in"}


def _credentials(af: AccessFile) -> dict:
    """The access file in streamlit-authenticator's credentials format (a fresh copy: the library mutates it)."""
    return {"usernames": {name: {"name": acc.user.display_name or name, "password": acc.password_hash,
                                 "roles": [acc.user.role.label], "email": None}
                          for name, acc in af.accounts.items()}}


def _authenticator(af: AccessFile) -> Any:
    """streamlit-authenticator's Authenticate for the access file (imported only when logins are configured)."""
    import streamlit_authenticator as stauth  # noqa: PLC0415 (keeps streamlit_authenticator off an install without logins)

    return stauth.Authenticate(_credentials(af), af.cookie_name, af.cookie_key, af.cookie_expiry_days,
                               auto_hash=False)


def _session_user(af: AccessFile) -> User | None:
    """The user this browser session logged in as, if they are still in the access file."""
    if not st.session_state.get(_STATUS):
        return None
    return af.user(st.session_state.get(_USERNAME))


def logged_in() -> bool:
    """Whether this session may see the app (always, without an access file). Draws nothing."""
    if not auth_configured():
        return True
    try:
        return _session_user(read_access_file()) is not None
    except AccessFileError:
        return False


def _refuse_all(e: AccessFileError) -> None:
    st.error(md_escape(f"Nobody can log in: the access file is unusable. {e}"), icon=":material/lock:")
    st.caption("The administrator fixes the file (docs/lab-server.md; `mujo users list` checks it).")
    st.stop()


def _form(auth: Any) -> None:
    from streamlit_authenticator.utilities import LoginError  # noqa: PLC0415 (keeps streamlit_authenticator off an install without logins)

    try:
        auth.login(location="main", key=LOGIN_FORM, fields=_FIELDS)
    except LoginError as e:  # a re-login cookie of a user no longer in the file, and the like
        st.session_state[_LOGOUT_FLAG] = True  # the cookie is not tried again in this session
        st.error(md_escape(f"Please log in again ({e})."), icon=":material/lock:")
        st.rerun()


def login_gate() -> User:
    """The user of this session; without one, the login form and `st.stop()` (with an access file only)."""
    if not auth_configured():
        return local_user()
    try:
        af = read_access_file()
    except AccessFileError as e:
        _refuse_all(e)
    auth = _authenticator(af)
    user = _session_user(af)
    if user is None:
        before = st.session_state.get(_STATUS)
        if before:  # logged in, but no longer in the access file: out
            auth.logout(location="unrendered")
        _form(auth)
        status = st.session_state.get(_STATUS)
        user = _session_user(af)
        if user is not None and not before:
            # Just logged in: draw the page without the form. The re-login cookie is set in that next run: a
            # component drawn in this run would be gone before the browser ran it.
            st.session_state[_SET_COOKIE] = True
            st.rerun()
        if status is False:
            st.error("Wrong user name or password.", icon=":material/lock:")
        st.stop()
    if st.session_state.pop(_SET_COOKIE, False) and af.cookie_expiry_days:
        auth.cookie_controller.set_cookie()
    _sidebar(auth, user)
    return user


def _sidebar(auth: Any, user: User) -> None:
    with st.sidebar:
        st.caption("Logged in as")
        who = f"{user.display_name} ({user.name})" if user.display_name else user.name
        st.text(short(f"{who} · {user.role.label}", 60, one_line=True))
        out = st.button("Log out", key=LOGOUT, icon=":material/logout:")
    if out:
        auth.logout(location="unrendered")  # clears the session's login and deletes the re-login cookie
        st.info("You are logged out.", icon=":material/logout:")
        _form(auth)
        st.stop()


def current_user() -> User:
    """The logged-in user (the local admin without an access file). A session without a login is stopped: nothing
    that asks who is acting runs for nobody."""
    if not auth_configured():
        return local_user()
    try:
        user = _session_user(read_access_file())
    except AccessFileError:
        user = None
    if user is None:
        st.stop()
    return user


def can(action: Action | str) -> bool:
    """Whether the current user may take `action` (pages hide the controls of what they may not do)."""
    return current_user().can(action)


__all__ = ["LOGIN_FORM", "LOGOUT", "can", "current_user", "logged_in", "login_gate"]
