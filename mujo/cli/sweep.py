"""Arguments of `mujo sweep new|run|status|cancel|export`: fine-tuning sweeps stored in the SQLite store."""

from __future__ import annotations

import argparse


def _onoff(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


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
    n.add_argument("--preset", default="paper",
                   help="baseline architecture where no checkpoint fits the dataset (default paper)")
    n.add_argument("--epochs", type=int, default=200, help="maximum epochs per run (default 200)")
    n.add_argument("--patience", type=int, default=25, help="early stopping patience (default 25)")
    n.add_argument("--seed", type=int, default=0, help="repeat r uses seed + r (default 0)")
    n.add_argument("--name", help="sweep name")
    n.add_argument("--split", help="one named split for every repeat, e.g. odd-even for UTD-MHAD "
                                   "(default: the dataset's random subject splits)")
    n.add_argument("--no-run", action="store_true", help="only create it")
    _runner_options(n)
    n.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    n.set_defaults(handler="mujo.commands.sweep:cmd_new")

    r = s.add_parser("run", help="run (or resume) a sweep's unfinished cells")
    r.add_argument("id", type=int)
    _runner_options(r)
    r.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    r.set_defaults(handler="mujo.commands.sweep:cmd_run")

    st = s.add_parser("status", help="one sweep's progress, or all sweeps")
    st.add_argument("id", type=int, nargs="?")
    st.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    st.set_defaults(handler="mujo.commands.sweep:cmd_status")

    c = s.add_parser("cancel", help="stop a sweep (finished results stay; `run` resumes)")
    c.add_argument("id", type=int)
    c.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    c.set_defaults(handler="mujo.commands.sweep:cmd_cancel")

    e = s.add_parser("export", help="write a sweep's results as CSV")
    e.add_argument("id", type=int)
    e.add_argument("out", help="CSV file")
    e.add_argument("--store", default=None, help="SQLite store (default: the project's)")
    e.set_defaults(handler="mujo.commands.sweep:cmd_export")
