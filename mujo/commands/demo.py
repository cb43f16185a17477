"""`mujo demo`: build what the app shows on first start (demo dataset, features, demo model, embeddings)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mujo.commands.common import Interrupted, run_job
from mujo.demo.pipeline import run_demo_pipeline


def cmd_demo(args: argparse.Namespace) -> int:
    def report(out: Path) -> str:
        print(f"demo model ready in {out}")
        return f"demo model ready in {out}"

    return run_job("demo", run_demo_pipeline, report, progress_file=args.progress_file, bar="demo",
                   interrupted=Interrupted("interrupted; the next run resumes where this one stopped",
                                           "\ninterrupted: run `mujo demo` again to resume"))
