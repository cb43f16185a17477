"""`mujo features`: compute and cache a dataset's text embeddings and (optionally) video descriptors."""

from __future__ import annotations

import argparse
import sys

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, with_bar
from mujo.jobs import ProgressFile


def cmd_features(args: argparse.Namespace) -> int:
    from mujo.fimad.dataset import FimadDataset, FimadError
    from mujo.features import text_features
    from mujo.features.video import precomputed_video_features

    job = ProgressFile(args.progress_file) if args.progress_file else None
    try:
        ds = FimadDataset(args.dataset)
    except FimadError as e:
        if job:
            job.fail(str(e))
        print(f"unusable dataset: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    fields = args.text_field or ["chapter_norm"]
    text_share = 0.1 if args.video else 1.0  # of the job's progress

    def part(lo: float, hi: float, bar):
        """The bar shows this step from 0 to 1; the job file shows the whole command."""
        def call(f: float, msg: str) -> None:
            if bar:
                bar(f, msg)
            if job:
                job(lo + (hi - lo) * f, msg)
        return call

    try:
        for i, field in enumerate(fields):
            lo, hi = text_share * i / len(fields), text_share * (i + 1) / len(fields)
            feats = with_bar(f"text {field}", lambda bar: text_features(ds, field, progress=part(lo, hi, bar)))
            print(f"text: {feats.name} {field}: {len(feats.clip_ids)} clips, {feats.dim}-d, "
                  f"{feats.n_missing} without text ({feats.source})")
        summary = ""
        if args.video:
            pre = precomputed_video_features(ds)
            if pre:  # training uses these (see ensure_video_features); nothing to compute
                summary = f"precomputed video features present: {', '.join(pre)}"
                print(f"video: {summary}")
            else:
                summary = _video(ds, args.workers, part(text_share, 1.0, None))
    except KeyboardInterrupt:
        if job:
            job.fail("interrupted; finished clips are kept and the next run resumes")
        print("\ninterrupted: finished clips are kept; run the same command again to resume", file=sys.stderr)
        return 130
    except ValueError as e:
        if job:
            job.fail(str(e))
        print(f"mujo features: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:
        if job:
            job.fail(f"{type(e).__name__}: {e}")
        raise
    if job:
        job.done(summary or "text features ready")
    return EXIT_OK


def _video(ds, workers: int | None, progress) -> str:
    from mujo.features import compute_video_features

    report = with_bar("video", lambda bar: compute_video_features(
        ds, workers=workers, progress=lambda f, msg: (bar(f, msg), progress(f, msg))))
    print(f"video: {report.summary()}\n  folder: {report.folder}")
    for cid, why in list(report.failed.items())[:20]:
        print(f"  failed {cid}: {why}")
    if len(report.failed) > 20:
        print(f"  ... {len(report.failed) - 20} more failures (all in the log)")
    return report.summary()


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo features` to the `mujo` parser."""
    f = sub.add_parser("features", help="compute and cache text embeddings (MiniLM) and video descriptors (resumable)")
    f.add_argument("dataset", help="FiMAD dataset folder")
    f.add_argument("--text-field", action="append", default=None,
                   help="clips.csv text column to embed (repeatable; default chapter_norm)")
    f.add_argument("--video", action="store_true", help="also compute the mujo_flow video descriptor")
    f.add_argument("--workers", type=int, default=None, help="processes for video (default: all cores)")
    f.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    f.set_defaults(func=cmd_features)

