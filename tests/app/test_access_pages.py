"""Access and roles in the pages (AppTest): the login gate, what each role sees, the annotator's name, a malformed
access file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_helpers import app_test
from embedding_fixtures import make_checkpoint
from target_fixtures import make_target

from mujo import access, jobs
from mujo.store import Store, dataset_key
from mujo.ui.access import LOGOUT
from mujo.ui.home import SERVER_DEFAULT
from mujo.ui.state import StateKeys

PW = "a lab password"
CURATION, FINETUNE = "pages/6_Curation.py", "pages/4_Fine_tuning.py"


@pytest.fixture()
def lab(app_env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """app_env with an access file: vera (viewer), anna (annotator), adam (admin)."""
    path = tmp_path / "lab" / "users.yaml"
    for name, role in (("vera", "viewer"), ("anna", "annotator"), ("adam", "admin")):
        access.add_user(path, name, role, PW)
    monkeypatch.setenv("MUJO_AUTH", str(path))
    monkeypatch.setattr("streamlit_authenticator.params.PRE_LOGIN_SLEEP_TIME", 0.0)  # no cookie to wait for here
    return {**app_env, "auth": path}


def _plain(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def login(at, name: str, password: str = PW):
    """Fill and submit the login form."""
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    next(b for b in at.button if b.label == "Log in").click().run()
    return at


def _keys(at) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_nothing_is_shown_before_a_login_and_a_wrong_password_is_refused(lab: dict[str, Path]) -> None:
    at = app_test().run()
    _ok(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.metric and not at.code and not at.text  # no dataset, no folder
    login(at, "vera", "not the password")
    _ok(at)
    assert any("Wrong user name or password" in e.value for e in at.error)
    assert not at.metric
    login(at, "nobody", PW)
    assert not at.metric
    login(at, "VERA", PW)  # the form lower-cases the name
    _ok(at)
    assert {m.label for m in at.metric} >= {"Clips", "Hours"}
    assert any("vera · viewer" in t.value for t in at.sidebar.text)
    at.button(key=LOGOUT).click().run()
    _ok(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"] and not at.metric
    # every page is behind the gate, not only Home
    at = app_test("pages/1_Browse.py").run()
    assert not at.dataframe and [t.label for t in at.text_input] == ["User name", "Password"]


def test_a_malformed_access_file_lets_nobody_in(lab: dict[str, Path]) -> None:
    lab["auth"].write_text("users:\n  adam:\n    role: admin\n    password: plain-text\n")
    at = app_test().run()
    _ok(at)
    assert any(str(lab["auth"]) in _plain(e.value) and "Nobody can log in" in e.value for e in at.error)
    assert not at.text_input and not at.metric


def test_a_removed_user_is_logged_out_at_the_next_click(lab: dict[str, Path]) -> None:
    at = login(app_test().run(), "anna")
    assert at.metric
    access.add_user(lab["auth"], "anna", "viewer", PW, replace=True)  # the role changes at once
    at.run()
    assert any("anna · viewer" in t.value for t in at.sidebar.text)
    access.remove_user(lab["auth"], "anna")
    at.run()
    assert not at.metric and [t.label for t in at.text_input] == ["User name", "Password"]


def test_a_viewer_sees_no_control_that_changes_anything(lab: dict[str, Path]) -> None:
    make_checkpoint(lab["home"] / "models" / "two-sites")  # Home's model chooser would list it
    at = app_test()
    at.session_state[StateKeys.HOME_MODELS_OPEN] = True  # the model chooser drawn (it runs only while open)
    at = login(at.run(), "vera")
    _ok(at)
    assert not _keys(at) & {"home.open", SERVER_DEFAULT, "home.server_reset", "home.model_use", "home.model_demo"}
    at.session_state[StateKeys.CUR_FILES_OPEN] = True  # the files panel drawn (it runs only while open)
    at.switch_page(CURATION).run()
    _ok(at)
    keys = _keys(at)
    assert not [k for k in keys if k.startswith(StateKeys.CUR_DECIDE)] and StateKeys.CUR_IO_WRITE not in keys
    assert not at.get("file_uploader")  # no label import
    assert not [t for t in at.text_input if t.key == StateKeys.CUR_ANNOTATOR]
    assert any("does not label" in i.value for i in at.info)
    at.switch_page(FINETUNE).run()
    _ok(at)
    assert StateKeys.FT_START not in _keys(at) and not [k for k in _keys(at) if k.startswith(StateKeys.FT_PRETRAIN)]
    assert any("needs the admin role" in i.value for i in at.info)
    assert not [t for t in at.text_input if t.key == StateKeys.FT_FOLDER]


def test_an_admin_sees_them_all(lab: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    make_checkpoint(lab["home"] / "models" / "two-sites")
    target = make_target(tmp_path / "tiny")
    monkeypatch.setattr(jobs, "start", lambda name, argv, **kw: jobs.JobStatus(name))
    at = app_test()
    at.session_state[StateKeys.HOME_MODELS_OPEN] = True  # the model chooser drawn (it runs only while open)
    at = login(at.run(), "adam")
    _ok(at)
    assert {"home.open", SERVER_DEFAULT, "home.server_reset", "home.model_use"} <= _keys(at)
    at.session_state[StateKeys.CUR_FILES_OPEN] = True  # the files panel drawn (it runs only while open)
    at.switch_page(CURATION).run()
    _ok(at)
    keys = _keys(at)
    assert f"{StateKeys.CUR_DECIDE}.null" in keys and StateKeys.CUR_IO_WRITE in keys
    assert at.get("file_uploader")
    assert not [t for t in at.text_input if t.key == StateKeys.CUR_ANNOTATOR]  # the login names the annotator
    at.switch_page(FINETUNE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(target)).run()
    _ok(at)
    assert StateKeys.FT_START in _keys(at) and f"{StateKeys.FT_PRETRAIN}.RWrist" in _keys(at)


def test_an_annotator_labels_under_their_login_name(lab: dict[str, Path]) -> None:
    at = login(app_test().run(), "anna")
    at.session_state[StateKeys.CUR_FILES_OPEN] = True  # the files panel drawn (it runs only while open)
    at.switch_page(CURATION).run()
    _ok(at)
    assert StateKeys.CUR_IO_WRITE not in _keys(at) and not at.get("file_uploader")  # admins only
    clip = at.session_state[StateKeys.CUR_CLIP]
    at.button(key=f"{StateKeys.CUR_DECIDE}.null").click().run()
    _ok(at)
    events = Store().label_events(dataset_key(lab["data"]))
    assert events[["clip_id", "label", "annotator"]].values.tolist() == [[clip, "null", "anna"]]


def test_without_data_roots_only_an_admin_opens_a_path(lab: dict[str, Path], tmp_path: Path) -> None:
    from app_helpers import make_dataset  # noqa: PLC0415

    other = make_dataset(tmp_path / "other", n_clips=3)
    at = app_test(query={"data": str(other)}).run()
    login(at, "vera")
    _ok(at)
    assert next(m.value for m in at.metric if m.label == "Clips") == "8"  # the server's default
    assert any("Only an administrator" in w.value for w in at.warning)
    at = app_test(query={"data": str(other)}).run()
    login(at, "adam")
    _ok(at)
    assert next(m.value for m in at.metric if m.label == "Clips") == "3"
