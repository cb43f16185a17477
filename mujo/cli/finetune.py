"""Arguments of `mujo finetune`: train and test one classifier on a real target dataset."""

from __future__ import annotations

import argparse

from mujo.train.finetune_settings import SCENARIOS  # torch-free, like every module of mujo.cli


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
    p.set_defaults(handler="mujo.commands.finetune:cmd_finetune")
