"""The synchronised clip player: one clock (the video's) drives a 3D skeleton and IMU traces in one component.

The component is self-contained HTML/JS/CSS (player.html + player.js beside this file) rendered with `st.iframe`
(the successor of `st.components.v1.html`): no CDN, no network. All clip data travels as one JSON document inside
a `<script type="application/json">` element, encoded so that no dataset text can close that element or start a
comment; the page's JS sets text with `textContent` only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from mujo.fimad.skeleton import BONES, LEFT_JOINTS, N_JOINTS, RIGHT_JOINTS
from mujo.ui.html_component import b64_f32, component_html

COMPONENT_COLORS = {"x": "#d62728", "y": "#2ca02c", "z": "#1f77b4", "|·|": "#222222"}
UNITS = {"acc": "m/s²", "gyro": "rad/s"}
QUANTITY_NAMES = {"acc": "acceleration", "gyro": "angular velocity"}
MAX_VIDEO_BYTES = 40 * 1024 * 1024  # larger files are not embedded (the page says so)

# Pixel heights the HTML lays out; player_height() adds them up so the iframe fits without scrolling.
_HEAD_PX, _TOP_PX, _IMU_ROW_PX, _IMU_EXTRA_PX, _NOTE_PX, _PAD_PX = 34, 330, 104, 74, 46, 26


@dataclass
class PlayerData:
    """Everything the player shows for one clip; absent modalities are None and explained by a note.

    Attributes:
        clip_id: the clip.
        fps: pose/IMU sample rate.
        n_frames: samples in the clip (sets the timeline when there is no video).
        title: the chapter title (shown as text).
        start_time: where playback starts, seconds.
        start_token: changes whenever the page wants `start_time` to win over the position the player remembers
            across reruns (a new clip, a new link).
        video: the mp4's bytes, or None.
        video_name: the mp4's file name relative to the dataset (for messages).
        pose: (T, 17, 3) metres or None.
        imu: {site: (T, C) float array} in display order, or None.
        imu_components: the C column names of each imu array ("x", "y", "z", "|·|").
        imu_quantity: "acc" or "gyro".
        window_starts: start samples of the 2-second windows; window_size their length in samples.
        notes: per panel ("video", "pose", "imu") a sentence explaining why it is empty or what went wrong.
    """

    clip_id: str
    fps: float
    n_frames: int
    title: str = ""
    start_time: float = 0.0
    start_token: str = ""
    video: bytes | None = None
    video_name: str = ""
    pose: np.ndarray | None = None
    imu: dict[str, np.ndarray] | None = None
    imu_components: tuple[str, ...] = ()
    imu_quantity: str = "acc"
    window_starts: tuple[int, ...] = ()
    window_size: int = 100
    notes: dict[str, str] = field(default_factory=dict)


def imu_channels(acc_or_gyro: np.ndarray, sites: tuple[str, ...] | list[str], chosen: list[str],
                 components: list[str]) -> dict[str, np.ndarray]:
    """Pick the IMU traces to draw.

    Args:
        acc_or_gyro: (T, S, 3) array of one quantity.
        sites: the S site names of the dataset, in array order.
        chosen: the sites to draw, in display order (unknown names are skipped).
        components: any of "x", "y", "z", "|·|" (the magnitude).

    Returns:
        {site: (T, C) float32} with C = len(components), in the order asked.
    """
    out: dict[str, np.ndarray] = {}
    for site in chosen:
        if site not in sites:
            continue
        xyz = np.asarray(acc_or_gyro[:, list(sites).index(site), :], dtype=np.float32)  # (T, 3)
        cols = []
        for c in components:
            if c == "|·|":
                cols.append(np.linalg.norm(xyz, axis=1))  # NaN in, NaN out: a gap stays a gap
            else:
                cols.append(xyz[:, "xyz".index(c)])
        out[site] = np.stack(cols, axis=1) if cols else np.zeros((len(xyz), 0), np.float32)  # (T, C)
    return out


def pose_view(pose: np.ndarray) -> dict[str, Any]:
    """Where the 3D view looks and how far it must see: centre, floor height and radius (metres).

    Robust to NaN joints and a few outlier frames (percentiles, not extremes).
    """
    flat = pose.reshape(-1, 3)
    ok = np.isfinite(flat).all(axis=1)
    if not ok.any():
        return {"center": [0.0, 0.9, 0.0], "floor": 0.0, "radius": 1.2}
    pts = flat[ok]
    lo = np.percentile(pts, 1, axis=0)
    hi = np.percentile(pts, 99, axis=0)
    center = (lo + hi) / 2
    floor = float(lo[1])
    half = (hi - lo) / 2
    radius = float(max(np.hypot(half[0], half[2]), half[1], 0.6) * 1.15)
    return {"center": [float(center[0]), float(center[1]), float(center[2])], "floor": floor, "radius": radius}


def bones_with_sides() -> list[list[Any]]:
    """[parent, child, side] per bone, side "L", "R" or "C" by the child joint, for colouring."""
    out = []
    for p, c in BONES:
        side = "L" if c in LEFT_JOINTS else "R" if c in RIGHT_JOINTS else "C"
        out.append([p, c, side])
    return out


def player_payload(data: PlayerData) -> dict[str, Any]:
    """The JSON document the player's JS reads (arrays as base64 float32)."""
    payload: dict[str, Any] = {
        "clip_id": data.clip_id,
        "title": data.title,
        "fps": float(data.fps),
        "n_frames": int(data.n_frames),
        "duration": float(data.n_frames) / float(data.fps) if data.fps > 0 else 0.0,
        "start_time": max(0.0, float(data.start_time)),
        "start_token": data.start_token,
        "notes": {k: str(v) for k, v in data.notes.items() if v},
        "video": None,
        "pose": None,
        "imu": None,
        "windows": {"size": int(data.window_size), "starts": [int(s) for s in data.window_starts]},
    }
    if data.video is not None:
        payload["video"] = {"b64": base64.b64encode(data.video).decode("ascii"), "mime": "video/mp4",
                            "name": data.video_name}
    if data.pose is not None:
        pose = np.asarray(data.pose, dtype=np.float32)
        if pose.ndim != 3 or pose.shape[1:] != (N_JOINTS, 3):
            raise ValueError(f"pose of clip {data.clip_id!r} has shape {pose.shape}, expected (T, {N_JOINTS}, 3)")
        payload["pose"] = {"b64": b64_f32(pose), "n_frames": int(pose.shape[0]), "joints": N_JOINTS,
                           "bones": bones_with_sides(), **pose_view(pose)}
    if data.imu:
        rows = []
        for site, arr in data.imu.items():
            arr = np.asarray(arr, dtype=np.float32)  # (T, C)
            series = [{"name": c, "color": COMPONENT_COLORS.get(c, "#555"), "b64": b64_f32(arr[:, i])}
                      for i, c in enumerate(data.imu_components)]
            rows.append({"site": site, "series": series})
        t_count = int(next(iter(data.imu.values())).shape[0])
        payload["imu"] = {"quantity": data.imu_quantity, "label": QUANTITY_NAMES.get(data.imu_quantity, ""),
                          "unit": UNITS.get(data.imu_quantity, ""), "n_frames": t_count, "rows": rows}
    return payload


def player_html(data: PlayerData) -> str:
    """The complete, self-contained HTML document of the player for one clip."""
    return component_html("player", player_payload(data))


def player_height(data: PlayerData) -> int:
    """The iframe height (px) that shows the whole player without an inner scroll bar."""
    imu_px = _IMU_ROW_PX * len(data.imu) + _IMU_EXTRA_PX if data.imu else _NOTE_PX
    return _HEAD_PX + _TOP_PX + imu_px + _PAD_PX


def render_player(data: PlayerData) -> None:
    """Draw the player for one clip in the current Streamlit container."""
    # st.iframe with an HTML string is the successor of components.v1.html (same sandboxed srcdoc iframe).
    st.iframe(player_html(data), height=player_height(data), alt=f"Synchronised player of clip {data.clip_id}")
