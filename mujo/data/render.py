"""Render 3D poses as a shaded person-like figure in a simple gym scene seen by a pinhole camera.

Conventions: world metres, right-handed, +y up. A trainer with yaw ``facing_rad = 0`` faces +z, so their left
hand is on +x; a yaw ``phi`` (about +y) turns the facing direction to ``(sin phi, 0, cos phi)``. Video frame k
shows time ``k / video_fps``, i.e. pose sample position ``k * fps / video_fps`` (linearly interpolated), so video
time 0 is pose sample 0, and a video has ``round(T * video_fps / fps)`` frames (half rounds up): its duration is
the pose's duration ``T / fps`` to within half a video frame.
"""

from __future__ import annotations

import colorsys
import functools
import math
from dataclasses import dataclass, replace
from typing import Iterator

import cv2
import numpy as np

from mujo.data.skeleton import JOINT_INDEX, PARENTS, check_pose

__all__ = ["Camera", "Appearance", "render_frames", "n_video_frames", "floor_height", "pose_anchor"]

_SHIFT = 4  # cv2 sub-pixel bits: polygon coordinates are in 1/16 px


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
    background = _room(cam, appearance, round(floor, 3)).copy()
    if drawable and appearance.mat is not None:
        _draw_mat(background, cam, appearance.mat, floor, *_mat_placement(filled, cam, floor))
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
        geo = _figure_geometry(frames, cam, appearance, floor)
        for i in range(len(frames)):
            img = background.copy()
            _draw_figure(img, geo, i)
            yield img


def _draw_figure(img: np.ndarray, geo: dict, i: int) -> None:
    """Draw frame i of the precomputed geometry: soft shadow first, then the primitives back to front."""
    x0, y0, x1, y1 = geo["shadow_box"][i]
    if x1 > x0 and y1 > y0:
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for poly in geo["shadow"][i]:
            cv2.fillConvexPoly(mask, poly, 255, cv2.LINE_8, _SHIFT)
        k = geo["blur"]
        mask = cv2.blur(mask, (k, k))
        roi = img[y0:y1, x0:x1]
        keep = 255 - ((mask.astype(np.uint16) * geo["shadow_strength"]) >> 8)  # (h, w) 0..255
        roi[:] = (roi.astype(np.uint16) * keep[:, :, None] >> 8).astype(np.uint8)
    polys, colours, visible = geo["polys"][i], geo["colours"][i], geo["visible"][i]
    for j in geo["order"][i]:
        if visible[j]:
            cv2.fillConvexPoly(img, polys[j], colours[j], cv2.LINE_AA, _SHIFT)


# ---------------------------------------------------------------------------------------------------------- scene

