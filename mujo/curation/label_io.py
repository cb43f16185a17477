"""Curation labels to and from files (CSV, JSON Lines, Parquet): per-clip export, event history, validated import.

The store names a dataset by a key (the app uses a FiMAD folder's resolved path, else the manifest name; see
`dataset_key`); every function here takes that key explicitly. Per-window labels and writing clips.csv live in
`mujo.curation.label_windows`.
"""

from __future__ import annotations

import csv
import json
import math
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from mujo.store.labels import LABELS, check_label_event
from mujo.store.runs import now_iso
from mujo.store.schema import write

if TYPE_CHECKING:
    from mujo.store import Store

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
CLIP_COLUMNS = ["dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created", "event_id"]
HISTORY_COLUMNS = ["event_id", "dataset", "clip_id", "t0_s", "t1_s", "kind", "label", "activity", "annotator", "note",
                   "created", "undo_of", "before_label", "before_activity", "before_event_id", "after_label",
                   "after_activity", "after_event_id"]
RANGE_END_TOLERANCE_S = 1e-3  # a range may end this far past the clip's duration (rounding of hand-typed times)
_MAX_SHOWN_PROBLEMS = 20


def dataset_key(dataset: str | Path) -> str:
    """The store's key of a dataset: a folder's resolved path (what the app's pages use), any other text as given."""
    path = Path(dataset).expanduser()
    return str(path.resolve()) if path.is_dir() else str(dataset)


