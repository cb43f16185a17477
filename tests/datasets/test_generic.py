"""The generic format (mujo-dataset.json + one file per recording) and the registry / open_target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mujo.datasets import DATASETS, describe_targets, detect, open_target
from mujo.datasets.base import NULL_INDEX, DatasetError, G
from mujo.datasets.generic import META, POSE_COLUMNS, GenericDataset, write_generic
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import dataset_splits

BASE = {"name": "my gym", "rate_hz": 100, "units": {"acc": "g", "gyro": "deg/s"},
        "placements": {"wrist": "RWrist", "left_ankle": "LFoot"}, "classes": ["squat", "lunge"],
        "null_label": "none", "prompts": {"squat": "doing squats"}}
COLS = [f"{p}_{g}_{a}" for p in ("wrist", "left_ankle") for g in ("acc", "gyro") for a in "xyz"]


def write_csv(path: Path, n: int, labels: list[str], extra: dict[str, list] | None = None) -> None:
    cols = {c: [f"{(k + 1) * 0.5 + i * 0.001:g}" for i in range(n)] for k, c in enumerate(COLS)}
    cols["label"] = [labels[i * len(labels) // n] for i in range(n)]
    cols.update(extra or {})
    names = list(cols)
    lines = [",".join(names)] + [",".join(str(cols[c][i]) for c in names) for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make(root: Path, meta: dict | None = None, n: int = 300) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    meta = dict(BASE, **(meta or {}))
    meta.setdefault("recordings", [{"file": f"s{s}/rec{k}.csv", "subject": f"p{s}", "session": f"d{k}"}
                                   for s in range(1, 5) for k in range(2)])
    for entry in meta["recordings"] if isinstance(meta["recordings"], list) else []:
        write_csv(root / entry["file"], n, ["squat", "none", "lunge", ""])
    (root / META).write_text(json.dumps(meta))
    return root


def test_reads_units_labels_and_subjects(tmp_path):
    ds = open_target(str(make(tmp_path)))
    assert isinstance(ds, GenericDataset) and len(ds) == 8 and ds.ids[0] == "s1/rec0"
    assert ds.subjects == ["p1", "p2", "p3", "p4"] and ds.session_of(1) == "d1"
    assert ds.info.name == "my gym" and ds.info.channels == ("acc", "gyro") and ds.info.rate == 100
    assert ds.info.placements == {"wrist": "RWrist", "left_ankle": "LFoot"} and ds.info.has_null
    assert ds.info.prompts == {"squat": "doing squats"}
    rec = ds.recording(0)
    np.testing.assert_allclose(rec.imu["wrist"][0, :3], np.array([0.5, 1.0, 1.5]) * G, rtol=1e-6)  # g -> m/s²
    np.testing.assert_allclose(rec.imu["wrist"][0, 3:], np.deg2rad([2.0, 2.5, 3.0]), rtol=1e-6)  # deg/s -> rad/s
    assert rec.labels[:75].tolist() == [0] * 75 and set(rec.labels[75:150]) == {NULL_INDEX}
    assert set(rec.labels[150:225]) == {1} and set(rec.labels[225:]) == {NULL_INDEX}  # empty cell = NULL
    ws = prepare(ds, PrepareSpec(channels=("acc", "gyro")), cache=False)
    assert len(ws) == 8 * 2 and ws.sites == ("RWrist", "LFoot") and ws.imu.shape[1:] == (100, 2, 6)


def test_table_file_subjects_map_splits_and_time(tmp_path):
    make(tmp_path / "a", {"recordings": [{"file": "x.csv", "subject": "1"}]})
    (tmp_path / "a" / "table.csv").write_text("file,subject,session\nx.csv,7,morning\n")
    meta = json.loads((tmp_path / "a" / META).read_text())
    meta["recordings"] = "table.csv"
    meta["splits"] = [{"name": "mine", "key": "session", "train": ["morning"], "val": [], "test": []}]
    meta["random_splits"] = False
    (tmp_path / "a" / META).write_text(json.dumps(meta))
    ds = GenericDataset(tmp_path / "a" / META)
    assert ds.subject_of(0) == "7" and ds.session_of(0) == "morning"
    ws = prepare(ds, cache=False)
    assert [s.name for s in dataset_splits(ws)] == ["mine"]
    # subjects map + uneven time stamps (seconds) put on the 100 Hz grid
    t = np.cumsum(np.r_[0, np.tile([0.005, 0.015], 50)])  # 101 samples over 1 s, alternating gaps
    t = np.r_[t, t[-1]]  # a repeated time stamp is dropped
    make(tmp_path / "b", {"recordings": None, "subjects": {"r.csv": "1"}}, n=0)
    write_csv(tmp_path / "b" / "r.csv", 102, ["squat"], {"time": [f"{v:.3f}" for v in t]})
    meta = json.loads((tmp_path / "b" / META).read_text())
    del meta["recordings"]
    (tmp_path / "b" / META).write_text(json.dumps(meta))
    rec = GenericDataset(tmp_path / "b").recording(0)
    assert len(rec) == 101  # 0 .. 1 s at 100 Hz
    x = np.interp(np.arange(101) / 100, t[:-1], 0.5 + np.arange(101) * 0.001)
    np.testing.assert_allclose(rec.imu["wrist"][:, 0], x * G, rtol=1e-5)


def test_npy_recordings_and_pose(tmp_path):
    cols = COLS + list(POSE_COLUMNS) + ["label"]
    arr = np.zeros((150, len(cols)))
    arr[:, -1] = np.r_[np.zeros(50), np.full(50, -1), np.ones(50)]
    arr[:, cols.index("pose_Head_y")] = 1.7
    np.save(tmp_path / "r1.npy", arr)
    (tmp_path / META).write_text(json.dumps(dict(BASE, columns=cols, pose=True, units={"acc": "m/s2"},
                                                 recordings=[{"file": "r1.npy", "subject": "a"}])))
    ds = open_target(f"generic:{tmp_path}")
    rec = ds.recording(0)
    assert rec.imu["wrist"].shape == (150, 3) and rec.pose.shape == (150, 17, 3) and ds.info.has_pose
    assert rec.labels[[0, 60, 120]].tolist() == [0, NULL_INDEX, 1] and rec.pose[0, 10, 1] == pytest.approx(1.7)
    arr[3, -1] = 5
    np.save(tmp_path / "r1.npy", arr)
    with pytest.raises(DatasetError, match=r"r1.npy: label 5.0 in row 3 is not a class index 0..1 or -1"):
        ds.recording(0)


@pytest.mark.parametrize("change, message", [
    ({"rate_hz": 0}, "field 'rate_hz' must be positive"),
    ({"rate_hz": "fast"}, "field 'rate_hz' has the wrong type"),
    ({"units": {"acc": "mg"}}, "field 'units.acc' is 'mg'; expected one of m/s2"),
    ({"units": {"gyro": "rad/s"}}, "field 'units' must give the acc unit"),
    ({"units": {"acc": "g", "mag": "uT"}}, "unknown channel group 'mag'"),
    ({"placements": {"wrist": "Wrist"}}, "field 'placements.wrist' is 'Wrist'; expected a virtual IMU site"),
    ({"placements": {"a": "RWrist", "b": "RWrist"}}, "two placements to the same site"),
    ({"classes": []}, "field 'classes' must be a non-empty list"),
    ({"null_label": "squat"}, "field 'null_label'"),
    ({"name": None}, "field 'name' has the wrong type"),
    ({"recordings": [{"file": "nope.csv", "subject": "1"}]}, "recording file .*nope.csv does not exist"),
    ({"recordings": [{"file": "s1/rec0.csv"}]}, "entry 1 needs a 'file' and a 'subject'"),
    ({"recordings": "missing.csv"}, "field 'recordings' names missing.csv, which does not exist"),
])
def test_metadata_errors_name_file_and_field(tmp_path, change, message):
    make(tmp_path)
    meta = json.loads((tmp_path / META).read_text())
    meta.update(change)
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=f"{META}.*{message}"):
        GenericDataset(tmp_path)


def test_recording_errors_name_file_column_and_row(tmp_path):
    make(tmp_path)
    ds = GenericDataset(tmp_path)
    write_csv(tmp_path / "s1/rec0.csv", 120, ["squat", "sqat"])
    with pytest.raises(DatasetError, match=r"s1/rec0.csv: label 'sqat' in data row 61 is not one of the classes"):
        ds.recording(0)
    text = (tmp_path / "s1/rec1.csv").read_text().replace("wrist_gyro_y", "wrist_gyr_y")
    (tmp_path / "s1/rec1.csv").write_text(text)
    with pytest.raises(DatasetError, match=r"s1/rec1.csv: missing column\(s\) wrist_gyro_y"):
        ds.recording(1)
    lines = (tmp_path / "s2/rec0.csv").read_text().splitlines()
    lines[4] = "abc" + lines[4][lines[4].index(","):]
    (tmp_path / "s2/rec0.csv").write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"s2/rec0.csv: column 'wrist_acc_x' data row 4 holds 'abc', not a number"):
        ds.recording(2)
    ws = prepare(ds, cache=False)
    assert len(ws.recording_ids) == 5 and len(ws.problems) == 3
    (tmp_path / META).write_text("{not json")
    with pytest.raises(DatasetError, match=f"{META}: not readable JSON"):
        GenericDataset(tmp_path)
    meta = dict(BASE, recordings=[{"file": "x.csv", "subject": "1"}])
    del meta["null_label"]
    write_csv(tmp_path / "x.csv", 50, ["squat", ""])
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="label '' in data row 26 .*set null_label"):
        GenericDataset(tmp_path).recording(0)


def test_write_generic_round_trip(tmp_path, toy):
    recs = [toy.recording(i) for i in range(len(toy))]
    root = write_generic(tmp_path / "g", recs, name="toy-copy", classes=toy.info.classes,
                         placements=toy.info.placements, channels=("acc", "gyro"))
    ds = open_target(str(root))
    assert ds.ids == [r.replace("/", "_") for r in toy.ids] and ds.subjects == toy.subjects
    a = prepare(toy, PrepareSpec(channels=("acc", "gyro"), pose=True), cache=False)
    b = prepare(ds, PrepareSpec(channels=("acc", "gyro"), pose=True), cache=False)
    np.testing.assert_allclose(a.imu, b.imu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.pose, b.pose, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_registry_and_detection(tmp_path):
    assert list(DATASETS)[:5] == ["motionsense", "utd-mhad", "utd-mhad-wrist", "mmfit", "mhealth"]
    assert {"motionsense", "utd-mhad", "mmfit", "mhealth", "myogym"} <= set(DATASETS)
    entries = describe_targets()
    assert [e["name"] for e in entries] == list(DATASETS)
    assert all({"name", "root", "exists", "description"} <= set(e) for e in entries)
    with pytest.raises(DatasetError, match="neither a known dataset"):
        open_target("no-such-dataset")
    (tmp_path / "Inertial").mkdir()
    assert detect(tmp_path) == ("utd-mhad", tmp_path)
    for name, made, expect in [("m", "w01", "mmfit"), ("h", "mHealth_subject1.log", "mhealth"),
                               ("y", "MyoGym.mat", "myogym")]:
        p = tmp_path / name / made
        p.parent.mkdir()
        p.mkdir() if made == "w01" else p.write_text("")
        assert detect(p.parent)[0] == expect
    assert detect(tmp_path / "y" / "MyoGym.mat") == ("myogym", tmp_path / "y" / "MyoGym.mat")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no recognised dataset here; expected mujo-dataset.json"):
        open_target(str(tmp_path / "empty"))
