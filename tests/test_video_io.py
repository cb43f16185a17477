"""Tests for mp4 writing/reading: H.264 round trip, browser-friendly layout, atomic writes, clear errors."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from mujo.fimad.video import VideoError, read_frames, video_info, write_mp4
from mujo.synth.render import Appearance, Camera, n_video_frames
from mujo.synth.video import render_video


def moving_frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    """Smooth gradients with a moving bar: compresses well, so decoded pixels stay close to the input."""
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    out = []
    for i in range(n):
        f = np.stack([4 * x, 5 * y, np.full_like(x, 128)], axis=-1).clip(0, 255).astype(np.uint8)
        f[:, (2 * i) % (w - 8):(2 * i) % (w - 8) + 8] = (250, 250, 40)
        out.append(f)
    return out


def test_round_trip(tmp_path):
    frames = moving_frames(30)
    path = write_mp4(tmp_path / "a.mp4", frames, fps=10, crf=18)
    info = video_info(path)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"], info["n_frames"]) == (64, 48, 30)
    assert info["fps"] == pytest.approx(10) and info["duration_s"] == pytest.approx(3.0)
    assert info["start_time_s"] == 0.0
    back = list(read_frames(path))
    assert len(back) == 30 and back[0].shape == (48, 64, 3) and back[0].dtype == np.uint8
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(frames, back)]) < 6
    assert len(list(read_frames(path, every=7))) == 5  # frames 0, 7, 14, 21, 28
    assert not list(tmp_path.glob(".*part"))  # no temporary file left behind


def test_browser_friendly_layout(tmp_path):
    path = write_mp4(tmp_path / "b.mp4", moving_frames(60), fps=25)
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first
    with av.open(str(path)) as c:
        packets = [p for p in c.demux(video=0) if p.size]
    with av.open(str(path)) as c:
        first = next(c.decode(video=0))
    assert packets[0].pts == 0 and packets[0].dts == 0 and first.pts == 0 and first.time == 0.0
    assert all(p.pts == p.dts for p in packets)  # no B-frames: no reordering delay, no edit-list shift
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keys == [0, 25, 50]  # a keyframe every second (gop defaults to round(fps))


def test_fractional_fps_and_gop(tmp_path):
    path = write_mp4(tmp_path / "c.mp4", moving_frames(30), fps=29.97, gop=10)
    info = video_info(path)
    assert info["fps"] == pytest.approx(29.97, abs=0.01) and info["duration_s"] == pytest.approx(30 / 29.97, 1e-3)
    with av.open(str(path)) as c:
        keys = [i for i, p in enumerate(p for p in c.demux(video=0) if p.size) if p.is_keyframe]
    assert keys == [0, 10, 20]


def test_odd_size_is_padded_to_even(tmp_path):
    frames = [f[:47, :63] for f in moving_frames(5)]
    info = video_info(write_mp4(tmp_path / "odd.mp4", frames, fps=5))
    assert (info["width"], info["height"]) == (64, 48)


def test_bad_frames_leave_no_file(tmp_path):
    path = tmp_path / "bad.mp4"
    frames = moving_frames(5)
    with pytest.raises(VideoError, match="frame 3 has shape"):
        write_mp4(path, frames[:3] + [frames[3][:, :32]], fps=5)
    with pytest.raises(VideoError, match="uint8"):
        write_mp4(path, [f.astype(np.float32) for f in frames], fps=5)
    with pytest.raises(VideoError, match="no frames"):
        write_mp4(path, [], fps=5)
    with pytest.raises(ValueError, match="fps"):
        write_mp4(path, frames, fps=0)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_the_old_file(tmp_path):
    path = write_mp4(tmp_path / "v.mp4", moving_frames(10), fps=5)
    before = path.read_bytes()

    def interrupted():
        yield from moving_frames(20)[:15]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_mp4(path, interrupted(), fps=5)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x18ftypisom" + b"garbage" * 50])
def test_unreadable_file_raises_naming_it(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match="broken.mp4"):
        video_info(path)
    with pytest.raises(VideoError, match="broken.mp4"):
        next(read_frames(path))


def test_truncated_and_missing_files(tmp_path):
    path = write_mp4(tmp_path / "t.mp4", moving_frames(50, 160, 120), fps=10)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4: truncated"):
        video_info(cut)
    with pytest.raises(VideoError, match="truncated"):
        list(read_frames(cut))
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        video_info(tmp_path / "nope.mp4")


def test_render_video_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    pose = np.zeros((75, 17, 3))
    pose[:, :, 1] = np.linspace(0.1, 1.7, 17)  # a crude upright stick, enough to draw
    pose[:, :, 0] = np.linspace(-0.2, 0.2, 17) + np.sin(np.arange(75) / 10)[:, None] * 0.1
    path = render_video(pose, 50, tmp_path / "clip.mp4", Camera.sample(rng), Appearance.sample(rng),
                        size=(160, 120))
    info = video_info(path)
    assert info["n_frames"] == n_video_frames(75, 50, 25) == 38
    assert info["duration_s"] == pytest.approx(38 / 25) and (info["width"], info["height"]) == (160, 120)


def _serve(folder):
    """A background HTTP server for folder with byte-range support (browsers seek in video with ranges)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_head(self):
            if not self.path.endswith(".mp4"):
                return super().send_head()
            f = open(self.translate_path(self.path), "rb")  # the base class copies and closes it
            size = f.seek(0, 2)
            m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            a, b = (int(m.group(1)), int(m.group(2) or size - 1)) if m else (0, size - 1)
            f.seek(a)
            self.send_response(206 if m else 200)
            if m:
                self.send_header("Content-Range", f"bytes {a}-{b}/{size}")
            for k, v in (("Content-Length", str(b - a + 1)), ("Content-Type", "video/mp4"), ("Accept-Ranges", "bytes")):
                self.send_header(k, v)
            self.end_headers()
            return f

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.mark.e2e
def test_chromium_plays_and_seeks(tmp_path):
    """Debian chromium decodes our H.264, plays it, and shows the right frame after a seek."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    frames = moving_frames(75, 320, 240)
    write_mp4(tmp_path / "v.mp4", frames, fps=25)
    (tmp_path / "index.html").write_text('<body style="margin:0"><video id="v" src="v.mp4" muted playsinline '
                                         'preload="auto" style="width:320px;height:240px"></video></body>')
    srv = _serve(tmp_path)
    v = "document.getElementById('v')"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
                "--disable-component-update"])
            page = browser.new_page(viewport={"width": 320, "height": 240})
            page.goto(f"http://127.0.0.1:{srv.server_address[1]}/index.html")
            page.wait_for_function(f"{v}.readyState >= 2 || {v}.error", timeout=20000)
            assert page.evaluate(f"{v}.error") is None
            assert page.evaluate(f"[{v}.videoWidth, {v}.videoHeight, {v}.duration]") == [320, 240, 3]
            page.evaluate(f"{v}.play()")
            page.wait_for_function(f"{v}.currentTime > 0.3", timeout=10000)  # playback advances
            page.evaluate(f"{v}.pause(); {v}.currentTime = 1.2")
            page.wait_for_function(f"!{v}.seeking && {v}.readyState >= 2", timeout=10000)
            page.wait_for_timeout(200)
            shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
            browser.close()
    finally:
        srv.shutdown()
    diffs = [np.abs(shot.astype(int) - f).mean() for f in frames]
    assert int(np.argmin(diffs)) == 30 and diffs[30] < 8  # t = 1.2 s is frame 30 at 25 fps
