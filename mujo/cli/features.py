"""Arguments of `mujo features`: compute and cache a dataset's text embeddings and video descriptors."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo features` to the `mujo` parser."""
    f = sub.add_parser("features", help="compute and cache text embeddings (MiniLM) and video descriptors (resumable)")
    f.add_argument("dataset", help="FiMAD dataset folder")
    f.add_argument("--text-field", action="append", default=None,
                   help="clips.csv text column to embed (repeatable; default chapter_norm)")
    f.add_argument("--video", action="store_true", help="also compute the mujo_flow video descriptor")
    f.add_argument("--workers", type=int, default=None, help="processes for video (default: all cores)")
    f.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    f.set_defaults(handler="mujo.commands.features:cmd_features")
