"""Retrieval page: text queries (in order, escaped), query by example, using a result as the example, R@k matrix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_helpers import app_test
from embedding_fixtures import model_env

from mujo.ui.state import StateKeys

PAGE = "pages/3_Retrieval.py"
SCRIPT = "<script>alert(1)</script>"
_PAYLOAD = re.compile(r'<script type="application/json" id="mujo-payload">(.*?)</script>', re.S)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _html(at) -> str:
    frames = at.get("iframe")
    assert len(frames) == 1, f"expected one results component, found {len(frames)}"
    return frames[0].proto.srcdoc


def _cards(at) -> list[dict]:
    m = _PAYLOAD.search(_html(at))
    assert m, "no payload in the results component"
    return json.loads(m.group(1))["cards"]


def _store(env):
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415

    return EmbeddingStore.open(env["store"])


def _fake_query(monkeypatch, vector: np.ndarray, seen: list[str] | None = None) -> None:
    """Make the text query embed to `vector` (no MiniLM, no model forward)."""
    import mujo.ui.retrieval as ur  # noqa: PLC0415

    def fake(path, stamp, text):
        if seen is not None:
            seen.append(text)
        return np.asarray(vector, np.float32)[None, :]

    monkeypatch.setattr(ur, "text_query_vector", fake)


def _text_query(at, text: str):
    at.text_input(key=StateKeys.RET_TEXT).input(text).run()
    return at


def test_text_query_returns_the_nearest_windows_in_order(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    imu = np.asarray(store.vectors("imu"), np.float32)
    seen: list[str] = []
    _fake_query(monkeypatch, imu[10], seen)
    at = app_test(PAGE).run()
    _ok(at)
    assert not at.get("iframe")  # nothing asked yet
    _text_query(at, "jumping jacks")
    _ok(at)
    assert seen == ["jumping jacks"]
    cards = _cards(at)
    expected = np.argsort(-(imu @ imu[10]), kind="stable")[:10]
    assert [c["rank"] for c in cards] == list(range(1, 11))
    assert cards[0]["clip_id"] == store.index["clip_id"].iloc[10]
    assert cards[0]["score"] == pytest.approx(1.0, abs=1e-3)
    scores = [c["score"] for c in cards]
    assert scores == sorted(scores, reverse=True)
    table = at.dataframe[0].value
    assert list(table["row"]) == list(expected)
    assert table["open"].iloc[0] == f"Browse?clip={cards[0]['clip_id']}&t={cards[0]['t0']:.2f}"
    # every card carries its window's pose (100 frames) and |acc| of the checkpoint's two sites
    assert cards[0]["pose"]["n_frames"] == 100 and cards[0]["imu"]["sites"] == 2


def test_results_show_a_script_chapter_literally(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    row = int(np.flatnonzero(store.index["clip_id"].to_numpy() == "clip004")[0])  # titled <script>alert(1)</script>
    _fake_query(monkeypatch, np.asarray(store.vectors("imu")[row], np.float32))
    at = _text_query(app_test(PAGE).run(), "anything")
    _ok(at)
    assert _cards(at)[0]["chapter"] == SCRIPT
    html = _html(at)
    assert SCRIPT not in html and "alert(1)</script>" not in html


def test_target_modality_is_selectable(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    pose = np.asarray(store.vectors("pose"), np.float32)
    _fake_query(monkeypatch, pose[3])
    at = app_test(PAGE).run()
    assert at.selectbox(key=StateKeys.RET_TARGET).options == ["Pose", "IMU"]
    at.selectbox(key=StateKeys.RET_TARGET).set_value("pose").run()
    at.number_input(key=StateKeys.RET_K).set_value(5).run()
    _text_query(at, "squats")
    _ok(at)
    assert list(at.dataframe[0].value["row"]) == list(np.argsort(-(pose @ pose[3]), kind="stable")[:5])


def test_split_restricts_the_search(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    _fake_query(monkeypatch, np.asarray(store.vectors("imu")[0], np.float32))
    at = app_test(PAGE).run()
    at.selectbox(key=StateKeys.RET_SPLIT).set_value("train").run()
    _text_query(at, "plank")
    _ok(at)
    assert set(at.dataframe[0].value["split"]) == {"train"}


def test_suggested_query_buttons_fill_the_text(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    _fake_query(monkeypatch, np.asarray(_store(env).vectors("imu")[0], np.float32))
    at = app_test(PAGE).run()
    labels = [b.label for b in at.button if b.key and b.key.startswith("ret.example_text")]
    assert labels == ["squat", "lunge", "plank", "burpee"]  # the dataset's labels, most frequent first
    at.button(key="ret.example_text.1").click().run()
    _ok(at)
    assert at.text_input(key=StateKeys.RET_TEXT).value == "lunge"
    assert len(_cards(at)) == 10


def test_query_by_example_finds_the_same_window_across_modalities(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    at = app_test(PAGE)
    at.session_state[StateKeys.RET_MODE] = "example"
    at.run()
    _ok(at)
    assert at.selectbox(key=StateKeys.RET_EX_SOURCE).value == "pose"
    assert at.selectbox(key=StateKeys.RET_EX_TARGET).value == "imu"
    at.selectbox(key=StateKeys.RET_EX_CLIP).set_value("clip002").run()
    at.select_slider(key=StateKeys.RET_EX_TIME).set_value(3.8).run()
    _ok(at)
    idx = store.index
    row = int(np.flatnonzero((idx["clip_id"] == "clip002").to_numpy() & np.isclose(idx["t0_s"], 3.8))[0])
    cards = _cards(at)
    assert cards[0]["rank"] is None and cards[0]["clip_id"] == "clip002" and cards[0]["t0"] == pytest.approx(3.8)
    assert cards[1]["rank"] == 1 and at.dataframe[0].value["row"].iloc[0] == row  # the window itself, in IMU
    assert cards[1]["note"] == "the example window itself"
    # leaving out the example's clip
    at.toggle(key=StateKeys.RET_EX_OTHER_CLIPS).set_value(True).run()
    _ok(at)
    assert "clip002" not in set(at.dataframe[0].value["clip"])


def test_same_modality_example_leaves_itself_out(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch)
    at = app_test(PAGE)
    at.session_state[StateKeys.RET_MODE] = "example"
    at.session_state[StateKeys.RET_EX_TARGET] = "pose"
    at.run()
    _ok(at)
    table = at.dataframe[0].value
    example = _cards(at)[0]
    assert not ((table["clip"] == example["clip_id"]) & np.isclose(table["t0_s"], example["t0"])).any()


def test_a_result_becomes_the_example(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    store = _store(env)
    _fake_query(monkeypatch, np.asarray(store.vectors("imu")[20], np.float32))
    at = _text_query(app_test(PAGE).run(), "burpees")
    second = at.dataframe[0].value.iloc[1]
    at.selectbox(key=StateKeys.RET_USE_RESULT).set_value(2).run()
    at.button(key="ret.use_result_go").click().run()
    _ok(at)
    assert at.session_state[StateKeys.RET_MODE] == "example"
    assert at.selectbox(key=StateKeys.RET_EX_CLIP).value == second["clip"]
    assert at.session_state[StateKeys.RET_EX_TIME] == pytest.approx(second["t0_s"])
    assert at.selectbox(key=StateKeys.RET_EX_SOURCE).value == "imu"
    assert _cards(at)[0]["clip_id"] == second["clip"]


def test_metrics_are_computed_on_request_and_saved(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    at = app_test(PAGE)
    at.session_state[StateKeys.RET_MODE] = "metrics"
    at.run()
    _ok(at)
    assert any("No retrieval metrics" in i.value for i in at.info)
    at.button(key="ret.compute_metrics").click().run()
    _ok(at)
    df = at.dataframe[0].value
    assert len(df) == 6  # ordered pairs of text, pose, imu
    assert {"R@1", "R@5", "R@10", "MRR", "chance_R@1"} <= set(df.columns)
    pose_imu = df[(df["query"] == "pose") & (df["target"] == "imu")].iloc[0]
    assert pose_imu["R@1"] > 50 > pose_imu["chance_R@1"]  # percent: pose and imu vectors nearly equal
    saved = json.loads((env["checkpoint"] / "retrieval.json").read_text())
    assert "test-fimad-fake/val" in saved["results"]
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heat["type"] == "heatmap" and heat["y"] == ["Text", "Pose", "IMU"]


def test_saved_metrics_are_shown_with_the_chosen_metric(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    from mujo.eval.retrieval import retrieval_eval, save_retrieval  # noqa: PLC0415

    store = _store(env)
    df = retrieval_eval(store, "val")
    save_retrieval(df, store, "val", checkpoint_dir=env["checkpoint"], db=env["home"] / "db.sqlite")
    at = app_test(PAGE)
    at.session_state[StateKeys.RET_MODE] = "metrics"
    at.run()
    _ok(at)
    assert not at.info
    at.button_group(key=StateKeys.RET_METRIC).set_value("MRR").run()
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    z = pd.DataFrame(heat["z"], index=heat["y"], columns=heat["x"])
    expected = 100 * df.set_index(["query", "target"]).loc[("pose", "imu"), "MRR"]
    assert z.loc["Pose", "IMU"] == pytest.approx(expected)


def test_model_without_text_encoder(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch, modalities=("pose", "imu"))
    at = app_test(PAGE).run()
    _ok(at)
    assert any("no text encoder" in _unescape(i.value) for i in at.info)
    at.session_state[StateKeys.RET_MODE] = "example"
    at.run()
    _ok(at)
    assert len(_cards(at)) == 11  # the example and 10 results


def test_real_text_query_through_the_model(tmp_path: Path, monkeypatch) -> None:
    """No stand-in: MiniLM and the checkpoint's text encoder embed the query (random weights: any order)."""
    model_env(tmp_path, monkeypatch)
    at = _text_query(app_test(PAGE).run(), "jumping jacks")
    _ok(at)
    assert len(_cards(at)) == 10
