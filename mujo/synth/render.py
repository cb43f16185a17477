"""Render 3D poses as a shaded person-like figure in a simple gym scene seen by a pinhole camera.

Conventions: world metres, right-handed, +y up. A trainer with yaw ``facing_rad = 0`` faces +z, so their left
hand is on +x; a yaw ``phi`` (about +y) turns the facing direction to ``(sin phi, 0, cos phi)``. Video frame k
shows time ``k / video_fps``, i.e. pose sample position ``k * fps / video_fps`` (linearly interpolated), so video
time 0 is pose sample 0, and a video has ``round(T * video_fps / fps)`` frames (half rounds up): its duration is
the pose's duration ``T / fps`` to within half a video frame.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from mujo.fimad.skeleton import PARENTS, check_pose
from mujo.synth.render_figure import draw_figure, figure_geometry
from mujo.synth.render_scene import draw_mat, mat_placement, room_background

__all__ = ["Camera", "Appearance", "render_frames", "n_video_frames", "floor_height", "pose_anchor"]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking from ``position`` at ``target`` (world metres), up = +y, no roll.

    Pixel coordinates put the centre of the top-left pixel at (0, 0), x to the right, y down.
    """

    position: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y_deg: float = 45.0  # vertical field of view
    width: int = 320
    height: int = 240

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2:
            raise ValueError(f"camera image size must be at least 2x2, got {self.width}x{self.height}")
        if not 1.0 < self.fov_y_deg < 170.0:
            raise ValueError(f"camera fov_y_deg must be in (1, 170), got {self.fov_y_deg}")
        view = np.subtract(self.target, self.position, dtype=float)
        if np.linalg.norm(view) < 1e-6 or np.linalg.norm(view[[0, 2]]) < 1e-3 * np.linalg.norm(view):
            raise ValueError(f"camera must look at a distinct target and not straight up/down: {self}")

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / math.tan(math.radians(self.fov_y_deg) / 2)

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera rotation; rows are the camera's right, down and forward axes in world."""
        fwd = np.subtract(self.target, self.position, dtype=float)
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        return np.stack([right, np.cross(fwd, right), fwd])

    def resized(self, size: tuple[int, int]) -> Camera:
        """The same camera (same vertical field of view) with another image size (width, height)."""
        return replace(self, width=int(size[0]), height=int(size[1]))

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points.

        Args:
            points: (..., 3) world metres.
        Returns:
            uv (..., 2) pixels (NaN for points at or behind the camera plane) and depth (..., ) metres along the
            viewing axis.
        """
        cam = (np.asarray(points, dtype=float) - np.asarray(self.position)) @ self.rotation.T  # (..., 3)
        depth = cam[..., 2]
        safe = np.where(depth > 1e-6, depth, np.nan)
        centre = np.array([(self.width - 1) / 2, (self.height - 1) / 2])
        uv = self.focal_px * cam[..., :2] / safe[..., None] + centre
        return uv, depth

    @classmethod
    def sample(cls, rng: np.random.Generator, facing_rad: float = 0.0, *,
               center: tuple[float, float, float] = (0.0, 0.0, 0.0), size: tuple[int, int] = (320, 240)) -> Camera:
        """Place a camera the way fitness videos are filmed: in front of the trainer.

        Args:
            rng: the random generator.
            facing_rad: the trainer's yaw (0 = facing +z); the camera stands on that side.
            center: the trainer's position on the floor (x, floor height, z); see ``pose_anchor``.
            size: image (width, height).
        Returns:
            A camera 2.5-4.5 m away, 0.8-1.6 m above the floor, within +-30 deg of the trainer's front, looking
            slightly down or up at hip height, framed to show 2.4-2.8 m of height at the trainer.
        """
        cx, floor, cz = (float(v) for v in center)
        dist = rng.uniform(2.5, 4.5)
        yaw = facing_rad + math.radians(rng.uniform(-30.0, 30.0))
        pos = (cx + dist * math.sin(yaw), floor + rng.uniform(0.8, 1.6), cz + dist * math.cos(yaw))
        side = rng.uniform(-0.15, 0.15)  # trainer a little off-centre
        target = (cx + side * math.cos(yaw), floor + rng.uniform(0.9, 1.1), cz - side * math.sin(yaw))
        extent = rng.uniform(2.4, 2.8)
        fov = math.degrees(2 * math.atan(extent / 2 / dist))
        return cls(pos, target, float(np.clip(fov, 25.0, 65.0)), int(size[0]), int(size[1]))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))  # type: ignore[return-value]


_SKINS = ((255, 224, 196), (241, 194, 165), (224, 172, 138), (198, 134, 98), (160, 105, 70), (120, 78, 52),
          (88, 58, 40))
_HAIRS = ((30, 22, 18), (60, 40, 25), (110, 75, 40), (170, 130, 80), (215, 185, 130), (120, 120, 120))


@dataclass(frozen=True)
class Appearance:
    """How the trainer and the room look; colours are RGB 0-255."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    sleeves: str  # "none" | "short" | "long"
    shorts: bool  # shins bare
    thickness: float  # limb/torso thickness scale
    wall: tuple[int, int, int]
    wall_accent: tuple[int, int, int]
    wall_pattern: str  # "plain" | "panels" | "stripe" | "bricks"
    floor: tuple[int, int, int]
    floor_pattern: str  # "tiles" | "planks" | "lines"
    floor_scale: float  # tile / plank width, metres
    wall_distance: float  # metres from the trainer to the back wall
    mat: tuple[int, int, int] | None  # exercise mat colour, or no mat
    poster: tuple[int, int, int] | None  # a rectangle on the wall (picture, window), or none
    poster_x: float  # its lateral offset from the view centre, metres
    light_dir: tuple[float, float, float]  # unit vector from the figure towards the light (world)
    ambient: float  # share of light that is not directional

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Appearance:
        """A random trainer and room; all randomness comes from ``rng``."""
        skin = np.clip(np.array(_SKINS[rng.integers(len(_SKINS))]) + rng.normal(0, 6, 3), 0, 255)
        hair = _HAIRS[rng.integers(len(_HAIRS))]
        shirt = _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.35, 0.95))
        dark = rng.random() < 0.6  # most trainers wear dark leggings/shorts
        pants = _hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.12, 0.3)) if dark else \
            _hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.3, 0.8))
        shoes = _hsv(rng.random(), rng.uniform(0.0, 0.6), rng.choice([0.15, 0.9]))
        gym = rng.random() < 0.3  # darker gym vs bright living room / studio
        wall = _hsv(rng.random(), rng.uniform(0.02, 0.25), rng.uniform(0.3, 0.5) if gym else rng.uniform(0.7, 0.95))
        accent = _hsv(rng.random(), rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.8))
        floor_pattern = str(rng.choice(["tiles", "planks", "lines"]))
        floor = {"planks": _hsv(rng.uniform(0.05, 0.11), rng.uniform(0.35, 0.6), rng.uniform(0.45, 0.8)),
                 "tiles": _hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.55, 0.85)),
                 "lines": _hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.35))}[floor_pattern]
        scale = {"planks": rng.uniform(0.12, 0.22), "tiles": rng.uniform(0.3, 0.6), "lines": rng.uniform(0.8, 1.5)}
        az, el = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(40, 75))
        light = (math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az))
        return cls(
            skin=tuple(int(c) for c in skin), hair=hair,  # type: ignore[arg-type]
            shirt=shirt, pants=pants, shoes=shoes,
            sleeves=str(rng.choice(["none", "short", "short", "long"])), shorts=bool(rng.random() < 0.35),
            thickness=float(rng.uniform(0.85, 1.2)), wall=wall, wall_accent=accent,
            wall_pattern=str(rng.choice(["plain", "panels", "stripe", "bricks"])), floor=floor,
            floor_pattern=floor_pattern, floor_scale=float(scale[floor_pattern]),
            wall_distance=float(rng.uniform(1.2, 3.0)),
            mat=_hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8)) if rng.random() < 0.6 else None,
            poster=_hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.4, 0.95)) if rng.random() < 0.5 else None,
            poster_x=float(rng.uniform(-1.5, 1.5)), light_dir=light, ambient=float(rng.uniform(0.45, 0.65)),
        )


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
