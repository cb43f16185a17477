"""`mujo demo`: build what the app shows on first start (demo dataset, features, demo model, embeddings)."""

from __future__ import annotations

import argparse
import sys

from mujo.commands.common import EXIT_OK, with_bar
from mujo.jobs import ProgressFile, tee


def cmd_demo(args: argparse.Namespace) -> int:
    from mujo.demo import run_demo_pipeline

    job = ProgressFile(args.progress_file) if args.progress_file else None
    try:
        out = with_bar("demo", lambda bar: run_demo_pipeline(tee(bar, job)))
    except KeyboardInterrupt:
        if job:
            job.fail("interrupted; the next run resumes where this one stopped")
        print("\ninterrupted: run `mujo demo` again to resume", file=sys.stderr)
        return 130
    except Exception as e:
        if job:
            job.fail(f"{type(e).__name__}: {e}")
        raise
    if job:
        job.done(f"demo model ready in {out}")
    print(f"demo model ready in {out}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo demo` to the `mujo` parser."""
    d = sub.add_parser("demo", help="build the embedded demo dataset and pre-train the demo model (resumable)")
    d.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    d.set_defaults(func=cmd_demo)
