"""`mujo finetune`: train and test one classifier on a real target dataset (baseline, frozen or fine-tuned)."""

from __future__ import annotations

import argparse
import sys

from mujo.commands.common import EXIT_UNUSABLE, EXIT_USAGE, run_job
from mujo.config import ConfigError
from mujo.datasets.base import DatasetError
from mujo.store import Store
from mujo.train.finetune import FinetuneInterrupted, FinetuneResult, FinetuneSettings, finetune, repeat_settings

# command-line option -> settings field, for the options that override a repeated run's settings
_OVERRIDES = ("epochs", "patience", "batch_size", "lr", "threads", "name")


def _settings(args: argparse.Namespace) -> FinetuneSettings:
    if args.repeat_run is not None:
        settings = repeat_settings(args.store, args.repeat_run)
        if args.dataset:  # the same data under another spec (e.g. moved); the fingerprint check still applies
            settings.dataset = args.dataset
        for key in _OVERRIDES:
            if getattr(args, key) is not None:
                setattr(settings, key, getattr(args, key))
        return settings
    if not args.dataset:
        raise ValueError("give a DATASET (or --repeat-run RUN_ID)")
    kw = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    return FinetuneSettings(
        dataset=args.dataset, scenario=args.scenario, checkpoint=args.checkpoint, preset=args.preset,
        inputs=tuple(args.inputs), channels=tuple(args.channels) if args.channels else None, fraction=args.fraction,
        repeat=args.repeat, split=args.split, null=args.null, seed=args.seed, **kw)


def _report(result: FinetuneResult) -> str:
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"split {result.split}: {result.n_train} training, {result.n_val} validation, {result.n_test} test windows; "
          f"best epoch {result.best_epoch + 1} of {result.epochs} ({result.seconds:.1f} s)")
    width = max(len(c) for c in result.classes)
    for c in result.classes:
        f1 = result.per_class_f1.get(c)
        print(f"  {c:<{width}}  F1 {'-' if f1 is None else f'{f1:.3f}'}")
    print(f"macro F1 {result.macro_f1:.4f}  accuracy {result.accuracy:.4f}"
          + (f"  (run {result.run_id} in the store)" if result.run_id is not None else ""))
    return f"macro F1 {result.macro_f1:.4f}" + (f" (run {result.run_id})" if result.run_id else "")


def cmd_finetune(args: argparse.Namespace) -> int:
    def work(progress) -> FinetuneResult:
        return finetune(_settings(args), store=Store(args.store) if args.save else None, progress=progress)

    # DatasetError before ValueError: it is one
    return run_job("finetune", work, _report, progress_file=args.progress_file, bar=None if args.quiet else "finetune",
                   errors=((DatasetError, EXIT_UNUSABLE), ((ValueError, ConfigError), EXIT_USAGE)),
                   stops=(FinetuneInterrupted,))
