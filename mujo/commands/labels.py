"""`mujo labels export | import | write-clips | history`: curation labels to and from files and clips.csv."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE
from mujo.curation import label_export
from mujo.curation.label_export import clip_labels, label_history
from mujo.curation.label_import import import_labels
from mujo.curation.label_windows import export_table, write_clip_labels
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.store import Store, dataset_key


def _open(args: argparse.Namespace, need_folder: bool, writes: bool = False
          ) -> tuple[Store, str, FimadDataset | None]:
    """(store, the store's key of the dataset, the opened FiMAD or None); LookupError when it cannot be used."""
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
    what = ("events" if args.history else "windows" if args.per == "window"
            else "annotator labels" if args.per == "annotator" else "labelled ranges")
    print(f"wrote {len(df)} {what} of {key!r} to {path}" + _hint(store, key, ds, len(df)))
    return EXIT_OK


def _hint(store: Store, key: str, ds: FimadDataset | None, rows: int) -> str:
    """Where nothing was found under a folder's path, point at labels kept under the dataset's name (the app's
    fallback key)."""
    if rows or ds is None or ds.manifest.name == key:
        return ""
    n = len(clip_labels(store, ds.manifest.name))
    return f" (the store has {n} labels under the dataset's name: add --key {ds.manifest.name})" if n else ""


def cmd_import(args: argparse.Namespace) -> int:
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
