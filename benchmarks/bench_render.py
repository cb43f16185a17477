"""Benchmark the pose renderer and the H.264 writer: frames per second and real-time factor at 25 fps video."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX as J
from mujo.fimad.video import video_info, write_mp4
from mujo.synth.render import Appearance, Camera, pose_anchor, render_frames
from mujo.synth.video import render_video

FPS, VIDEO_FPS = 50, 25


def jumping_jacks(seconds: float) -> np.ndarray:
    """(T, 17, 3) a procedural jumping-jack workout at 50 Hz with a slow turn, +y up, facing +z."""
    down, up = np.zeros((17, 3)), np.zeros((17, 3))
    for name, a, b in [
        ("Hip", (0, .95, 0), (0, 1.0, 0)), ("RHip", (-.13, .95, 0), (-.13, 1.0, 0)),
        ("LHip", (.13, .95, 0), (.13, 1.0, 0)), ("RKnee", (-.14, .52, .02), (-.3, .58, .02)),
        ("LKnee", (.14, .52, .02), (.3, .58, .02)), ("RFoot", (-.15, .09, 0), (-.45, .15, 0)),
        ("LFoot", (.15, .09, 0), (.45, .15, 0)), ("Spine", (0, 1.18, 0), (0, 1.23, 0)),
        ("Thorax", (0, 1.43, 0), (0, 1.48, 0)), ("Neck", (0, 1.56, .08), (0, 1.61, .08)),
        ("Head", (0, 1.70, 0), (0, 1.75, 0)), ("LShoulder", (.18, 1.42, 0), (.18, 1.47, 0)),
        ("LElbow", (.22, 1.14, 0), (.4, 1.7, 0)), ("LWrist", (.24, .89, .03), (.5, 1.95, 0)),
        ("RShoulder", (-.18, 1.42, 0), (-.18, 1.47, 0)), ("RElbow", (-.22, 1.14, 0), (-.4, 1.7, 0)),
        ("RWrist", (-.24, .89, .03), (-.5, 1.95, 0)),
    ]:
        down[J[name]], up[J[name]] = a, b
    t = np.arange(int(seconds * FPS)) / FPS
    w = (0.5 - 0.5 * np.cos(2 * np.pi * 1.2 * t))[:, None, None]  # 1.2 jacks per second
    pose = down * (1 - w) + up * w
    yaw = 0.4 * np.sin(2 * np.pi * t / 20)
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x, z = pose[..., 0].copy(), pose[..., 2].copy()
    pose[..., 0], pose[..., 2] = c * x + s * z, -s * x + c * z
    return pose


def timed(fn) -> tuple[float, float, object]:
    """Wall and CPU seconds (all threads of this process) of fn(), and its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def drain(frames) -> int:
    return sum(1 for _ in frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of video per measurement")
    args = ap.parse_args()
    pose = jumping_jacks(args.seconds)
    rng = np.random.default_rng(0)
    cam, app = Camera.sample(rng, 0.0, center=pose_anchor(pose)), Appearance.sample(rng)
    print(f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; {args.seconds:.0f} s of "
          f"{VIDEO_FPS} fps video per measurement (pose {FPS} Hz, {len(pose)} samples). "
          "fps = frames per wall second; cpu = CPU ms per frame summed over threads (robust to other load)")
    print(f"{'size':>9} | {'draw fps':>8} {'cpu ms':>6} | {'encode fps':>10} {'cpu ms':>6} | {'both fps':>8} "
          f"{'cpu ms':>6} {'realtime x':>10} | {'kB/s':>5}")
    realtime = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in [(320, 240), (640, 480)]:
            w_draw, c_draw, n = timed(lambda: drain(render_frames(pose, FPS, cam, app, video_fps=VIDEO_FPS,
                                                                   size=size)))
            # encoding alone: 10 s of pre-rendered frames, cycled (keeps memory small at 640x480)
            clip = list(render_frames(pose[:10 * FPS], FPS, cam, app, video_fps=VIDEO_FPS, size=size))
            w_enc, c_enc, _ = timed(lambda: write_mp4(Path(tmp) / "enc.mp4", (clip[i % len(clip)] for i in range(n)),
                                                      VIDEO_FPS))
            w_both, c_both, path = timed(lambda: render_video(pose, FPS, Path(tmp) / "both.mp4", cam, app,
                                                              video_fps=VIDEO_FPS, size=size))
            info = video_info(path)
            realtime[size] = info["duration_s"] / w_both
            print(f"{size[0]:>4}x{size[1]:<4} | {n / w_draw:8.0f} {1e3 * c_draw / n:6.2f} | {n / w_enc:10.0f} "
                  f"{1e3 * c_enc / n:6.2f} | {n / w_both:8.0f} {1e3 * c_both / n:6.2f} {realtime[size]:10.1f} | "
                  f"{info['size_bytes'] / 1e3 / info['duration_s']:5.1f}")
    print(f"=> 2 h of demo video at 320x240: about {7200 / realtime[(320, 240)] / 60:.1f} min wall "
          "(render + encode, one process)")

if __name__ == "__main__":
    main()
