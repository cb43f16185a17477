"""Arguments of `mujo jobs` (the job registry: list, cancel), `mujo project` (a cached UMAP of an embedding view)
and `mujo null-compare` (zero-shot of NULL's embeddings): what the app runs as registry jobs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo jobs`, `mujo project` and `mujo null-compare`."""
    j = sub.add_parser("jobs", help="the background jobs: list, cancel",
                       description="The job registry in the store: every long task the app starts (first-start "
                                   "build, pre-training, UMAP, zero-shot, sweeps ...) runs as a `mujo` command in "
                                   "its own process; at most $MUJO_MAX_JOBS (default: the core count) heavy ones "
                                   "at once, the others wait in a queue.")
    jsub = j.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    ls = jsub.add_parser("list", help="queued, running and recent jobs")
    ls.add_argument("--all", action="store_true", help="also the finished ones (default: the last 10)")
    ls.set_defaults(handler="mujo.commands.jobs:cmd_jobs_list")
    c = jsub.add_parser("cancel", help="cancel a queued or running job")
    c.add_argument("id", type=int, help="the job's id (see `mujo jobs list`)")
    c.set_defaults(handler="mujo.commands.jobs:cmd_jobs_cancel")
    s = jsub.add_parser("sleep", help="a job that only reports progress for SECONDS (to check the queue)")
    s.add_argument("seconds", type=float)
    s.set_defaults(handler="mujo.commands.jobs:cmd_jobs_sleep")

    p = sub.add_parser("project", help="compute and cache the UMAP of an embedding view (the Embedding Space's)",
                       description="Build the points of a view of an embedding store and compute their 2-D UMAP "
                                   "projection into the disk cache (data/cache/umap), where the Embedding Space "
                                   "page reads it.")
    p.add_argument("store", help="embedding store folder (mujo embed's output)")
    p.add_argument("--view", default="{}", help="the view as JSON: modality, level, splits, labels, max_points, seed")
    p.add_argument("--params", default="{}", help="UMAP parameters as JSON: n_neighbors, min_dist, seed, ...")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler="mujo.commands.jobs:cmd_project")

    n = sub.add_parser("null-compare", help="zero-shot with NULL on a FiMAD folder's validation clips, every "
                                            "NULL embedding of every checkpoint (stored runs)")
    n.add_argument("dataset", help="FiMAD dataset folder")
    n.add_argument("checkpoints", nargs="+", help="checkpoint folders")
    n.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    n.set_defaults(handler="mujo.commands.jobs:cmd_null_compare")
