"""`mujo sweep new|run|status|cancel|export`: fine-tuning sweeps stored in the SQLite store."""

from __future__ import annotations

import argparse
import signal
import sys

from mujo.checkpoint import CheckpointError
from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Interrupted, refuse, run_job
from mujo.curation.label_export import spreadsheet_frame
from mujo.store.sweeps import SweepBusy
from mujo.train.sweep import (
    SweepSpec,
    SweepSummary,
    cancel_sweep,
    create_sweep,
    list_sweeps,
    run_sweep,
    sweep_results,
    sweep_status,
)


def _terminate(signum: int, frame: object) -> None:  # `kill PID` stops like Ctrl-C: cells in flight -> pending
    raise KeyboardInterrupt


def _run(sweep_id: int, args: argparse.Namespace) -> int:
    def work(progress) -> SweepSummary:
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            return run_sweep(sweep_id, args.store, workers=args.workers, scheduler=args.scheduler,
                             progress=progress, retry_failed=args.retry_failed)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def report(summary: SweepSummary) -> str:
        c = summary.counts
        text = (f"sweep {sweep_id}: {c['done']}/{summary.total} done, {c['failed']} failed, {c['cancelled']} "
                f"cancelled ({summary.ran} cells run in {summary.seconds:.0f} s)"
                + (" - cancelled" if summary.cancelled else ""))
        print(text)
        return text

    resume = f"resume with `mujo sweep run {sweep_id}`"
    return run_job("sweep run", work, report, progress_file=args.progress_file,
                   bar=None if args.quiet else f"sweep {sweep_id}",
                   errors=((SweepBusy, EXIT_UNUSABLE), (ValueError, EXIT_USAGE)),
                   interrupted=Interrupted(f"interrupted; {resume}",
                                           f"\ninterrupted: finished cells are kept; {resume}"))


def cmd_new(args: argparse.Namespace) -> int:
    spec = SweepSpec(datasets=tuple(args.datasets), checkpoints=tuple(args.checkpoints or ()),
                     scenarios=tuple(args.scenarios), fractions=tuple(args.fractions), repeats=args.repeats,
                     null=tuple(args.null), inputs=tuple(tuple(i.split("+")) for i in args.inputs),
                     preset=args.preset, epochs=args.epochs, patience=args.patience, seed=args.seed,
                     name=args.name or "", split=args.split)
    try:
        sweep_id = create_sweep(spec, args.store)
    except (ValueError, CheckpointError) as e:  # DatasetError is a ValueError too
        return refuse(args.progress_file, str(e), f"mujo sweep new: {e}", EXIT_USAGE)
    st = sweep_status(sweep_id, args.store)
    print(f"sweep {sweep_id} ({st['name']}): {st['total']} cells" +
          (f", {st['counts']['failed']} cannot run:" if st["counts"]["failed"] else ""))
    for key, error in st["errors"].items():
        print(f"  {key}: {error}")
    if args.no_run:
        print(f"run it with: mujo sweep run {sweep_id}")
        return EXIT_OK
    return _run(sweep_id, args)


def cmd_run(args: argparse.Namespace) -> int:
    return _run(args.id, args)


def cmd_status(args: argparse.Namespace) -> int:
    if args.id is None:
        df = list_sweeps(args.store)
        print(df.to_string(index=False, max_colwidth=50) if len(df) else "no sweeps")
        return EXIT_OK
    try:
        st = sweep_status(args.id, args.store)
    except ValueError as e:
        print(f"mujo sweep status: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"sweep {st['id']} ({st['name']}): {st['state']}, {st['message']}")
    for key, error in st["errors"].items():
        print(f"  failed {key}: {(error or '').strip().splitlines()[-1] if error else ''}")
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    try:
        cancel_sweep(args.id, args.store)
    except ValueError as e:
        print(f"mujo sweep cancel: {e}", file=sys.stderr)
        return EXIT_USAGE
    st = sweep_status(args.id, args.store)
    print(f"sweep {args.id}: cancel requested ({st['message']}); `mujo sweep run {args.id}` resumes it")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    df = sweep_results(args.store, args.id)
    spreadsheet_frame(df).to_csv(args.out, index=False)  # formula-like text quoted, as every CSV MuJo writes
    print(f"{len(df)} runs of sweep {args.id} written to {args.out}")
    return EXIT_OK
