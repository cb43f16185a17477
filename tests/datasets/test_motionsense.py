"""MotionSense loader: a tiny zip written in the release's exact format, plus the real zip when it is present."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from mujo.datasets import detect, open_target
from mujo.datasets.base import DatasetError, G, shared_root
from mujo.datasets.motionsense import ACTIVITIES, MotionSense
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import dataset_splits

REAL = shared_root("MotionSense", "A_DeviceMotion_data.zip")
needs_real = pytest.mark.skipif(not REAL.is_file(), reason=f"MotionSense not available at {REAL} "
                                "(the team's shared datasets folder)")
HEADER = (",attitude.roll,attitude.pitch,attitude.yaw,gravity.x,gravity.y,gravity.z,rotationRate.x,rotationRate.y,"
          "rotationRate.z,userAcceleration.x,userAcceleration.y,userAcceleration.z")


def csv_text(n: int, seed: int) -> str:
    """A device-motion CSV like the release's: header with an empty first name, a row index, floats."""
    rng = np.random.default_rng(seed)
    rows = [HEADER]
    for i in range(n):
        att = rng.uniform(-3, 3, 3)
        grav = np.array([0.0, 0.6, 0.8])  # unit vector in g
        rot = np.array([0.5, -0.25, 0.125])
        user = rng.normal(0, 0.1, 3)
        rows.append(",".join([str(i)] + [repr(float(v)) for v in (*att, *grav, *rot, *user)]))
    return "\n".join(rows) + "\n"


def write_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(f"A_DeviceMotion_data/{name}", text)
    return path


def tiny_files() -> dict[str, str]:
    files = {}
    for act, trial in (("dws", 1), ("wlk", 7), ("sit", 5)):
        for sub in (1, 2, 10):
            files[f"{act}_{trial}/sub_{sub}.csv"] = csv_text(160, seed=sub * 100 + trial)
    return files


def test_tiny_zip_units_labels_and_ids(tmp_path):
    z = write_zip(tmp_path / "A_DeviceMotion_data.zip", tiny_files())
    ds = MotionSense(z)
    assert len(ds) == 9 and "subjects=3" in repr(ds)
    assert ds.ids[:3] == ["dws_1/sub_1", "dws_1/sub_2", "dws_1/sub_10"]  # natural subject order
    assert ds.subjects == ["sub_1", "sub_2", "sub_10"]
    assert ds.info.classes == tuple(ACTIVITIES) and ds.info.prompts["dws"] == "walking downstairs"
    assert ds.info.placements == {"front_pocket": "RHip"} and not ds.info.has_null
    rec = ds.recording(4)  # wlk_7/sub_2
    assert rec.id == "wlk_7/sub_2" and rec.subject == "sub_2" and rec.rate == 50.0
    x = rec.imu["front_pocket"]
    assert x.shape == (160, 6) and set(rec.labels) == {ds.info.classes.index("wlk")}
    text = tiny_files()["wlk_7/sub_2.csv"].splitlines()[1].split(",")
    grav, user = np.array(text[4:7], float), np.array(text[10:13], float)
    np.testing.assert_allclose(x[0, :3], (grav + user) * G, rtol=1e-6)  # total acceleration in m/s²
    np.testing.assert_allclose(x[0, 3:], [0.5, -0.25, 0.125])  # rad/s unchanged
    assert MotionSense(z, subjects=[2, "sub_10"]).subjects == ["sub_2", "sub_10"]
    assert len(MotionSense(z, limit=2)) == 2
    ws = prepare(ds, PrepareSpec(channels=("acc", "gyro")), cache=False)
    assert len(ws) == 9 * 2 and ws.sites == ("RHip",) and ws.problems == []
    assert [s.name for s in dataset_splits(ws)] == [f"random-{k}" for k in range(5)]


