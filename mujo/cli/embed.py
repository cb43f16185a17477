"""Arguments of `mujo embed`, `mujo retrieval-eval`, `mujo search`: embed a dataset with a checkpoint, score and
search it."""

from __future__ import annotations

import argparse


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint folder (model.safetensors + config.json)")
    p.add_argument("dataset", help="FiMAD dataset folder")
    p.add_argument("--batch-size", type=int, default=1024, help="windows per forward pass when embedding")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `mujo` parser."""
    e = sub.add_parser("embed", help="embed every window of a dataset with a checkpoint (float16 memmaps + index)")
    _common(e)
    e.add_argument("--out", default=None, help="store folder (default data/embeddings/<checkpoint>__<dataset>)")
    e.set_defaults(handler="mujo.commands.embed:cmd_embed")

    r = sub.add_parser("retrieval-eval", help="R@1/5/10 and MRR for every ordered pair of modalities, with chance")
    _common(r)
    r.add_argument("--split", default="val", help="split to evaluate (default val)")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
    r.add_argument("--no-save", action="store_true", help="do not write retrieval.json or the store")
    r.set_defaults(handler="mujo.commands.embed:cmd_retrieval_eval")

    s = sub.add_parser("search", help="top-k windows for a free-text query (or a window) in a target modality")
    _common(s)
    s.add_argument("--text", default=None, help="free-text query, e.g. \"jump squats\"")
    s.add_argument("--window", type=int, default=None, help="query by example: a window row of the store")
    s.add_argument("--query-modality", default="imu", help="modality of --window (default imu)")
    s.add_argument("--target", default="imu", help="modality searched: imu (default), pose, video or text")
    s.add_argument("-k", type=int, default=10, help="results (default 10)")
    s.add_argument("--split", default=None, help="search only this split's windows")
    s.add_argument("--json", action="store_true", help="print the hits as JSON")
    s.set_defaults(handler="mujo.commands.embed:cmd_search")
