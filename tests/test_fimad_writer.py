"""FimadWriter: exact round trips, atomic files, input checks, resuming."""

from __future__ import annotations

import csv
import json
import os
import time
import zipfile

import numpy as np
import pytest
from fimad_factory import TRICKY_TEXTS, truncate

import mujo.fimad.writer as writer_mod
from mujo.fimad.arrays import npz_members
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.writer import FimadWriter

SITES = ("LWrist", "RWrist", "Head")


def _writer(root, **kw):
    return FimadWriter(root, name="w", fps=30, imu_sites=SITES, **kw)


def _arrays(rng, t):
    return (rng.normal(size=(t, 17, 3)).astype(np.float32), rng.normal(size=(t, 3, 3)).astype(np.float32),
            rng.normal(size=(t, 3, 3)))  # gyro as float64: stored as float32


def test_round_trip_exact(tmp_path):
    rng = np.random.default_rng(0)
    w = _writer(tmp_path, description="desc ✓", synthetic=True, source="sensor axes: x along the bone",
                features={"hero": {"dim": 8, "fps": 30}}, text_features={"ada": {"dim": 4, "fields": ["chapter"]}})
    written, rows = {}, []
    for i, text in enumerate(TRICKY_TEXTS):
        cid = f"c{i}"
        pose, acc, gyro = _arrays(rng, 20 + i)
        w.write_pose(cid, pose)
        w.write_imu(cid, acc, gyro)
        written[cid] = (pose, acc, gyro.astype(np.float32))
        rows.append({"clip_id": cid, "n_frames": 20 + i, "chapter": text, "start_s": 0.1 * i, "label": None,
                     "mood": text, "rank": np.int64(i)})
    w.finish(rows, {"train": ["c0", "c1"], "val": ["c2"]})
    ds = FimadDataset(tmp_path)
    assert ds.manifest.description == "desc ✓" and ds.manifest.features == {"hero": {"dim": 8, "fps": 30}}
    assert ds.manifest.text_features["ada"]["fields"] == ["chapter"] and ds.fps == 30 and ds.imu_sites == SITES
    for cid, (pose, acc, gyro) in written.items():
        np.testing.assert_array_equal(ds.pose(cid), pose)
        got_acc, got_gyro = ds.imu(cid)
        np.testing.assert_array_equal(got_acc, acc)
        np.testing.assert_array_equal(got_gyro, gyro)
    assert list(ds.clips["chapter"]) == list(TRICKY_TEXTS) and list(ds.clips["mood"]) == list(TRICKY_TEXTS)
    assert ds.clips.loc["c3", "start_s"] == pytest.approx(0.3) and ds.clips.loc["c1", "label"] == ""
    assert ds.clips.loc["c4", "rank"] == "4"
    assert ds.clips["split"].tolist()[:4] == ["train", "train", "val", ""]


