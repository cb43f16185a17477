"""A FiMAD folder as a target dataset: recordings, labels (ground truth or curated), split, prompts, detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fimad_factory import make_fimad, read_rows, write_rows

from mujo.datasets import detect, open_target
from mujo.datasets.base import NULL_INDEX, DatasetError
from mujo.datasets.fimad_target import FimadCuratedTarget, FimadTarget
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import dataset_splits, split_rows
from mujo.datasets.windowset import fingerprint
from mujo.fimad.layout import NULL_LABEL
from mujo.store import Store, dataset_key


@pytest.fixture(scope="module")
def clips(tiny_synth_imu: Path) -> pd.DataFrame:
    return pd.read_csv(tiny_synth_imu / "clips.csv", index_col="clip_id", keep_default_na=False)


def test_truth_labels_recordings_split_and_prompts(tiny_synth_imu: Path, clips: pd.DataFrame) -> None:
    ds = open_target(tiny_synth_imu)
    assert isinstance(ds, FimadTarget) and ds.labels == "truth" and not ds.excluded
    assert ds.ids == clips.index.tolist()
    acts = sorted(set(clips["label"]) - {NULL_LABEL})
    info = ds.info
    assert info.classes == tuple(acts) and info.has_null and info.has_pose and info.rate == 50
    assert info.channels == ("acc", "gyro") and list(info.placements) == list(ds.fimad.imu_sites)
    assert all(k == v for k, v in info.placements.items())
    assert info.prompts["tricep_extension"] == "tricep extension"  # the generator's display name
    assert info.random_splits is False and [f.name for f in info.fixed_splits] == ["val-halves", "fimad"]
    for i, cid in enumerate(ds.ids):
        rec = ds.recording(i)
        want = NULL_INDEX if clips.at[cid, "label"] == NULL_LABEL else acts.index(clips.at[cid, "label"])
        assert (rec.labels == want).all() and len(rec) == clips.at[cid, "n_frames"]
        assert rec.subject == clips.at[cid, "video_id"] and rec.session == clips.at[cid, "split"]
        assert rec.imu["LWrist"].shape == (len(rec), 6) and rec.pose.shape == (len(rec), 17, 3)
    # the LWrist acc of the recording is the clip's own
    acc, gyro = ds.fimad.imu(ds.ids[1])
    k = ds.fimad.imu_sites.index("LWrist")
    rec = ds.recording(1)
    np.testing.assert_allclose(rec.imu["LWrist"], np.concatenate([acc[:, k], gyro[:, k]], 1))


def test_windows_follow_the_datasets_split(tiny_synth_imu: Path, clips: pd.DataFrame) -> None:
    ds = FimadTarget(tiny_synth_imu, sites=("RWrist", "LWrist"), gyro=False)
    assert list(ds.info.placements) == ["RWrist", "LWrist"] and ds.info.channels == ("acc",)
    ws = prepare(ds, PrepareSpec(channels=("acc",)), cache=False)
    splits = dataset_splits(ws)
    assert [s.name for s in splits] == ["val-halves", "fimad"]  # no random subject splits; no test clips: halves
    parts = split_rows(ws, splits[1])
    for part in ("train", "val"):
        rec_ids = {ws.recording_ids[r] for r in ws.recording[parts[part]]}
        assert rec_ids == set(clips.index[clips["split"] == part])
    assert len(parts["test"]) == 0 and (ws.labels == NULL_INDEX).any()
    halves = splits[0]  # by video: the train videos, then the val videos alternately validating and testing
    val_videos = sorted(set(clips.loc[clips["split"] == "val", "video_id"]))
    assert halves.key == "subject" and halves.val + halves.test == tuple(val_videos[0::2] + val_videos[1::2])
    assert set(halves.train) == set(clips.loc[clips["split"] == "train", "video_id"])


def test_own_test_split_comes_alone(tmp_path: Path) -> None:
    root = make_fimad(tmp_path / "ds", n_clips=6)
    rows = read_rows(root)
    head = rows[0]
    rows[0] = head + ["label"]
    for i, r in enumerate(rows[1:]):
        if i >= 4:
            r[head.index("split")] = "test"
        r.append(NULL_LABEL if i % 2 else "squat")
    write_rows(root, rows)
    ds = FimadTarget(root, gyro=False)
    assert [f.name for f in ds.info.fixed_splits] == ["fimad"] and ds.info.classes == ("squat",)
    assert [ds.session_of(i) for i in range(6)] == ["val", "val", "train", "train", "test", "test"]
    assert [ds.subject_of(i) for i in range(6)] == ["vid0", "vid0", "vid1", "vid1", "vid2", "vid2"]


def test_detection_and_specs(tiny_synth_imu: Path) -> None:
    assert detect(tiny_synth_imu) == ("fimad", tiny_synth_imu)
    assert detect(tiny_synth_imu / "fimad.json") == ("fimad", tiny_synth_imu)
    assert isinstance(open_target(f"fimad:{tiny_synth_imu}", sites=("LWrist",)), FimadTarget)
    with pytest.raises(DatasetError, match="no clip has a usable curated label"):  # the default store has none
        open_target(f"fimad-curated:{tiny_synth_imu}")


def test_curated_labels_map_to_classes(tiny_synth_imu: Path, clips: pd.DataFrame, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    key = dataset_key(tiny_synth_imu)
    null_ids = clips.index[clips["label"] == NULL_LABEL].tolist()
    ex_ids = clips.index[clips["label"] != NULL_LABEL].tolist()
    store.add_label_events(key, [
        {"clip_id": null_ids[0], "label": "null"},
        {"clip_id": ex_ids[0], "label": "null"},  # the curator says NULL although the generator had an exercise
        {"clip_id": ex_ids[1], "label": "activity"},  # no name: the clip's label column
        {"clip_id": ex_ids[2], "label": "activity", "activity": "squat"},  # named: the curator's name wins
        {"clip_id": null_ids[1], "label": "activity"},  # no name and no activity in clips.csv: left out
        {"clip_id": null_ids[2], "label": "unsure"},
        {"clip_id": null_ids[3], "label": "bad"},
        {"clip_id": null_ids[4], "label": "null", "t0_s": 1.0, "t1_s": 2.0},  # ranged only: left out
    ])
    ds = FimadCuratedTarget(tiny_synth_imu, store=store, sites=("LWrist",))
    assert ds.labels == "curated" and ds.info.name.endswith("-curated")
    assert ds.ids == [c for c in clips.index if c in {null_ids[0], ex_ids[0], ex_ids[1], ex_ids[2]}]
    classes = ds.info.classes
    assert "squat" in classes and set(clips["label"]) - {NULL_LABEL} <= set(classes)
    got = {cid: int(ds.recording(i).labels[0]) for i, cid in enumerate(ds.ids)}
    assert got == {null_ids[0]: NULL_INDEX, ex_ids[0]: NULL_INDEX,
                   ex_ids[1]: classes.index(clips.at[ex_ids[1], "label"]), ex_ids[2]: classes.index("squat")}
    assert ds.excluded[null_ids[1]] == "curated activity without a name"
    assert ds.excluded[null_ids[2]] == "curated unsure" and ds.excluded[null_ids[3]] == "curated bad"
    assert ds.excluded[null_ids[4]] == "unlabelled" and ds.info.has_null

    # the labels live in the store, not in the folder: a changed label must change the window cache's key
    before = fingerprint(ds, PrepareSpec())
    store.add_label_event(key, ex_ids[1], "null")
    after = FimadCuratedTarget(tiny_synth_imu, store=store, sites=("LWrist",))
    assert after.ids == ds.ids and fingerprint(after, PrepareSpec()) != before


def test_errors_name_the_problem(tmp_path: Path, tiny_synth_imu: Path) -> None:
    plain = make_fimad(tmp_path / "plain", n_clips=2)  # no label column
    with pytest.raises(DatasetError, match="no label column.*curated"):
        FimadTarget(plain)
    with pytest.raises(DatasetError, match="IMU sites"):
        FimadTarget(tiny_synth_imu, sites=("LWrist", "Nose"))
    with pytest.raises(DatasetError, match="labels must be"):
        FimadTarget(tiny_synth_imu, labels="guess")
    with pytest.raises(DatasetError, match="does not exist"):
        FimadTarget(tmp_path / "absent")
