"""`mujo labels export | import | write-clips | history`: curation labels to and from files and clips.csv."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE

if TYPE_CHECKING:
    from mujo.fimad.dataset import FimadDataset
    from mujo.store import Store

_DATASET_HELP = ("FiMAD dataset folder (the store knows it by its resolved path, as the app does) or, for a dataset "
                 "labelled under another key, that key (with --key to name the key for a folder)")
_WINDOW_RULE = ("per window: a window takes the label of the labelled range that overlaps it the most, only when that "
                "range covers at least half the window; equal overlaps go to the latest label; unlabelled windows "
                "are left out (--all-windows lists them with an empty label)")


def _open(args: argparse.Namespace, need_folder: bool, writes: bool = False
          ) -> tuple[Store, str, FimadDataset | None]:
    """(store, the store's key of the dataset, the opened FiMAD or None); LookupError when it cannot be used."""
    from mujo.fimad.dataset import FimadDataset, FimadError  # noqa: PLC0415
    from mujo.store import Store, dataset_key  # noqa: PLC0415

    folder = Path(args.dataset).expanduser()
    ds = None
    if folder.is_dir():
        try:
            ds = FimadDataset(folder)
        except FimadError as e:
            raise LookupError(f"unusable dataset: {e}") from None
    elif need_folder:
        raise LookupError(f"{folder} is not a folder: this needs a FiMAD dataset folder")
    elif writes and not args.key and ("/" in args.dataset or "\\" in args.dataset):
        raise LookupError(f"{folder} is not a folder; give a FiMAD dataset folder, a dataset name, or --key")
    return Store(args.store), args.key or dataset_key(args.dataset), ds


def _fail(name: str, message: str, code: int = EXIT_UNUSABLE) -> int:
    print(f"mujo labels {name}: {message}", file=sys.stderr)
    return code


def cmd_export(args: argparse.Namespace) -> int:
    from mujo.curation import label_export  # noqa: PLC0415
    from mujo.curation.label_windows import export_table  # noqa: PLC0415

    if args.history and args.per == "window":
        return _fail("export", "--history exports events, not windows: leave out --per window", EXIT_USAGE)
    try:
        fmt = label_export.file_format(args.out, args.format)
        store, key, ds = _open(args, need_folder=args.per == "window")
    except ValueError as e:
        return _fail("export", str(e), EXIT_USAGE)
    except LookupError as e:
        return _fail("export", str(e))
    per = "history" if args.history else args.per
    df = export_table(store, key, per, ds=ds, window=args.window, hop=args.hop, trim=args.trim,
                      all_windows=args.all_windows)
    try:
        path = label_export.write_table(df, args.out, fmt)
    except OSError as e:
        return _fail("export", f"cannot write {args.out}: {e.strerror or e}")
    what = "events" if args.history else "windows" if args.per == "window" else "labelled ranges"
    print(f"wrote {len(df)} {what} of {key!r} to {path}" + _hint(store, key, ds, len(df)))
    return EXIT_OK


def _hint(store: Store, key: str, ds: FimadDataset | None, rows: int) -> str:
    """Where nothing was found under a folder's path, point at labels kept under the dataset's name (the app's
    fallback key)."""
    if rows or ds is None or ds.manifest.name == key:
        return ""
    from mujo.curation.label_export import clip_labels  # noqa: PLC0415

    n = len(clip_labels(store, ds.manifest.name))
    return f" (the store has {n} labels under the dataset's name: add --key {ds.manifest.name})" if n else ""


def cmd_import(args: argparse.Namespace) -> int:
    from mujo.curation.label_import import import_labels  # noqa: PLC0415

    try:
        store, key, ds = _open(args, need_folder=False, writes=True)
    except LookupError as e:
        return _fail("import", str(e))
    durations = ds.clips["duration_s"].to_dict() if ds is not None else None
    try:
        report = import_labels(store, key, args.file, durations=durations, annotator=args.annotator,
                               dry_run=args.dry_run)
    except ValueError as e:
        return _fail("import", f"nothing imported:\n{e}")
    print(report.summary() + ("" if ds is not None else f" (clip ids not checked: {args.dataset} is not a folder)"))
    return EXIT_OK


def cmd_write_clips(args: argparse.Namespace) -> int:
    from mujo.curation.label_export import clip_labels  # noqa: PLC0415
    from mujo.curation.label_windows import write_clip_labels  # noqa: PLC0415

    try:
        store, key, ds = _open(args, need_folder=True)
    except LookupError as e:
        return _fail("write-clips", str(e))
    labels = clip_labels(store, key)
    try:
        report = write_clip_labels(labels, ds.root, backup=args.backup)
    except (OSError, ValueError) as e:  # ReadOnlyError is an OSError
        return _fail("write-clips", str(e))
    print(report.summary() + _hint(store, key, ds, len(labels)))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    import pandas as pd  # noqa: PLC0415

    from mujo.curation.label_export import label_history  # noqa: PLC0415

    try:
        store, key, _ = _open(args, need_folder=False)
    except LookupError as e:
        return _fail("history", str(e))
    df = label_history(store, key, args.clip)
    if df.empty:
        print(f"no label events for {key!r}" + (f" clip {args.clip!r}" if args.clip else ""))
        return EXIT_OK

    def show(label: object, activity: object) -> str:
        return "-" if label is None else f"{label}:{activity}" if activity else str(label)

    def span(t0: object, t1: object) -> str:
        return f"{t0:g}-{'end' if t1 is None or pd.isna(t1) else format(t1, 'g')} s"

    table = pd.DataFrame({
        "event": df["event_id"], "created": df["created"], "clip": df["clip_id"],
        "range": [span(a, b) for a, b in zip(df["t0_s"], df["t1_s"])],
        "kind": [k if u is None else f"undo {u}" for k, u in zip(df["kind"], df["undo_of"])],
        "before": [show(a, b) for a, b in zip(df["before_label"], df["before_activity"])],
        "after": [show(a, b) for a, b in zip(df["after_label"], df["after_activity"])],
        "annotator": df["annotator"], "note": df["note"]})
    print(table.tail(args.limit).to_string(index=False, max_colwidth=40))
    return EXIT_OK


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
    e.add_argument("--per", choices=["clip", "window"], default="clip",
                   help=f"clip (default) or window; {_WINDOW_RULE}")
    e.add_argument("--history", action="store_true",
                   help="the whole event log, undo events included, with the label before and after each event")
    e.add_argument("--all-windows", action="store_true", help="with --per window: list unlabelled windows too")
    e.add_argument("--window", type=int, default=100, help="window length in samples (default 100)")
    e.add_argument("--hop", type=int, default=50, help="window hop in samples (default 50)")
    e.add_argument("--trim", type=float, default=0.15, help="fraction cut from each end of a clip (default 0.15)")
    e.set_defaults(func=cmd_export)

    i = cmds.add_parser("import", help="append the labels of a per-clip export (all rows valid, or nothing)",
                        description="Import a per-clip label file (.csv, .jsonl, .parquet) in one transaction. Every "
                                    "row is checked first (label, range, clip id when DATASET is a folder); rows equal "
                                    "to the label in force are skipped, so importing twice changes nothing.")
    _common(i)
    i.add_argument("file", metavar="FILE", help="label file (.csv, .jsonl or .parquet)")
    i.add_argument("--annotator", default=None, help="annotator of the rows that name none")
    i.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    i.set_defaults(func=cmd_import)

    w = cmds.add_parser("write-clips", help="write whole-clip labels into the dataset's clips.csv label column",
                        description="null -> null_class, activity -> its activity name (none given: label kept); "
                                    "unsure, bad and time-range labels are reported, not written. Atomic; other "
                                    "columns and unchanged rows keep their bytes.")
    _common(w)
    w.add_argument("--backup", action="store_true", help="keep the previous file as clips.csv.bak")
    w.set_defaults(func=cmd_write_clips)

    h = cmds.add_parser("history", help="print the label events with the label before and after each")
    _common(h)
    h.add_argument("--clip", default=None, help="only this clip")
    h.add_argument("--limit", type=int, default=50, help="newest events to show (default 50)")
    h.set_defaults(func=cmd_history)