def _mat_placement(pose: np.ndarray, cam: Camera, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre (x, z) and long axis (unit, x/z) of an exercise mat under the trainer."""
    hip = pose[:, 0]
    lying = hip[:, 1] - floor < 0.45
    if lying.mean() > 0.1:  # lies down for a while: the mat runs along the body
        along = (pose[lying, JOINT_INDEX["Head"]] - pose[lying, 0])[:, [0, 2]]  # head minus hip, horizontal
        axis = np.linalg.svd(along, full_matrices=False)[2][0]  # principal direction, sign-free
        return np.median(hip[lying][:, [0, 2]], axis=0), axis
    right = cam.rotation[0][[0, 2]]  # standing only: the mat lies across the view
    return np.median(hip[:, [0, 2]], axis=0), right / np.linalg.norm(right)


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _hash(x: np.ndarray) -> np.ndarray:
    return _frac(np.sin(x * 12.9898 + 4.1) * 43758.5453)


@functools.lru_cache(maxsize=8)  # the clips of one video share camera, room and floor
def _room(cam: Camera, app: Appearance, floor: float, ss: int = 2) -> np.ndarray:
    """The static room (back wall, patterned floor) ray-cast per pixel at ss x ss supersampling; read-only."""
    R, pos, f = cam.rotation.astype(np.float32), np.asarray(cam.position, np.float32), cam.focal_px
    u = ((np.arange(cam.width * ss, dtype=np.float32) + 0.5) / ss - 0.5 - (cam.width - 1) / 2) / f
    v = ((np.arange(cam.height * ss, dtype=np.float32) + 0.5) / ss - 0.5 - (cam.height - 1) / 2) / f
    d = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.float32(1)), axis=-1) @ R  # (H, W, 3) world rays
    h = np.array([R[2, 0], 0.0, R[2, 2]], np.float32) / np.linalg.norm(R[2, [0, 2]])  # horizontal view direction
    lat = np.cross(h, [0.0, 1.0, 0.0]).astype(np.float32)
    wall_d = float(np.linalg.norm(np.subtract(cam.target, cam.position)[[0, 2]])) + app.wall_distance
    dh = d @ h
    t_wall = np.where(dh > 1e-6, wall_d / np.maximum(dh, 1e-6), 1e3)
    t_floor = np.where(d[..., 1] < -1e-6, (floor - pos[1]) / np.minimum(d[..., 1], -1e-6), 1e3)
    on_floor = t_floor < t_wall
    rel = np.minimum(t_wall, t_floor)[..., None] * d  # (H, W, 3) hit points relative to the camera
    a, b, y = rel @ h, rel @ lat, rel[..., 1] + (pos[1] - floor)  # depth, lateral, height above floor

    s = app.floor_scale
    shade = np.ones(a.shape, np.float32)
    if app.floor_pattern == "tiles":
        shade *= 1 + 0.05 * (2 * ((np.floor(a / s) + np.floor(b / s)) % 2) - 1)
        edge = np.minimum(np.minimum(_frac(a / s), 1 - _frac(a / s)), np.minimum(_frac(b / s), 1 - _frac(b / s)))
        shade *= np.where(edge * s < 0.008, 0.72, 1.0)
    elif app.floor_pattern == "planks":
        lane = np.floor(b / s)
        along = a + _hash(lane) * 1.2  # staggered plank ends, 1.2 m planks
        shade *= 1 + 0.16 * (_hash(lane * 7.1 + np.floor(along / 1.2)) - 0.5)
        shade *= np.where((_frac(b / s) * s < 0.006) | (_frac(along / 1.2) * 1.2 < 0.008), 0.7, 1.0)
    else:  # rubber floor with painted lines running away from the camera
        shade *= np.where(_frac(b / s) * s < 0.025, 1.9, 1.0)
    shade *= 1 - 0.25 * np.clip((a - 2.0) / 8.0, 0, 1)  # distance
    shade *= 1 - 0.3 * np.exp(-np.maximum(wall_d - a, 0) / 0.12)  # contact shadow at the wall
    img_floor = np.asarray(app.floor, np.float32) * shade[..., None]

    wshade = 0.86 + 0.14 * np.clip(y / 2.5, 0, 1)  # light from above
    wshade *= 1 - 0.08 * np.clip(np.abs(b) / 3.0, 0, 1)
    wall = np.asarray(app.wall, np.float32)
    img_wall = np.broadcast_to(wall, rel.shape).copy()
    if app.wall_pattern == "panels":
        wshade *= np.where(_frac(b / 1.2) * 1.2 < 0.02, 0.8, 1.0)
    elif app.wall_pattern == "stripe":
        img_wall[(y > 1.0) & (y < 1.25)] = app.wall_accent
    elif app.wall_pattern == "bricks":
        row = np.floor(y / 0.3)
        col = (b + 0.3 * (row % 2)) / 0.6
        wshade *= np.where((_frac(y / 0.3) * 0.3 < 0.015) | (_frac(col) * 0.6 < 0.015), 0.85,
                           1 + 0.06 * (_hash(row * 3.3 + np.floor(col)) - 0.5))
    if app.poster is not None:
        in_frame = (np.abs(b - app.poster_x) < 0.45) & (y > 1.15) & (y < 1.85)
        inner = (np.abs(b - app.poster_x) < 0.42) & (y > 1.18) & (y < 1.82)
        img_wall[in_frame] = 0.3 * wall
        img_wall[inner] = app.poster
    img_wall[y < 0.1] = 0.6 * wall  # skirting board
    img_wall *= wshade[..., None]
    img = np.clip(np.where(on_floor[..., None], img_floor, img_wall), 0, 255).astype(np.uint8)
    img = cv2.resize(img, (cam.width, cam.height), interpolation=cv2.INTER_AREA) if ss > 1 else img
    img.setflags(write=False)
    return img


def _draw_mat(img: np.ndarray, cam: Camera, rgb: tuple[int, int, int], floor: float, centre: np.ndarray,
              axis: np.ndarray) -> None:
    """An exercise mat (1.8 x 0.6 m, darker rim) on the floor, as two anti-aliased quads."""
    across = np.array([-axis[1], axis[0]])
    for half_l, half_w, tone in ((0.9, 0.3, 0.85), (0.88, 0.28, 1.0)):
        xz = centre + np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) @ np.stack([half_l * axis, half_w * across])
        uv, depth = cam.project(np.column_stack([xz[:, 0], np.full(4, floor), xz[:, 1]]))
        if (depth <= 0.05).any():
            return
        cv2.fillConvexPoly(img, _fixed(uv, cam.width, cam.height), tuple(tone * c for c in rgb), cv2.LINE_AA, _SHIFT)


# --------------------------------------------------------------------------------------------------------- figure

_K = 6  # outline points per half circle
_HALF = np.linspace(-np.pi / 2, np.pi / 2, _K)
_FULL = np.linspace(0, 2 * np.pi, 2 * _K, endpoint=False)
_PART_KEYS = {  # points whose mean depth orders the parts (painter's algorithm)
    "torso": ("Hip", "Spine", "Thorax"), "head": ("head_c",),
    **{s + "UpperArm": (s + "Shoulder", s + "Elbow") for s in "LR"},
    **{s + "Forearm": (s + "Elbow", s + "Wrist", s + "Hand") for s in "LR"},
    **{s + "Thigh": (s + "Hip", s + "Knee") for s in "LR"},
    **{s + "Shin": (s + "Knee", s + "Foot", s + "Toe") for s in "LR"},
}
_TORSO_BIAS_M = 0.1  # the torso's surface is nearer than its joints: limbs beside it are drawn over it


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def _capsules(a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Outlines of tapered capsules: ends a, b (..., 2) px and radii (...,) px -> (..., 2K, 2) convex polygons."""
    d = b - a
    length = np.linalg.norm(d, axis=-1)
    rb = ra + np.clip(rb - ra, -length, length)  # stays convex when the segment is foreshortened
    theta = np.arctan2(d[..., 1], d[..., 0])[..., None]
    ang = np.concatenate([theta + _HALF, theta + _HALF + np.pi], axis=-1)  # (..., 2K)
    ends = np.concatenate([np.repeat(b[..., None, :], _K, -2), np.repeat(a[..., None, :], _K, -2)], axis=-2)
    radius = np.concatenate([np.repeat(rb[..., None], _K, -1), np.repeat(ra[..., None], _K, -1)], axis=-1)
    return ends + radius[..., None] * np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def _body_points(P: np.ndarray, app: Appearance) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Joints plus derived surface points (shirt corners, head centre, hands, feet), each (n, 3); and forward."""
    th = app.thickness
    g = {name: P[:, i] for name, i in JOINT_INDEX.items()}
    left_s, left_h = _unit(g["LShoulder"] - g["RShoulder"]), _unit(g["LHip"] - g["RHip"])
    up_t = _unit(g["Thorax"] - g["Hip"])
    fwd = _unit(np.cross(left_s + left_h, up_t))  # left x up = forward (right-handed, +y up)
    waist = 0.45 * (g["Spine"] - g["Hip"])
    g.update(LSo=g["LShoulder"] + 0.05 * th * left_s, RSo=g["RShoulder"] - 0.05 * th * left_s,
             LWa=g["LHip"] + waist + 0.02 * th * left_h, RWa=g["RHip"] + waist - 0.02 * th * left_h,
             LHo=g["LHip"] + 0.035 * th * left_h, RHo=g["RHip"] - 0.035 * th * left_h,
             chest_lo=g["Hip"] + 0.5 * (g["Spine"] - g["Hip"]), chest_hi=g["Thorax"] - 0.05 * up_t,
             head_c=0.5 * (g["Neck"] + g["Head"]))  # H36M: Neck is at the nose, Head at the crown
    g["head_f"] = g["head_c"] + 0.1 * fwd
    g["head_u"] = g["head_c"] + 0.1 * _unit(g["Head"] - g["Neck"])
    sleeve = {"none": 0.0, "short": 0.45, "long": 1.0}[app.sleeves]
    for s in "LR":
        sh, el, wr, ft = g[s + "Shoulder"], g[s + "Elbow"], g[s + "Wrist"], g[s + "Foot"]
        g[s + "Sleeve"] = sh + max(sleeve, 0.01) * (el - sh)
        g[s + "Hand"] = wr + 0.085 * _unit(wr - el)
        shin = _unit(ft - g[s + "Knee"])
        toe = _unit(fwd - _dot(fwd, shin)[:, None] * shin)  # toes point forward, across the shin
        g[s + "Heel"] = ft + 0.04 * shin - 0.03 * toe
        g[s + "Toe"] = ft + 0.06 * shin + 0.14 * toe
    return g, fwd


def _primitives(app: Appearance) -> list[tuple]:
    """(kind, part, a, b, radius_a_m, radius_b_m, rgb, two_tone) in drawing order within each part."""
    th, skin, shirt, pants = app.thickness, app.skin, app.shirt, app.pants
    arm = shirt if app.sleeves == "long" else skin
    prims = [
        ("cap", "torso", "LHip", "RHip", .095 * th, .095 * th, pants, False),
        ("poly", "torso", ("LWa", "RWa", "RHo", "LHo"), None, 0, 0, pants, False),
        ("cap", "torso", "chest_lo", "chest_hi", .115 * th, .115 * th, shirt, False),
        ("poly", "torso", ("LSo", "RSo", "RWa", "LWa"), None, 0, 0, shirt, False),
        ("cap", "torso", "LShoulder", "LShoulder", .06 * th, .06 * th, shirt, False),
        ("cap", "torso", "RShoulder", "RShoulder", .06 * th, .06 * th, shirt, False),
        ("cap", "torso", "Thorax", "head_c", .05 * th, .05 * th, skin, False),  # neck
        ("cap", "head", "head_c", "head_c", .105, .105, app.hair, False),
        ("face", "head", "head_c", "head_c", .105, .105, skin, False),
    ]
    for s in "LR":
        prims.append(("cap", s + "UpperArm", s + "Shoulder", s + "Elbow", .055 * th, .045 * th, arm, True))
        if app.sleeves == "short":
            prims.append(("cap", s + "UpperArm", s + "Shoulder", s + "Sleeve", .063 * th, .056 * th, shirt, False))
        prims += [("cap", s + "Forearm", s + "Elbow", s + "Wrist", .045 * th, .034 * th, arm, True),
                  ("cap", s + "Forearm", s + "Wrist", s + "Hand", .038 * th, .032 * th, skin, False),
                  ("cap", s + "Thigh", s + "Hip", s + "Knee", .085 * th, .06 * th, pants, True),
                  ("cap", s + "Shin", s + "Knee", s + "Foot", .058 * th, .042 * th, skin if app.shorts else pants,
                   True),
                  ("cap", s + "Shin", s + "Heel", s + "Toe", .045 * th, .038 * th, app.shoes, False)]
    return prims


def _figure_geometry(P: np.ndarray, cam: Camera, app: Appearance, floor: float) -> dict:
    """Everything `_draw_figure` needs for n frames, computed vectorised: P (n, 17, 3) -> polygons, colours..."""
    W, H = cam.width, cam.height
    g, fwd = _body_points(P, app)
    names = list(g)
    at = {k: i for i, k in enumerate(names)}
    X = np.stack([g[k] for k in names], axis=1)  # (n, M, 3)
    L = np.asarray(app.light_dir, float)
    lift = np.maximum(X[..., 1] - floor, 0.0) / max(L[1], 0.2)
    uv, depth = cam.project(np.concatenate([X, X - lift[..., None] * L], axis=1))  # (n, 2M, 2) with shadows
    f, M, amb, eye = cam.focal_px, len(names), app.ambient, np.asarray(cam.position, float)
    l2 = (cam.rotation @ L)[:2]  # towards the light in the image (x right, y down)
    l2 = l2 / max(np.linalg.norm(l2), 1e-9)

    polys, colours, parts, shadows = [], [], [], []

    def emit(outline, part, rgb, factor):
        polys.append(outline)
        colours.append(np.asarray(rgb, float) * factor[:, None])
        parts.append(part)

    def lit(axis, mid):  # Lambert term of the surface facing the camera, for a cylinder along axis
        to_eye = _unit(eye - mid)
        return np.clip(_dot(_unit(to_eye - _dot(to_eye, axis)[:, None] * axis), L), 0, 1)

    for kind, part, a, b, ra, rb, rgb, two_tone in _primitives(app):
        if kind == "poly":
            idx = [at[k] for k in a]
            outline = uv[:, idx + [idx[-1]] * (2 * _K - len(idx))]  # padded by repeating the last corner
            emit(outline, part, rgb, amb + (1 - amb) * (0.2 + 0.6 * lit(_unit(g["Thorax"] - g["Hip"]), g["Spine"])))
            continue
        ia, ib = at[a], at[b]
        A, B = X[:, ia], X[:, ib]
        a2, b2, ra_px, rb_px = uv[:, ia], uv[:, ib], f * ra / depth[:, ia], f * rb / depth[:, ib]
        axis = _unit(B - A)
        lam = lit(axis, 0.5 * (A + B))
        if kind == "face":
            emit(_face(uv[:, at["head_f"]], uv[:, at["head_u"]], a2, ra_px, f * 0.1 / depth[:, ia]), part, rgb,
                 amb + (1 - amb) * (0.2 + 0.6 * lam))
            facing = _dot(fwd, _unit(eye - A))
            polys[-1][facing < -0.2] = np.nan  # the back of the head: hair only
            continue
        shadows.append(_capsules(uv[:, M + ia], uv[:, M + ib], f * ra / depth[:, M + ia], f * rb / depth[:, M + ib]))
        if not two_tone:
            emit(_capsules(a2, b2, ra_px, rb_px), part, rgb, amb + (1 - amb) * (0.2 + 0.6 * lam))
            continue
        emit(_capsules(a2, b2, ra_px, rb_px), part, rgb, 0.85 * amb + 0.45 * (1 - amb) * lam)
        s3 = np.sqrt(np.clip(1 - _dot(axis, L) ** 2, 0, 1))  # brightest point of a cylinder
        d2 = b2 - a2
        d2n = np.linalg.norm(d2, axis=-1, keepdims=True)
        nrm = np.where(d2n > 1e-6, np.stack([-d2[:, 1], d2[:, 0]], -1) / np.maximum(d2n, 1e-9), l2)
        off = (0.38 * _dot(nrm, l2) * 0.5 * (ra_px + rb_px))[:, None] * nrm  # highlight towards the light
        emit(_capsules(a2 + off, b2 + off, 0.55 * ra_px, 0.55 * rb_px), part, rgb,
             amb + (1 - amb) * s3 * (0.35 + 0.65 * lam))

    poly = np.stack(polys, axis=1)  # (n, N, 2K, 2)
    visible = np.isfinite(poly).all(axis=(2, 3))
    part_names = list(_PART_KEYS)
    part_depth = np.stack([np.mean([depth[:, at[k]] for k in _PART_KEYS[p]], axis=0) for p in part_names], 1)
    part_depth[:, 0] += _TORSO_BIAS_M
    rank = np.argsort(np.argsort(-part_depth, axis=1), axis=1)  # 0 = farthest = drawn first
    key = rank[:, [part_names.index(p) for p in parts]] * 64 + np.arange(len(parts))
    shadow = np.stack(shadows, axis=1)  # (n, S, 2K, 2)
    blur = 2 * max(1, round(W / 80)) + 1
    with np.errstate(invalid="ignore"):
        lo = np.nan_to_num(np.nanmin(shadow, axis=(1, 2)), nan=0.0) - blur
        hi = np.nan_to_num(np.nanmax(shadow, axis=(1, 2)), nan=-1.0) + blur
    box = np.concatenate([np.clip(np.floor(lo), 0, [W, H]), np.clip(np.ceil(hi), 0, [W, H])], 1).astype(int)
    return {
        "polys": _fixed(poly, W, H), "visible": visible.tolist(), "order": np.argsort(key, axis=1).tolist(),
        "colours": np.clip(np.stack(colours, axis=1), 0, 255).tolist(),
        "shadow": _fixed(shadow - box[:, None, None, :2], W, H), "shadow_box": box.tolist(), "blur": blur,
        "shadow_strength": int(256 * (0.75 - 0.5 * amb)),
    }


def _face(head_f: np.ndarray, head_u: np.ndarray, c2: np.ndarray, r: np.ndarray, px_per_dm: np.ndarray) -> np.ndarray:
    """The face as a skin ellipse inside the head circle, shifted towards where the face points: (n, 2K, 2)."""
    fd = (head_f - c2) / px_per_dm[:, None]  # the forward direction seen in the image, length <= ~1
    m = np.clip(np.linalg.norm(fd, axis=-1), 0, 1)
    dirn = np.where(m[:, None] > 1e-3, _unit(fd), [1.0, 0.0])
    perp = np.stack([-dirn[:, 1], dirn[:, 0]], -1)
    centre = c2 + dirn * (0.42 * m * r)[:, None] - _unit(head_u - c2) * (0.12 * r)[:, None]  # hair on top
    ax, ay = 0.78 * r * (1 - 0.45 * m), 0.78 * r
    return (centre[:, None] + (ax[:, None] * np.cos(_FULL))[..., None] * dirn[:, None]
            + (ay[:, None] * np.sin(_FULL))[..., None] * perp[:, None])


def _fixed(p: np.ndarray, W: int, H: int) -> np.ndarray:
    """Pixel coordinates -> cv2 fixed point int32 (1/16 px), clipped far outside the image, NaN -> 0."""
    p = np.clip(np.nan_to_num(p, nan=0.0), -4 * max(W, H), 5 * max(W, H))
    return np.round(p * (1 << _SHIFT)).astype(np.int32)
