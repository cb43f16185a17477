"""Write labels into the `label` column of a FiMAD folder's clips.csv, keeping every unchanged row's bytes."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mujo.fimad.errors import ReadOnlyError, WriteError
from mujo.fimad.layout import BACKUP_SUFFIX, CLIPS
from mujo.fimad.writer import atomic_write

__all__ = ["LabelColumnWrite", "write_label_column"]


@dataclass
class LabelColumnWrite:
    """What `write_label_column` did; each list holds clip ids (changed: (clip_id, old, new))."""

    path: Path  # the clips.csv
    written: bool = False  # False when no label changed (the file was left as it was)
    backup: Path | None = None  # the previous clips.csv, when a backup was asked for and the file was written
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # the label was already the one given
    unknown: list[str] = field(default_factory=list)  # not in clips.csv


class _Tap:
    """A line iterator that remembers the lines the csv reader took, so each record's raw text can be kept."""

    def __init__(self, f: io.StringIO):
        self.f, self.taken = f, []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self.f)
        self.taken.append(line)
        return line


def _ending(raw: str) -> str:
    return "\r\n" if raw.endswith("\r\n") else "\n" if raw.endswith("\n") else "\r" if raw.endswith("\r") else ""


def _record(cells: list[str], ending: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=ending).writerow(cells)
    return buf.getvalue()


def write_label_column(root: str | Path, labels: Mapping[str, str | None], *,
                       backup: bool = False) -> LabelColumnWrite:
    """Set the `label` of some clips in a FiMAD folder's clips.csv.

    Rows that do not change keep their exact bytes (other columns, quoting, line endings, BOM, order); a changed
    row is re-quoted minimally. A missing `label` column is appended. The file is replaced atomically and keeps its
    permission bits; nothing is written when no label changes.

    Args:
        root: the dataset folder.
        labels: clip_id -> its new label; None keeps the clip's existing label.
        backup: copy the previous clips.csv to clips.csv.bak first (atomically, with its permission bits and times).
    Returns:
        What changed, what was already so, and which clips clips.csv does not list.
    Raises:
        ReadOnlyError: the folder or clips.csv is not writable. FileNotFoundError: no clips.csv.
        WriteError (a ValueError): clips.csv is not UTF-8 or has no clip_id column.
    """
    limit = csv.field_size_limit()  # process-wide: raised for this file's reader only, then put back
    try:
        return _write_label_column(Path(root), labels, backup)
    finally:
        csv.field_size_limit(limit)


def _write_label_column(root: Path, labels: Mapping[str, str | None], backup: bool) -> LabelColumnWrite:
    path = Path(root) / CLIPS
    report = LabelColumnWrite(path)
    raw_bytes = path.read_bytes()
    bom = raw_bytes.startswith(b"\xef\xbb\xbf")
    try:
        text = raw_bytes[3 if bom else 0:].decode("utf-8")
    except UnicodeDecodeError as e:
        raise WriteError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    tap = _Tap(io.StringIO(text, newline=""))
    # a cell may be as long as the file (a 200 kB title): csv's default 128 kB field limit would refuse it
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    reader = csv.reader(tap)
    header = next(reader, None)
    if header is None or "clip_id" not in [h.strip() for h in header]:
        raise WriteError(f"{path}: needs a header row with a clip_id column")
    head_raw = "".join(tap.taken)
    tap.taken.clear()
    names = [h.strip() for h in header]
    add_column = "label" not in names
    col, id_col = (len(header) if add_column else names.index("label")), names.index("clip_id")
    end = _ending(head_raw)
    out = [head_raw[: len(head_raw) - len(end)] + ",label" + end if add_column else head_raw]
    seen: set[str] = set()
    for cells in reader:
        raw = "".join(tap.taken)
        tap.taken.clear()
        clip = cells[id_col].strip() if len(cells) > id_col else ""
        old = cells[col] if len(cells) > col else ""
        new = old
        if clip in labels:
            seen.add(clip)
            if labels[clip] is not None:
                new = labels[clip]
                if new != old:
                    report.changed.append((clip, old, new))
                else:
                    report.unchanged.append(clip)
        end = _ending(raw)
        if add_column and len(cells) == len(header):  # append the cell: the row's own bytes stay as they were
            out.append(raw[: len(raw) - len(end)] + "," + (_record([new], "") if new else "") + end)
        elif (add_column and cells) or new != old:
            cells += [""] * (col + 1 - len(cells))
            cells[col] = new
            out.append(_record(cells, end))
        else:
            out.append(raw)
    report.unknown = [c for c in labels if c not in seen]
    if not report.changed:  # nothing to change (an empty added column alone is not worth a rewrite)
        return report
    for target in (path.parent, path):
        if not os.access(target, os.W_OK):
            raise ReadOnlyError(f"{target} is read-only: cannot write labels into {path} "
                                "(make it writable or copy the dataset)")
    body = ("\ufeff" if bom else "") + "".join(out)
    try:
        if backup:  # the bytes read above, atomically: a kill never leaves half a backup
            report.backup = path.with_name(path.name + BACKUP_SUFFIX)
            atomic_write(report.backup, lambda f: f.write(raw_bytes))
            shutil.copystat(path, report.backup)
        mode = path.stat().st_mode
        atomic_write(path, lambda f: f.write(body.encode("utf-8")))
        os.chmod(path, mode & 0o7777)
    except PermissionError as e:
        raise ReadOnlyError(f"cannot write labels into {path}: {e.strerror or e}") from None
    report.written = True
    return report