def test_files_follow_the_format(tmp_path):
    rng = np.random.default_rng(1)
    w = _writer(tmp_path)
    pose, acc, gyro = _arrays(rng, 10)
    w.write_pose("a", pose)
    w.write_imu("a", acc, gyro)
    w.finish([{"clip_id": "a", "n_frames": 10, "chapter": "x,\ny"}])
    raw = (tmp_path / "clips.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.startswith(b"clip_id,n_frames,chapter\r\n")
    with open(tmp_path / "clips.csv", encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [["clip_id", "n_frames", "chapter"], ["a", "10", "x,\ny"]]
    manifest = json.loads((tmp_path / "fimad.json").read_text("utf-8"))
    assert manifest["format"] == "fimad" and manifest["version"] == 1 and manifest["imu_sites"] == list(SITES)
    with zipfile.ZipFile(tmp_path / "imu" / "a.npz") as zf:
        assert sorted(zf.namelist()) == ["acc.npy", "gyro.npy"]
        assert all(zi.compress_type == zipfile.ZIP_STORED for zi in zf.infolist())
    assert all(m.info.offset % 64 == 0 for m in npz_members(tmp_path / "imu" / "a.npz").values())
    with np.load(tmp_path / "imu" / "a.npz") as z:  # still an ordinary npz
        np.testing.assert_array_equal(z["acc"], acc)


def test_no_temp_files_and_finish_twice(tmp_path):
    rng = np.random.default_rng(2)
    w = _writer(tmp_path)
    pose, acc, gyro = _arrays(rng, 12)
    w.write_pose("a", pose)
    w.write_imu("a", acc, gyro)
    rows = [{"clip_id": "a", "n_frames": 12}]
    w.finish(rows, {"train": ["a"]})
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    w.finish(rows, {"train": ["a"]})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == first
    w.finish(rows)  # no splits now: a stale splits.json would override the split column
    assert not (tmp_path / "splits.json").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert len(FimadDataset(tmp_path)) == 1


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    w = _writer(tmp_path)

    def fail(f, arr):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(writer_mod, "write_npy", fail)
    with pytest.raises(OSError, match="disk full"):
        w.write_pose("a", np.zeros((5, 17, 3), np.float32))
    assert list((tmp_path / "pose").iterdir()) == []


def test_stale_temps_removed_and_resume(tmp_path):
    rng = np.random.default_rng(3)
    w = _writer(tmp_path)
    for cid in ("a", "b", "c"):
        pose, acc, gyro = _arrays(rng, 10)
        w.write_pose(cid, pose)
        w.write_imu(cid, acc, gyro)
    truncate(tmp_path / "pose" / "b.npy")
    (tmp_path / "imu" / "c.npz").write_bytes(b"PK\x03\x04 half a zip")
    stale, fresh = tmp_path / "pose" / ".d.npy.1234abcd.tmp", tmp_path / "imu" / ".e.npz.5678abcd.tmp"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"another process is writing this one right now")
    old = time.time() - writer_mod.STALE_TEMP_S - 5
    os.utime(stale, (old, old))
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "a.mp4").write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 20)
    (tmp_path / "video" / "b.mp4").write_bytes(b"")
    w2 = _writer(tmp_path)  # a new writer (a resume, or a parallel worker) touches nobody's temp files
    assert stale.exists() and fresh.exists()
    assert w2.existing_clips() == {"pose": {"a", "c"}, "imu": {"a", "b"}, "video": {"a"}}
    assert w2.video_path("z") == tmp_path / "video" / "z.mp4"
    w2.finish([{"clip_id": "a", "n_frames": 10}])
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("call, match", [
    (lambda w: w.write_pose("../x", np.zeros((5, 17, 3))), "unsafe"),
    (lambda w: w.write_pose("a/b", np.zeros((5, 17, 3))), "unsafe"),
    (lambda w: w.write_pose("a", np.zeros((5, 16, 3))), "shape"),
    (lambda w: w.write_pose("a", np.zeros((5, 17, 3), int)), "float"),
    (lambda w: w.write_pose("a", np.zeros((0, 17, 3))), "no samples"),
    (lambda w: w.write_imu("a", np.zeros((5, 16, 3)), np.zeros((5, 16, 3))), "shape"),
    (lambda w: w.write_imu("a", np.zeros((5, 3, 3)), np.zeros((6, 3, 3))), "gyro shape"),
    (lambda w: w.video_path(""), "unsafe"),
    (lambda w: w.finish([{"clip_id": "a/b", "n_frames": 1}]), "unsafe"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": 1}, {"clip_id": "a", "n_frames": 1}]), "duplicate"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": 1.5}]), "n_frames"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": True}]), "n_frames"),
    (lambda w: w.finish([{"clip_id": "a"}]), "n_frames"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": 1, "chapter": "a\0b"}]), "NUL"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": 1}], {"train": ["b"]}), "not in rows"),
    (lambda w: w.finish([{"clip_id": "a", "n_frames": 1}], {"train": ["a"], "val": ["a"]}), "both"),
])
def test_bad_input_rejected(tmp_path, call, match):
    w = _writer(tmp_path)
    with pytest.raises(ValueError, match=match):
        call(w)
    assert not (tmp_path / "clips.csv").exists() and not (tmp_path / "fimad.json").exists()


def test_lengths_must_agree(tmp_path):
    w = _writer(tmp_path)
    w.write_pose("a", np.zeros((5, 17, 3), np.float32))
    with pytest.raises(ValueError, match="another modality"):
        w.write_imu("a", np.zeros((6, 3, 3)), np.zeros((6, 3, 3)))
    with pytest.raises(ValueError, match="n_frames=4"):
        w.finish([{"clip_id": "a", "n_frames": 4}])


@pytest.mark.parametrize("kw, match", [({"fps": 0}, "fps"), ({"imu_sites": ["Nose"]}, "Nose"),
                                       ({"imu_sites": []}, "non-empty"), ({"name": ""}, "name")])
def test_bad_settings(tmp_path, kw, match):
    args = {"name": "w", "fps": 30, **kw}
    with pytest.raises(ValueError, match=match):
        FimadWriter(tmp_path, **args)
