"""`mujo finetune`: train and test one classifier on a real target dataset (baseline, frozen or fine-tuned)."""

from __future__ import annotations

import argparse
import sys

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Bar
from mujo.jobs import ProgressFile, tee

EXIT_INTERRUPTED = 130
SCENARIOS = ("baseline", "frozen", "finetuned")  # mujo.train.finetune.SCENARIOS; not imported here (torch)
# command-line option -> settings field, for the options that override a repeated run's settings
_OVERRIDES = ("epochs", "patience", "batch_size", "lr", "threads", "name")


def _settings(args: argparse.Namespace):
    from mujo.train.finetune import FinetuneSettings, repeat_settings  # noqa: PLC0415

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


def _report(result) -> None:
    print(f"split {result.split}: {result.n_train} training, {result.n_val} validation, {result.n_test} test windows; "
          f"best epoch {result.best_epoch + 1} of {result.epochs} ({result.seconds:.1f} s)")
    width = max(len(c) for c in result.classes)
    for c in result.classes:
        f1 = result.per_class_f1.get(c)
        print(f"  {c:<{width}}  F1 {'-' if f1 is None else f'{f1:.3f}'}")
    print(f"macro F1 {result.macro_f1:.4f}  accuracy {result.accuracy:.4f}"
          + (f"  (run {result.run_id} in the store)" if result.run_id is not None else ""))


def cmd_finetune(args: argparse.Namespace) -> int:
    from mujo.config import ConfigError  # noqa: PLC0415
    from mujo.datasets.base import DatasetError  # noqa: PLC0415
    from mujo.store import Store  # noqa: PLC0415
    from mujo.train.finetune import FinetuneInterrupted, finetune  # noqa: PLC0415

    job = ProgressFile(args.progress_file) if args.progress_file else None
    bar = None if args.quiet else Bar("finetune")
    try:
        settings = _settings(args)
        result = finetune(settings, store=Store(args.store) if args.save else None, progress=tee(bar, job))
    except (KeyboardInterrupt, FinetuneInterrupted):
        job and job.fail("interrupted")
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DatasetError as e:  # before ValueError: DatasetError is one
        job and job.fail(str(e))
        print(f"mujo finetune: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (ValueError, ConfigError) as e:
        job and job.fail(str(e))
        print(f"mujo finetune: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:
        job and job.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        bar and bar.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    _report(result)
    job and job.done(f"macro F1 {result.macro_f1:.4f}" + (f" (run {result.run_id})" if result.run_id else ""))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo finetune`."""
    p = sub.add_parser("finetune", help="train and test a classifier on a real target dataset",
                       description="Train a classifier (encoder + projection + two-layer head) on a target "
                                   "dataset and report the test macro F1 of the best validation epoch. Baseline = "
                                   "random init (the checkpoint's or the preset's architecture); frozen / "
                                   "finetuned start from the checkpoint's weights.")
    p.add_argument("dataset", nargs="?", help="registry name (motionsense, utd-mhad, mmfit, mhealth, myogym), "
                                              "name:/path, or a folder (optional with --repeat-run)")
    p.add_argument("--checkpoint", help="pre-trained checkpoint folder (needed for frozen / finetuned)")
    p.add_argument("--scenario", choices=SCENARIOS, default="baseline", help="default baseline")
    p.add_argument("--preset", default="paper", help="baseline architecture without a checkpoint (default paper)")
    p.add_argument("--inputs", nargs="+", choices=["imu", "pose"], default=["imu"],
                   help="input modalities; several are concatenated before the head (default imu)")
    p.add_argument("--channels", nargs="+", choices=["acc", "gyro"],
                   help="IMU channel groups (default: the checkpoint's, else acc)")
    p.add_argument("--fraction", type=float, default=1.0, help="share of each class's training windows (0, 1]")
    p.add_argument("--repeat", type=int, default=0, help="repeat number: seed + repeat; split repeat %% n_splits")
    p.add_argument("--split", help="a split name (default: chosen by --repeat)")
    p.add_argument("--null", action="store_true", help="keep NULL windows as a class")
    p.add_argument("--epochs", type=int, help="maximum epochs (default 200)")
    p.add_argument("--patience", type=int, help="early stopping patience on validation macro F1 (default 25)")
    p.add_argument("--batch-size", type=int, help="windows per batch (default 256)")
    p.add_argument("--lr", type=float, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--threads", type=int, help="torch threads (default 1)")
    p.add_argument("--name", help="run name in the store")
    p.add_argument("--repeat-run", type=int, metavar="RUN_ID",
                   help="repeat a stored run exactly: its settings, split and training windows")
    p.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    p.add_argument("--no-save", dest="save", action="store_false", help="do not record the run in the store")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_finetune)
