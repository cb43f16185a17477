"""`mujo zeroshot`: evaluate a checkpoint zero-shot on a target dataset and print top-k accuracy and F1."""

from __future__ import annotations

import argparse

from mujo import jobs
from mujo.checkpoint import CheckpointError
from mujo.commands.common import EXIT_UNUSABLE, EXIT_USAGE, run_job
from mujo.datasets.base import DatasetError
from mujo.eval import zeroshot as zs
from mujo.eval.prompts import DEFAULT_TEMPLATES
from mujo.eval.zeroshot import ZeroShotResult
from mujo.eval.zeroshot_settings import ZeroShotSettings
from mujo.store import Store


def _class_text(items: list[str] | None) -> dict[str, str] | None:
    out = {}
    for item in items or []:
        cls, sep, phrase = item.partition("=")
        if not sep or not cls.strip():
            raise ValueError(f"--class-text {item!r}: write CLASS=PHRASE, e.g. dws=\"walking downstairs\"")
        out[cls.strip()] = phrase.strip()
    return out or None


def _settings(args: argparse.Namespace) -> ZeroShotSettings:
    return ZeroShotSettings(
        dataset=args.dataset, checkpoint=args.checkpoint, inputs=args.inputs,
        templates=tuple(args.template) if args.template else DEFAULT_TEMPLATES,
        class_text=_class_text(args.class_text), null=args.null, null_embedding=args.null_embedding,
        split=args.split,
        part=args.part or ("test" if args.split else "all"), normalize=args.normalize,
        batch_size=args.batch_size, threads=args.threads)


NULL_ROWS = {"mean": "(mean of the classes)", "learned": "(the checkpoint's learned NULL anchor)",
             "centroid": "(centroid of the NULL training windows)"}


def format_result(result: ZeroShotResult, null_embedding: str = "mean") -> str:
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
    def work(progress) -> ZeroShotResult:
        return zs.zeroshot(_settings(args), store=None if args.no_store else (args.store or Store()), progress=progress)

    def report(result: ZeroShotResult) -> str:
        print(format_result(result, args.null_embedding))
        if result.run_id is not None:
            print(f"\nrun {result.run_id} in the store")
            if jobs.current():  # run by the app as a registry job: the page shows this run when the job ends
                jobs.current().result(run_id=int(result.run_id))  # type: ignore[union-attr]
        return (f"top-1 {result.top1:.3f}, macro F1 {result.macro_f1:.3f}"
                + (f" (run {result.run_id})" if result.run_id is not None else ""))

    return run_job("zeroshot", work, report, progress_file=args.progress_file, bar=None if args.quiet else "zeroshot",
                   errors=(((DatasetError, CheckpointError), EXIT_UNUSABLE), (ValueError, EXIT_USAGE)))
