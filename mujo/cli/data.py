"""Arguments of `mujo synth`, `mujo validate`, `mujo info`: make, check and summarise FiMAD datasets."""

from __future__ import annotations

import argparse


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
    s.set_defaults(handler="mujo.commands.synth:cmd_synth")

    v = sub.add_parser("validate", help="check a FiMAD folder and print a report per clip")
    v.add_argument("path")
    v.add_argument("--json", action="store_true", help="print the problems as JSON")
    v.add_argument("--all", action="store_true", help="print every problem")
    v.add_argument("--limit", type=int, default=50, help="problems to print (default 50)")
    v.add_argument("--no-video-check", action="store_true", help="do not open the videos")
    v.add_argument("--cached", action="store_true",
                   help="check only the clips whose files changed since the last cached report, and update that "
                        "report (the one Home shows; kept under $MUJO_HOME/cache/validation)")
    v.set_defaults(handler="mujo.commands.data:cmd_validate")

    i = sub.add_parser("info", help="summarise a FiMAD folder")
    i.add_argument("path")
    i.set_defaults(handler="mujo.commands.data:cmd_info")
