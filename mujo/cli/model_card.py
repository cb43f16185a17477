"""Arguments of `mujo model-card`: parameters and forward FLOPs per encoder and projection."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `model-card` to the `mujo` parser."""
    p = sub.add_parser("model-card", help="parameters and FLOPs per encoder and projection vs the paper's Table 4")
    p.add_argument("source", nargs="?", default="paper",
                   help="preset name (paper, small), preset .json, or checkpoint folder (default: paper)")
    p.add_argument("--text-dim", type=int, default=None, help="text feature size (paper preset: 1536)")
    p.add_argument("--video-dim", type=int, default=None, help="video feature size (paper preset: 1024)")
    p.add_argument("--sites", nargs="+", default=None, help="IMU sites (paper preset: LWrist RWrist)")
    p.add_argument("--channels", nargs="+", choices=["acc", "gyro"], default=None, help="IMU channel groups")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--time-batch", type=int, default=0, metavar="B",
                   help="also time forward + backward on random inputs of B windows (e.g. 256)")
    p.add_argument("--threads", type=int, default=None, help="torch threads for --time-batch")
    p.set_defaults(handler="mujo.commands.model_card:cmd_model_card")
