"""`mujo sweep new|run|status|cancel|export`: fine-tuning sweeps stored in the SQLite store."""

from __future__ import annotations

import argparse
import signal
import sys

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Bar
from mujo.jobs import ProgressFile, tee

EXIT_INTERRUPTED = 130


def _onoff(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


def _run(sweep_id: int, args: argparse.Namespace) -> int:
    from mujo.store.sweeps import SweepBusy  # noqa: PLC0415
    from mujo.train.sweep import run_sweep  # noqa: PLC0415

    job = ProgressFile(args.progress_file) if args.progress_file else None
    bar = None if args.quiet else Bar(f"sweep {sweep_id}")

    def terminate(signum: int, frame: object) -> None:  # `kill PID` stops like Ctrl-C: cells in flight -> pending
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        summary = run_sweep(sweep_id, args.store, workers=args.workers, scheduler=args.scheduler,
                            progress=tee(bar, job), retry_failed=args.retry_failed)
    except KeyboardInterrupt:
        job and job.fail(f"interrupted; resume with `mujo sweep run {sweep_id}`")
        print(f"\ninterrupted: finished cells are kept; resume with `mujo sweep run {sweep_id}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (SweepBusy, ValueError) as e:
        job and job.fail(str(e))
        print(f"mujo sweep run: {e}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(e, SweepBusy) else EXIT_USAGE
    except Exception as e:
        job and job.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar and bar.close()
    c = summary.counts
    text = (f"sweep {sweep_id}: {c['done']}/{summary.total} done, {c['failed']} failed, {c['cancelled']} cancelled"
            f" ({summary.ran} cells run in {summary.seconds:.0f} s)" + (" - cancelled" if summary.cancelled else ""))
    print(text)
    job and job.done(text)
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from mujo.checkpoint import CheckpointError  # noqa: PLC0415
    from mujo.train.sweep import SweepSpec, create_sweep, sweep_status  # noqa: PLC0415

    spec = SweepSpec(datasets=tuple(args.datasets), checkpoints=tuple(args.checkpoints or ()),
                     scenarios=tuple(args.scenarios), fractions=tuple(args.fractions), repeats=args.repeats,
                     null=tuple(args.null), inputs=tuple(tuple(i.split("+")) for i in args.inputs),
                     preset=args.preset, epochs=args.epochs, patience=args.patience, seed=args.seed,
                     name=args.name or "", split=args.split)
    try:
        sweep_id = create_sweep(spec, args.store)
    except (ValueError, CheckpointError) as e:  # DatasetError is a ValueError too
        if args.progress_file:
            ProgressFile(args.progress_file).fail(str(e))
        print(f"mujo sweep new: {e}", file=sys.stderr)
        return EXIT_USAGE
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
    from mujo.train.sweep import list_sweeps, sweep_status  # noqa: PLC0415

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
    from mujo.train.sweep import cancel_sweep, sweep_status  # noqa: PLC0415

    try:
        cancel_sweep(args.id, args.store)
    except ValueError as e:
        print(f"mujo sweep cancel: {e}", file=sys.stderr)
        return EXIT_USAGE
    st = sweep_status(args.id, args.store)
    print(f"sweep {args.id}: cancel requested ({st['message']}); `mujo sweep run {args.id}` resumes it")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from mujo.train.sweep import sweep_results  # noqa: PLC0415

    df = sweep_results(args.store, args.id)
    df.to_csv(args.out, index=False)
    print(f"{len(df)} runs of sweep {args.id} written to {args.out}")
    return EXIT_OK


def _runner_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, help="local worker processes (default: half the cores)")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786) instead of local "
                                                      "processes; its workers must reach the store file")
    p.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo sweep` and its sub-commands."""
    p = sub.add_parser("sweep", help="fine-tuning sweeps: dataset x checkpoint x scenario x fraction x repeat",
                       description="Create, run (resumable), inspect, cancel and export fine-tuning sweeps.")
    s = p.add_subparsers(dest="sweep_command", required=True, metavar="ACTION")

    n = s.add_parser("new", help="create a sweep (and run it unless --no-run)")
    n.add_argument("--datasets", nargs="+", required=True, metavar="SPEC", help="target datasets (name or folder)")
    n.add_argument("--checkpoints", nargs="+", metavar="DIR", help="pre-trained checkpoints (none: baseline only)")
    n.add_argument("--scenarios", nargs="+", default=["baseline", "finetuned"],
                   choices=["baseline", "frozen", "finetuned"], help="default: baseline finetuned")
    n.add_argument("--fractions", nargs="+", type=float, default=[0.02, 1.0], help="default: 0.02 1.0")
    n.add_argument("--repeats", type=int, default=5, help="runs per configuration (default 5)")
    n.add_argument("--null", nargs="+", type=_onoff, default=[False], metavar="on|off",
                   help="with and/or without the NULL class (default off)")
    n.add_argument("--inputs", nargs="+", default=["imu"], choices=["imu", "pose", "imu+pose"],
                   help="input combinations (default imu)")
    n.add_argument("--preset", default="paper", help="baseline architecture without checkpoints (default paper)")
    n.add_argument("--epochs", type=int, default=200, help="maximum epochs per run (default 200)")
    n.add_argument("--patience", type=int, default=25, help="early stopping patience (default 25)")
    n.add_argument("--seed", type=int, default=0, help="repeat r uses seed + r (default 0)")
    n.add_argument("--name", help="sweep name")
    n.add_argument("--split", help="one named split for every repeat, e.g. odd-even for UTD-MHAD "
                                   "(default: the dataset's random subject splits)")
    n.add_argument("--no-run", action="store_true", help="only create it")
    _runner_options(n)
    n.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    n.set_defaults(func=cmd_new)

    r = s.add_parser("run", help="run (or resume) a sweep's unfinished cells")
    r.add_argument("id", type=int)
    _runner_options(r)
    r.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    r.set_defaults(func=cmd_run)

    st = s.add_parser("status", help="one sweep's progress, or all sweeps")
    st.add_argument("id", type=int, nargs="?")
    st.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    st.set_defaults(func=cmd_status)

    c = s.add_parser("cancel", help="stop a sweep (finished results stay; `run` resumes)")
    c.add_argument("id", type=int)
    c.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    c.set_defaults(func=cmd_cancel)

    e = s.add_parser("export", help="write a sweep's results as CSV")
    e.add_argument("id", type=int)
    e.add_argument("out", help="CSV file")
    e.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    e.set_defaults(func=cmd_export)
