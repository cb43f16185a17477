"""The annotator's name survives a server restart without logins: the browser keeps it in a cookie
(mujo.ui.remember), written as a JS string literal that no typed text can break out of."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st  # noqa: PLC0415  (runs inside AppTest)

    from mujo.ui.remember import remember, restore_once  # noqa: PLC0415
    from mujo.ui.state import StateKeys  # noqa: PLC0415

    restore_once(StateKeys.CUR_ANNOTATOR)
    st.text_input("Annotator", key=StateKeys.CUR_ANNOTATOR)
    remember(st.session_state[StateKeys.CUR_ANNOTATOR] or "")


def _cookie_writes(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def test_the_name_is_written_while_it_differs_from_the_cookie_and_escaped() -> None:
    at = AppTest.from_function(_script).run()
    assert _cookie_writes(at) == []  # nothing typed, nothing remembered: no script
    at.text_input[0].input('Ann </script><b>"x"').run()
    (body,) = _cookie_writes(at)
    assert body.startswith('<script>document.cookie = "mujo_annotator=Ann%20%3C%2Fscript%3E%3Cb%3E%22x%22; path=/;')
    assert "max-age=31536000; SameSite=Lax" in body and body.count("<") == 2  # only the script element's own tags
    at.run()
    assert _cookie_writes(at) == [body]  # the same script on every run: the browser runs it once
    at.text_input[0].input("").run()
    (body,) = _cookie_writes(at)
    assert "mujo_annotator=; path=/; max-age=0" in body  # cleared: the browser forgets it


def test_without_a_cookie_the_box_starts_empty() -> None:
    at = AppTest.from_function(_script).run()
    assert at.text_input[0].value == ""
