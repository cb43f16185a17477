"""The "mujo_flow" video descriptor: per-frame dense optical flow and appearance histograms on a grid (OpenCV).

Each frame is decoded as luma only, shrunk to 160 px wide, and compared with the previous frame by DIS optical flow
(ultrafast preset). Flow is expressed in frame widths per second, so videos of any size and rate are comparable.
The 300 values of a frame, in order:

- [0, 128) HOF: on a 4x4 grid, 8 signed flow directions, magnitude-weighted with soft orientation binning (on the
  flow averaged to 80x60). Square-rooted and divided by sqrt(total magnitude + eps): a direction distribution that
  fades to 0 for a still frame.
- [128, 256) HOG: on a 4x4 grid, 8 unsigned gradient orientations of the 80x60 image, magnitude-weighted, soft
  binning, square-rooted and L2-normalised: the silhouette and the scene.
- [256, 288) the flow field averaged over each of the 4x4 cells: (dx, dy) per cell, row-major.
- [288, 300) global motion: mean and std of the flow magnitude, moving fraction, mean dx, mean dy, divergence and
  curl of the cell field, mean absolute frame difference, motion centroid (x, y) and spread (x, y) in [0, 1].

Frame 0 has no predecessor: it takes frame 1's motion values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Iterator

import av
import cv2
import numpy as np

from mujo.fimad.video import VideoError, check_frame, even_frame, open_video

VERSION = 1
WIDTH = 160  # flow resolution (the height follows the aspect ratio)
GRID = 4
BINS = 8
DIM = 2 * GRID * GRID * BINS + 2 * GRID * GRID + 12
_HOF = slice(0, 128)
_HOG = slice(128, 256)
_MOTION = np.r_[0:128, 256:300]  # what frame 0 copies from frame 1
_MOVING = 0.02  # frame widths per second above which a pixel counts as moving
_HOF_EPS = 0.01  # per pixel, in the same units: a still frame's HOF fades to ~0 instead of normalising noise
_LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}


def _soft_hist(cells: np.ndarray, angle: np.ndarray, weight: np.ndarray, period: float) -> np.ndarray:
    """Histograms per cell of `angle` (radians in [0, period]) weighted by `weight`, soft-binned (in place, int32:
    this runs twice per frame and dominates the descriptor's numpy time)."""
    b = angle * np.float32(BINS / period)
    b0 = b.astype(np.int32)
    hi = weight * (b - b0)
    b0 &= BINS - 1  # BINS is a power of two; angle == period lands in bin 0
    lo_idx = cells + b0
    b0 += 1
    b0 &= BINS - 1
    b0 += cells
    n = GRID * GRID * BINS
    return np.bincount(lo_idx, weight - hi, n) + np.bincount(b0, hi, n)


class FlowDescriptor:
    """Computes the descriptor frame by frame; holds the optical-flow state and the grid layout of one video size."""

    def __init__(self, height: int, width: int = WIDTH):
        self.size = (width, height)  # flow resolution, cv2 order
        self.half = (max(width // 2, GRID), max(height // 2, GRID))  # histogram resolution
        hw, hh = self.half
        rows, cols = np.arange(hh) * GRID // hh, np.arange(hw) * GRID // hw
        self.cells = ((rows[:, None] * GRID + cols[None, :]) * BINS).ravel().astype(np.int32)  # (hh*hw,)
        self.xs = np.broadcast_to((np.arange(hw) + 0.5) / hw, (hh, hw)).ravel()
        self.ys = np.broadcast_to(((np.arange(hh) + 0.5) / hh)[:, None], (hh, hw)).ravel()
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.prev: np.ndarray | None = None

    def __call__(self, grey: np.ndarray, fps: float) -> np.ndarray:
        """The (DIM,) float32 descriptor of the next frame, given as (H, W) uint8 at `self.size`."""
        out = np.zeros(DIM, np.float32)
        small = cv2.resize(grey, self.half, interpolation=cv2.INTER_AREA)
        gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=1)
        gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=1)
        gmag, gang = cv2.cartToPolar(gx, gy)
        hog = np.sqrt(_soft_hist(self.cells, np.fmod(gang.ravel(), math.pi), gmag.ravel(), math.pi))
        out[_HOG] = hog / max(float(np.linalg.norm(hog)), 1e-6)
        if self.prev is not None:
            self._motion(grey, fps, out)
        self.prev = grey
        return out

    def _motion(self, grey: np.ndarray, fps: float, out: np.ndarray) -> None:
        flow = self.dis.calc(self.prev, grey, None)  # (h, w, 2) pixels per frame
        flow = cv2.resize(flow, self.half, interpolation=cv2.INTER_AREA) * np.float32(fps / self.size[0])
        mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
        m = mag.ravel()
        total = float(m.sum())
        out[_HOF] = np.sqrt(_soft_hist(self.cells, ang.ravel(), m, 2 * math.pi)) / math.sqrt(
            total + _HOF_EPS * len(m))
        field = cv2.resize(flow, (GRID, GRID), interpolation=cv2.INTER_AREA)  # (4, 4, 2)
        out[256:288] = field.ravel()
        u, v = field[..., 0], field[..., 1]
        # mean finite differences over the cell field telescope to (last column/row - first) / (GRID - 1)
        du_dx, dv_dy = (u[:, -1] - u[:, 0]).mean(), (v[-1] - v[0]).mean()
        dv_dx, du_dy = (v[:, -1] - v[:, 0]).mean(), (u[-1] - u[0]).mean()
        div, curl = float(du_dx + dv_dy) / (GRID - 1), float(dv_dx - du_dy) / (GRID - 1)
        diff = float(cv2.absdiff(grey, self.prev).mean()) / 255.0
        if total > 1e-6:
            w = m / total
            cx, cy = float(w @ self.xs), float(w @ self.ys)
            sx = math.sqrt(max(float(w @ (self.xs - cx) ** 2), 0.0))
            sy = math.sqrt(max(float(w @ (self.ys - cy) ** 2), 0.0))
        else:
            cx = cy = 0.5
            sx = sy = 0.0
        out[288:300] = (m.mean(), m.std(), (m > _MOVING).mean(), u.mean(), v.mean(), div, curl, diff,
                        cx, cy, sx, sy)


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The frame's luma plane as (H, W) uint8 without a colour conversion when the format has one."""
    if frame.format.name in _LUMA_FORMATS:
        plane = frame.planes[0]
        return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    return frame.to_ndarray(format="gray")


def decode_luma(path: str | Path, *, width: int = WIDTH, threads: int = 1) -> Iterator[tuple[float, np.ndarray]]:
    """Decode a video as (time in seconds, (h, width) uint8 luma) per frame, shrunk to `width` pixels.

    Raises:
        VideoError: naming the file, when it cannot be opened or decoded (also after the last good frame).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    with open_video(path) as (container, stream):  # anything PyAV raises for the file becomes a VideoError
        stream.codec_context.thread_count = int(threads)
        rate = float(stream.average_rate or stream.guessed_rate or 25.0)
        for i, frame in enumerate(container.decode(stream)):
            check_frame(path, frame)
            t = frame.time if frame.time is not None else i / rate
            yield float(t), shrink(_luma(frame), width)


def shrink(luma: np.ndarray, width: int = WIDTH) -> np.ndarray:
    """(H, W) uint8 luma shrunk to `width` pixels (the height follows the aspect ratio), as the descriptor takes it."""
    size = (width, max(GRID, round(width * luma.shape[0] / luma.shape[1])))
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def rgb_luma(frame: np.ndarray) -> np.ndarray:
    """The luma plane an (H, W, 3) uint8 RGB frame has once encoded by `mujo.fimad.video.write_mp4` (BT.601
    limited range, odd sizes padded), without encoding it: what `decode_luma` reads back, less the codec's loss."""
    frame = even_frame(frame)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)[: frame.shape[0]]


