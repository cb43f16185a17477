"""In a real browser: the skeleton and the IMU cursor follow the video's clock; clicking the IMU plot seeks it."""

from __future__ import annotations

import math
import time

import pytest
from e2e_media import FPS

pytestmark = pytest.mark.e2e

PLAYER = "iframe[title^='Synchronised player']"
# Read everything in one evaluation, so the video time and the drawn state belong to the same instant.
STATE_JS = """() => {
  const r = document.getElementById('mujo-player'), v = document.querySelector('video');
  return {ct: v ? v.currentTime : null, paused: v ? v.paused : null, ready: v ? v.readyState : null,
          t: parseFloat(r.dataset.videoTime), frame: parseInt(r.dataset.poseFrame),
          cursor: r.dataset.imuCursorTime === 'none' ? null : parseFloat(r.dataset.imuCursorTime),
          clock: r.dataset.clock, title: document.getElementById('title').textContent};
}"""
NEXT_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"


def open_clip(browser, base: str, clip_id: str, width: int = 1400, height: int = 1000, home_first: bool = False):
    """A new page on /Browse?clip=<id>; returns (page, the player's Frame) once the player is ready."""
    page = browser.new_page(viewport={"width": width, "height": height})
    if home_first:
        # Until some session has run app.py, Streamlit lists the pages/ folder itself and labels Home "app".
        page.goto(f"{base}/")
        page.wait_for_selector("h1", timeout=30_000)
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))  # uncaught JS exceptions, the player's included
    page.dialogs, page.js_errors = dialogs, errors
    page.goto(f"{base}/Browse?clip={clip_id}")
    page.wait_for_selector(PLAYER, timeout=30_000)
    frame = page.locator(PLAYER).element_handle().content_frame()
    frame.wait_for_selector("#mujo-player[data-ready='1']", timeout=20_000)
    return page, frame


def wait_video_ready(frame) -> None:
    frame.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }",
                            timeout=20_000)


def check_sync(s: dict, tol_frames: int = 2, tol_s: float = 0.1) -> None:
    expected = math.floor(s["ct"] * FPS)
    assert abs(s["frame"] - expected) <= tol_frames, s
    assert s["cursor"] is not None and abs(s["cursor"] - s["ct"]) <= tol_s, s


SEEK_TIMEOUT_MS = 10_000


def check_drawn_while_playing(s: dict, max_lag_s: float = 0.5) -> None:
    """While the video plays: the skeleton and the cursor show the same instant `t` the player read from the video,
    and `t` trails the video's live time by at most an animation frame or a few (a loaded machine delays frames; the
    exact agreement is checked while paused and after seeks)."""
    assert abs(s["frame"] - math.floor(s["t"] * FPS + 1e-6)) <= 1, s  # t is written to the millisecond
    assert s["cursor"] == s["t"], s
    assert -0.001 <= s["ct"] - s["t"] <= max_lag_s, s  # (t is rounded to the millisecond)


def seek_and_settle(frame, t: float) -> dict:
    """Seek the video to `t` and wait for its 'seeked' event, at most SEEK_TIMEOUT_MS (then the evaluation fails)."""
    frame.evaluate("""([t, ms]) => new Promise((res, rej) => { const v = document.querySelector('video');
        const timer = setTimeout(() => rej(new Error(`no 'seeked' event within ${ms} ms of seeking to ${t} s`)), ms);
        v.addEventListener('seeked', () => { clearTimeout(timer); res(true); }, {once: true});
        v.currentTime = t; })""", [t, SEEK_TIMEOUT_MS])
    frame.evaluate(NEXT_FRAMES_JS)
    return frame.evaluate(STATE_JS)


