"""Embedding Space page: guards, the default view, colour options, subsets, escaping, selection, the disk cache."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from app_helpers import app_test
from embedding_fixtures import fast_project, make_store, model_env
from job_helpers import inline_jobs  # noqa: F401  (the fixture)

from mujo import jobs
from mujo.ui.state import StateKeys

PAGE = "pages/2_Embedding_Space.py"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _jobs_in_threads(inline_jobs):
    """The page's UMAP jobs run in threads here, so the fast UMAP that model_env installs applies to them."""
    return inline_jobs


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _figure(at) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1, f"expected one chart, found {len(charts)}"
    return json.loads(charts[0].proto.spec)


def _n_points(fig: dict) -> int:
    return sum(len(t["text"]) for t in fig["data"])


def _select(at, points: list[tuple[int, int]]):
    """Select points the way a lasso does: (trace, index within the trace) pairs in the chart's state."""
    at.session_state[StateKeys.EMB_CHART] = {"selection": {
        "points": [{"curve_number": c, "point_index": i} for c, i in points],
        "point_indices": [i for _, i in points], "box": [], "lasso": []}}
    return at.run()


def test_without_a_checkpoint_the_page_explains(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch, checkpoint=False)
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("No model checkpoint" in _unescape(i.value) for i in at.info)
    assert at.page_link and not at.get("plotly_chart")


