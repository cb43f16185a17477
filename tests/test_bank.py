"""The window bank: shapes, train-split normalisation, pose canonicalisation, NaN windows, caching, bad specs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from fimad_factory import add_nan_gap, edit_manifest, make_fimad, rewrite_imu, rewrite_pose, set_cell

from mujo.banks import bank as bank_mod
from mujo.banks.bank import WindowBank, build_bank
from mujo.banks.pose import normalize_pose
from mujo.banks.spec import BankSpec
from mujo.features import text as text_mod
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.skeleton import JOINT_INDEX
from mujo.modality import Modality

ALL = tuple(Modality)
N_FRAMES = 400  # 15 % trimmed: windows start at 60, 110, 160, 210 -> 4 per clip


def _fake_embed(texts, **_):
    """A deterministic stand-in for MiniLM (the bank does not care which model made the vectors)."""
    out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_mod, "embed_texts", _fake_embed)


def _dataset(root: Path, **kw) -> Path:
    """6 clips of 400 samples with physical-looking IMU (gravity offset) and 8-d precomputed video features."""
    kw.setdefault("n_frames", N_FRAMES)
    root = make_fimad(root, n_clips=6, **kw)
    rng = np.random.default_rng(3)
    ds = FimadDataset(root)
    if kw.get("with_imu", True):
        s = len(ds.imu_sites)
        for cid in ds.clips.index:
            acc = (rng.normal(0, 2, (N_FRAMES, s, 3)) + [0, 9.81, 0]).astype(np.float32)
            rewrite_imu(root, cid, acc=acc, gyro=rng.normal(0, 0.5, (N_FRAMES, s, 3)).astype(np.float32))
    folder = root / "features" / "fake"
    folder.mkdir(parents=True)
    for cid in ds.clips.index:
        np.save(folder / f"{cid}.npy", (rng.normal(5, 3, (N_FRAMES, 8))).astype(np.float32))
    edit_manifest(root, features={"fake": {"dim": 8, "fps": 50}})
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _dataset(tmp_path / "ds")


def _spec(**kw) -> BankSpec:
    kw.setdefault("modalities", ALL)
    kw.setdefault("text_field", "chapter")
    return BankSpec(**kw)


def test_shapes_index_and_splits(root: Path):
    bank = build_bank(root, _spec())
    assert set(bank.modalities) == set(ALL) and len(bank) == 24 and bank.n_dropped == 0
    assert bank.dims == {Modality.TEXT: 384, Modality.VIDEO: 8, Modality.POSE: 51, Modality.IMU: 96}
    idx = bank.index
    assert list(idx.columns) == ["clip_id", "start", "t0_s", "split", "video_id", "label", "chapter"]
    assert idx["start"].tolist()[:4] == [60, 110, 160, 210] and idx["t0_s"].iloc[1] == pytest.approx(2.2)
    assert idx["chapter"].iloc[0] == 'Squats, then "jump" squats' and idx["chapter"].map(type).eq(str).all()
    assert len(bank.rows("train")) == 16 and len(bank.rows("val")) == 8
    out = bank.batch(np.array([0, 5, 23]))
    assert out[Modality.TEXT].shape == (3, 384) and out[Modality.VIDEO].shape == (3, 8)
    assert out[Modality.POSE].shape == (3, 100, 17, 3) and out[Modality.IMU].shape == (3, 100, 16, 6)
    assert all(v.dtype == torch.float32 for v in out.values())
    assert set(bank.batch([1], [Modality.IMU])) == {Modality.IMU}


def test_clips_without_split_train(root: Path):
    set_cell(root, "clip000", "split", "")
    bank = build_bank(root, _spec(modalities=(Modality.POSE,)))
    assert (bank.index.loc[bank.index["clip_id"] == "clip000", "split"] == "train").all()


def test_imu_and_video_normalised_with_train_stats(root: Path):
    bank = build_bank(root, _spec())
    train = bank.batch(bank.rows("train"))
    imu = train[Modality.IMU].numpy().reshape(-1, 16, 6)
    np.testing.assert_allclose(imu.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(imu.std(0), 1, atol=1e-3)
    np.testing.assert_allclose(np.array(bank.stats["imu"]["mean"])[:, 1], 9.81, atol=0.2)  # gravity on y
    vid = train[Modality.VIDEO].numpy()
    np.testing.assert_allclose(vid.mean(0), 0, atol=1e-4)
    assert np.array(bank.stats["video"]["mean"]).shape == (8,)
    # the raw values come back from the stats: channel layout [acc xyz, gyro xyz] per site
    ds = FimadDataset(root)
    row = int(bank.rows("train")[0])
    cid, start = bank.index.loc[row, ["clip_id", "start"]]
    acc, gyro = ds.imu(cid)
    x = bank.batch([row], [Modality.IMU])[Modality.IMU][0].numpy()
    raw = x * np.array(bank.stats["imu"]["std"]) + np.array(bank.stats["imu"]["mean"])
    np.testing.assert_allclose(raw[..., :3], acc[start:start + 100], atol=1e-4)
    np.testing.assert_allclose(raw[..., 3:], gyro[start:start + 100], atol=1e-4)


def test_site_subset_and_acc_only(root: Path):
    bank = build_bank(root, _spec(modalities=(Modality.IMU,), imu_sites=("RWrist", "LWrist"), imu_channels=("acc",)))
    assert bank.dims[Modality.IMU] == 6 and bank.imu_sites == ("RWrist", "LWrist")
    ds = FimadDataset(root)
    row = 0
    cid, start = bank.index.loc[row, ["clip_id", "start"]]
    x = bank.batch([row])[Modality.IMU][0].numpy() * np.array(bank.stats["imu"]["std"]) + np.array(
        bank.stats["imu"]["mean"])
    acc = ds.imu(cid)[0]
    np.testing.assert_allclose(x, acc[start:start + 100][:, [ds.imu_sites.index("RWrist"),
                                                             ds.imu_sites.index("LWrist")]], atol=1e-4)


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)


def test_pose_is_centred_faced_and_rotation_invariant(root: Path, tmp_path: Path):
    other = _dataset(tmp_path / "turned")
    ds = FimadDataset(root)
    for cid in ds.clips.index:  # the same people, turned 130 degrees about +y and walked 3 m away
        pose = np.asarray(ds.pose(cid))
        rewrite_pose(other, cid, (pose @ _rot_y(2.27).T + [3.0, 0.2, -1.0]).astype(np.float32))
    a = build_bank(root, _spec(modalities=(Modality.POSE,))).batch(np.arange(24))[Modality.POSE].numpy()
    b = build_bank(other, _spec(modalities=(Modality.POSE,))).batch(np.arange(24))[Modality.POSE].numpy()
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(a[:, :, 0].mean(1), 0, atol=1e-5)  # mean root at the origin
    hip = (a[:, :, JOINT_INDEX["RHip"]] - a[:, :, JOINT_INDEX["LHip"]]).mean(1)
    np.testing.assert_allclose(hip[:, 2], 0, atol=1e-5)
    assert (hip[:, 0] > 0).all()


def test_normalize_pose_degenerate_hips_stay_finite():
    x = np.zeros((2, 10, 17, 3), np.float32)
    assert np.isfinite(normalize_pose(x)).all()


def test_nan_windows_dropped_and_counted(root: Path):
    add_nan_gap(root, "clip002", 170, 40)  # 0.8 s: longer than the 0.5 s that reading fills in
    bank = build_bank(root, _spec())
    # windows of clip002 start at 60, 110, 160, 210 (100 long): those at 110 and 160 overlap [170, 210)
    assert bank.dropped["pose"] == 2 and bank.n_dropped == 2 and len(bank) == 22
    assert bank.index.loc[bank.index["clip_id"] == "clip002", "start"].tolist() == [60, 210]
    assert not any(torch.isnan(v).any() for v in bank.batch(np.arange(len(bank))).values())
    imu_only = build_bank(root, _spec(modalities=(Modality.IMU,)))
    assert imu_only.n_dropped == 0 and len(imu_only) == 24  # pose not requested: its gap does not matter


def test_missing_modality_is_reported_not_an_error(tmp_path: Path):
    root = _dataset(tmp_path / "noimu", with_imu=False)
    bank = build_bank(root, _spec())
    assert Modality.IMU not in bank.modalities and "imu" in bank.missing
    assert set(bank.batch([0, 1])) == {Modality.TEXT, Modality.VIDEO, Modality.POSE}
    no_text = build_bank(root, _spec(text_field="chapter_norm"))  # make_fimad writes no chapter_norm column
    assert Modality.TEXT not in no_text.modalities and "chapter_norm" in no_text.missing["text"]
    assert "no imu" in no_text.summary()


def test_cached_bank_is_reopened_not_rebuilt(root: Path, monkeypatch: pytest.MonkeyPatch):
    first = build_bank(root, _spec())
    with monkeypatch.context() as mp:
        mp.setattr(bank_mod, "write_bank", lambda *a, **k: pytest.fail("rebuilt"))
        again = build_bank(root, _spec())
    assert again.folder == first.folder
    reopened = WindowBank.open(first.folder)
    rows = np.arange(len(first))
    for m, v in first.batch(rows).items():
        torch.testing.assert_close(reopened.batch(rows)[m], v)
    assert reopened.stats == first.stats and reopened.spec == first.spec
    cls, args = first.__reduce__()  # what a DataLoader worker would receive: the folder, not the arrays
    assert args == (str(first.folder),) and len(cls(*args)) == len(first)
    set_cell(root, "clip003", "chapter", "Burpees")  # a changed dataset gets a new bank
    changed = build_bank(root, _spec())
    assert changed.folder != first.folder
    assert build_bank(root, _spec(hop=25)).folder not in (first.folder, changed.folder)


def test_bad_sites_and_channels(tmp_path: Path):
    root = _dataset(tmp_path / "wrist", imu_sites=("RWrist",))
    with pytest.raises(ValueError, match="LWrist"):
        build_bank(root, _spec(modalities=(Modality.IMU,), imu_sites=("RWrist", "LWrist")))
    with pytest.raises(ValueError, match="Elbowz"):
        BankSpec(imu_sites=("Elbowz",))
    with pytest.raises(ValueError, match="imu_channels"):
        BankSpec(imu_channels=("mag",))
    ds = FimadDataset(root)
    for cid in ds.clips.index:
        rewrite_imu(root, cid, acc=np.array(ds.imu(cid, mmap=False)[0]))  # a copy: the file is rewritten
    with pytest.raises(ValueError, match="no gyroscope"):
        build_bank(root, _spec(modalities=(Modality.IMU,)))
    bank = build_bank(root, _spec(modalities=(Modality.IMU,), imu_channels=("acc",)))
    assert bank.shapes[Modality.IMU] == (100, 1, 3)
    assert BankSpec(imu_channels=("gyro", "acc")).imu_channels == ("acc", "gyro")


def test_video_from_mp4_end_to_end(tmp_path: Path):
    root = make_fimad(tmp_path / "vid", n_clips=4, with_video=True, n_frames=N_FRAMES)
    (root / "video" / "clip003.mp4").unlink()  # its windows cannot have video
    bank = build_bank(root, _spec(modalities=(Modality.VIDEO, Modality.IMU)))
    assert bank.meta["video_feature"] == "mujo_flow" and bank.dims[Modality.VIDEO] == 300
    assert bank.dropped["video"] == 4 and len(bank) == 12
    assert (root / "features" / "mujo_flow" / "clip000.npy").is_file()
    assert torch.isfinite(bank.batch(np.arange(12))[Modality.VIDEO]).all()


def test_clips_too_short_for_a_window_give_an_empty_bank(tmp_path: Path):
    root = make_fimad(tmp_path / "short", n_clips=2, n_frames=100)  # 70 samples left after trimming
    bank = build_bank(root, _spec(modalities=(Modality.POSE, Modality.IMU)))
    assert len(bank) == 0 and len(bank.index) == 0 and len(bank.rows("train")) == 0
    assert bank.batch(np.zeros(0, np.int64))[Modality.IMU].shape == (0, 100, 16, 6)