# --- values and files ------------------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _py(v: Any) -> Any:
    """A plain Python value for JSON and CSV (numpy scalars unwrapped, NaN/NA -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if _missing(v) else v


def _cell(v: Any) -> str:
    v = _py(v)
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


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
    """Write a frame as CSV (RFC 4180, empty = missing), JSON Lines (null = missing) or Parquet; text stays text."""
    path, fmt = Path(path), file_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [[_py(v) for v in row] for row in df.itertuples(index=False, name=None)]
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(df.columns)
            w.writerows([_cell(v) for v in row] for row in records)
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for row in records:
                f.write(json.dumps(dict(zip(df.columns, row)), ensure_ascii=False) + "\n")
    else:
        df.to_parquet(path, index=False)
    return path


def read_table(path: str | Path) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """The columns and the records of a label file, each record with where it is ("row 3", "line 7").

    CSV cells are read as text; rows are counted from 1 after the header. Raises ValueError naming the file.
    """
    path = Path(path)
    fmt = file_format(path)
    try:
        if fmt == "csv":
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.DictReader(f)
                rows = [(f"row {i}", dict(r)) for i, r in enumerate(reader, 1)]
                return [c for c in reader.fieldnames or []], rows
        if fmt == "jsonl":
            rows, columns = [], {}
            with open(path, encoding="utf-8-sig") as f:
                for i, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{path}: line {i}: invalid JSON ({e.msg})") from None
                    if not isinstance(obj, dict):
                        raise ValueError(f"{path}: line {i}: expected a JSON object, got {type(obj).__name__}")
                    rows.append((f"line {i}", obj))
                    columns.update(dict.fromkeys(obj))
            return list(columns), rows
        df = pd.read_parquet(path)
        return [str(c) for c in df.columns], [(f"row {i}", {k: _py(v) for k, v in zip(df.columns, r)})
                                              for i, r in enumerate(df.itertuples(index=False, name=None), 1)]
    except FileNotFoundError:
        raise ValueError(f"{path}: not found") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (OSError, csv.Error, ImportError) as e:
        raise ValueError(f"{path}: cannot be read as {fmt} ({e})") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises its own types for a broken Parquet file
        if fmt != "parquet":
            raise
        raise ValueError(f"{path}: cannot be read as parquet ({e})") from None


# --- exports ---------------------------------------------------------------------------------------------
def clip_labels(store: Store, dataset: str) -> pd.DataFrame:
    """One row per labelled range in force (CLIP_COLUMNS; t1_s missing = to the clip's end). No store: no rows."""
    if not Path(store.path).exists():
        return pd.DataFrame(columns=CLIP_COLUMNS)
    cur = store.current_labels(dataset).rename(columns={"id": "event_id"})[CLIP_COLUMNS].astype(object)
    return cur.where(cur.notna(), None).reset_index(drop=True)


def _events(conn: Any, dataset: str, clip_id: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM label_events WHERE dataset = ?", [dataset]
    if clip_id is not None:
        sql, args = sql + " AND clip_id = ?", args + [clip_id]
    return [dict(r) for r in conn.execute(sql + " ORDER BY id", args)]


def _range(e: Mapping[str, Any]) -> tuple[str, float, float | None]:
    """What a later event supersedes: the same clip and exactly the same range."""
    return e["clip_id"], float(e["t0_s"]), None if e["t1_s"] is None else float(e["t1_s"])


def _in_force(events: list[Mapping[str, Any]]) -> dict[tuple, Mapping[str, Any]]:
    """The label event in force per range: the latest one not undone (as `Store.current_labels`)."""
    undone = {e["undo_of"] for e in events if e["undo_of"] is not None}
    out: dict[tuple, Mapping[str, Any]] = {}
    for e in events:  # oldest first
        if e["undo_of"] is None and e["id"] not in undone:
            out[_range(e)] = e
    return out


def label_history(store: Store, dataset: str, clip_id: str | None = None) -> pd.DataFrame:
    """The full event log, undo events included, with the label in force on the event's range before and after it.

    "The range" is the store's unit of superseding: the same clip and exactly the same (t0_s, t1_s). An undo of an
    event that was already superseded changes nothing (before == after). No label in force: empty before/after.

    Returns:
        HISTORY_COLUMNS, oldest event first; `kind` is "label" or "undo".
    """
    if not Path(store.path).exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    with closing(store.connect()) as conn:
        events = _events(conn, dataset, clip_id)
    by_id = {e["id"]: e for e in events}
    active: dict[tuple, list[Mapping[str, Any]]] = {}  # per range: label events not undone, oldest first
    rows = []
    for e in events:
        stack = active.setdefault(_range(e), [])
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


# --- import ----------------------------------------------------------------------------------------------
class LabelImportError(ValueError):
    """A label file with bad rows; `problems` lists each as "<file>: row N: <problem>". Nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:_MAX_SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more"] if more else [])))


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    path: Path
    rows: int
    added: int
    unchanged: int
    dry_run: bool
    event_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        return (f"{self.path}: {self.rows} rows, {verb} {self.added} label events, "
                f"{self.unchanged} unchanged (identical to the label in force)")


def _text(v: Any) -> str:
    v = _py(v)
    return "" if v is None else str(v)


def _number(v: Any) -> float | None:
    """A finite number, None when missing/empty; raises ValueError with the offending text."""
    v = _py(v)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        raise ValueError(repr(v))
    try:
        x = float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError):
        raise ValueError(repr(v)) from None
    if not math.isfinite(x):
        raise ValueError(repr(v))
    return x


def _check_row(raw: Mapping[str, Any], durations: Mapping[str, float] | None, annotator: str | None
               ) -> tuple[dict[str, Any] | None, list[str]]:
    """The event a row asks for, or the problems with it."""
    problems = []
    clip = _text(raw.get("clip_id")).strip()
    if not clip:
        problems.append("clip_id is empty")
    elif durations is not None and clip not in durations:
        problems.append(f"clip id {clip!r} is not in the dataset")
    label = _text(raw.get("label")).strip()
    if label not in LABELS:
        problems.append(f"label {label!r} is not one of {', '.join(LABELS)}")
    t0 = t1 = None
    try:
        t0 = _number(raw.get("t0_s")) or 0.0
        if t0 < 0:
            problems.append(f"t0_s {t0} is before the clip's start")
    except ValueError as e:
        problems.append(f"t0_s {e} is not a number")
    try:
        t1 = _number(raw.get("t1_s"))
        if t1 is not None and t0 is not None and not t1 > t0:
            problems.append(f"empty or inverted range: t0_s={t0} >= t1_s={t1}")
    except ValueError as e:
        problems.append(f"t1_s {e} is not a number")
    dur = durations.get(clip) if durations is not None else None
    if dur is not None and math.isfinite(dur) and t0 is not None:
        if t0 >= dur:
            problems.append(f"t0_s={t0} is at or after the end of the clip ({dur:g} s)")
        elif t1 is not None and t1 > dur + RANGE_END_TOLERANCE_S:
            problems.append(f"t1_s={t1} is after the end of the clip ({dur:g} s)")
    created = _text(raw.get("created")).strip()
    if created:
        try:
            datetime.fromisoformat(created)
        except ValueError:
            problems.append(f"created {created!r} is not an ISO 8601 time")
    if problems:
        return None, problems
    activity = _text(raw.get("activity")) or None  # CSV cannot tell "" from missing: both mean no activity
    try:  # the store's own rules (text, lengths, activity only with "activity"), as for a label set in the app
        event = check_label_event(clip, label, t0_s=t0, t1_s=t1, activity=activity,
                                  annotator=_text(raw.get("annotator")) or (annotator or ""),
                                  note=_text(raw.get("note")))
    except ValueError as e:
        return None, [str(e)]
    return {**event, "created": created or now_iso()}, []


def parse_label_file(path: str | Path, durations: Mapping[str, float] | None = None,
                     annotator: str | None = None) -> list[dict[str, Any]]:
    """Read and validate a per-clip label file (as `clip_labels` writes it; only clip_id and label are required).

    Args:
        path: .csv, .jsonl or .parquet.
        durations: clip_id -> duration in seconds of the dataset's clips; when given, unknown clip ids and ranges
            past a clip's end are errors.
        annotator: given to rows whose annotator is empty.
    Returns:
        The events to append, in file order.
    Raises:
        LabelImportError: every bad row, each named "<file>: row N: <problem>" (or "line N" for JSON Lines).
        ValueError: the file cannot be read or is not a per-clip label file.
    """
    columns, rows = read_table(path)
    if not rows:  # an empty JSON Lines file has no columns to check
        return []
    if "undo_of" in columns:
        raise ValueError(f"{path}: this is a history export (it has undo_of); import a per-clip export instead")
    if "window" in columns and "t0_s" not in columns:
        raise ValueError(f"{path}: this is a per-window export; import a per-clip export instead")
    missing = [c for c in ("clip_id", "label") if c not in columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}")
    events, problems = [], []
    for where, raw in rows:
        event, bad = _check_row(raw, durations, annotator)
        problems += [f"{path}: {where}: {p}" for p in bad]
        if event is not None:
            events.append(event)
    if problems:
        raise LabelImportError(problems)
    return events


_SAME = ("label", "activity", "annotator", "note")


def import_labels(store: Store, dataset: str, path: str | Path, *, durations: Mapping[str, float] | None = None,
                  annotator: str | None = None, dry_run: bool = False) -> ImportReport:
    """Append the labels of a file to the store in one transaction (all rows valid, or nothing is written).

    A row equal (label, activity, annotator, note) to the label in force on its exact range, counting earlier rows
    of the same file, is skipped as unchanged: importing a file twice adds nothing the second time. `created` is
    kept from the file (now when empty), so an export of store A imported into an empty store B gives B the same
    current labels as A (event ids aside).

    Args:
        store: the store. dataset: the store's key of the dataset (see `dataset_key`).
        path, durations, annotator: as in `parse_label_file`.
        dry_run: validate and count, write nothing.
    Raises:
        LabelImportError, ValueError: see `parse_label_file`.
    """
    events = parse_label_file(path, durations, annotator)
    report = ImportReport(Path(path), len(events), 0, 0, dry_run)

    def apply(conn: Any) -> None:
        force = {k: dict(v) for k, v in _in_force(_events(conn, dataset) if conn is not None else []).items()}
        for e in events:
            key = _range(e)
            if key in force and all(force[key][c] == e[c] for c in _SAME):
                report.unchanged += 1
                continue
            report.added += 1
            force[key] = e
            if conn is not None and not dry_run:
                cur = conn.execute(
                    "INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, activity, annotator, note,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (dataset, e["clip_id"], e["t0_s"], e["t1_s"], e["label"], e["activity"], e["annotator"],
                     e["note"], e["created"]))
                report.event_ids.append(int(cur.lastrowid))

    if dry_run and not Path(store.path).exists():  # a dry run never creates the store
        apply(None)
        return report
    with closing(store.connect()) as conn:
        if dry_run:
            apply(conn)
        else:
            with write(conn):
                apply(conn)
    return report


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """`write_table`'s file as bytes (for a download)."""
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="mujo-labels-") as tmp:
        return write_table(df, Path(tmp) / f"labels.{fmt}", fmt).read_bytes()


def import_bytes(store: Store, dataset: str, name: str, data: bytes, **kw: Any) -> ImportReport:
    """`import_labels` of a file's content (an upload), named `name` (its extension gives the format; problems and
    the report name it, not the temporary copy).

    Raises:
        LabelImportError, ValueError: as `import_labels`.
    """
    import tempfile  # noqa: PLC0415

    name = Path(str(name).replace("\\", "/")).name or "labels"
    file_format(name)  # a clear error before anything is written
    with tempfile.TemporaryDirectory(prefix="mujo-labels-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            report = import_labels(store, dataset, path, **kw)
        except LabelImportError as e:
            raise LabelImportError([p.replace(str(path), name) for p in e.problems]) from None
        except ValueError as e:
            raise ValueError(str(e).replace(str(path), name)) from None
    report.path = Path(name)
    return report


def export_labels(store: Store, dataset: str, out: str | Path, *, fmt: str | None = None, history: bool = False
                  ) -> tuple[Path, int]:
    """Write the per-clip labels in force (or, with history, the whole event log) to `out`; (path, rows)."""
    df = label_history(store, dataset) if history else clip_labels(store, dataset)
    return write_table(df, out, fmt), len(df)