def test_unzipped_folder_and_detection(tmp_path):
    for name, text in tiny_files().items():
        (tmp_path / "A_DeviceMotion_data" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "A_DeviceMotion_data" / name).write_text(text)
    a, b = MotionSense(tmp_path), MotionSense(tmp_path / "A_DeviceMotion_data")
    assert a.ids == b.ids and len(a) == 9
    np.testing.assert_array_equal(a.recording(0).imu["front_pocket"], b.recording(0).imu["front_pocket"])
    assert detect(tmp_path) == ("motionsense", tmp_path)
    assert isinstance(open_target(str(tmp_path)), MotionSense)
    assert isinstance(open_target(f"motionsense:{tmp_path}"), MotionSense)
    with pytest.raises(DatasetError, match="no MotionSense data"):
        MotionSense(tmp_path / "A_DeviceMotion_data" / "dws_1")


def test_missing_and_malformed_csv_name_the_file(tmp_path):
    files = tiny_files()
    files["dws_1/sub_1.csv"] = files["dws_1/sub_1.csv"].replace("gravity.y", "gravity_y")
    lines = files["sit_5/sub_2.csv"].splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[5], "oops", 1)
    files["sit_5/sub_2.csv"] = "\n".join(lines)
    files["wlk_7/sub_10.csv"] = HEADER + "\n0," + ",".join(["0.1"] * 12) + "\n"
    z = write_zip(tmp_path / "A_DeviceMotion_data.zip", files)
    ds = MotionSense(z)
    with pytest.raises(DatasetError, match=r"A_DeviceMotion_data.zip:A_DeviceMotion_data/dws_1/sub_1.csv: "
                                           r"missing column\(s\) gravity.y"):
        ds.recording(0)
    with pytest.raises(DatasetError, match=r"sit_5/sub_2.csv: column 'gravity.y' data row 5 holds 'oops'"):
        ds.recording(ds.ids.index("sit_5/sub_2"))
    ws = prepare(ds, cache=False)
    assert len(ws.recording_ids) == 6 and len(ws) == 12
    text = "\n".join(ws.problems)
    assert "dws_1/sub_1: " in text and "sit_5/sub_2: " in text and "wlk_7/sub_10.csv: has 1 data rows" in text
    # a folder copy with a file deleted after indexing: the error names the missing file
    for name, t in tiny_files().items():
        (tmp_path / "u" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "u" / name).write_text(t)
    ds = MotionSense(tmp_path / "u")
    (tmp_path / "u" / "dws_1" / "sub_1.csv").unlink()
    with pytest.raises(DatasetError, match=r"u/dws_1/sub_1.csv: cannot be read"):
        ds.recording(0)
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(DatasetError, match="bad.zip: not a zip file"):
        MotionSense(tmp_path / "bad.zip")


@needs_real
def test_real_zip_index_and_subset():
    ds = open_target("motionsense")
    assert len(ds) == 360 and len(ds.subjects) == 24
    counts = {a: sum(ds.activity_of(i) == a for i in range(len(ds))) for a in ACTIVITIES}
    assert counts == {"dws": 72, "ups": 72, "wlk": 72, "jog": 48, "sit": 48, "std": 48}
    sub = MotionSense(REAL, subjects=[1, 2])
    assert len(sub) == 30
    ws = prepare(sub, PrepareSpec(channels=("acc", "gyro")), cache=False)
    assert ws.problems == [] and set(ws.labels) == set(range(6)) and ws.subjects == ["sub_1", "sub_2"]
    still = np.isin(ws.labels, [4, 5])  # sitting, standing: |total acceleration| is about 1 g
    assert abs(np.linalg.norm(ws.imu[still, :, 0, :3], axis=-1).mean() - G) < 0.3


@needs_real
def test_real_zip_full_prepare_is_cached():
    ds = open_target("motionsense")
    ws = prepare(ds, PrepareSpec(channels=("acc", "gyro")))
    assert len(ws) == 27720 and ws.problems == [] and ws.imu.shape[1:] == (100, 1, 6)
    assert np.bincount(ws.labels).tolist() == [2528, 3037, 6778, 2612, 6705, 6060]
    stamps = {p: p.stat().st_mtime_ns for p in Path(ws.path).rglob("*") if p.is_file()}
    again = prepare(ds, PrepareSpec(channels=("acc", "gyro")))  # from the cache: nothing is written again
    assert again.path == ws.path and len(again) == len(ws)
    assert {p: p.stat().st_mtime_ns for p in Path(ws.path).rglob("*") if p.is_file()} == stamps
