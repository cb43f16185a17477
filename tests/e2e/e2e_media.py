"""A small FiMAD dataset with real mp4 video for the browser tests: a squatting figure, its virtual IMU, rendered."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mujo.fimad.skeleton import IMU_SITES
from mujo.fimad.writer import FimadWriter

FPS = 50.0
VIDEO_FPS = 25.0

# A standing person facing +z (their right side at -x), metres, +y up, in JOINTS order.
_STAND = np.array([
    [0.00, 0.95, 0.00], [-0.12, 0.93, 0.00], [-0.13, 0.51, 0.02], [-0.14, 0.08, 0.00],
    [0.12, 0.93, 0.00], [0.13, 0.51, 0.02], [0.14, 0.08, 0.00], [0.00, 1.18, 0.00],
    [0.00, 1.42, 0.00], [0.00, 1.52, 0.02], [0.00, 1.66, 0.03], [0.18, 1.42, 0.00],
    [0.22, 1.15, 0.00], [0.24, 0.90, 0.03], [-0.18, 1.42, 0.00], [-0.22, 1.15, 0.00],
    [-0.24, 0.90, 0.03]])
# The bottom of a squat with the arms held forward.
_SQUAT = np.array([
    [0.00, 0.55, -0.18], [-0.14, 0.53, -0.18], [-0.17, 0.45, 0.22], [-0.14, 0.08, 0.00],
    [0.14, 0.53, -0.18], [0.17, 0.45, 0.22], [0.14, 0.08, 0.00], [0.00, 0.78, -0.08],
    [0.00, 1.00, 0.03], [0.00, 1.10, 0.08], [0.00, 1.23, 0.11], [0.18, 1.00, 0.03],
    [0.19, 1.02, 0.31], [0.19, 1.04, 0.57], [-0.18, 1.00, 0.03], [-0.19, 1.02, 0.31],
    [-0.19, 1.04, 0.57]])


def squat_pose(n_frames: int, fps: float = FPS, period_s: float = 2.5) -> np.ndarray:
    """(T, 17, 3) float32: squats, one every `period_s` seconds, blended between two key poses."""
    t = np.arange(n_frames) / fps
    s = (0.5 - 0.5 * np.cos(2 * np.pi * t / period_s))[:, None, None]  # 0 standing .. 1 bottom
    return ((1 - s) * _STAND + s * _SQUAT).astype(np.float32)


def make_video_dataset(root: Path, n_clips: int = 4, n_frames: int = 400) -> Path:
    """Write a FiMAD folder whose clips have pose, IMU (from mujo.sim.imu_sim) and an H.264 mp4 of the pose.

    `squat000` has a plain title; `squat001` is titled `<script>alert(1)</script>` to check escaping in the
    browser; `squat002` has no video; `squat003` has an mp4 whose header is garbage (the browser cannot play it).
    """
    from mujo.fimad.video import write_mp4  # noqa: PLC0415
    from mujo.sim.imu_sim import simulate  # noqa: PLC0415
    from mujo.synth.render import Appearance, Camera, render_frames  # noqa: PLC0415

    w = FimadWriter(root, name="e2e-squats", fps=FPS, imu_sites=IMU_SITES, description="browser-test clips",
                    synthetic=True, source="tests/e2e/media.py")
    rng = np.random.default_rng(0)
    titles = ["Bodyweight squats (10 reps)", "<script>alert(1)</script>", "<b>x</b> squats, no video",
              "Squats with a broken video"]
    rows = []
    for i in range(n_clips):
        cid = f"squat{i:03d}"
        pose = squat_pose(n_frames, period_s=2.0 + 0.5 * i)
        w.write_pose(cid, pose)
        acc, gyro = simulate(pose.astype(np.float64), FPS)
        w.write_imu(cid, acc, gyro)
        if i == 2:
            pass  # no video
        elif i == 3:
            w.video_path(cid).parent.mkdir(parents=True, exist_ok=True)
            w.video_path(cid).write_bytes(b"\x00\x00\x00\x18garbage-not-an-mp4" * 50)
        else:
            cam = Camera.sample(rng, facing_rad=0.0)
            frames = render_frames(pose, FPS, cam, Appearance.sample(rng), video_fps=VIDEO_FPS, size=(320, 240))
            write_mp4(w.video_path(cid), frames, VIDEO_FPS)
        rows.append({"clip_id": cid, "n_frames": n_frames, "video_id": f"vid{i}", "chapter_index": 0,
                     "chapter": titles[i % len(titles)], "chapter_norm": "squat",
                     "caption": "Sit back, chest up, knees over toes.",
                     "description": "A bodyweight squat: hips back and down until the thighs are level.",
                     "split": "train", "label": "squat"})
    w.finish(rows)
    return Path(root)
