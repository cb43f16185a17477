"""`mujo synth`: generate a synthetic FiMAD dataset (resumes an interrupted run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mujo.commands.common import EXIT_USAGE, Interrupted, run_job
from mujo.demo.presets import preset_config
from mujo.synth.generate import generate_dataset


def cmd_synth(args: argparse.Namespace) -> int:
    cfg = preset_config(args.preset, seed=args.seed, n_videos=args.videos, with_video=not args.no_video)
    out = Path(args.out)
    print(f"generating {cfg.n_videos} videos (seed {cfg.seed}, video {'on' if cfg.with_video else 'off'}) into {out}")
    return run_job("synth", lambda progress: generate_dataset(out, cfg, workers=args.workers, progress=progress),
                   lambda _: f"dataset written to {out}", progress_file=args.progress_file, bar="synth",
                   errors=((ValueError, EXIT_USAGE),),
                   interrupted=Interrupted("interrupted; finished videos are kept and the next run resumes",
                                           "\ninterrupted: finished videos are kept; run the same command again to "
                                           "resume"))
