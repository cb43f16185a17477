"""Video features: the flow descriptor, alignment to the pose rate, caching/resume, bad videos, precomputed ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fimad_factory import corrupt_header, edit_manifest, make_fimad

from mujo.features import compute_video_features, ensure_video_features, flow, video_features
from mujo.features.video import MUJO_FLOW
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.video import write_mp4

ENERGY = 288  # mean flow magnitude in the descriptor's global block


def _square_frames(n: int, speed: float) -> list[np.ndarray]:
    """A textured square on a grey background, moving right by `speed` pixels per frame (0: still)."""
    rng = np.random.default_rng(1)
    patch = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    frames = []
    for k in range(n):
        f = np.full((120, 160, 3), 128, np.uint8)
        x = int(20 + speed * k) % 100
        f[40:80, x: x + 40] = patch
        frames.append(f)
    return frames


def test_descriptor_of_moving_and_still_video(tmp_path: Path):
    moving = write_mp4(tmp_path / "moving.mp4", _square_frames(30, 2.0), 25)
    still = write_mp4(tmp_path / "still.mp4", _square_frames(30, 0.0), 25)
    t, fm = flow.describe_video(moving)
    _, fs = flow.describe_video(still)
    assert fm.shape == (30, flow.DIM) and fm.dtype == np.float32 and np.isfinite(fm).all()
    np.testing.assert_allclose(t[:3], [0, 0.04, 0.08], atol=1e-6)
    assert fm[1:, ENERGY].mean() > 10 * fs[1:, ENERGY].mean() + 1e-3
    # HOF fades out when nothing moves (a keyframe's coding noise may flicker in one frame)
    assert np.median(np.linalg.norm(fs[:, :128], axis=1)) < 0.05 < np.median(np.linalg.norm(fm[:, :128], axis=1))
    np.testing.assert_allclose(np.linalg.norm(fm[:, 128:256], axis=1), 1.0, atol=1e-4)  # HOG is L2-normalised
    hof = fm[5:, :128].reshape(-1, 16, 8).sum(axis=(0, 1))
    assert hof.argmax() in (0, 7)  # rightward motion: orientation bins around 0 rad
    assert fm[5:, 256:288].reshape(-1, 16, 2)[..., 0].sum() > 0  # cell field: mean dx > 0


def test_align_to_rate_interpolates_by_time():
    times = np.arange(4) / 25.0
    feats = np.arange(8, dtype=np.float32).reshape(4, 2)
    out = flow.align_to_rate(times, feats, 9, 50)
    assert out.shape == (9, 2)
    np.testing.assert_allclose(out[::2][:4], feats)
    np.testing.assert_allclose(out[1], (feats[0] + feats[1]) / 2)
    np.testing.assert_allclose(out[-1], feats[-1])  # past the last frame: held


@pytest.fixture
def vds(tmp_path: Path) -> FimadDataset:
    return FimadDataset(make_fimad(tmp_path / "ds", n_clips=4, with_video=True, with_imu=False, n_frames=120))


def test_compute_resume_and_bad_videos(vds: FimadDataset):
    corrupt_header(vds.video_path("clip001"))
    os.remove(vds.video_path("clip003"))
    ds = FimadDataset(vds.root)
    report = compute_video_features(ds, workers=1)
    assert sorted(report.computed) == ["clip000", "clip002"]
    assert list(report.failed) == ["clip001"] and "clip001" in report.failed["clip001"]
    assert report.no_video == ["clip003"]
    x = video_features(ds, "clip000", MUJO_FLOW)
    assert x.shape == (120, flow.DIM) and x.dtype == np.float32  # one row per pose sample (video at 10 fps)
    assert video_features(ds, "clip001", MUJO_FLOW) is None
    # resume: done clips are skipped, a deleted one is recomputed
    os.remove(report.folder / "clip002.npy")
    again = compute_video_features(ds, workers=1)
    assert again.computed == ["clip002"] and again.already_done == 1
    np.testing.assert_array_equal(video_features(ds, "clip000", MUJO_FLOW), x)
    assert not list(report.folder.glob(".*"))  # no temporary files left


def test_process_pool_matches_in_process(vds: FimadDataset, tmp_path: Path):
    a = compute_video_features(vds, workers=2)
    assert len(a.computed) == 4 and not a.failed
    other = FimadDataset(shutil.copytree(vds.root, tmp_path / "copy", ignore=shutil.ignore_patterns("features")))
    compute_video_features(other, workers=1)
    for cid in vds.clips.index:
        np.testing.assert_allclose(video_features(vds, cid, MUJO_FLOW), video_features(other, cid, MUJO_FLOW),
                                   atol=1e-6)


def test_precomputed_features_are_used_and_resampled(vds: FimadDataset):
    folder = vds.root / "features" / "hero_clip"
    folder.mkdir(parents=True)
    for cid in vds.clips.index:  # 60 rows at 25 fps for clips of 120 samples at 50 Hz
        np.save(folder / f"{cid}.npy", np.repeat(np.arange(60, dtype=np.float32)[:, None], 8, axis=1))
    edit_manifest(vds.root, features={"hero_clip": {"dim": 8, "fps": 25}})
    ds = FimadDataset(vds.root)
    assert ensure_video_features(ds) == "hero_clip"
    assert not (vds.root / "features" / MUJO_FLOW).exists()  # nothing computed
    x = video_features(ds, "clip000", "hero_clip")
    assert x.shape == (120, 8)
    np.testing.assert_allclose(x[:4, 0], [0, 0.5, 1, 1.5])
    with pytest.raises(ValueError, match="no such precomputed"):
        ensure_video_features(ds, name="nope")


def test_tiny_synth_is_aligned_with_pose(tiny_synth: Path, tmp_path: Path):
    root = tmp_path / "tiny"  # a copy that links the session's files: the fixture stays untouched
    root.mkdir()
    for name in ("fimad.json", "clips.csv", "splits.json"):
        shutil.copy(tiny_synth / name, root / name)
    for name in ("pose", "imu", "video"):
        (root / name).symlink_to(tiny_synth / name)
    ds = FimadDataset(root)
    cids = ds.clips.index[:3].tolist()
    report = compute_video_features(ds, workers=1, clip_ids=cids)
    assert sorted(report.computed) == sorted(cids)
    for cid in cids:
        x = video_features(ds, cid, MUJO_FLOW)
        assert x.shape == (int(ds.clips.at[cid, "n_frames"]), flow.DIM)
        assert x[:, ENERGY].max() > 0.01  # the trainer moves


def test_cli_features_video(vds: FimadDataset, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    from mujo.cli import main
    from mujo.features import text as text_mod

    monkeypatch.setattr(text_mod, "embed_texts", lambda texts, **k: np.ones((len(texts), 384), np.float32))
    corrupt_header(vds.video_path("clip002"))
    assert main(["features", str(vds.root), "--text-field", "caption", "--video", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 clips computed" in out and "1 failed" in out and "failed clip002" in out


def test_foreign_mujo_flow_folder_is_left_alone(vds: FimadDataset):
    from mujo.features.cache import cache_dir

    theirs = vds.root / "features" / MUJO_FLOW
    theirs.mkdir(parents=True)
    np.save(theirs / "clip000.npy", np.zeros((3, 3), np.float32))
    report = compute_video_features(vds, workers=1, clip_ids=["clip000"])
    assert report.folder == cache_dir(vds) / "features" / MUJO_FLOW
    assert np.load(theirs / "clip000.npy").shape == (3, 3)
    assert video_features(vds, "clip000", MUJO_FLOW).shape == (120, flow.DIM)
