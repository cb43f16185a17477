"""Arguments of `mujo pretrain` (joint model or proxy baseline; also under torchrun) and `mujo runs`."""

from __future__ import annotations

import argparse

from mujo.config import preset_names


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo pretrain` and `mujo runs`."""
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
    p.set_defaults(handler="mujo.commands.pretrain:cmd_pretrain")

    r = sub.add_parser("runs", help="list the runs in the store")
    r.add_argument("--kind", help="only runs of this kind (pretrain, finetune, ...)")
    r.add_argument("--limit", type=int, default=30, help="newest runs to show (default 30)")
    r.add_argument("--metrics", action="store_true", help="add epochs and best validation loss")
    r.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    r.set_defaults(handler="mujo.commands.pretrain:cmd_runs")
