"""The player component's Python side: safe JSON in HTML, the payload, the traces, the layout height."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from mujo.fimad.skeleton import IMU_SITES
from mujo.ui.html_component import json_for_html
from mujo.ui.player import (
    PlayerData,
    imu_channels,
    player_height,
    player_html,
    player_payload,
    pose_view,
)

NASTY = ["</script><script>alert(1)</script>", "<!-- x", "<b>x</b>", "a & b", "\u2028line\u2029sep", "💪 ok"]


def _decode(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), "<f4")


def _payload_text(html: str) -> str:
    m = re.search(r'<script type="application/json" id="mujo-payload">(.*?)</script>', html, re.S)
    assert m
    return m.group(1)


@pytest.mark.parametrize("text", NASTY)
def test_json_for_html_round_trips_and_cannot_break_out(text: str) -> None:
    encoded = json_for_html({"title": text})
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in encoded
    assert json.loads(encoded) == {"title": text}


def test_player_html_embeds_dataset_text_inertly() -> None:
    data = PlayerData(clip_id="c1", fps=50, n_frames=10, title=NASTY[0], notes={"pose": "<img src=x onerror=1>"})
    html = player_html(data)
    assert html.count("</script>") == 2  # the payload element's and the script element's own
    assert "<img" not in html and "<script>alert" not in html
    payload = json.loads(_payload_text(html))
    assert payload["title"] == NASTY[0]
    assert payload["notes"]["pose"] == "<img src=x onerror=1>"
    # The player's JS writes dataset text with textContent only.
    js = html[html.index("(function () {"):]
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


def test_player_html_has_no_network_references() -> None:
    html = player_html(PlayerData(clip_id="c1", fps=50, n_frames=10))
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "default-src 'none'" in html  # the CSP forbids any fetch


def test_payload_round_trips_arrays_with_nan() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(30, 17, 3)).astype(np.float32)
    pose[5:8, 3] = np.nan
    acc = rng.normal(size=(30, len(IMU_SITES), 3)).astype(np.float32)
    acc[10:12] = np.nan
    traces = imu_channels(acc, IMU_SITES, ["LWrist", "Head"], ["x", "z", "|·|"])
    data = PlayerData(clip_id="c1", fps=50, n_frames=30, pose=pose, imu=traces, imu_components=("x", "z", "|·|"),
                      window_starts=(4, 9), window_size=10, video=b"\x00\x01mp4")
    p = player_payload(data)
    np.testing.assert_array_equal(_decode(p["pose"]["b64"]).reshape(30, 17, 3), pose)
    assert [r["site"] for r in p["imu"]["rows"]] == ["LWrist", "Head"]
    li = IMU_SITES.index("LWrist")
    mag = _decode(p["imu"]["rows"][0]["series"][2]["b64"])
    np.testing.assert_allclose(mag[:10], np.linalg.norm(acc[:10, li], axis=1), rtol=1e-6)
    assert np.isnan(mag[10:12]).all()  # a gap stays a gap
    np.testing.assert_array_equal(_decode(p["imu"]["rows"][1]["series"][1]["b64"]), acc[:, IMU_SITES.index("Head"), 2])
    assert p["imu"]["unit"] == "m/s²"
    assert p["windows"] == {"size": 10, "starts": [4, 9]}
    assert base64.b64decode(p["video"]["b64"]) == b"\x00\x01mp4"
    assert p["duration"] == pytest.approx(0.6)
    json.dumps(p, allow_nan=False)  # no bare NaN in the JSON itself


def test_pose_view_ignores_nan_and_is_finite() -> None:
    pose = np.zeros((20, 17, 3), np.float32)
    pose[:, :, 1] = np.linspace(0, 1.7, 17)
    pose[3] = np.nan
    v = pose_view(pose)
    assert np.isfinite(v["center"]).all() and v["floor"] == pytest.approx(0, abs=0.05) and v["radius"] > 0.8
    assert pose_view(np.full((4, 17, 3), np.nan, np.float32))["radius"] > 0


def test_wrong_pose_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="clip 'c1'"):
        player_payload(PlayerData(clip_id="c1", fps=50, n_frames=4, pose=np.zeros((4, 16, 3), np.float32)))


def test_height_grows_with_imu_rows() -> None:
    base = PlayerData(clip_id="c", fps=50, n_frames=10)
    one = PlayerData(clip_id="c", fps=50, n_frames=10, imu={"Head": np.zeros((10, 1))}, imu_components=("x",))
    three = PlayerData(clip_id="c", fps=50, n_frames=10, imu={s: np.zeros((10, 1)) for s in IMU_SITES[:3]},
                       imu_components=("x",))
    assert player_height(base) < player_height(one) < player_height(three)
