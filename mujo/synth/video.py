"""Rendering a pose into the H.264 mp4 of a synthetic clip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mujo.fimad.video import write_mp4
from mujo.synth.render import Appearance, Camera, render_frames


def render_video(pose: np.ndarray, fps: float, path: str | os.PathLike, camera: Camera, appearance: Appearance, *,
                 video_fps: float = 25, size: tuple[int, int] = (320, 240), crf: int = 28,
                 preset: str = "veryfast", threads: int = 0) -> Path:
    """Render a pose (T, 17, 3) at ``fps`` into an H.264 mp4 at ``video_fps`` (see ``render_frames``).

    Returns:
        The path written (atomically, keyframe about every second).
    """
    frames = render_frames(pose, fps, camera, appearance, video_fps=video_fps, size=size)
    return write_mp4(path, frames, video_fps, crf=crf, preset=preset, threads=threads)
