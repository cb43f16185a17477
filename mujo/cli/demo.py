"""Arguments of `mujo demo`: build what the app shows on first start."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo demo` to the `mujo` parser."""
    d = sub.add_parser("demo", help="build the embedded demo dataset and pre-train the demo model (resumable)")
    d.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    d.set_defaults(handler="mujo.commands.demo:cmd_demo")
