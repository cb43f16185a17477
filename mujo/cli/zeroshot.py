"""Arguments of `mujo zeroshot`: evaluate a checkpoint zero-shot on a target dataset."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo zeroshot`."""
    p = sub.add_parser("zeroshot", help="zero-shot HAR: class prompts vs. windows in the joint space",
                       description="Embed each class as prompts (templates x class phrase, ensembled) with the "
                                   "checkpoint's text encoder, embed the dataset's windows, predict the arg-max "
                                   "cosine; report top-1/3/5 accuracy, macro F1 and per-class F1, saved in the "
                                   "store (paper section 5.4).")
    p.add_argument("dataset", help="target dataset: a name (motionsense, utd-mhad, mmfit, ...), name:/path or a "
                                   "folder")
    p.add_argument("--checkpoint", required=True, help="checkpoint folder with a text encoder")
    p.add_argument("--inputs", choices=["imu", "pose"], default="imu", help="window modality (default imu)")
    p.add_argument("--template", action="append", metavar="T",
                   help="prompt template with one {} for the class phrase, e.g. \"a person {}\" (repeat for "
                        "prompt ensembling; default: the built-in set)")
    p.add_argument("--class-text", nargs="+", metavar="CLASS=PHRASE",
                   help="phrases replacing the dataset's, e.g. dws=\"going down the stairs\"")
    p.add_argument("--null", action="store_true", help="keep NULL windows as a class (see --null-embedding)")
    p.add_argument("--null-embedding", choices=["mean", "learned", "centroid"], default="mean",
                   help="the NULL class's embedding: mean of the class embeddings (paper, default), the checkpoint's "
                        "learned NULL anchor (pretrain --null-anchor) or its NULL training windows' centroid")
    p.add_argument("--split", help="evaluate one part of this split (default part: test)")
    p.add_argument("--part", choices=["all", "train", "val", "test"],
                   help="windows to evaluate (default all; test when --split is given)")
    p.add_argument("--normalize", choices=["dataset", "checkpoint"], default="dataset",
                   help="z-score the IMU with the dataset's own stats (default) or the checkpoint's")
    p.add_argument("--batch-size", type=int, default=512, help="windows per forward pass")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    p.add_argument("--no-store", action="store_true", help="do not save the run")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler="mujo.commands.zeroshot:cmd_zeroshot")
