"""What the Embedding Space plots: subsets, clip means, the joint space, colours, curation, the selection table."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mujo.eval import embedding_view as ev
from mujo.ui import embed_plot


def _store(n_clips: int = 6, per_clip: int = 4, dim: int = 8, mods=("text", "pose", "imu")):
    rows = []
    for c in range(n_clips):
        for w in range(per_clip):
            rows.append({"clip_id": f"c{c}", "start": 50 * w, "t0_s": float(w),
                         "split": "val" if c % 3 == 0 else "train",
                         "video_id": f"v{c // 2}", "label": [None, "squat", "plank"][c % 3],
                         "chapter": "<b>bold</b> & co" if c == 1 else f"chapter {c}"})
    index = pd.DataFrame(rows)
    rng = np.random.default_rng(0)
    vecs = {}
    for m in mods:
        v = rng.normal(size=(len(index), dim)).astype(np.float32)
        vecs[m] = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16)
    return SimpleNamespace(index=index, modalities=tuple(mods), vectors=lambda m: vecs[str(m)],
                           meta={"checkpoint_sha256": "s", "dataset_id": "d", "created": "t"})


def test_filters_and_missing_labels() -> None:
    s = _store()
    assert len(ev.filter_rows(s.index, ("val",))) == 8  # clips 0 and 3
    assert len(ev.filter_rows(s.index, (), ("(none)",))) == 8  # label None -> "(none)"
    assert len(ev.filter_rows(s.index, ("val",), ("squat",))) == 0


def test_window_points_subsample_is_seeded_and_sorted() -> None:
    s = _store()
    a = ev.build_points(s, ev.ViewSpec(modality="imu", max_points=10, seed=3))
    b = ev.build_points(s, ev.ViewSpec(modality="imu", max_points=10, seed=3))
    c = ev.build_points(s, ev.ViewSpec(modality="imu", max_points=10, seed=4))
    assert len(a) == 10 and a.n_available == 24
    assert list(a.rows) == sorted(a.rows) and list(a.rows) == list(b.rows) and a.digest == b.digest
    assert a.digest != c.digest
    assert "(none)" in set(ev.build_points(s, ev.ViewSpec("imu")).frame["label"])


def test_clip_points_are_renormalised_means() -> None:
    s = _store()
    p = ev.build_points(s, ev.ViewSpec(modality="pose", level="clip"))
    assert len(p) == 6 and list(p.frame["n_windows"]) == [4] * 6
    assert list(p.frame["clip_id"]) == [f"c{i}" for i in range(6)]
    v = ev.point_vectors(s, p)
    raw = np.asarray(s.vectors("pose"), np.float32)[:4].mean(axis=0)
    np.testing.assert_allclose(v[0], raw / np.linalg.norm(raw), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-6)


def test_joint_space_stacks_modalities_of_the_same_items() -> None:
    s = _store()
    p = ev.build_points(s, ev.ViewSpec(modality=ev.JOINT, max_points=30, seed=0))
    assert p.modalities == ("text", "pose", "imu") and len(p) == 30  # 10 windows x 3 modalities
    assert list(p.frame["modality"]) == ["text"] * 10 + ["pose"] * 10 + ["imu"] * 10
    assert list(p.frame["row"][:10]) == list(p.frame["row"][10:20])
    v = ev.point_vectors(s, p)
    np.testing.assert_allclose(v[10:20], np.asarray(s.vectors("pose"), np.float32)[p.rows], atol=1e-3)
    key = ev.key_parts(s, p, ev.ViewSpec(modality=ev.JOINT, max_points=30))
    assert key["space"] == "joint" and key["n"] == 30 and key["subset"] == p.digest
    with pytest.raises(ValueError, match="no video"):
        ev.build_points(s, ev.ViewSpec(modality="video"))


def test_colour_values() -> None:
    s = _store()
    p = ev.build_points(s, ev.ViewSpec(modality=ev.JOINT))
    assert set(ev.color_values(p.frame, "modality")) == {"text", "pose", "imu"}
    assert set(ev.color_values(p.frame, "label")) == {"(none)", "squat", "plank"}
    norm = {"c1": "normalised one"}
    chapters = ev.color_values(p.frame, "chapter", chapter_norm=norm)
    assert "normalised one" in set(chapters) and "chapter 0" in set(chapters)
    with pytest.raises(ValueError):
        ev.color_values(p.frame, "mood")


def test_curation_status_windows_and_clips() -> None:
    s = _store()
    labels = pd.DataFrame({"id": [1, 2, 3, 4], "clip_id": ["c0", "c1", "c1", "c2"], "t0_s": [0.0, 0.0, 0.0, 2.5],
                           "t1_s": [None, None, 1.6, 3.5], "label": ["bad", "activity", "null", "unsure"]})
    win = ev.build_points(s, ev.ViewSpec(modality="imu"))
    status = ev.curation_status(win.frame, labels, "window")
    by = dict(zip(zip(win.frame["clip_id"], win.frame["t0_s"]), status))
    assert by[("c0", 3.0)] == "bad"
    assert by[("c1", 0.0)] == "null" and by[("c1", 1.0)] == "activity"  # the later, narrower range wins at 1.0 s
    assert by[("c2", 2.0)] == "unsure" and by[("c2", 0.0)] == ev.UNCURATED
    clips = ev.build_points(s, ev.ViewSpec(modality="imu", level="clip"))
    assert list(ev.curation_status(clips.frame, labels, "clip")[:4]) == ["bad", "activity", "partly curated",
                                                                        ev.UNCURATED]
    assert set(ev.curation_status(clips.frame, None, "clip")) == {ev.UNCURATED}


def test_selection_table_counts_windows_once_across_modalities() -> None:
    s = _store()
    p = ev.build_points(s, ev.ViewSpec(modality=ev.JOINT))  # 24 windows x 3
    picked = np.array([0, 1, 24, 25, 26, 48 + 5])  # c0 w0, w1 (text, pose), c0 w2 (pose), c1 w1 (imu)
    t = ev.selection_table(p.frame, picked)
    assert list(t.index) == ["c0", "c1"]
    assert list(t["windows"]) == [3, 1] and list(t["points"]) == [5, 1]
    assert t.loc["c1", "chapter"] == "<b>bold</b> & co" and t.loc["c0", "t0_s"] == 0.0
    assert ev.selection_table(p.frame, np.array([], np.int64)).empty


def test_scatter_payload_is_lean_escaped_and_maps_selections_back() -> None:
    s = _store()
    p = ev.build_points(s, ev.ViewSpec(modality="imu"))
    coords = np.random.default_rng(0).normal(size=(len(p), 2))
    groups = ev.color_values(p.frame, "label")
    sc = embed_plot.scatter_figure(coords, groups, p.frame["chapter"].to_numpy(), p.frame["t0_s"].to_numpy())
    texts = [x for t in json.loads(sc.figure.to_json())["data"] for x in t["text"]]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in texts and not any("<b>" in x for x in texts)
    assert all(t.type == "scattergl" for t in sc.figure.data)
    assert all(np.asarray(t.x).dtype == np.float32 for t in sc.figure.data)
    names = [t.name for t in sc.figure.data]
    squat = names.index("squat")
    pos = embed_plot.selected_positions([{"curve_number": squat, "point_index": 1},
                                         {"curve_number": 99, "point_index": 0}, {"curve_number": squat}],
                                        sc.trace_positions)
    assert list(pos) == [int(sc.trace_positions[squat][1])]
    assert groups[pos[0]] == "squat"


def test_many_groups_are_pooled_into_other() -> None:
    groups = np.array([f"g{i % 30}" for i in range(300)], dtype=object)
    names, pooled = embed_plot.group_order(groups, max_groups=20)
    assert names[0] == embed_plot.OTHER and len(names) == 20
    assert (pooled == embed_plot.OTHER).sum() == 300 - 19 * 10
