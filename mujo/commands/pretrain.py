"""`mujo pretrain` (joint model or proxy baseline; also under torchrun) and `mujo runs` (the store's runs)."""

from __future__ import annotations

import argparse
import os

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Interrupted, run_job
from mujo.config import ConfigError
from mujo.fimad.dataset import FimadError
from mujo.store import Store
from mujo.train.pretrain import PretrainResult, PretrainSettings, pretrain


def _settings(args: argparse.Namespace) -> PretrainSettings:
    return PretrainSettings(
        dataset=args.dataset, out=args.out, preset=args.preset, method=args.method,
        modalities=tuple(args.modalities) if args.modalities else None,
        sites=tuple(args.sites) if args.sites else None, gyro=args.gyro, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, min_lr=args.min_lr, warmup_epochs=args.warmup_epochs,
        cycle_epochs=args.cycle_epochs, patience=args.patience, seed=args.seed, same_clip=args.same_clip,
        monitor=args.monitor,
        text_field=args.text_field, video_feature=args.video_feature, threads=args.threads, name=args.name or "",
        null_anchor=args.null_anchor, null_labels=args.null_labels, resume=args.resume,
        overwrite=args.overwrite)


def cmd_pretrain(args: argparse.Namespace) -> int:
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    main = rank == 0

    def report(result: PretrainResult) -> str:
        best = (f"{result.monitor} {result.best_value:.4f} at epoch {result.best_epoch + 1}"
                if result.best_epoch >= 0 else "none")
        print(f"rank {rank}/{world}: {result.method}, {result.epochs} epochs, best {best}"
              + (", stopped early" if result.stopped_early else ""), flush=True)
        if result.interrupted:
            raise Interrupted("interrupted; run the same command with --resume to continue",
                              f"interrupted: resume with --resume (state in {result.out / 'last'})" if main else None)
        if main:
            print(f"checkpoint: {result.out}" + (f" (run {result.run_id} in the store)" if result.run_id else ""))
        return f"model written to {result.out}"

    return run_job("pretrain", lambda progress: pretrain(_settings(args), progress=progress, store=args.store), report,
                   progress_file=args.progress_file if main else None,
                   bar="pretrain" if main and not args.quiet else None,
                   errors=((FimadError, EXIT_UNUSABLE), ((ValueError, ConfigError), EXIT_USAGE)),
                   interrupted=Interrupted("interrupted before training started"))


def cmd_runs(args: argparse.Namespace) -> int:
    store = Store(args.store)
    if not store.path.exists():  # listing must not create a store
        print(f"no runs: {store.path} does not exist yet")
        return EXIT_OK
    runs = store.runs(args.kind)
    if runs.empty:
        print(f"no runs in {store.path}")
        return EXIT_OK
    runs = runs.head(args.limit)
    if args.metrics:
        last = {}
        for rid in runs["id"]:
            wide = store.metrics(int(rid), wide=True)
            last[rid] = (len(wide), wide["val_loss"].min() if "val_loss" in wide else float("nan"))
        runs["epochs"] = [last[r][0] for r in runs["id"]]
        runs["best_val_loss"] = [last[r][1] for r in runs["id"]]
    cols = [c for c in ("id", "kind", "name", "status", "started", "finished", "epochs", "best_val_loss",
                        "checkpoint", "error") if c in runs]
    print(runs[cols].to_string(index=False, max_colwidth=60))
    return EXIT_OK
