"""Synthetic FiMAD generation speed: real-time factor for pose + IMU and with video, and FiMAD-size projection.

Usage:
    python benchmarks/bench_synth.py            # a sample of the FiMAD-size preset, projected to the full size
    python benchmarks/bench_synth.py --full     # generate the whole FiMAD-size preset (pose + IMU, ~9,800 clips)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from mujo.demo.presets import PRESETS
from mujo.synth.generate import generate_dataset

FIMAD_HOURS, FIMAD_CLIPS = 78.0, 9811


def run(cfg, workers: int, root: Path) -> tuple[float, float, int]:
    """Generate into root; returns (content seconds, wall seconds, clips)."""
    t0 = time.perf_counter()
    generate_dataset(root, cfg, workers=workers)
    wall = time.perf_counter() - t0
    clips = pd.read_csv(root / "clips.csv", usecols=["n_frames"])
    return float(clips["n_frames"].sum() / cfg.fps), wall, len(clips)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="generate the whole FiMAD-size preset (pose + IMU)")
    ap.add_argument("--videos", type=int, default=60, help="videos in the pose + IMU sample (default 60)")
    ap.add_argument("--video-videos", type=int, default=4, help="videos in the with-video sample (default 4)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--keep", type=Path, default=None, help="write here instead of a temporary folder")
    args = ap.parse_args()

    base = PRESETS["fimad"]
    tmp = Path(tempfile.mkdtemp(prefix="mujo-bench-synth-"))
    try:
        n = base.n_videos if args.full else args.videos
        cfg = dataclasses.replace(base, n_videos=n, with_video=False)
        content, wall, clips = run(cfg, args.workers, args.keep or tmp / "pose_imu")
        rtf = content / wall
        print(f"pose + IMU: {clips} clips, {content / 3600:.2f} h of content in {wall:.1f} s "
              f"with {args.workers} workers -> real-time factor {rtf:.0f}x")
        full_s = FIMAD_HOURS * 3600 / rtf
        print(f"  FiMAD size ({FIMAD_CLIPS} clips, {FIMAD_HOURS:.0f} h): "
              + (f"measured {wall / 60:.1f} min" if args.full else f"projected {full_s / 60:.1f} min")
              + " (limit: 10 min on 2 cores)")
        cfg_v = dataclasses.replace(base, n_videos=args.video_videos, with_video=True)
        content, wall, clips = run(cfg_v, args.workers, tmp / "with_video")
        print(f"with video ({cfg_v.video_size[0]}x{cfg_v.video_size[1]} @ {cfg_v.video_fps} fps): {clips} clips, "
              f"{content / 60:.1f} min of content in {wall:.1f} s -> real-time factor {content / wall:.1f}x")
        demo = PRESETS["demo"]
        print(f"  demo preset ({demo.n_videos} videos) projected build time: see `mujo synth --preset demo`")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