def test_without_embeddings_a_button_computes_them(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch, store=False)
    calls: list[tuple[str, str]] = []

    def fake_embed(checkpoint, root, *, progress=None, **_):
        calls.append((str(checkpoint), str(root)))
        progress(0.5, "embedding imu: 40/84")
        make_store(env["home"], Path(checkpoint), Path(root))

    import mujo.eval.embed  # noqa: PLC0415

    monkeypatch.setattr(mujo.eval.embed, "embed_dataset", fake_embed)
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("not been embedded" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.button(key=StateKeys.EMBED_RUN).click().run()  # a registry job (`mujo embed`), in a thread here
    for _ in range(50):  # what the page's fragment does until the embeddings are there
        if at.get("plotly_chart"):
            break
        at.run()
    _ok(at)
    assert calls == [(str(env["checkpoint"].resolve()), str(env["data"].resolve()))]
    assert [j.kind for j in jobs.list_jobs()] == ["umap", "embed"]
    assert _n_points(_figure(at)) == 84


def test_default_view_is_imu_windows_coloured_by_label(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE).run()
    _ok(at)
    fig = _figure(at)
    assert {t["type"] for t in fig["data"]} == {"scattergl"}  # WebGL
    assert sorted(t["name"] for t in fig["data"]) == ["burpee", "lunge", "plank", "squat"]
    assert _n_points(fig) == 84  # 12 clips x 7 windows
    assert fig["layout"]["dragmode"] == "lasso"
    assert at.session_state[StateKeys.EMB_SPACE] == "imu"
    assert any("all 84 windows" in c.value for c in at.caption)


@pytest.mark.parametrize("color", ["label", "chapter", "modality", "split", "video_id", "curation"])
def test_every_colour_option_renders(color: str, tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE)
    at.session_state[StateKeys.EMB_COLOR] = color
    at.run()
    _ok(at)
    names = sorted(t["name"] for t in _figure(at)["data"])
    expected = {"label": ["burpee", "lunge", "plank", "squat"], "modality": ["imu"], "split": ["train", "val"],
                "video_id": [f"vid{i}" for i in range(6)], "curation": ["uncurated"]}
    if color in expected:
        assert names == expected[color]
    else:  # chapter: the 10 tricky titles of the factory, escaped for Plotly
        assert len(names) == 10 and "&lt;script&gt;alert(1)&lt;/script&gt;" in names


def test_joint_space_stacks_the_modalities(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE)
    at.session_state[StateKeys.EMB_SPACE] = "joint"
    at.session_state[StateKeys.EMB_COLOR] = "modality"
    at.run()
    _ok(at)
    fig = _figure(at)
    assert [t["name"] for t in fig["data"]] == ["text", "pose", "imu"]
    assert [len(t["text"]) for t in fig["data"]] == [84, 84, 84]
    assert any("3 modalities = 252 points" in c.value for c in at.caption)


def test_subset_controls(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE).run()
    at.multiselect(key=StateKeys.EMB_SPLITS).set_value(["val"]).run()
    _ok(at)
    assert _n_points(_figure(at)) == 28  # videos 0 and 3 are val: 4 clips x 7 windows
    at.multiselect(key=StateKeys.EMB_LABELS).set_value(["squat"]).run()
    assert sorted(t["name"] for t in _figure(at)["data"]) == ["squat"]
    at.multiselect(key=StateKeys.EMB_SPLITS).set_value([]).run()
    at.multiselect(key=StateKeys.EMB_LABELS).set_value([]).run()
    at.button_group(key=StateKeys.EMB_LEVEL).set_value("clip").run()
    _ok(at)
    assert _n_points(_figure(at)) == 12  # one point per clip


def test_max_points_takes_a_seeded_subsample(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch, n_clips=40, n_frames=1200)  # 40 clips x 15 windows = 600
    import mujo.ui.embedding as ue  # noqa: PLC0415

    monkeypatch.setattr(ue, "MAX_POINT_CHOICES", (300, *ue.MAX_POINT_CHOICES))
    at = app_test(PAGE).run()
    assert _n_points(_figure(at)) == 600
    at.selectbox(key=StateKeys.EMB_MAX_POINTS).set_value(300).run()
    _ok(at)
    first = _figure(at)
    assert _n_points(first) == 300
    assert any("300 of 600 windows" in c.value for c in at.caption)
    again = app_test(PAGE)
    again.session_state[StateKeys.EMB_MAX_POINTS] = 300
    again = _figure(again.run())
    assert [t["text"] for t in again["data"]] == [t["text"] for t in first["data"]]  # same seed, same subset
    assert [t["x"] for t in again["data"]] == [t["x"] for t in first["data"]]


def test_hover_text_is_escaped(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE).run()
    spec = at.get("plotly_chart")[0].proto.spec
    fig = json.loads(spec)
    texts = [s for t in fig["data"] for s in t["text"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts  # clip004's chapter, shown literally by Plotly
    assert SCRIPT not in spec and "<script" not in spec
    assert all("%{text}" in t["hovertemplate"] for t in fig["data"])


def test_selection_lists_the_clips_with_browse_links(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE).run()
    fig = _figure(at)
    squat = [t["name"] for t in fig["data"]].index("squat")
    # squat: clips 0, 3, 6, 8, 11, 7 windows each, in that order: points 0-6 are clip000's, 7-13 clip003's
    at = _select(at, [(squat, 0), (squat, 1), (squat, 7)])
    _ok(at)
    table = at.dataframe[0].value
    assert list(table["clip_id"]) == ["clip000", "clip003"]
    assert list(table["windows"]) == [2, 1]
    assert list(table["label"]) == ["squat", "squat"]
    assert table["open"].iloc[0].startswith("Browse?clip=clip000&t=")
    links = [p for p in at.page_link if "clip000" in p.proto.query_string]
    assert links and "Browse" in links[0].proto.page
    # another clip chosen in the selectbox opens that one
    at.selectbox(key=StateKeys.EMB_OPEN_CLIP).set_value("clip003").run()
    assert any("clip=clip003" in p.proto.query_string for p in at.page_link)


def test_selected_script_chapter_is_shown_literally(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE)
    at.session_state[StateKeys.EMB_LEVEL] = "clip"
    at.run()
    fig = _figure(at)
    trace = next(i for i, t in enumerate(fig["data"]) if "&lt;script&gt;alert(1)&lt;/script&gt;" in t["text"])
    at = _select(at, [(trace, fig["data"][trace]["text"].index("&lt;script&gt;alert(1)&lt;/script&gt;"))])
    _ok(at)
    table = at.dataframe[0].value
    assert list(table["clip_id"]) == ["clip004"] and table["chapter"].iloc[0] == SCRIPT
    assert list(table["windows"]) == [7]  # a clip point stands for its 7 windows
    for md in at.markdown:
        assert "<script" not in md.value


def test_reopening_uses_the_disk_cache(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    import mujo.eval.projection as projection  # noqa: PLC0415

    calls: list[int] = []
    monkeypatch.setattr(projection, "project", lambda v, **kw: calls.append(len(v)) or fast_project(v))
    at = app_test(PAGE).run()
    _ok(at)
    assert calls == [84]
    assert len(list((env["home"] / "cache" / "umap").glob("*.npy"))) == 1
    at2 = app_test(PAGE).run()  # a new session: nothing recomputed
    assert calls == [84]
    assert any("from the cache" in c.value for c in at2.caption)
    at2.slider(key=StateKeys.EMB_NEIGHBORS).set_value(30).run()  # other parameters: a new projection
    assert calls == [84, 84]


def test_curation_status_colours(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    from mujo.store import open_store  # noqa: PLC0415

    db = open_store()
    db.add_label_event(str(env["data"].resolve()), "clip001", "bad")
    db.add_label_event(str(env["data"].resolve()), "clip002", "null", t0_s=0.0, t1_s=5.0)
    at = app_test(PAGE)
    at.session_state[StateKeys.EMB_COLOR] = "curation"
    at.run()
    _ok(at)
    counts = {t["name"]: len(t["text"]) for t in _figure(at)["data"]}
    # clip001: all 7 windows bad; clip002: the windows whose middle lies before 5 s (starts 1.8, 2.8, 3.8) null
    assert counts == {"uncurated": 84 - 7 - 3, "bad": 7, "null": 3}
    assert np.isclose(sum(counts.values()), 84)


def test_a_long_projection_runs_in_the_background(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    import threading  # noqa: PLC0415

    import mujo.eval.projection as projection  # noqa: PLC0415
    import mujo.ui.embedding as ue  # noqa: PLC0415

    release, calls = threading.Event(), []

    def slow(v, **kw):
        calls.append(len(v))
        release.wait(20)
        return fast_project(v)

    monkeypatch.setattr(projection, "project", slow)
    monkeypatch.setattr(ue, "QUICK_WAIT_S", 0.1)
    at = app_test(PAGE).run()
    assert not at.exception
    assert not at.get("plotly_chart")
    assert any("Computing UMAP for 84 points" in str(p.proto) for p in at.get("progress"))
    at.selectbox(key=StateKeys.EMB_COLOR).set_value("split").run()  # a rerun does not start it again
    assert calls == [84] and not at.get("plotly_chart")
    release.set()
    for _ in range(50):
        at.run()
        if at.get("plotly_chart"):
            break
    _ok(at)
    assert calls == [84] and _n_points(_figure(at)) == 84
    (job,) = jobs.list_jobs()  # one registry job, which the rerun joined instead of starting another
    assert (job.kind, job.state, job.argv[0]) == ("umap", jobs.DONE, "project")


def test_a_projection_waits_in_the_queue_while_the_cap_is_full(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    monkeypatch.setenv("MUJO_MAX_JOBS", "1")
    blocker = jobs.submit("pretrain", ["jobs", "sleep", "5"], key_inputs="blocker")
    at = app_test(PAGE).run()
    assert not at.exception and not at.get("plotly_chart")
    assert any("waiting in the queue" in str(p.proto) for p in at.get("progress"))
    for _ in range(100):
        at.run()
        if at.get("plotly_chart"):
            break
    _ok(at)
    assert _n_points(_figure(at)) == 84
    assert jobs.get(blocker.id).state == jobs.DONE


def test_a_failed_projection_says_why_and_can_be_retried(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    import mujo.eval.projection as projection  # noqa: PLC0415

    def broken(v, **kw):
        raise MemoryError("out of memory")

    monkeypatch.setattr(projection, "project", broken)
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("out of memory" in _unescape(e.value) for e in at.error)
    monkeypatch.setattr(projection, "project", fast_project)
    at.button(key="emb.retry").click().run()
    _ok(at)
    assert _n_points(_figure(at)) == 84


def test_warming_the_default_view_makes_the_first_visit_instant(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    import mujo.eval.projection as projection  # noqa: PLC0415
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415
    from mujo.eval.embedding_view import DEFAULT_MAX_POINTS, warm_default_view  # noqa: PLC0415
    from mujo.ui.state import DEFAULTS  # noqa: PLC0415

    assert DEFAULTS[StateKeys.EMB_MAX_POINTS] == DEFAULT_MAX_POINTS
    for key, name in ((StateKeys.EMB_NEIGHBORS, "n_neighbors"), (StateKeys.EMB_MIN_DIST, "min_dist"),
                      (StateKeys.EMB_SEED, "seed")):
        assert DEFAULTS[key] == projection.DEFAULT_PARAMS[name]
    warm_default_view(EmbeddingStore.open(env["store"]))  # e.g. at the end of the demo pipeline
    calls: list[int] = []
    monkeypatch.setattr(projection, "project", lambda v, **kw: calls.append(len(v)) or fast_project(v))
    at = app_test(PAGE).run()
    _ok(at)
    assert calls == [] and any("from the cache" in c.value for c in at.caption)
