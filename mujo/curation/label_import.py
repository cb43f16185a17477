"""Curation labels from files (CSV, JSON Lines, Parquet): a per-clip label file read as a stream, checked row by
row and appended to the store in one transaction (all rows valid, or nothing is written).

Every import is bounded: at most `label_read.MAX_IMPORT_BYTES` bytes and `label_read.MAX_IMPORT_ROWS` rows (module
constants; pass `max_bytes` / `max_rows` to override them for one call), read as a stream (only the checked events
are kept). Bad rows are listed up to `MAX_LISTED_PROBLEMS`, the rest are counted.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Mapping

from mujo.curation import label_read
from mujo.curation.label_export import file_format, plain_value
from mujo.curation.label_read import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, LabelFileTooLarge, read_table
from mujo.store.labels import LABELS, check_label_event
from mujo.store.runs import now_iso

if TYPE_CHECKING:
    from mujo.store import Store

RANGE_END_TOLERANCE_S = 1e-3  # a range may end this far past the clip's duration (rounding of hand-typed times)
MAX_LISTED_PROBLEMS = 100  # bad rows listed one by one; the rest are counted
_MAX_SHOWN_PROBLEMS = 20  # of those, in the exception's message (the CLI prints it)
__all__ = ["MAX_IMPORT_BYTES", "MAX_IMPORT_ROWS", "MAX_LISTED_PROBLEMS", "ImportReport", "LabelFileTooLarge",
           "LabelImportError", "import_bytes", "import_labels", "parse_label_file", "read_table"]


class LabelImportError(ValueError):
    """A label file with bad rows; `problems` lists the first `MAX_LISTED_PROBLEMS` of them, each as
    "<file>: row N: <problem>", `more` counts the rest and `bad_rows` the rows with a problem. Nothing was written."""

    def __init__(self, problems: list[str], more: int = 0, bad_rows: int | None = None):
        self.problems, self.more = problems, more
        self.bad_rows = len(problems) + more if bad_rows is None else bad_rows
        shown = problems[:_MAX_SHOWN_PROBLEMS]
        rest = len(problems) - len(shown) + more
        super().__init__("\n".join(shown + ([f"... and {rest:,} more"] if rest else [])))


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


def _column_problem(name: str, columns: Mapping[str, Any]) -> str | None:
    """Why a file with these columns is not a per-clip label file (None: it may be one)."""
    if "undo_of" in columns:
        return f"{name}: this is a history export (it has undo_of); import a per-clip export instead"
    if "window" in columns and "t0_s" not in columns:
        return f"{name}: this is a per-window export; import a per-clip export instead"
    missing = [c for c in ("clip_id", "label") if c not in columns]
    if missing:
        return f"{name}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
    return None


def parse_label_file(path: str | Path | IO[bytes], durations: Mapping[str, float] | None = None,
                     annotator: str | None = None, *, name: str | None = None, max_rows: int | None = None,
                     max_bytes: int | None = None) -> list[dict[str, Any]]:
    """Read and validate a per-clip label file (as `label_export.clip_labels` writes it; only clip_id and label are
    required), row by row as it is read: only the events are kept.

    Args:
        path: .csv, .jsonl or .parquet, or an open binary file (read from its start) named by `name`.
        durations: clip_id -> duration in seconds of the dataset's clips; when given, unknown clip ids and ranges
            past a clip's end are errors.
        annotator: given to rows whose annotator is empty.
        name: the file's name in messages (its extension gives the format); default: `path`.
        max_rows, max_bytes: the limits (default MAX_IMPORT_ROWS, MAX_IMPORT_BYTES).
    Returns:
        The events to append, in file order.
    Raises:
        LabelImportError: the bad rows, each named "<file>: row N: <problem>" (or "line N" for JSON Lines), the
            first MAX_LISTED_PROBLEMS listed and the rest counted.
        LabelFileTooLarge: over the byte or row limit.
        ValueError: the file cannot be read or is not a per-clip label file.
    """
    name = str(name or path)
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    more = bad_rows = 0
    with label_read.open_table(path, name, max_rows, max_bytes) as table:
        checked = table.fmt == "jsonl"  # JSON Lines' columns are known at the end; the others' at the first row
        for where, raw in table.rows:
            if not checked:  # a file with no rows is an empty import, whatever its columns
                checked = True
                why = _column_problem(name, table.columns)
                if why:
                    raise ValueError(why)
            event, bad = _check_row(raw, durations, annotator)
            if event is not None:
                events.append(event)
                continue
            bad_rows += 1
            room = max(0, MAX_LISTED_PROBLEMS - len(problems))
            problems += [f"{name}: {where}: {p}" for p in bad[:room]]
            more += len(bad) - min(room, len(bad))
        columns = table.columns
    if not events and not problems:  # an empty file: no columns to check (JSON Lines has none)
        return []
    why = _column_problem(name, columns)
    if why:
        raise ValueError(why)
    if problems or more:
        raise LabelImportError(problems, more, bad_rows)
    return events


def import_labels(store: Store, dataset: str, path: str | Path | IO[bytes], *,
                  durations: Mapping[str, float] | None = None, annotator: str | None = None, dry_run: bool = False,
                  name: str | None = None, max_rows: int | None = None, max_bytes: int | None = None
                  ) -> ImportReport:
    """Append the labels of a file to the store in one transaction (all rows valid, or nothing is written).

    A row equal (label, activity, annotator, note) to the label in force on its exact range, counting earlier rows
    of the same file, is skipped as unchanged: importing a file twice adds nothing the second time. `created` is
    kept from the file (now when empty), so an export of store A imported into an empty store B gives B the same
    current labels as A (event ids aside).

    Args:
        store: the store. dataset: the store's key of the dataset (see `mujo.store.dataset_key`).
        path, durations, annotator, name, max_rows, max_bytes: as in `parse_label_file`.
        dry_run: validate and count, write nothing.
    Raises:
        LabelImportError, LabelFileTooLarge, ValueError: see `parse_label_file`.
    """
    name = str(name or path)
    events = parse_label_file(path, durations, annotator, name=name, max_rows=max_rows, max_bytes=max_bytes)
    added, unchanged, ids = store.add_new_label_events(dataset, events, dry_run=dry_run)
    return ImportReport(Path(name), len(events), added, unchanged, dry_run, ids)


def import_bytes(store: Store, dataset: str, name: str, data: bytes | IO[bytes], **kw: Any) -> ImportReport:
    """`import_labels` of an upload: its bytes or its open binary file (read in place, from its start; never
    copied), named `name` (only its last part is used: its extension gives the format; problems and the report
    name it).

    Raises:
        LabelImportError, LabelFileTooLarge, ValueError: as `import_labels`.
    """
    name = Path(str(name).replace("\\", "/")).name or "labels"
    file_format(name)  # a clear error before anything is read
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    return import_labels(store, dataset, stream, name=name, **kw)
