"""Curation labels from files (CSV, JSON Lines, Parquet): a per-clip label file read, checked row by row and
appended to the store in one transaction (all rows valid, or nothing is written)."""

from __future__ import annotations

import csv
import json
import math
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from mujo.curation.label_export import file_format, plain_value
from mujo.store.labels import LABELS, check_label_event
from mujo.store.runs import now_iso

if TYPE_CHECKING:
    from mujo.store import Store

RANGE_END_TOLERANCE_S = 1e-3  # a range may end this far past the clip's duration (rounding of hand-typed times)
_MAX_SHOWN_PROBLEMS = 20


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
        return [str(c) for c in df.columns], [(f"row {i}", {k: plain_value(v) for k, v in zip(df.columns, r)})
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
    v = plain_value(v)
    return "" if v is None else str(v)


def _number(v: Any) -> float | None:
    """A finite number, None when missing/empty; raises ValueError with the offending text."""
    v = plain_value(v)
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
    """Read and validate a per-clip label file (as `label_export.clip_labels` writes it; only clip_id and label are
    required).

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


def import_labels(store: Store, dataset: str, path: str | Path, *, durations: Mapping[str, float] | None = None,
                  annotator: str | None = None, dry_run: bool = False) -> ImportReport:
    """Append the labels of a file to the store in one transaction (all rows valid, or nothing is written).

    A row equal (label, activity, annotator, note) to the label in force on its exact range, counting earlier rows
    of the same file, is skipped as unchanged: importing a file twice adds nothing the second time. `created` is
    kept from the file (now when empty), so an export of store A imported into an empty store B gives B the same
    current labels as A (event ids aside).

    Args:
        store: the store. dataset: the store's key of the dataset (see `mujo.store.dataset_key`).
        path, durations, annotator: as in `parse_label_file`.
        dry_run: validate and count, write nothing.
    Raises:
        LabelImportError, ValueError: see `parse_label_file`.
    """
    events = parse_label_file(path, durations, annotator)
    added, unchanged, ids = store.add_new_label_events(dataset, events, dry_run=dry_run)
    return ImportReport(Path(path), len(events), added, unchanged, dry_run, ids)


def import_bytes(store: Store, dataset: str, name: str, data: bytes, **kw: Any) -> ImportReport:
    """`import_labels` of a file's content (an upload), named `name` (its extension gives the format; problems and
    the report name it, not the temporary copy).

    Raises:
        LabelImportError, ValueError: as `import_labels`.
    """
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
