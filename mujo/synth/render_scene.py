"""The static scene behind the trainer: back wall with its pattern and poster, patterned floor, exercise mat."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.render_figure import SHIFT, fixed_point
from mujo.synth.render_setup import Appearance, Camera

__all__ = ["room_background", "draw_mat", "mat_placement"]


def mat_placement(pose: np.ndarray, cam: Camera, floor: float) -> tuple[np.ndarray, np.ndarray]:
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
def room_background(cam: Camera, app: Appearance, floor: float, ss: int = 2) -> np.ndarray:
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


def draw_mat(img: np.ndarray, cam: Camera, rgb: tuple[int, int, int], floor: float, centre: np.ndarray,
             axis: np.ndarray) -> None:
    """An exercise mat (1.8 x 0.6 m, darker rim) on the floor, as two anti-aliased quads."""
    across = np.array([-axis[1], axis[0]])
    for half_l, half_w, tone in ((0.9, 0.3, 0.85), (0.88, 0.28, 1.0)):
        xz = centre + np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) @ np.stack([half_l * axis, half_w * across])
        uv, depth = cam.project(np.column_stack([xz[:, 0], np.full(4, floor), xz[:, 1]]))
        if (depth <= 0.05).any():
            return
        quad = fixed_point(uv, cam.width, cam.height)
        cv2.fillConvexPoly(img, quad, tuple(tone * c for c in rgb), cv2.LINE_AA, SHIFT)
