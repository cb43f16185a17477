"""Curation labels to files (CSV, JSON Lines, Parquet): the labels in force per clip, one label per annotator (for
agreement statistics) and the event history.

CSV is what spreadsheets open, so a text cell that a spreadsheet would run as a formula (starting with =, +, -, @,
tab or CR: OWASP's CSV injection list) is written with a leading single quote; `restore_text` (used by the import)
takes exactly that quote off again. Numbers stay numbers, JSON Lines and Parquet keep text as it is.

The store names a dataset by a key (the app uses a FiMAD folder's resolved path, else the manifest name; see
`mujo.store.dataset_key`); every function here takes that key explicitly. Reading label files back is
`mujo.curation.label_import`; per-window labels and writing clips.csv live in `mujo.curation.label_windows`.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from mujo.store.labels import label_range

if TYPE_CHECKING:
    from mujo.store import Store

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
CLIP_COLUMNS = ["dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created", "event_id"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell starting with one of these runs as a formula
_QUOTE = "'"  # the spreadsheet's "this cell is text" prefix
HISTORY_COLUMNS = ["event_id", "dataset", "clip_id", "t0_s", "t1_s", "kind", "label", "activity", "annotator", "note",
                   "created", "undo_of", "before_label", "before_activity", "before_event_id", "after_label",
                   "after_activity", "after_event_id"]
ANNOTATOR_COLUMNS = ["dataset", "clip_id", "t0_s", "t1_s", "annotator", "label", "activity", "note", "created",
                     "event_id"]


# --- values and files ------------------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def plain_value(v: Any) -> Any:
    """A plain Python value for JSON and CSV (numpy scalars unwrapped, NaN/NA -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if _missing(v) else v


def _quoted(text: str) -> bool:
    """True when `text` starts with the quote that `spreadsheet_text` adds (a quote before a formula start or
    before another quote)."""
    return text[:1] == _QUOTE and text[1:2] != "" and text[1] in (*FORMULA_START, _QUOTE)


def spreadsheet_text(text: str) -> str:
    """`text` made safe for a CSV cell that a spreadsheet opens: a leading quote before a formula start.

    A text that already starts with a quote followed by a formula start or a quote gets one more, so that
    `restore_text` gives every text back exactly (`'=1` is written `''=1`); any other text is written as it is.
    """
    if text[:1] in FORMULA_START and text or _quoted(text):
        return _QUOTE + text
    return text


def restore_text(text: str) -> str:
    """The text `spreadsheet_text` was given: the quote it added taken off (other texts are returned as they are)."""
    return text[1:] if _quoted(text) else text


def spreadsheet_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text cells are `spreadsheet_text`; numbers, booleans and missing values are kept."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: spreadsheet_text(v) if isinstance(v, str) else v).astype(object)
    out.columns = [spreadsheet_text(str(c)) for c in out.columns]
    return out


def _cell(v: Any) -> str:
    v = plain_value(v)
    if v is None:
        return ""
    return repr(v) if isinstance(v, float) else spreadsheet_text(v) if isinstance(v, str) else str(v)


def file_format(path: str | Path, fmt: str | None = None) -> str:
    """`fmt` when given, else the format named by the file's extension (.csv, .jsonl/.ndjson, .parquet/.pq)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise ValueError(f"{path}: cannot tell the format from the extension; use .csv, .jsonl or .parquet")
    return found


def write_table(df: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write a frame as CSV (RFC 4180, empty = missing, formula-like text cells quoted: `spreadsheet_text`),
    JSON Lines (null = missing) or Parquet; text stays text."""
    path, fmt = Path(path), file_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [[plain_value(v) for v in row] for row in df.itertuples(index=False, name=None)]
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow([spreadsheet_text(str(c)) for c in df.columns])
            w.writerows([_cell(v) for v in row] for row in records)
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for row in records:
                f.write(json.dumps(dict(zip(df.columns, row)), ensure_ascii=False) + "\n")
    else:
        df.to_parquet(path, index=False)
    return path


# --- exports ---------------------------------------------------------------------------------------------
def clip_labels(store: Store, dataset: str) -> pd.DataFrame:
    """One row per labelled range in force (CLIP_COLUMNS; t1_s missing = to the clip's end). No store: no rows."""
    if not Path(store.path).exists():
        return pd.DataFrame(columns=CLIP_COLUMNS)
    cur = store.current_labels(dataset).rename(columns={"id": "event_id"})[CLIP_COLUMNS].astype(object)
    return cur.where(cur.notna(), None).reset_index(drop=True)


def annotator_labels(store: Store, dataset: str, rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per (labelled range, annotator): each annotator's own latest label there, not undone, even when someone
    else labelled the range later (ANNOTATOR_COLUMNS, sorted by clip, range and annotator). Labels written to settle
    a disagreement are adjudications and left out (`Store.annotator_labels`, or its `rows` when the caller has read
    them already). No store: no rows."""
    if rows is None and not Path(store.path).exists():
        return pd.DataFrame(columns=ANNOTATOR_COLUMNS)
    got = store.annotator_labels(dataset) if rows is None else rows
    rows = [{**r, "dataset": dataset, "event_id": r["id"]} for r in got]
    df = pd.DataFrame(rows, columns=ANNOTATOR_COLUMNS)
    df = df.sort_values(["clip_id", "t0_s", "annotator"], kind="stable").astype(object)
    return df.where(df.notna(), None).reset_index(drop=True)


def label_history(store: Store, dataset: str, clip_id: str | None = None) -> pd.DataFrame:
    """The full event log, undo events included, with the label in force on the event's range before and after it.

    "The range" is the store's unit of superseding: the same clip and exactly the same (t0_s, t1_s). An undo of an
    event that was already superseded changes nothing (before == after). No label in force: empty before/after.

    Returns:
        HISTORY_COLUMNS, oldest event first; `kind` is "label" or "undo".
    """
    if not Path(store.path).exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    events = store.label_event_rows(dataset, clip_id)
    by_id = {e["id"]: e for e in events}
    active: dict[tuple, list[Mapping[str, Any]]] = {}  # per range: label events not undone, oldest first
    rows = []
    for e in events:
        stack = active.setdefault(label_range(e), [])
        before = stack[-1] if stack else None
        if e["undo_of"] is None:
            stack.append(e)
        else:
            stack[:] = [s for s in stack if s["id"] != e["undo_of"]]
        after = stack[-1] if stack else None
        shown = by_id.get(e["undo_of"], e)  # an undo shows the label it takes back
        rows.append({
            "event_id": e["id"], "dataset": e["dataset"], "clip_id": e["clip_id"], "t0_s": e["t0_s"],
            "t1_s": e["t1_s"], "kind": "label" if e["undo_of"] is None else "undo", "label": shown["label"],
            "activity": shown["activity"], "annotator": e["annotator"], "note": e["note"], "created": e["created"],
            "undo_of": e["undo_of"],
            **{f"{k}_{f}": (s or {}).get(src) for k, s in (("before", before), ("after", after))
               for f, src in (("label", "label"), ("activity", "activity"), ("event_id", "id"))}})
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS, dtype=object)


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """`write_table`'s file as bytes (for a download)."""
    with tempfile.TemporaryDirectory(prefix="mujo-labels-") as tmp:
        return write_table(df, Path(tmp) / f"labels.{fmt}", fmt).read_bytes()


def export_labels(store: Store, dataset: str, out: str | Path, *, fmt: str | None = None, history: bool = False
                  ) -> tuple[Path, int]:
    """Write the per-clip labels in force (or, with history, the whole event log) to `out`; (path, rows)."""
    df = label_history(store, dataset) if history else clip_labels(store, dataset)
    return write_table(df, out, fmt), len(df)
