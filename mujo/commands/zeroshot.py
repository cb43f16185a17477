"""`mujo zeroshot`: evaluate a checkpoint zero-shot on a target dataset and print top-k accuracy and F1."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Bar
from mujo.jobs import ProgressFile, tee

if TYPE_CHECKING:
    from mujo.eval.zeroshot import ZeroShotResult


def _class_text(items: list[str] | None) -> dict[str, str] | None:
    out = {}
    for item in items or []:
        cls, sep, phrase = item.partition("=")
        if not sep or not cls.strip():
            raise ValueError(f"--class-text {item!r}: write CLASS=PHRASE, e.g. dws=\"walking downstairs\"")
        out[cls.strip()] = phrase.strip()
    return out or None


def _settings(args: argparse.Namespace):
    from mujo.eval.prompts import DEFAULT_TEMPLATES  # noqa: PLC0415
    from mujo.eval.zeroshot import ZeroShotSettings  # noqa: PLC0415

    return ZeroShotSettings(
        dataset=args.dataset, checkpoint=args.checkpoint, inputs=args.inputs,
        templates=tuple(args.template) if args.template else DEFAULT_TEMPLATES,
        class_text=_class_text(args.class_text), null=args.null, null_embedding=args.null_embedding,
        split=args.split,
        part=args.part or ("test" if args.split else "all"), normalize=args.normalize,
        batch_size=args.batch_size, threads=args.threads)


NULL_ROWS = {"mean": "(mean of the classes)", "learned": "(the checkpoint's learned NULL anchor)",
             "centroid": "(centroid of the NULL training windows)"}


def format_result(result: "ZeroShotResult", null_embedding: str = "mean") -> str:
    """The metrics and the per-class F1 (with support) as plain text tables."""
    def num(v: float | None) -> str:
        return "  -  " if v is None else f"{v:.3f}"

    m = result.metrics()
    lines = [f"{result.n_windows} windows, {len(result.classes)} classes"
             + (f", split {result.split} part {result.part}" if result.split else ""),
             "", f"{'metric':<16}{'value':>8}"]
    lines += [f"{k:<16}{num(m[k]):>8}" for k in ("top1", "top3", "top5", "accuracy", "macro_f1", "macro_f1_top3",
                                                 "macro_f1_top5")]
    width = max(8, *(len(c) for c in result.classes)) + 2
    lines += ["", f"{'class':<{width}}{'windows':>8}{'F1':>8}  first prompt"]
    for c in result.classes:
        first = (result.prompts.get(c) or [NULL_ROWS.get(null_embedding, "") if c == "NULL" else ""])[0]
        lines.append(f"{c:<{width}}{result.support.get(c, 0):>8}{num(result.per_class_f1.get(c)):>8}  {first}")
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def cmd_zeroshot(args: argparse.Namespace) -> int:
    from mujo.checkpoint import CheckpointError  # noqa: PLC0415
    from mujo.datasets.base import DatasetError  # noqa: PLC0415
    from mujo.eval.zeroshot import zeroshot  # noqa: PLC0415

    job = ProgressFile(args.progress_file) if args.progress_file else None
    bar = None if args.quiet else Bar("zeroshot")
    try:
        result = zeroshot(_settings(args), store=None if args.no_store else (args.store or _default_store()),
                          progress=tee(bar, job))
    except KeyboardInterrupt:
        job and job.fail("interrupted")
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (DatasetError, CheckpointError, ValueError) as e:
        job and job.fail(str(e))
        print(f"mujo zeroshot: {e}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(e, (DatasetError, CheckpointError)) else EXIT_USAGE
    except Exception as e:
        job and job.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        bar and bar.close()
    print(format_result(result, args.null_embedding))
    if result.run_id is not None:
        print(f"\nrun {result.run_id} in the store")
    job and job.done(f"top-1 {result.top1:.3f}, macro F1 {result.macro_f1:.3f}"
                     + (f" (run {result.run_id})" if result.run_id is not None else ""))
    return EXIT_OK


def _default_store():
    from mujo.store import Store  # noqa: PLC0415

    return Store()


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
    p.set_defaults(func=cmd_zeroshot)
