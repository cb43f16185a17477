"""The synthetic FiMAD generator: plans, determinism, FiMAD output, splits by video, resuming."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mujo.demo.presets import PRESETS, preset_config
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.layout import NULL_LABEL
from mujo.fimad.video import video_info
from mujo.synth.generate import STATE_DIR, generate_dataset, generate_video, settings_differ
from mujo.synth.motion import EXERCISES, NON_EXERCISES
from mujo.synth.plan import SynthConfig, plan_video, video_id

FAST = SynthConfig(name="t", n_videos=3, chapters=(5, 7), exercise_s=(10.0, 14.0), with_video=False, val_every=3)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_library_sizes() -> None:
    assert len(EXERCISES) >= 24
    assert len(NON_EXERCISES) >= 5


def test_plans_are_pure_and_in_range() -> None:
    cfg = PRESETS["demo"]
    for i in range(30):
        a, b = plan_video(7, i, cfg), plan_video(7, i, cfg)
        assert a == b
        assert cfg.chapters[0] <= len(a.chapters) <= cfg.chapters[1]
        assert any(c.kind in EXERCISES for c in a.chapters)
    kinds = {c.kind for i in range(40) for c in plan_video(0, i, cfg).chapters}
    assert len(kinds & set(EXERCISES)) >= 20, "a demo dataset should show most of the library"
    assert len(kinds & set(NON_EXERCISES)) >= 5
    assert plan_video(0, 3, cfg) != plan_video(1, 3, cfg)
    assert len({video_id(0, i) for i in range(1000)}) == 1000


def test_video_is_a_pure_function_of_seed_and_index() -> None:
    a = generate_video(3, 1, FAST).clips
    b = generate_video(3, 1, FAST).clips
    assert [c.row for c in a] == [c.row for c in b]
    for x, y in zip(a, b):
        assert x.pose.tobytes() == y.pose.tobytes()
        assert x.acc.tobytes() == y.acc.tobytes() and x.gyro.tobytes() == y.gyro.tobytes()
    other = generate_video(3, 2, FAST).clips
    assert other[0].pose.shape != a[0].pose.shape or not np.array_equal(other[0].pose, a[0].pose, equal_nan=True)


def test_rows_hold_the_fimad_columns() -> None:
    clips = generate_video(0, 0, FAST).clips
    start = 0.0
    for i, c in enumerate(clips):
        r = c.row
        assert r["clip_id"] == f"{r['video_id']}___{i}" and r["chapter_index"] == i
        assert r["n_frames"] == len(c.pose) == len(c.acc)
        assert c.acc.shape == c.gyro.shape == (len(c.pose), 16, 3)
        assert r["chapter"] and r["caption"] and r["description"]
        assert r["start_s"] == pytest.approx(start, abs=0.02)
        start = r["end_s"]
        assert r["label"] == (r["segment_kind"] if r["segment_kind"] in EXERCISES else NULL_LABEL)


def test_tiny_dataset_is_valid_fimad(tiny_synth: Path) -> None:
    ds = FimadDataset(tiny_synth)
    report = ds.validate()
    assert report.usable
    assert not [p for p in report.problems if p.severity in ("error", "warning")], report.summary()
    clips = ds.clips
    assert clips["has_pose"].all() and clips["has_imu"].all() and clips["has_video"].all()
    assert set(clips["split"]) == {"train", "val"}
    assert clips.groupby("video_id")["split"].nunique().max() == 1, "a video's clips must share one split"
    manifest = json.loads((tiny_synth / "fimad.json").read_text())
    assert manifest["synthetic"] is True and "Sensor frames" in manifest["source"]
    cid = clips.index[0]
    info = video_info(ds.video_path(cid))
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["duration_s"] == pytest.approx(clips.loc[cid, "duration_s"], abs=0.05)
    assert info["start_time_s"] == pytest.approx(0.0, abs=1e-6)


def test_regenerating_one_video_gives_the_same_bytes(tiny_synth: Path, tmp_path: Path) -> None:
    cfg = preset_config("tiny")
    again = generate_video(cfg.seed, 1, cfg).clips
    ds = FimadDataset(tiny_synth)
    for clip in again:
        cid = clip.row["clip_id"]
        assert np.array_equal(np.load(ds.file_path(cid, "pose")), clip.pose, equal_nan=True)
        acc, gyro = ds.imu(cid, interpolate=False)
        assert np.array_equal(acc, clip.acc, equal_nan=True) and np.array_equal(gyro, clip.gyro, equal_nan=True)
    # rendering video does not change pose or IMU bytes
    no_video = generate_video(cfg.seed, 1, dataclasses.replace(cfg, with_video=False)).clips
    assert all(a.pose.tobytes() == b.pose.tobytes() for a, b in zip(again, no_video))


def test_resume_after_interrupt(tmp_path: Path) -> None:
    full = tmp_path / "full"
    generate_dataset(full, FAST, workers=1)
    part = tmp_path / "part"
    calls = []

    def interrupt_after_first(fraction: float, message: str) -> None:
        calls.append(fraction)
        if len(calls) == 2:  # the first video is done and recorded
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_dataset(part, FAST, workers=1, progress=interrupt_after_first, publish_every_s=None)
    assert not (part / "clips.csv").exists()
    assert len(list((part / STATE_DIR).glob("0*.json"))) == 1
    generate_dataset(part, FAST, workers=1)
    a, b = pd.read_csv(full / "clips.csv"), pd.read_csv(part / "clips.csv")
    pd.testing.assert_frame_equal(a, b)
    for f in sorted((full / "pose").iterdir()) + sorted((full / "imu").iterdir()):
        assert _digest(f) == _digest(part / f.parent.name / f.name), f.name


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "d", dataclasses.replace(FAST, n_videos=1), workers=1)
    with pytest.raises(ValueError, match="other settings"):
        generate_dataset(tmp_path / "d", dataclasses.replace(FAST, n_videos=1, seed=5), workers=1)


def test_parallel_equals_serial(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "serial", FAST, workers=1)
    generate_dataset(tmp_path / "parallel", FAST, workers=2)
    for f in sorted((tmp_path / "serial" / "imu").iterdir()):
        assert _digest(f) == _digest(tmp_path / "parallel" / "imu" / f.name)
    assert (tmp_path / "serial" / "clips.csv").read_bytes() == (tmp_path / "parallel" / "clips.csv").read_bytes()


def test_camera_keeps_the_trainer_in_frame() -> None:
    """The camera of each video stands in front of the trainer: nearly every frame shows every joint."""
    from mujo.synth.plan import STREAM_RENDER, streams
    from mujo.synth.render import Camera

    cfg = dataclasses.replace(PRESETS["demo"], chapters=(5, 6), exercise_s=(10.0, 15.0))
    shown = []
    for i in range(6):
        video = generate_video(0, i, cfg)
        cam = Camera.sample(streams(0, i)[STREAM_RENDER], video.facing, center=tuple(video.center),
                            size=cfg.video_size)
        uv, _ = cam.project(np.concatenate([c.clean_pose for c in video.clips]))
        w, h = cfg.video_size
        shown.append(((uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)).all(axis=1).mean())
    assert np.mean(shown) > 0.85 and min(shown) > 0.6, shown  # floor work towards the camera may clip the feet


def test_a_folder_made_before_a_setting_existed_resumes(tmp_path: Path) -> None:
    """A setting added since (null_scale) takes its default for a folder whose config.json lacks it."""
    root = tmp_path / "d"
    generate_dataset(root, dataclasses.replace(FAST, n_videos=1), workers=1)
    path = root / STATE_DIR / "config.json"
    old = json.loads(path.read_text())
    del old["null_scale"]
    path.write_text(json.dumps(old))
    assert settings_differ(root, dataclasses.replace(FAST, n_videos=2)) == []
    generate_dataset(root, dataclasses.replace(FAST, n_videos=2), workers=1)  # resumes, no refusal
    assert settings_differ(root, dataclasses.replace(FAST, null_scale=0.5)) == ["null_scale"]


def test_null_scale_shortens_null_chapters_only() -> None:
    full, half = plan_video(0, 3, FAST), plan_video(0, 3, dataclasses.replace(FAST, null_scale=0.5))
    assert [c.kind for c in full.chapters] == [c.kind for c in half.chapters]
    for a, b in zip(full.chapters, half.chapters):
        assert b.duration_s == pytest.approx(a.duration_s * (1.0 if a.kind in EXERCISES else 0.5))