def describe_video(path: str | Path, *, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The descriptor of every frame of a video.

    Returns:
        times (F,) float64 seconds and features (F, DIM) float32.
    Raises:
        VideoError: unreadable, truncated or empty video.
    """
    return describe_frames(decode_luma(path, threads=threads), str(path))


def describe_frames(frames: Iterable[tuple[float, np.ndarray]], name: str = "video") -> tuple[np.ndarray, np.ndarray]:
    """The descriptor of every frame of (time in seconds, (h, WIDTH) uint8 luma) pairs (`decode_luma`'s, or
    `shrink(rgb_luma(rgb))` of rendered frames).

    Returns:
        times (F,) float64 seconds and features (F, DIM) float32.
    Raises:
        VideoError: no frames (naming `name`).
    """
    times: list[float] = []
    rows: list[np.ndarray] = []
    desc: FlowDescriptor | None = None
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise VideoError(f"{name}: no frames")
    times.append(first[0])
    desc = FlowDescriptor(first[1].shape[0], first[1].shape[1])
    # The flow's unit (widths per second) needs the frame rate: from the timestamps once two frames are in.
    rows.append(desc(first[1], 25.0))
    for t, grey in frames:
        dt = t - times[-1]
        fps = 1.0 / dt if dt > 1e-4 else 25.0
        times.append(t)
        rows.append(desc(grey, fps))
    feats = np.stack(rows)  # (F, DIM)
    if len(feats) > 1:
        feats[0, _MOTION] = feats[1, _MOTION]
    return np.asarray(times, np.float64), feats


def align_to_rate(times: np.ndarray, feats: np.ndarray, n: int, fps: float) -> np.ndarray:
    """Resample per-frame features to `n` samples at `fps` (sample t at time t / fps) by linear interpolation.

    Times before the first frame take the first frame; after the last, the last.

    Args:
        times: (F,) increasing frame times in seconds.
        feats: (F, D).
    Returns:
        (n, D) float32.
    """
    feats = np.asarray(feats, np.float32)
    if len(feats) == 0:
        raise ValueError("no frames to align")
    if len(feats) == 1:
        return np.repeat(feats, n, axis=0)
    times = np.maximum.accumulate(np.asarray(times, np.float64))  # defensively monotone
    t = np.arange(n) / float(fps)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    span = times[i + 1] - times[i]
    w = np.clip((t - times[i]) / np.where(span > 0, span, 1.0), 0.0, 1.0).astype(np.float32)[:, None]
    return feats[i] * (1 - w) + feats[i + 1] * w
