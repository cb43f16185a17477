"""Arguments of `mujo labels export | import | write-clips | history`: curation labels to and from files."""

from __future__ import annotations

import argparse

_DATASET_HELP = ("FiMAD dataset folder (the store knows it by its resolved path, as the app does) or, for a dataset "
                 "labelled under another key, that key (with --key to name the key for a folder)")
_WINDOW_RULE = ("per window: a window takes the label of the labelled range that overlaps it the most, only when that "
                "range covers at least half the window; equal overlaps go to the latest label; unlabelled windows "
                "are left out (--all-windows lists them with an empty label)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DATASET", help=_DATASET_HELP)
    p.add_argument("--key", default=None, help="the store's key of the dataset (default: the folder's resolved path)")
    p.add_argument("--store", default=None, help="SQLite store (default: the project's)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo labels ...`."""
    top = sub.add_parser("labels", help="export, import and apply curation labels (NULL class, activity, ...)")
    cmds = top.add_subparsers(dest="labels_command", required=True, metavar="ACTION")

    e = cmds.add_parser("export", help="write the labels in force (or their history) to CSV, JSON Lines or Parquet",
                        description=f"Export curation labels. Per clip: one row per labelled range in force. "
                                    f"{_WINDOW_RULE[0].upper()}{_WINDOW_RULE[1:]}.")
    _common(e)
    e.add_argument("out", metavar="OUT", help="file to write (.csv, .jsonl or .parquet)")
    e.add_argument("--format", choices=["csv", "jsonl", "parquet"], default=None,
                   help="file format (default: from OUT's extension)")
    e.add_argument("--per", choices=["clip", "window", "annotator"], default="clip",
                   help=f"clip (default), window ({_WINDOW_RULE}) or annotator (each annotator's own latest label per "
                        "labelled range, for agreement statistics such as Cohen's kappa)")
    e.add_argument("--history", action="store_true",
                   help="the whole event log, undo events included, with the label before and after each event")
    e.add_argument("--all-windows", action="store_true", help="with --per window: list unlabelled windows too")
    e.add_argument("--window", type=int, default=100, help="window length in samples (default 100)")
    e.add_argument("--hop", type=int, default=50, help="window hop in samples (default 50)")
    e.add_argument("--trim", type=float, default=0.15, help="fraction cut from each end of a clip (default 0.15)")
    e.set_defaults(handler="mujo.commands.labels:cmd_export")

    i = cmds.add_parser("import", help="append the labels of a per-clip export (all rows valid, or nothing)",
                        description="Import a per-clip label file (.csv, .jsonl, .parquet) in one transaction. Every "
                                    "row is checked first (label, range, clip id when DATASET is a folder); rows equal "
                                    "to the label in force are skipped, so importing twice changes nothing.")
    _common(i)
    i.add_argument("file", metavar="FILE", help="label file (.csv, .jsonl or .parquet)")
    i.add_argument("--annotator", default=None, help="annotator of the rows that name none")
    i.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    i.set_defaults(handler="mujo.commands.labels:cmd_import")

    w = cmds.add_parser("write-clips", help="write whole-clip labels into the dataset's clips.csv label column",
                        description="null -> null_class, activity -> its activity name (none given: label kept); "
                                    "unsure, bad and time-range labels are reported, not written. Atomic; other "
                                    "columns and unchanged rows keep their bytes.")
    _common(w)
    w.add_argument("--backup", action="store_true", help="keep the previous file as clips.csv.bak")
    w.set_defaults(handler="mujo.commands.labels:cmd_write_clips")

    h = cmds.add_parser("history", help="print the label events with the label before and after each")
    _common(h)
    h.add_argument("--clip", default=None, help="only this clip")
    h.add_argument("--limit", type=int, default=50, help="newest events to show (default 50)")
    h.set_defaults(handler="mujo.commands.labels:cmd_history")