def test_playback_seek_and_click(server: str, browser) -> None:
    page, frame = open_clip(browser, server, "squat000")
    try:
        wait_video_ready(frame)
        s = frame.evaluate(STATE_JS)
        assert s["clock"] == "video" and s["frame"] == 0 and s["title"] == "Bodyweight squats (10 reps)"

        # play: the skeleton and the cursor follow the running video
        frame.evaluate("() => document.querySelector('video').play()")
        samples = []
        for _ in range(4):
            time.sleep(0.35)
            samples.append(frame.evaluate(STATE_JS))
        assert samples[-1]["ct"] > 0.5, samples  # the video really plays
        assert samples[-1]["frame"] > samples[0]["frame"], samples
        for s in samples:
            check_drawn_while_playing(s)

        # paused: exact agreement
        frame.evaluate("() => document.querySelector('video').pause()")
        frame.evaluate(NEXT_FRAMES_JS)
        check_sync(frame.evaluate(STATE_JS), tol_frames=0, tol_s=0.001)

        # seek by setting currentTime
        s = seek_and_settle(frame, 3.3)
        assert abs(s["ct"] - 3.3) < 0.05, s
        check_sync(s, tol_frames=0, tol_s=0.001)
        assert s["frame"] == math.floor(s["ct"] * FPS)

        # click on the IMU plot at the x of t = 5 s: the video seeks there
        box = frame.evaluate("""() => { const c = document.getElementById('imu-canvas').getBoundingClientRect();
                                         return {w: c.width, h: c.height}; }""")
        left, right = 58, 14  # the plot's margins in player.js (L.left, L.right)
        duration = 8.0
        target = 5.0
        x = left + target / duration * (box["w"] - left - right)
        frame.locator("#imu-canvas").click(position={"x": x, "y": 60})
        frame.wait_for_function("() => { const v = document.querySelector('video'); return !v.seeking; }",
                                timeout=20_000)
        frame.evaluate(NEXT_FRAMES_JS)
        s = frame.evaluate(STATE_JS)
        assert abs(s["ct"] - target) <= 0.1, s
        check_sync(s, tol_frames=0, tol_s=0.001)
        assert page.dialogs == []

        # a rerun (another IMU signal) re-creates the player; it comes back at the same moment
        frame.evaluate("() => { window.mujoStale = true; }")
        page.get_by_text("gyro", exact=True).click()
        page.wait_for_function("""(sel) => { const f = document.querySelector(sel);
            return f && f.contentWindow && !f.contentWindow.mujoStale &&
                   f.contentDocument.querySelector("#mujo-player[data-ready='1']") !== null; }""",
                               arg=PLAYER, timeout=20_000)
        frame = page.locator(PLAYER).element_handle().content_frame()
        frame.wait_for_selector("#mujo-player[data-ready='1']", timeout=20_000)
        wait_video_ready(frame)
        frame.evaluate(NEXT_FRAMES_JS)
        s = frame.evaluate(STATE_JS)
        assert abs(s["ct"] - target) <= 0.1, s
        check_sync(s, tol_frames=0, tol_s=0.001)
        assert page.js_errors == []
    finally:
        page.close()


def test_clip_without_video_runs_on_its_own_clock(server: str, browser) -> None:
    page, frame = open_clip(browser, server, "squat002")
    try:
        s = frame.evaluate(STATE_JS)
        assert s["clock"] == "js" and s["ct"] is None
        assert s["title"] == "<b>x</b> squats, no video"  # shown literally, not as bold HTML
        assert frame.locator("#title b").count() == 0
        frame.locator("#play-btn").click()
        time.sleep(0.8)
        s = frame.evaluate(STATE_JS)
        assert s["t"] > 0.3, s
        assert abs(s["frame"] - math.floor(s["t"] * FPS)) <= 2, s
        assert abs(s["cursor"] - s["t"]) <= 0.1, s
        frame.locator("#play-btn").click()  # pause
        box = frame.evaluate("() => document.getElementById('imu-canvas').getBoundingClientRect().width")
        frame.locator("#imu-canvas").click(position={"x": 58 + 0.25 * (box - 72), "y": 60})
        frame.evaluate(NEXT_FRAMES_JS)
        s = frame.evaluate(STATE_JS)
        assert abs(s["t"] - 2.0) <= 0.1 and s["frame"] == math.floor(s["t"] * FPS + 1e-6), s
        assert page.js_errors == []
    finally:
        page.close()


def test_unplayable_video_falls_back_to_a_clock(server: str, browser) -> None:
    page, frame = open_clip(browser, server, "squat003")
    try:
        frame.wait_for_selector("#mujo-player[data-clock='js']", timeout=20_000)
        assert "cannot play video/squat003.mp4" in frame.locator("#video-panel .note").inner_text()
        frame.evaluate("() => window.mujoPlayer.seek(4.0)")
        frame.evaluate(NEXT_FRAMES_JS)
        s = frame.evaluate(STATE_JS)
        assert s["t"] == pytest.approx(4.0) and s["frame"] == 200 and s["cursor"] == pytest.approx(4.0), s
        assert page.js_errors == []
    finally:
        page.close()


def test_script_title_is_text_and_screenshot(server: str, browser) -> None:
    page, frame = open_clip(browser, server, "squat001")
    try:
        s = frame.evaluate(STATE_JS)
        assert s["title"] == "<script>alert(1)</script>"
        # Streamlit shows it literally too, and nothing ran
        page.locator("[data-testid=stText]").filter(has_text="<script>alert(1)</script>").first.wait_for(
            timeout=10_000)
        assert page.dialogs == []
        assert page.js_errors == []
    finally:
        page.close()
    # The screenshot of Browse with a clip selected (looked at by a person; see the report).
    page, frame = open_clip(browser, server, "squat000", home_first=True)
    try:
        wait_video_ready(frame)
        seek_and_settle(frame, 1.1)
        # Streamlit scrolls inside its own container: grow the viewport to the content so full_page shows it all.
        h = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section')]"
                          ".map(e => e.scrollHeight))")
        page.set_viewport_size({"width": 1400, "height": int(h) + 40})
        frame.evaluate(NEXT_FRAMES_JS)
        page.wait_for_timeout(500)
        page.screenshot(path="/tmp/browse.png", full_page=True)
        assert page.js_errors == []
    finally:
        page.close()
