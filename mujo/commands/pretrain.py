"""`mujo pretrain` (joint model or proxy baseline; also under torchrun) and `mujo runs` (the store's runs)."""

from __future__ import annotations

import argparse
import os
import sys

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Bar
from mujo.jobs import ProgressFile, tee

EXIT_INTERRUPTED = 130


def _settings(args: argparse.Namespace):
    from mujo.train.pretrain import PretrainSettings  # noqa: PLC0415

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
    from mujo.config import ConfigError  # noqa: PLC0415
    from mujo.fimad.dataset import FimadError  # noqa: PLC0415
    from mujo.train.pretrain import pretrain  # noqa: PLC0415

    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    main = rank == 0
    job = ProgressFile(args.progress_file) if args.progress_file and main else None
    bar = Bar("pretrain") if main and not args.quiet else None
    try:
        result = pretrain(_settings(args), progress=tee(bar, job), store=args.store)
    except KeyboardInterrupt:
        job and job.fail("interrupted before training started")
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, ConfigError, FimadError) as e:
        job and job.fail(str(e))
        print(f"mujo pretrain: {e}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(e, FimadError) else EXIT_USAGE
    except Exception as e:
        job and job.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        bar and bar.close()
    best = (f"{result.monitor} {result.best_value:.4f} at epoch {result.best_epoch + 1}"
            if result.best_epoch >= 0 else "none")
    print(f"rank {rank}/{world}: {result.method}, {result.epochs} epochs, best {best}"
          + (", stopped early" if result.stopped_early else ""), flush=True)
    if result.interrupted:
        job and job.fail("interrupted; run the same command with --resume to continue")
        if main:
            print(f"interrupted: resume with --resume (state in {result.out / 'last'})", file=sys.stderr)
        return EXIT_INTERRUPTED
    if main:
        print(f"checkpoint: {result.out}" + (f" (run {result.run_id} in the store)" if result.run_id else ""))
    job and job.done(f"model written to {result.out}")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from mujo.store import Store  # noqa: PLC0415

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


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo pretrain` and `mujo runs`."""
    from mujo.config import preset_names  # noqa: PLC0415

    p = sub.add_parser("pretrain", help="pre-train the joint model (or a proxy-task baseline) on a FiMAD dataset",
                       description="Pre-train on a FiMAD dataset. Also runs under `torchrun --nproc_per_node N -m "
                                   "mujo.cli pretrain ...` (DDP, gloo). Unset options take the preset's values.")
    p.add_argument("dataset", help="FiMAD dataset folder")
    p.add_argument("--out", required=True, help="output folder (best model at its root; last/ and best/ inside)")
    p.add_argument("--preset", default="small", help=f"{' | '.join(preset_names())} or a preset .json (default small)")
    p.add_argument("--method", choices=["mujo", "multitask", "autoencoder", "simclr"], default=None,
                   help="mujo (contrastive, default) or a proxy-task baseline on the IMU encoder")
    p.add_argument("--modalities", nargs="+", metavar="M", help="text video pose imu (default: all the data has)")
    p.add_argument("--sites", nargs="+", metavar="SITE", help="IMU sites, e.g. LWrist RWrist (default: preset's)")
    p.add_argument("--gyro", action=argparse.BooleanOptionalAction, default=None,
                   help="add the gyroscope to the accelerometer (default: preset's)")
    p.add_argument("--epochs", type=int, help="maximum epochs (warm-up and cycle scale with it)")
    p.add_argument("--batch-size", type=int, help="windows per batch (per process)")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--min-lr", type=float, help="cosine floor")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up epochs")
    p.add_argument("--cycle-epochs", type=float, help="cosine annealing epochs")
    p.add_argument("--patience", type=int, help="early stopping patience (epochs)")
    p.add_argument("--seed", type=int, help="seed of init, batches, dropout and augmentations")
    p.add_argument("--monitor", help="early stopping / best model on: val_loss (paper), val_top1 (mean in-batch "
                                     "top-1 of the modality pairs), val_top1_pose_imu, ... (default: preset's)")
    p.add_argument("--same-clip", choices=["mask", "one_per_clip", "ignore"], default="mask",
                   help="windows of one clip in a batch: mask them as negatives (default), never batch them "
                        "together, or ignore")
    p.add_argument("--text-field", default="chapter_norm", help="clips.csv column for the text features")
    p.add_argument("--video-feature", help="features/<name> to use (default: precomputed, else computed)")
    p.add_argument("--null-anchor", metavar="TEXT",
                   help="NULL anchor text, e.g. \"no exercise: the trainer talks, rests or explains\": NULL clips' "
                        "windows train against it instead of their chapter, and the checkpoint keeps its embedding "
                        "for zero-shot (--null-embedding learned)")
    p.add_argument("--null-labels", choices=["truth", "curated"],
                   help="which clips are NULL: truth (clips.csv label null_class; the default with --null-anchor) or "
                        "curated (the store's whole-clip null labels); also keeps the NULL windows' centroid")
    p.add_argument("--threads", type=int, help="torch threads per process (default: all cores)")
    p.add_argument("--name", help="run name in the store")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="start over although --out holds a run")
    p.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_pretrain)

    r = sub.add_parser("runs", help="list the runs in the store")
    r.add_argument("--kind", help="only runs of this kind (pretrain, finetune, ...)")
    r.add_argument("--limit", type=int, default=30, help="newest runs to show (default 30)")
    r.add_argument("--metrics", action="store_true", help="add epochs and best validation loss")
    r.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    r.set_defaults(func=cmd_runs)
