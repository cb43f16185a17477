"""`mujo synth`, `mujo validate`, `mujo info`: make, check and summarise FiMAD datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, with_bar
from mujo.jobs import ProgressFile, tee


def cmd_synth(args: argparse.Namespace) -> int:
    from mujo.synth.generate import generate_dataset
    from mujo.demo import preset_config

    cfg = preset_config(args.preset, seed=args.seed, n_videos=args.videos, with_video=not args.no_video)
    out = Path(args.out)
    print(f"generating {cfg.n_videos} videos (seed {cfg.seed}, video {'on' if cfg.with_video else 'off'}) into {out}")
    job = ProgressFile(args.progress_file) if args.progress_file else None
    try:
        with_bar("synth", lambda bar: generate_dataset(out, cfg, workers=args.workers, progress=tee(bar, job)))
    except KeyboardInterrupt:
        if job:
            job.fail("interrupted; finished videos are kept and the next run resumes")
        print("\ninterrupted: finished videos are kept; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as e:
        if job:
            job.fail(f"{type(e).__name__}: {e}")
        if isinstance(e, ValueError):
            print(f"mujo synth: {e}", file=sys.stderr)
            return EXIT_USAGE
        raise
    if job:
        job.done(f"dataset written to {out}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from mujo.fimad.dataset import FimadDataset, FimadError

    try:
        ds = FimadDataset(args.path)
    except FimadError as e:
        print(f"unusable dataset: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    report = with_bar("validate", lambda bar: ds.validate(progress=bar, check_video=not args.no_video_check))
    if args.json:
        print(report.to_frame().to_json(orient="records", force_ascii=False, indent=1))
    else:
        print(report.summary())
        frame = report.to_frame()
        if len(frame):
            shown = frame if args.all else frame.head(args.limit)
            print(shown.to_string(index=False, max_colwidth=100))
            if len(shown) < len(frame):
                print(f"... {len(frame) - len(shown)} more problems (use --all or --json)")
    return EXIT_OK if report.usable else EXIT_UNUSABLE


def cmd_info(args: argparse.Namespace) -> int:
    from mujo.fimad.dataset import FimadDataset, FimadError

    try:
        ds = FimadDataset(args.path)
    except FimadError as e:
        print(f"unusable dataset: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    clips = ds.clips
    print(repr(ds))
    print(f"name: {ds.manifest.name}\nfps: {ds.fps}\nimu sites: {', '.join(ds.imu_sites)}")
    print(f"clips: {len(clips)}, hours: {clips['duration_s'].sum() / 3600:.2f}")
    for m in ("pose", "imu", "video"):
        print(f"with {m}: {int(clips[f'has_{m}'].sum())}")
    if "split" in clips:
        print("splits: " + ", ".join(f"{k or '(none)'}={v}" for k, v in clips["split"].value_counts().items()))
    print(f"windows (100/50, 15% trimmed): {len(ds.windows())}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `mujo` parser."""
    s = sub.add_parser("synth", help="generate a synthetic FiMAD dataset (resumes an interrupted run)")
    s.add_argument("out", help="dataset folder to write")
    s.add_argument("--preset", choices=["demo", "fimad", "tiny"], default="demo",
                   help="size: demo (the app's embedded default), fimad (FiMAD's size: ~9,800 clips, ~78 h), tiny")
    s.add_argument("--videos", type=int, default=None, help="number of workout videos (overrides the preset)")
    s.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    s.add_argument("--no-video", action="store_true", help="pose, IMU and text only (much faster)")
    s.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    s.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    s.set_defaults(func=cmd_synth)

    v = sub.add_parser("validate", help="check a FiMAD folder and print a report per clip")
    v.add_argument("path")
    v.add_argument("--json", action="store_true", help="print the problems as JSON")
    v.add_argument("--all", action="store_true", help="print every problem")
    v.add_argument("--limit", type=int, default=50, help="problems to print (default 50)")
    v.add_argument("--no-video-check", action="store_true", help="do not open the videos")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("info", help="summarise a FiMAD folder")
    i.add_argument("path")
    i.set_defaults(func=cmd_info)
