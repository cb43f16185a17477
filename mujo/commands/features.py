"""`mujo features`: compute and cache a dataset's text embeddings and (optionally) video descriptors."""

from __future__ import annotations

import argparse

from mujo.commands.common import EXIT_UNUSABLE, EXIT_USAGE, Bar, Interrupted, Progress, refuse, run_job, with_bar
from mujo.features import compute_video_features, text_features
from mujo.features.video import precomputed_video_features
from mujo.fimad.dataset import FimadDataset, FimadError


def _part(lo: float, hi: float, bar: Bar | None, progress: Progress) -> Progress:
    """The bar shows this step from 0 to 1; the job's progress shows the whole command."""
    def call(f: float, msg: str) -> None:
        if bar:
            bar(f, msg)
        progress(lo + (hi - lo) * f, msg)
    return call


def _features(ds: FimadDataset, args: argparse.Namespace, progress: Progress) -> str:
    """Every asked text field, then the video descriptor; returns what the job says when done."""
    fields = args.text_field or ["chapter_norm"]
    text_share = 0.1 if args.video else 1.0  # of the job's progress
    for i, field in enumerate(fields):
        lo, hi = text_share * i / len(fields), text_share * (i + 1) / len(fields)
        feats = with_bar(f"text {field}", lambda bar: text_features(ds, field, progress=_part(lo, hi, bar, progress)))
        print(f"text: {feats.name} {field}: {len(feats.clip_ids)} clips, {feats.dim}-d, "
              f"{feats.n_missing} without text ({feats.source})")
    if not args.video:
        return ""
    pre = precomputed_video_features(ds)
    if pre:  # training uses these (see ensure_video_features); nothing to compute
        summary = f"precomputed video features present: {', '.join(pre)}"
        print(f"video: {summary}")
        return summary
    return _video(ds, args.workers, _part(text_share, 1.0, None, progress))


def _video(ds: FimadDataset, workers: int | None, progress: Progress) -> str:
    report = with_bar("video", lambda bar: compute_video_features(
        ds, workers=workers, progress=lambda f, msg: (bar(f, msg), progress(f, msg))))
    print(f"video: {report.summary()}\n  folder: {report.folder}")
    for cid, why in list(report.failed.items())[:20]:
        print(f"  failed {cid}: {why}")
    if len(report.failed) > 20:
        print(f"  ... {len(report.failed) - 20} more failures (all in the log)")
    return report.summary()


def cmd_features(args: argparse.Namespace) -> int:
    try:
        ds = FimadDataset(args.dataset)
    except FimadError as e:
        return refuse(args.progress_file, str(e), f"unusable dataset: {e}", EXIT_UNUSABLE)
    return run_job("features", lambda progress: _features(ds, args, progress),
                   lambda summary: summary or "text features ready", progress_file=args.progress_file,
                   errors=((ValueError, EXIT_USAGE),),
                   interrupted=Interrupted("interrupted; finished clips are kept and the next run resumes",
                                           "\ninterrupted: finished clips are kept; run the same command again to "
                                           "resume"))
