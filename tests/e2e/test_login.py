"""A lab server in a real browser: with an access file the app asks for a login first, refuses a wrong password,
lets the right one in (with the user and role in the sidebar), keeps the login across a reload (the signed
cookie), and logs out for good."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import _require_browser  # the `browser` fixture comes from conftest.py too
from e2e_server import streamlit_server

from mujo import access

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PW = "annotators-password"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    from fimad_factory import make_fimad  # noqa: PLC0415

    root = tmp_path_factory.mktemp("lab")
    data = make_fimad(root / "fimad", n_clips=4, name="lab-fimad")
    users = root / "users.yaml"
    access.add_user(users, "anna", "annotator", PW, display_name="Anna")
    env = {"MUJO_DATA": str(data), "MUJO_HOME": str(root / "home"), "MUJO_AUTH": str(users),
           "MUJO_DATA_ROOTS": str(root)}
    with streamlit_server(env, root) as base:
        yield base


def _log_in(page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_login_then_the_page(lab_server: str, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(lab_server)
        page.get_by_text("Log in to MuJo Studio").wait_for()
        assert page.get_by_text("lab-fimad").count() == 0  # nothing of the dataset before the login
        _log_in(page, "anna", "wrong password")
        page.get_by_text("Wrong user name or password.").wait_for()
        _log_in(page, "anna", PW)
        page.get_by_text("Anna (anna) · annotator").wait_for()
        page.get_by_text("lab-fimad").first.wait_for()  # Home shows the dataset
        page.get_by_text("Clips", exact=True).first.wait_for()
        page.reload()  # the signed re-login cookie keeps the browser logged in
        page.get_by_text("Anna (anna) · annotator").wait_for()
        # the page list is there once logged in, and Curation names the annotator by the login
        page.get_by_role("link", name="Curation").click()
        page.get_by_text("Anna (anna) · annotator").wait_for()
        assert page.get_by_label("Annotator").count() == 0
        page.get_by_role("button", name="Log out").click()
        page.get_by_text("Log in to MuJo Studio").wait_for()
        page.wait_for_timeout(1000)  # the cookie component deletes the cookie
        page.reload()  # logged out for good: the cookie is gone
        page.get_by_text("Log in to MuJo Studio").wait_for()
        assert page.get_by_text("Anna (anna) · annotator").count() == 0
    finally:
        context.close()
