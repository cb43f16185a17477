"""A session's dataset: `?data=` and Home's choice belong to the browser session; with MUJO_DATA_ROOTS only the
datasets under the roots open, and a refusal says nothing about what lies at the path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_helpers import BROWSE, app_test, make_dataset

from mujo.ui.home import DATASET_PICK


def _plain(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _clips(at) -> str:
    return next(m.value for m in at.metric if m.label == "Clips")


@pytest.fixture()
def roots(app_env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Two data roots with three datasets, and things outside them to probe for."""
    a, b = tmp_path / "roots" / "a", tmp_path / "roots" / "b"
    small = make_dataset(a / "small", n_clips=3, name="small-fimad")
    nested = make_dataset(a / "lab" / "nested", n_clips=5, name="nested-fimad")
    other = make_dataset(b / "other", n_clips=2, name="other-fimad")
    outside = make_dataset(tmp_path / "outside", n_clips=4, name="outside-fimad")
    (a / "not-a-dataset").mkdir()
    (a / "a-file.txt").write_text("x")
    (a / "link-out").symlink_to(outside)  # a link inside a root to a dataset outside
    monkeypatch.setenv("MUJO_DATA_ROOTS", f"{a}:{b}")
    return {**app_env, "a": a, "small": small, "nested": nested, "other": other, "outside": outside}


def test_data_param_opens_the_dataset_in_this_session_only(roots: dict[str, Path]) -> None:
    at = app_test(query={"data": str(roots["nested"])}).run()
    assert not at.exception
    assert _clips(at) == "5"
    assert _clips(app_test().run()) == "8"  # another session keeps the server's default (MUJO_DATA)
    at.switch_page(BROWSE).run()  # page changes keep it, and put it back into the URL
    assert not at.exception
    assert at.query_params["data"] == str(roots["nested"].resolve())
    assert any("nested-fimad" in t.value for t in at.sidebar.text)


@pytest.mark.parametrize("probe", ["outside", "link-out", "missing", "not-a-dataset", "a-file.txt", "dotdot",
                                   "relative"])
def test_a_path_outside_the_datasets_is_refused_alike(roots: dict[str, Path], probe: str) -> None:
    a = roots["a"]
    path = {"outside": str(roots["outside"]), "link-out": str(a / "link-out"), "missing": str(a / "missing"),
            "not-a-dataset": str(a / "not-a-dataset"), "a-file.txt": str(a / "a-file.txt"),
            "dotdot": f"{a}/../../outside", "relative": "small"}[probe]
    at = app_test(query={"data": path}).run()
    assert not at.exception
    assert _clips(at) == "8"  # the server's default, not the probed folder
    warned = [_plain(w.value) for w in at.warning]
    assert warned == [f"{path} is not one of the datasets under the configured data roots."]
    assert "data" not in at.query_params
    for said in ("exist", "is a file", "lacks", "fimad.json", "not a folder"):
        assert said not in warned[0]


def test_home_offers_the_datasets_under_the_roots(roots: dict[str, Path]) -> None:
    at = app_test().run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "home.dataset_input"]  # no free path box with roots
    pick = at.selectbox(key=DATASET_PICK)
    found = [str(p.resolve()) for p in (roots["nested"], roots["small"], roots["other"])]
    assert sorted(pick.options) == sorted(["a/lab/nested", "a/small", "b/other"])
    pick.set_value(found[1]).run()
    at.button(key="home.open").click().run()
    assert not at.exception
    assert _clips(at) == "3"
    assert at.query_params["data"] == found[1]
    at.button(key="home.use_default").click().run()
    assert _clips(at) == "8" and "data" not in at.query_params
