"""FimadDataset: reads what the writer wrote, reads hand-made datasets, refuses unusable ones, never escapes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fimad_factory import TRICKY_TEXTS, add_nan_gap, append_row, edit_manifest, make_fimad, set_cell

import mujo.fimad.arrays as arrays_mod
import mujo.fimad.dataset as fimad_mod
from mujo.fimad.dataset import ClipError, FimadDataset, FimadError, is_safe_clip_id
from mujo.fimad.skeleton import IMU_SITES


def _is_memmap(a: np.ndarray) -> bool:
    return isinstance(a, np.memmap) or isinstance(getattr(a, "base", None), np.memmap)


def test_factory_dataset_reads_back(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=10, n_frames=[120 + 10 * i for i in range(10)])
    ds = FimadDataset(root)
    assert len(ds) == 10 and ds.fps == 50 and ds.imu_sites == IMU_SITES
    assert ds.manifest.name == "test-fimad" and ds.manifest.synthetic is True
    clips = ds.clips
    assert clips.index.name == "clip_id" and list(clips.index) == [f"clip{i:03d}" for i in range(10)]
    assert list(clips["chapter"]) == list(TRICKY_TEXTS)  # commas, quotes, newlines, emoji, "NaN", "007" as text
    assert clips.loc["clip001", "difficulty"] == "007"  # unknown column kept, as text
    assert clips["n_frames"].tolist() == [120 + 10 * i for i in range(10)]
    assert clips.loc["clip002", "start_s"] == pytest.approx(3.0)
    assert clips.loc["clip003", "duration_s"] == pytest.approx(150 / 50)
    assert clips["has_pose"].all() and clips["has_imu"].all() and not clips["has_video"].any()
    assert clips.loc["clip002", "split"] == "train" and clips.loc["clip000", "split"] == "val"
    for cid in clips.index:
        pose = ds.pose(cid)
        assert pose.dtype == np.float32 and pose.shape == (clips.loc[cid, "n_frames"], 17, 3)
        np.testing.assert_array_equal(pose, np.load(root / "pose" / f"{cid}.npy"))
        acc, gyro = ds.imu(cid)
        with np.load(root / "imu" / f"{cid}.npz") as z:
            np.testing.assert_array_equal(acc, z["acc"])
            np.testing.assert_array_equal(gyro, z["gyro"])
    assert ds.video_path("clip000") is None
    assert "clips=10" in repr(ds) and "test-fimad" in repr(ds)


def test_memory_mapped_when_possible(tmp_path):
    ds = FimadDataset(make_fimad(tmp_path / "d", n_clips=2))
    assert _is_memmap(ds.pose("clip000"))
    acc, gyro = ds.imu("clip000")
    assert _is_memmap(acc) and _is_memmap(gyro)
    assert not acc.flags.writeable


def _hand_made(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """A dataset written without FimadWriter, the way another tool might."""
    root.mkdir()
    (root / "fimad.json").write_text(json.dumps({
        "format": "fimad", "version": 1, "name": "wrist", "fps": 25, "imu_sites": ["RWrist", "LWrist"],
        "a_future_key": {"x": 1}}), encoding="utf-8")
    # BOM, CRLF, required columns only, n_frames before clip_id
    ids = ["-2DxGwlLX5s___0", "Ünïcödé_клип-1", "acc_only"]
    (root / "clips.csv").write_bytes(("\ufeffn_frames,clip_id\r\n" + "".join(
        f"{40 + i},{cid}\r\n" for i, cid in enumerate(ids))).encode("utf-8"))
    (root / "pose").mkdir()
    (root / "imu").mkdir()
    rng = np.random.default_rng(1)
    data = {}
    for i, cid in enumerate(ids):
        t = 40 + i
        data[cid] = {"pose": rng.normal(size=(t, 17, 3)).astype(np.float32),
                     "acc": rng.normal(size=(t, 2, 3)).astype(np.float32),
                     "gyro": rng.normal(size=(t, 2, 3)).astype(np.float32)}
        np.save(root / "pose" / f"{cid}.npy", data[cid]["pose"])
    np.savez_compressed(root / "imu" / f"{ids[0]}.npz", acc=data[ids[0]]["acc"], gyro=data[ids[0]]["gyro"])
    np.savez(root / "imu" / f"{ids[1]}.npz", acc=data[ids[1]]["acc"], gyro=data[ids[1]]["gyro"])
    np.savez(root / "imu" / "acc_only.npz", acc=data["acc_only"]["acc"])
    return data


def test_hand_made_dataset(tmp_path):
    data = _hand_made(tmp_path / "h")
    ds = FimadDataset(tmp_path / "h")
    assert ds.imu_sites == ("RWrist", "LWrist") and ds.manifest.extra == {"a_future_key": {"x": 1}}
    assert list(ds.clips.columns[:2]) == ["n_frames", "split"]
    assert list(ds.clips.index) == list(data) and (ds.clips["split"] == "").all()
    assert not ds.clips["has_video"].any() and ds.clips["has_imu"].all()
    for cid, d in data.items():
        np.testing.assert_array_equal(ds.pose(cid), d["pose"])
        acc, gyro = ds.imu(cid)
        np.testing.assert_array_equal(acc, d["acc"])
        if cid == "acc_only":
            assert gyro is None
        else:
            np.testing.assert_array_equal(gyro, d["gyro"])
    assert not _is_memmap(ds.imu("-2DxGwlLX5s___0")[0])  # compressed member: read, not mapped
    assert _is_memmap(ds.imu("Ünïcödé_клип-1")[0])  # np.savez's stored member: mapped, even unaligned
    report = ds.validate()
    assert report.usable and report.severity_counts()["error"] == 0


def test_splits_json_wins(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=4, splits={"test": ["clip000"], "train": ["clip002"]})
    ds = FimadDataset(root)
    # clip000 is "val" in the column, clip002 "train"; clips not in splits.json keep their column value
    assert ds.clips["split"].to_dict() == {"clip000": "test", "clip001": "val", "clip002": "train",
                                           "clip003": "train"}


def test_short_gaps_interpolated_long_left(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=1, n_frames=300)
    original = np.load(root / "pose" / "clip000.npy")
    add_nan_gap(root, "clip000", 10, 5)  # 0.1 s: filled
    add_nan_gap(root, "clip000", 100, 50)  # 1 s: left
    ds = FimadDataset(root)
    pose = ds.pose("clip000")
    assert not np.isnan(pose[:100]).any() and np.isnan(pose[100:150]).all() and not np.isnan(pose[150:]).any()
    expected = original[9] + (original[15] - original[9]) * (np.arange(1, 6) / 6)[:, None, None]
    np.testing.assert_allclose(pose[10:15], expected, atol=1e-5)  # linear between the neighbours
    assert np.isnan(ds.pose("clip000", interpolate=False)[10:15]).all()
    assert np.isnan(FimadDataset(root, max_gap_s=0.05).pose("clip000")[10:15]).all()  # setting respected


def test_text_columns_never_become_numbers(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=2)
    set_cell(root, "clip000", "chapter", "1e5")
    set_cell(root, "clip001", "caption", "")
    clips = FimadDataset(root).clips
    assert clips.loc["clip000", "chapter"] == "1e5" and clips.loc["clip001", "caption"] == ""


def test_duplicates_and_bad_numbers_do_not_sink_the_dataset(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=3)
    append_row(root, {"clip_id": "clip001", "n_frames": 5, "chapter": "dup"})
    set_cell(root, "clip002", "n_frames", "lots")
    set_cell(root, "clip000", "start_s", "soon")
    ds = FimadDataset(root)
    assert len(ds) == 3 and ds.clips.loc["clip001", "n_frames"] == 200
    kinds = {(p.clip_id, p.kind, p.severity) for p in ds.load_problems}
    assert ("clip001", "duplicate_id", "warning") in kinds
    assert ("clip002", "bad_value", "error") in kinds and ("clip000", "bad_value", "warning") in kinds
    assert "clip002" not in set(ds.windows().clip_list)
    assert ds.pose("clip002").shape == (200, 17, 3)


@pytest.mark.parametrize("bad", ["../outside", "a/b", "/etc/passwd", ".", "..", "a.b", "", " ", "a\\b", "C:x"])
def test_unsafe_ids_rejected(bad):
    assert not is_safe_clip_id(bad)


def test_safe_ids_accepted():
    for good in ["clip000", "-2DxGwlLX5s___0", "Ünïcödé_клип-1", "日本語", "a-b_c",
                 "क्लिप_1", "e\u0301t\u0301e\u0301"]:  # combining marks belong to letters
        assert is_safe_clip_id(good)
    assert not is_safe_clip_id("a\0b") and not is_safe_clip_id(None) and not is_safe_clip_id("x" * 300)


def test_unsafe_ids_never_opened(tmp_path, monkeypatch):
    root = make_fimad(tmp_path / "d", n_clips=2)
    np.save(root / "outside.npy", np.zeros((200, 17, 3), np.float32))  # pose/../outside.npy exists
    np.save(root / "pose" / "..npy", np.zeros((200, 17, 3), np.float32))
    for cid in ["../outside", "pose/../../outside", str(root / "outside"), "."]:
        append_row(root, {"clip_id": cid, "n_frames": 200})
    touched: list[str] = []
    real_open_npy, real_load_npz = fimad_mod.open_npy, fimad_mod.load_npz

    def spy_npy(path, **kw):
        touched.append(str(path))
        return real_open_npy(path, **kw)

    def spy_npz(path, *a, **kw):
        touched.append(str(path))
        return real_load_npz(path, *a, **kw)

    for mod in (fimad_mod, arrays_mod):
        monkeypatch.setattr(mod, "open_npy", spy_npy)
    monkeypatch.setattr(fimad_mod, "load_npz", spy_npz)
    import mujo.fimad.checks as checks_mod

    monkeypatch.setattr(checks_mod, "open_npy", spy_npy)
    monkeypatch.setattr(checks_mod, "load_npz", spy_npz)
    ds = FimadDataset(root)
    assert list(ds.clips.index) == ["clip000", "clip001"]
    unsafe = [p for p in ds.load_problems if p.kind == "unsafe_id"]
    assert len(unsafe) == 4 and all(p.severity == "error" for p in unsafe)
    for cid in ["../outside", ".", "pose/../../outside"]:
        with pytest.raises(ClipError, match="unsafe"):
            ds.pose(cid)
        with pytest.raises(ClipError, match="unsafe"):
            ds.imu(cid)
        with pytest.raises(ClipError, match="unsafe"):
            ds.video_path(cid)
    report = ds.validate()
    assert all("outside" not in t and not t.endswith("/..npy") for t in touched), touched
    assert sum(p.kind == "unsafe_id" for p in report.problems) == 4
    with pytest.raises(ClipError, match="no such clip"):
        ds.pose("nosuchclip")


def test_open_reads_no_clip_file(tmp_path, monkeypatch):
    root = make_fimad(tmp_path / "d", n_clips=5)

    def boom(*a, **k):
        raise AssertionError("a clip file was opened while opening the dataset")

    monkeypatch.setattr(fimad_mod, "open_npy", boom)
    monkeypatch.setattr(fimad_mod, "load_npz", boom)
    monkeypatch.setattr(np, "load", boom)
    ds = FimadDataset(root)
    assert len(ds) == 5 and len(ds.windows()) > 0


def test_features_and_text_features(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=2)
    (root / "features" / "hero").mkdir(parents=True)
    feats = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(root / "features" / "hero" / "clip000.npy", feats)
    (root / "text_features").mkdir()
    np.savez(root / "text_features" / "ada.npz", clip_id=np.array(["clip000", "clip001"]),
             chapter=np.ones((2, 3), np.float32))
    ds = FimadDataset(root)
    np.testing.assert_array_equal(ds.features("hero", "clip000"), feats)
    assert ds.features("hero", "clip001") is None
    ids, fields = ds.text_features("ada")
    assert ids == ["clip000", "clip001"] and fields["chapter"].shape == (2, 3)
    np.savez(root / "text_features" / "bad.npz", clip_id=np.array(["a", None], dtype=object))
    with pytest.raises(FimadError, match="bad.npz"):
        ds.text_features("bad")
    with pytest.raises(FimadError, match="missing.npz"):
        ds.text_features("missing")
    with pytest.raises(ValueError):
        ds.features("../x", "clip000")


def _write(root: Path, name: str, text: str | bytes) -> None:
    (root / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


@pytest.mark.parametrize("name, content, match", [
    ("fimad.json", None, "not found"),
    ("fimad.json", "{not json", "invalid JSON"),
    ("fimad.json", "[1, 2]", "JSON object"),
    ("fimad.json", '{"format": "other", "version": 1, "fps": 50}', "format"),
    ("fimad.json", '{"format": "fimad", "version": 2, "fps": 50}', "version"),
    ("fimad.json", '{"format": "fimad", "version": "1", "fps": 50}', "version"),
    ("fimad.json", '{"format": "fimad", "version": 1, "fps": 0}', "fps"),
    ("fimad.json", '{"format": "fimad", "version": 1, "fps": "50"}', "fps"),
    ("fimad.json", '{"format": "fimad", "version": 1, "fps": 50, "imu_sites": []}', "imu_sites"),
    ("fimad.json", '{"format": "fimad", "version": 1, "fps": 50, "imu_sites": ["Nose"]}', "imu_sites"),
    ("fimad.json", '{"format": "fimad", "version": 1, "fps": 50, "skeleton": "coco"}', "skeleton"),
    ("clips.csv", None, "not found"),
    ("clips.csv", "", "empty"),
    ("clips.csv", "clip_id,chapter\na,b\n", "n_frames"),
    ("clips.csv", "n_frames\n10\n", "clip_id"),
    ("clips.csv", b"clip_id,n_frames,chapter\na,10,caf\xe9\n", "UTF-8"),
    ("clips.csv", "clip_id,n_frames\na,10,extra\nb,2\n", "more fields"),
    ("splits.json", '["train"]', "splits.json"),
    ("splits.json", '{"train": "clip000"}', "splits.json"),
])
def test_unusable_dataset_raises_naming_the_file(tmp_path, name, content, match):
    root = make_fimad(tmp_path / "d", n_clips=2)
    if content is None:
        (root / name).unlink()
    else:
        _write(root, name, content)
    with pytest.raises(FimadError, match=match) as err:
        FimadDataset(root)
    assert name in str(err.value)


def test_header_only_clips_csv_is_an_empty_dataset(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=2)
    _write(root, "clips.csv", "clip_id,n_frames\r\n")
    ds = FimadDataset(root)
    assert len(ds) == 0 and len(ds.windows()) == 0 and not ds.validate().usable


def test_minimal_manifest_defaults(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=1)
    edit_manifest(root, name=None, imu_sites=None, skeleton=None, description=None, features=None, source=None)
    ds = FimadDataset(root)
    assert ds.manifest.name == "d" and ds.imu_sites == IMU_SITES and ds.manifest.features == {}


def _npz_variants(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    a, b, c = (rng.normal(size=(7, 2, 3)).astype(np.float32) for _ in range(3))
    paths = {k: tmp_path / f"{k}.npz" for k in ("one", "three", "compressed", "aligned", "comment", "prefixed")}
    np.savez(paths["one"], acc=a)
    np.savez(paths["three"], acc=a, gyro=b, extra=c)
    np.savez_compressed(paths["compressed"], acc=a, gyro=b)
    with open(paths["aligned"], "wb") as f:
        arrays_mod.write_npz(f, {"acc": a, "gyro": b})
    np.savez(paths["comment"], acc=a, gyro=b)
    with zipfile.ZipFile(paths["comment"], "a") as zf:
        zf.comment = b"x" * 3000  # longer than the tail the fast path reads: zipfile's code takes over
    paths["prefixed"].write_bytes(b"junk" + paths["three"].read_bytes())
    return paths


def test_npz_fast_directory_agrees_with_zipfile(tmp_path):
    for name, path in _npz_variants(tmp_path).items():
        with open(path, "rb") as fp:
            fast = arrays_mod._directory(fp, path.stat().st_size)
        if name in ("comment", "prefixed"):
            assert fast is None, name
        else:
            with zipfile.ZipFile(path) as zf:
                assert [(e[0], e[2], e[3]) for e in fast] == [
                    (zi.filename, zi.compress_type, zi.header_offset) for zi in zf.infolist()], name
        got = arrays_mod.load_npz(path)
        reference = path.with_name("three.npz") if name == "prefixed" else path  # np.load wants the zip first
        with np.load(reference, allow_pickle=False) as z:
            assert sorted(got) == sorted(k for k in z.files)
            for k in z.files:
                np.testing.assert_array_equal(got[k], z[k])
                assert _is_memmap(got[k]) == (name != "compressed")


def test_npy_headers_fast_and_general(tmp_path):
    # numpy's own header takes the fast path; a Fortran-ordered, big-endian, v2 or structured one must also read
    cases = {"plain": np.arange(12, dtype=np.float32).reshape(3, 4),
             "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
             "bigendian": np.arange(5, dtype=">f4"), "scalar": np.array(3.5), "empty": np.zeros((0, 17, 3), np.float32),
             "structured": np.zeros(3, dtype=[("a", "<f4"), ("b", "<i2")])}
    for name, arr in cases.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, arr)
        np.testing.assert_array_equal(arrays_mod.open_npy(path), arr)
        np.testing.assert_array_equal(arrays_mod.open_npy(path, mmap=False), arr)
    v2 = tmp_path / "v2.npy"
    with open(v2, "wb") as f:
        np.lib.format.write_array(f, cases["plain"], version=(2, 0))
    np.testing.assert_array_equal(arrays_mod.open_npy(v2), cases["plain"])
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([1, "a"], dtype=object), allow_pickle=True)
    with pytest.raises(arrays_mod.ArrayFileError, match="object"):
        arrays_mod.open_npy(obj)
