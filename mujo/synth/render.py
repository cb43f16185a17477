"""Render 3D poses as a shaded person-like figure in a simple gym scene seen by a pinhole camera.

Conventions: world metres, right-handed, +y up. A trainer with yaw ``facing_rad = 0`` faces +z, so their left
hand is on +x; a yaw ``phi`` (about +y) turns the facing direction to ``(sin phi, 0, cos phi)``. Video frame k
shows time ``k / video_fps``, i.e. pose sample position ``k * fps / video_fps`` (linearly interpolated), so video
time 0 is pose sample 0, and a video has ``round(T * video_fps / fps)`` frames (half rounds up): its duration is
the pose's duration ``T / fps`` to within half a video frame.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from mujo.fimad.skeleton import PARENTS, check_pose
from mujo.synth.render_figure import draw_figure, figure_geometry
from mujo.synth.render_scene import draw_mat, mat_placement, room_background
from mujo.synth.render_setup import Appearance, Camera

__all__ = ["Camera", "Appearance", "render_frames", "n_video_frames", "floor_height", "pose_anchor"]


def n_video_frames(n_samples: int, fps: float, video_fps: float) -> int:
    """Number of video frames for ``n_samples`` pose samples: round(T * video_fps / fps), half up, at least 1."""
    return max(1, int(math.floor(n_samples * video_fps / fps + 0.5)))


def _fill_gaps(pose: np.ndarray) -> np.ndarray:
    """Hold the last valid position of each joint over NaN gaps (the first valid one before it appears).

    A joint that is never valid takes its parent's position; returns all-NaN only if no joint is ever valid.
    """
    out = np.array(pose, dtype=float)  # (T, 17, 3)
    T = len(out)
    bad = ~np.isfinite(out).all(axis=2)  # (T, 17)
    idx = np.where(~bad, np.arange(T)[:, None], -1)
    idx = np.maximum.accumulate(idx, axis=0)  # last valid sample at or before t
    first = np.argmax(~bad, axis=0)  # first valid sample of each joint
    idx = np.where(idx < 0, first[None, :], idx)
    out = np.take_along_axis(out, idx[:, :, None], axis=0)
    for j, p in enumerate(PARENTS):  # parents come before their children
        if bad[:, j].all():
            if p >= 0:
                out[:, j] = out[:, p]
            else:
                others = ~bad.all(axis=0)
                out[:, j] = out[:, others].mean(axis=1) if others.any() else np.nan
    return out


def floor_height(pose: np.ndarray) -> float:
    """Estimated floor height: a low percentile of the lowest joint per frame, minus a joint's radius."""
    low = np.nanmin(np.where(np.isfinite(pose[..., 1]), pose[..., 1], np.inf), axis=1)  # (T,)
    low = low[np.isfinite(low)]
    return float(np.percentile(low, 5) - 0.06) if len(low) else 0.0


def pose_anchor(pose: np.ndarray) -> np.ndarray:
    """(3,) where the trainer stands: median root x/z over the clip and the floor height; for ``Camera.sample``."""
    pose = check_pose(pose)
    root = pose[:, 0][np.isfinite(pose[:, 0]).all(axis=1)]
    x, z = np.median(root[:, [0, 2]], axis=0) if len(root) else (0.0, 0.0)
    return np.array([x, floor_height(pose), z])


def render_frames(pose: np.ndarray, fps: float, camera: Camera, appearance: Appearance, *, video_fps: float = 25,
                  size: tuple[int, int] = (320, 240), floor_y: float | None = None,
                  chunk: int = 100) -> Iterator[np.ndarray]:
    """Render a pose sequence as video frames.

    Args:
        pose: (T, 17, 3) metres, +y up, H36M joint order; NaN joints hold their last valid position.
        fps: pose sample rate.
        camera: the camera; its image size is replaced by ``size``.
        appearance: trainer and room.
        video_fps: frame rate of the video.
        size: (width, height) in pixels.
        floor_y: floor height; estimated from the pose when None (``floor_height``).
        chunk: frames whose geometry is computed together (memory vs vectorisation).
    Returns:
        An iterator over ``n_video_frames(T, fps, video_fps)`` frames (H, W, 3) uint8 RGB, each a new array.
    """
    pose = check_pose(pose)
    if len(pose) == 0:
        raise ValueError("pose has no frames")
    if not (fps > 0 and video_fps > 0):
        raise ValueError(f"fps and video_fps must be positive, got {fps} and {video_fps}")
    filled = _fill_gaps(pose)
    drawable = bool(np.isfinite(filled).all())
    cam = camera.resized(size)
    floor = floor_height(filled) if floor_y is None else float(floor_y)
    background = room_background(cam, appearance, round(floor, 3)).copy()
    if drawable and appearance.mat is not None:
        draw_mat(background, cam, appearance.mat, floor, *mat_placement(filled, cam, floor))
    n = n_video_frames(len(pose), fps, video_fps)
    pos = np.minimum(np.arange(n) * (fps / video_fps), len(pose) - 1)  # pose sample position of each frame
    for start in range(0, n, chunk):
        if not drawable:
            for _ in range(min(chunk, n - start)):
                yield background.copy()
            continue
        p = pos[start:start + chunk]
        i0 = np.floor(p).astype(int)
        i1 = np.minimum(i0 + 1, len(pose) - 1)
        w = (p - i0)[:, None, None]
        frames = filled[i0] * (1 - w) + filled[i1] * w  # (n, 17, 3)
        geo = figure_geometry(frames, cam, appearance, floor)
        for i in range(len(frames)):
            img = background.copy()
            draw_figure(img, geo, i)
            yield img
