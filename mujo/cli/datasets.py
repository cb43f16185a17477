"""Arguments of `mujo target-info`: list the registered target datasets, or summarise one."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `mujo` parser."""
    t = sub.add_parser("target-info", help="list target datasets, or summarise one: recordings, classes, windows, "
                                           "splits")
    t.add_argument("spec", nargs="?", default=None,
                   help="a registered name (motionsense, utd-mhad, ...), name:/path, or a folder (generic format "
                        "with mujo-dataset.json, or recognised by content); none: list the registered datasets")
    t.add_argument("--gyro", action="store_true", help="prepare gyroscope channels too")
    t.add_argument("--pose", action="store_true", help="prepare pose windows too (when the dataset has pose)")
    t.add_argument("--no-cache", action="store_true", help="do not read or write the window cache")
    t.add_argument("--limit", type=int, default=20, help="problems to print (default 20)")
    t.set_defaults(handler="mujo.commands.datasets:cmd_target_info")
