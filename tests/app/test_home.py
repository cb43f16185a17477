"""Home page: dataset summary, validation, model placeholder, choosing another folder, building the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from app_helpers import BROWSE, REPO, app_test, make_dataset
from fimad_factory import corrupt_header

from mujo.paths import demo_dataset_dir
from mujo.ui.state import StateKeys


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _metric(at, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}; have {[m.label for m in at.metric]}")


def test_home_summarises_the_dataset(app_env: dict[str, Path]) -> None:
    at = app_test().run()
    assert not at.exception
    assert _metric(at, "Clips") == "8"
    assert _metric(at, "Source videos") == "4"
    assert _metric(at, "With 3D pose") == "100%"
    assert _metric(at, "With video") == "0%"
    assert _metric(at, "Errors") == "0"
    assert "test-fimad" in [t.value for t in at.text]
    assert str(app_env["data"]) in [t.value for t in at.text]  # as text (not st.code: no highlighter to load)
    assert any("No model trained yet" in i.value for i in at.info)


def test_validation_problems_link_to_browse(app_env: dict[str, Path]) -> None:
    corrupt_header(app_env["data"] / "pose" / "clip001.npy")
    at = app_test().run()
    assert not at.exception
    assert int(_metric(at, "Errors")) >= 1
    assert _metric(at, "Clips with problems") == "1"
    links = [p for p in at.page_link if "problems" in p.value]
    assert links, [p.value for p in at.page_link]
    assert links[0].proto.page.endswith("1_Browse.py") or "Browse" in links[0].proto.page
    assert "problems=1" in links[0].proto.query_string


def test_non_fimad_folder_gives_a_clear_error(tmp_path: Path, app_env: dict[str, Path]) -> None:
    junk = tmp_path / "holiday-photos"
    junk.mkdir()
    (junk / "beach.jpg").write_bytes(b"not really")
    at = app_test().run()
    at.text_input(key=StateKeys.DATASET_INPUT).input(str(junk)).run()
    at.button(key="home.open").click().run()
    assert not at.exception
    errors = [_unescape(e.value) for e in at.error]
    assert any("fimad.json" in e and "clips.csv" in e and "holiday-photos" in e for e in errors), errors
    # the app keeps working on the dataset it had
    assert _metric(at, "Clips") == "8"
    assert not (app_env["home"] / "settings.json").exists()


def test_missing_folder_gives_a_clear_error(tmp_path: Path, app_env: dict[str, Path]) -> None:
    at = app_test().run()
    at.text_input(key=StateKeys.DATASET_INPUT).input(str(tmp_path / "nowhere")).run()
    at.button(key="home.open").click().run()
    assert any("does not exist" in _unescape(e.value) for e in at.error)


def test_open_another_dataset_is_this_sessions_and_the_admin_sets_the_server_default(tmp_path: Path,
                                                                                   app_env: dict[str, Path]) -> None:
    other = make_dataset(tmp_path / "other", n_clips=3, name="other-fimad")
    at = app_test().run()
    at.text_input(key=StateKeys.DATASET_INPUT).input(str(other)).run()
    at.button(key="home.open").click().run()
    assert not at.exception
    assert not at.error
    assert _metric(at, "Clips") == "3"
    assert at.query_params["data"] == str(other.resolve())  # the session's choice is in its URL
    assert not (app_env["home"] / "settings.json").exists()  # and nowhere else
    # another session still opens the server's default (MUJO_DATA)
    assert _metric(app_test().run(), "Clips") == "8"
    # the local user is the admin: "Make this the server default" writes settings.json
    at.button(key="home.server_default").click().run()
    saved = json.loads((app_env["home"] / "settings.json").read_text())
    assert saved["dataset_dir"] == str(other.resolve())
    at2 = app_test().run()  # a new session opens the new default, although MUJO_DATA points elsewhere
    assert _metric(at2, "Clips") == "3"
    at2.button(key="home.server_reset").click().run()  # back to MUJO_DATA
    assert _metric(at2, "Clips") == "8"


def test_unusable_default_folder_keeps_the_app_working(tmp_path: Path, monkeypatch, app_env) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "fimad.json").write_text('{"format": "fimad", "version": 99, "fps": 50}')
    (bad / "clips.csv").write_text("clip_id,n_frames\na,10\n")
    monkeypatch.setenv("MUJO_DATA", str(bad))
    at = app_test().run()
    assert not at.exception
    assert any("version" in _unescape(e.value) for e in at.error)
    # the folder setting is still there, on the broken folder, so another one can be typed
    assert Path(at.text_input(key=StateKeys.DATASET_INPUT).value).resolve() == bad.resolve()
    # and Browse explains instead of failing
    at = app_test("pages/1_Browse.py").run()
    assert not at.exception
    assert at.error and at.page_link


def test_home_starts_the_demo_build_and_shows_progress(tmp_path: Path, monkeypatch) -> None:
    """Without MUJO_DATA and without the demo folder, Home starts the background build and shows its progress."""
    import mujo.ui.dataset as uds  # noqa: PLC0415
    from mujo import jobs  # noqa: PLC0415

    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    started: list[bool] = []
    state = {"status": jobs.JobStatus(name="demo")}

    def fake_start():
        started.append(True)
        state["status"] = jobs.JobStatus(name="demo", state=jobs.RUNNING, fraction=0.25,
                                         message="video 10/40, about 60 s left")
        return state["status"]

    monkeypatch.setattr(uds, "start_demo", fake_start)
    monkeypatch.setattr(uds, "demo_status", lambda: state["status"])
    monkeypatch.setattr(uds, "demo_dataset_ready", lambda: False)
    at = app_test().run()
    assert not at.exception
    assert started == [True]
    assert any("25%" in str(p.proto) for p in at.get("progress"))
    assert any("video 10/40" in _unescape(c.value) for c in at.caption)
    # a second run (another session, or a reload) follows the same build instead of starting another
    at.run()
    assert started == [True]


def test_demo_build_failure_is_reported(tmp_path: Path, monkeypatch) -> None:
    import mujo.ui.dataset as uds  # noqa: PLC0415
    from mujo import jobs  # noqa: PLC0415

    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    failed = jobs.JobStatus(name="demo", state=jobs.FAILED, error="ImportError: no module named av")
    resumed: list[bool] = []
    monkeypatch.setattr(uds, "demo_status", lambda: failed)
    monkeypatch.setattr(uds, "demo_dataset_ready", lambda: False)
    monkeypatch.setattr(uds, "start_demo", lambda: resumed.append(True) or failed)
    at = app_test().run()
    assert not at.exception
    assert any("failed" in _unescape(e.value) for e in at.error)
    assert any("no module named av" in c.value for c in at.code)
    # the folder setting is still there, on the demo's folder, so another one can be opened instead
    assert Path(at.text_input(key=StateKeys.DATASET_INPUT).value) == demo_dataset_dir()
    at.button(key=StateKeys.DEMO_RESUME).click().run()
    assert resumed == [True]


def test_links_to_home_name_its_file_page(tmp_path: Path, monkeypatch) -> None:
    """Home is a file page (nav.HOME_PAGE, the default page): a guard's link to Home resolves to it (the real-browser
    click is tests/e2e/test_curation_keyboard.py)."""
    from mujo.ui import nav  # noqa: PLC0415

    assert (REPO / nav.HOME_PAGE).is_file() and all((REPO / f).is_file() for f, _, _ in nav.PAGE_FILES)
    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE).run()  # the demo dataset is not built yet: Browse explains and links to Home
    assert not at.exception
    (link,) = [p for p in at.page_link if p.proto.label == "Go to Home"]
    assert link.proto.page == "Home" and link.proto.page_script_hash


@pytest.mark.parametrize("module", ["mujo.ui.home", "mujo.ui.browse", "mujo.ui.sidebar", "mujo.settings"])
def test_pages_do_not_import_torch(module: str) -> None:
    """Home and Browse open fast on a cold server: no torch, no Dask (sweeps), no login library without logins."""
    heavy = ("torch", "umap", "dask", "distributed", "streamlit_authenticator")
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    env = {k: v for k, v in os.environ.items() if k != "MUJO_AUTH"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
