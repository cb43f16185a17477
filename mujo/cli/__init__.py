"""The `mujo` command: argparse only. Each module here adds its sub-commands' arguments; a sub-command names its
handler as "module:function" (in `mujo.commands`), imported when that command runs, so `mujo --help`, `mujo info`
or `mujo validate` never load torch."""

from __future__ import annotations

import argparse
import importlib
from typing import Callable, Sequence

from mujo.cli import (
    data,
    datasets,
    demo,
    embed,
    features,
    finetune,
    jobs,
    labels,
    model_card,
    pretrain,
    store,
    sweep,
    users,
    zeroshot,
)

# In the order of `mujo --help`.
COMMAND_MODULES = (data, datasets, demo, embed, features, finetune, jobs, labels, model_card, pretrain, store, sweep,
                   users, zeroshot)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mujo", description="MuJo Studio: FiMAD datasets, joint embeddings, HAR.")
    p.add_argument("--job-id", type=int, default=None, help=argparse.SUPPRESS)  # run as this registry job (mujo.jobs)
    p.add_argument("--job-store", default=None, help=argparse.SUPPRESS)  # the store holding that job
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def handler(name: str) -> Callable[[argparse.Namespace], int]:
    """The function a sub-command names as "package.module:function", its module imported now."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.job_id is not None:  # started by the job registry: report to the job's row, promote the next job
        registry = importlib.import_module("mujo.jobs")  # the store (and pandas) only for a job, not for --help
        return registry.run_as_job(args.job_id, args.job_store, lambda: int(handler(args.handler)(args)))
    return int(handler(args.handler)(args))
