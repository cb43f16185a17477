"""`mujo validate`, `mujo info`: check and summarise FiMAD datasets (light: no torch, no generator)."""

from __future__ import annotations

import argparse
import sys

from mujo import jobs
from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, with_bar
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.fimad.report import ValidationReport
from mujo.fimad.report_cache import refresh_report
from mujo.jobs import tee


def cmd_validate(args: argparse.Namespace) -> int:
    if args.cached:
        check = "none" if args.no_video_check else "header"
        cached = with_bar("validate", lambda bar: refresh_report(args.path, tee(bar, jobs.current()),
                                                                 check_video=check))
        print(f"{cached.rechecked} clip(s) checked, {cached.reused} unchanged since the cached report",
              file=sys.stderr)
        return _print_report(args, cached.report)
    try:
        ds = FimadDataset(args.path)
    except FimadError as e:
        print(f"unusable dataset: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    report = with_bar("validate", lambda bar: ds.validate(progress=bar, check_video=not args.no_video_check))
    return _print_report(args, report)


def _print_report(args: argparse.Namespace, report: ValidationReport) -> int:
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
