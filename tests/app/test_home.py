"""Home page: dataset summary, validation, model placeholder, choosing another folder, building the demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from app_helpers import REPO, app_test, make_dataset
from fimad_factory import corrupt_header

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
    assert any(str(app_env["data"]) in c.value for c in at.code)
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


def test_open_another_dataset_is_persisted(tmp_path: Path, app_env: dict[str, Path]) -> None:
    other = make_dataset(tmp_path / "other", n_clips=3, name="other-fimad")
    at = app_test().run()
    at.text_input(key=StateKeys.DATASET_INPUT).input(str(other)).run()
    at.button(key="home.open").click().run()
    assert not at.exception
    assert not at.error
    assert _metric(at, "Clips") == "3"
    saved = json.loads((app_env["home"] / "settings.json").read_text())
    assert saved["dataset_dir"] == str(other.resolve())
    # a new session (a fresh AppTest) opens the saved choice, although MUJO_DATA points elsewhere
    at2 = app_test().run()
    assert _metric(at2, "Clips") == "3"
    # "Use default" goes back to MUJO_DATA
    at2.button(key="home.use_default").click().run()
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
    assert at.text_input(key=StateKeys.DATASET_INPUT) is not None
    # and Browse explains instead of failing
    at = app_test("pages/1_Browse.py").run()
    assert not at.exception
    assert at.error and at.page_link


def test_home_builds_the_demo_when_absent(tmp_path: Path, monkeypatch) -> None:
    """Without MUJO_DATA and without the demo folder, Home builds it with visible progress."""
    import mujo.ui.dataset as uds  # noqa: PLC0415
    from mujo import paths  # noqa: PLC0415

    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    calls: list[tuple[float, str]] = []

    def fake_build(progress):
        # The real builder takes minutes; the page only needs its contract: progress calls, then a dataset.
        for i in range(3):
            progress(i / 3, f"video {i + 1}/3")
            calls.append((i / 3, f"video {i + 1}/3"))
        return make_dataset(paths.demo_dataset_dir(), n_clips=4, name="fimad-demo")

    monkeypatch.setattr(uds, "build_demo_dataset", fake_build)
    at = app_test().run()
    assert not at.exception
    assert len(calls) == 3
    assert _metric(at, "Clips") == "4"
    assert "fimad-demo" in [t.value for t in at.text]


def test_demo_build_failure_is_reported(tmp_path: Path, monkeypatch) -> None:
    import mujo.ui.dataset as uds  # noqa: PLC0415

    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))

    def broken_build(progress):
        raise ImportError("no module named mujo.data.synth")

    monkeypatch.setattr(uds, "build_demo_dataset", broken_build)
    at = app_test().run()
    assert not at.exception
    assert any("cannot build the demo dataset" in _unescape(e.value) for e in at.error)
    assert at.text_input(key=StateKeys.DATASET_INPUT) is not None


@pytest.mark.parametrize("module", ["mujo.ui.home", "mujo.ui.browse", "mujo.ui.sidebar", "mujo.settings"])
def test_pages_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
