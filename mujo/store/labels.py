"""Curation labels as an append-only event log: a label is never edited, only superseded or undone."""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from mujo.store.runs import now_iso
from mujo.store.schema import write

# "null" is HAR's NULL class (no exercise), "activity" an exercise (named in `activity`), "unsure" needs a second
# look, "bad" unusable data (broken pose, wrong chapter ...).
LABELS = ("null", "activity", "unsure", "bad")
EVENT_COLUMNS = ["id", "dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created",
                 "undo_of"]
MAX_NOTE_BYTES = 4096  # a note is a remark, not a document; the page shows it in a table cell
MAX_NAME_CHARS = 200  # annotator and activity names
ROW_KEYS = ("clip_id", "label", "t0_s", "t1_s", "activity", "annotator", "note")  # what a bulk row may hold
PROGRESS_COLUMNS = ["video", "clips", "labelled", "null", "activity", "unsure", "bad", "partly", "unlabelled",
                    "progress"]
ALL_VIDEOS = "(all)"  # the `video` of labelling_progress's overall row
_INSERT = ("INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, activity, annotator, note, created)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_MAX_SHOWN_PROBLEMS = 20
_SAME = ("label", "activity", "annotator", "note")  # an imported event equal in these to the label in force is a no-op


def dataset_key(dataset: str | Path) -> str:
    """The store's key of a dataset: a folder's resolved path (what the app's pages use), any other text as given."""
    path = Path(dataset).expanduser()
    return str(path.resolve()) if path.is_dir() else str(dataset)


def label_range(e: Mapping[str, Any]) -> tuple[str, float, float | None]:
    """What a later event supersedes: the same clip and exactly the same range."""
    return e["clip_id"], float(e["t0_s"]), None if e["t1_s"] is None else float(e["t1_s"])


def _in_force(events: list[Mapping[str, Any]]) -> dict[tuple, Mapping[str, Any]]:
    """The label event in force per range: the latest one not undone (as `Store.current_labels`)."""
    undone = {e["undo_of"] for e in events if e["undo_of"] is not None}
    out: dict[tuple, Mapping[str, Any]] = {}
    for e in events:  # oldest first
        if e["undo_of"] is None and e["id"] not in undone:
            out[label_range(e)] = e
    return out


def _event_rows(conn: sqlite3.Connection, dataset: str, clip_id: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM label_events WHERE dataset = ?", [dataset]
    if clip_id is not None:
        sql, args = sql + " AND clip_id = ?", args + [clip_id]
    return [dict(r) for r in conn.execute(sql + " ORDER BY id", args)]


def _text(value: Any, what: str, *, max_chars: int | None = None, max_bytes: int | None = None,
          one_line: bool = False) -> str:
    """`value` as a plain str, checked: any Unicode that UTF-8 can encode, no NUL, within the size limits."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a badly decoded file name
        raise ValueError(f"{what} is not valid Unicode text (it has a lone surrogate)") from None
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    if one_line and ("\n" in value or "\r" in value):
        raise ValueError(f"{what} must be one line")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{what} is {len(value)} characters long; at most {max_chars} are allowed")
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{what} is {size} bytes of UTF-8; at most {max_bytes} are allowed (shorten it)")
    return str(value)


def _seconds(value: Any, what: str) -> float:
    try:  # numpy scalars and numeric text too
        if isinstance(value, bool):
            raise TypeError
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds, got {value}")
    return value


def check_label_event(clip_id: str, label: str, *, t0_s: float = 0.0, t1_s: float | None = None,
                      activity: str | None = None, annotator: str = "", note: str = "") -> dict[str, Any]:
    """Validate one label event and return its normalised fields (the columns of an insert, less dataset/created).

    The activity is stripped and "" becomes None; it is only allowed with label "activity" (where it is optional).

    Raises:
        ValueError: what is wrong, naming the clip.
    """
    clip = _text(clip_id, "clip id", one_line=True)  # the dataset's identifier: no length cap
    if not clip:
        raise ValueError("clip id is empty")
    if label not in LABELS:
        raise ValueError(f"label {label!r} is not one of {LABELS}")
    t0 = _seconds(t0_s, f"t0_s of clip {clip!r}")
    t1 = None if t1_s is None else _seconds(t1_s, f"t1_s of clip {clip!r}")
    if t0 < 0:
        raise ValueError(f"label range of clip {clip!r} starts before the clip: t0_s={t0_s}")
    if t1 is not None and not t1 > t0:
        raise ValueError(f"label range of clip {clip!r} is empty: t0_s={t0_s} >= t1_s={t1_s}")
    if activity is not None:
        activity = _text(activity, f"activity of clip {clip!r}", max_chars=MAX_NAME_CHARS, one_line=True).strip()
        activity = activity or None
    if activity is not None and label != "activity":
        raise ValueError(f"clip {clip!r}: an activity name ({activity!r}) needs label 'activity', not {label!r}")
    return {"clip_id": clip, "t0_s": t0, "t1_s": t1, "label": label, "activity": activity,
            "annotator": _text(annotator, "annotator", max_chars=MAX_NAME_CHARS, one_line=True),
            "note": _text(note, f"note of clip {clip!r}", max_bytes=MAX_NOTE_BYTES)}


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _bulk_rows(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> list[Mapping[str, Any]]:
    if isinstance(rows, pd.DataFrame):  # missing cells (NaN/None/NA) mean "not given"
        return [{k: v for k, v in r.items() if not _missing(v)} for r in rows.to_dict("records")]
    if isinstance(rows, Mapping):
        raise ValueError("rows must be a list of mappings (one per event), got a single mapping")
    return list(rows)


class LabelsMixin:
    """Store methods for label events (mixed into `mujo.store.Store`, which provides `connect`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def add_label_event(self, dataset: str, clip_id: str, label: str, *, t0_s: float = 0.0,
                        t1_s: float | None = None, activity: str | None = None, annotator: str = "",
                        note: str = "") -> int:
        """Append a label for a clip or a time range of it.

        Args:
            dataset: the dataset's name or path (as the caller identifies it; compared exactly).
            clip_id: the clip.
            label: one of LABELS.
            t0_s, t1_s: the range in seconds from the clip start; t1_s None = to the clip's end. A later event with
                the same (clip, t0_s, t1_s) supersedes this one.
            activity: the exercise's (canonical) name, only with label "activity"; optional there.
            annotator: who labels (one line, at most MAX_NAME_CHARS). note: free text, at most MAX_NOTE_BYTES.
        Returns:
            The event id.
        Raises:
            ValueError: unknown label, an empty/inverted range, an activity with another label, text that is too
                long or not text (see `check_label_event`).
        """
        e = check_label_event(clip_id, label, t0_s=t0_s, t1_s=t1_s, activity=activity, annotator=annotator,
                              note=note)
        dataset = _text(dataset, "dataset")
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(_INSERT, (dataset, e["clip_id"], e["t0_s"], e["t1_s"], e["label"], e["activity"],
                                         e["annotator"], e["note"], now_iso()))
            return int(cur.lastrowid)

    def add_label_events(self, dataset: str, rows: Iterable[Mapping[str, Any]] | pd.DataFrame, *,
                         annotator: str = "", note: str = "") -> list[int]:
        """Append many label events in one transaction (bulk labelling of a selection): all of them, or none.

        Args:
            dataset: as in `add_label_event`.
            rows: one mapping per event with clip_id and label, optionally t0_s, t1_s, activity, annotator, note
                (other keys are an error). A DataFrame works too; its missing cells count as not given.
            annotator, note: for rows that do not give their own.
        Returns:
            The event ids, in row order.
        Raises:
            ValueError: every bad row ("row i: ..." counted from 0); nothing was written.
        """
        rows = _bulk_rows(rows)
        dataset = _text(dataset, "dataset")
        events, problems = [], []
        for i, row in enumerate(rows):
            try:
                if not isinstance(row, Mapping):
                    raise ValueError(f"expected a mapping, got {type(row).__name__}")
                unknown = sorted(map(str, set(row) - set(ROW_KEYS)))
                if unknown:
                    raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(ROW_KEYS)}")
                if "clip_id" not in row or "label" not in row:
                    raise ValueError("clip_id and label are required")
                events.append(check_label_event(**{"annotator": annotator, "note": note, **row}))
            except ValueError as err:
                problems.append(f"row {i}: {err}")
        if problems:
            more = len(problems) - _MAX_SHOWN_PROBLEMS
            raise ValueError(f"{len(problems)} of {len(rows)} label rows are invalid; nothing was written:\n"
                             + "\n".join(problems[:_MAX_SHOWN_PROBLEMS] + ([f"... and {more} more"] if more > 0
                                                                           else [])))
        if not events:
            return []
        created = now_iso()
        with closing(self.connect()) as conn, write(conn):
            return [int(conn.execute(_INSERT, (dataset, e["clip_id"], e["t0_s"], e["t1_s"], e["label"],
                                               e["activity"], e["annotator"], e["note"], created)).lastrowid)
                    for e in events]

    def undo_label_event(self, event_id: int, *, annotator: str = "", note: str = "") -> int:
        """Append an event that undoes an earlier label event (the range falls back to its previous label).

        Returns:
            The id of the undo event.
        Raises:
            ValueError: no such event, it is itself an undo, or it was already undone.
        """
        annotator = _text(annotator, "annotator", max_chars=MAX_NAME_CHARS, one_line=True)
        note = _text(note, "note", max_bytes=MAX_NOTE_BYTES)
        with closing(self.connect()) as conn, write(conn):
            row = conn.execute("SELECT * FROM label_events WHERE id = ?", (int(event_id),)).fetchone()
            if row is None:
                raise ValueError(f"no label event {event_id}")
            if row["undo_of"] is not None:
                raise ValueError(f"label event {event_id} is an undo; add the label again instead")
            if conn.execute("SELECT 1 FROM label_events WHERE undo_of = ?", (int(event_id),)).fetchone():
                raise ValueError(f"label event {event_id} was already undone")
            return self._insert_undo(conn, row, annotator, note)

    @staticmethod
    def _insert_undo(conn: sqlite3.Connection, row: sqlite3.Row, annotator: str, note: str) -> int:
        cur = conn.execute(
            "INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, annotator, note, created, undo_of)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)",
            (row["dataset"], row["clip_id"], row["t0_s"], row["t1_s"], annotator, note, now_iso(), int(row["id"])))
        return int(cur.lastrowid)

    def undo_last(self, dataset: str, clip_id: str, annotator: str) -> int | None:
        """Undo this annotator's latest label event on this clip that is not undone yet (the page's undo key).

        Pressing it again undoes the one before, and so on. Other annotators' events are never touched; an event
        of this annotator that someone else has since superseded is still "the latest" (undoing it changes nothing
        in force, as `undo_label_event` would).

        Returns:
            The id of the undo event, or None when there is nothing of this annotator's left to undo.
        """
        annotator = _text(annotator, "annotator", max_chars=MAX_NAME_CHARS, one_line=True)
        with closing(self.connect()) as conn, write(conn):  # find and undo under one lock: two presses, two events
            row = conn.execute(
                "SELECT * FROM label_events e WHERE e.dataset = ? AND e.clip_id = ? AND e.annotator = ?"
                " AND e.undo_of IS NULL AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undo_of = e.id)"
                " ORDER BY e.id DESC LIMIT 1", (dataset, clip_id, annotator)).fetchone()
            return None if row is None else self._insert_undo(conn, row, annotator, "")

    def label_events(self, dataset: str, clip_id: str | None = None) -> pd.DataFrame:
        """The full event log of a dataset (or one clip), oldest first.

        For the label in force before and after each event, see `mujo.curation.label_export.label_history`.
        """
        sql, args = "SELECT * FROM label_events WHERE dataset = ?", [dataset]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", args + [clip_id]
        with closing(self.connect()) as conn:
            df = pd.read_sql_query(sql + " ORDER BY id", conn, params=args)
        return df[EVENT_COLUMNS]

    def label_event_rows(self, dataset: str, clip_id: str | None = None) -> list[dict[str, Any]]:
        """The event log of a dataset (or one clip) as plain dicts (SQL NULL = None), oldest first."""
        with closing(self.connect()) as conn:
            return _event_rows(conn, dataset, clip_id)

    def add_new_label_events(self, dataset: str, events: Sequence[Mapping[str, Any]], *, dry_run: bool = False
                             ) -> tuple[int, int, list[int]]:
        """Append checked label events (`check_label_event`'s fields and `created`) in one transaction, skipping
        each that equals (label, activity, annotator, note) the label in force on its exact range, counting the
        events before it in `events`: adding the same events twice adds nothing the second time.

        Args:
            dataset: the store's key of the dataset.
            events: the events, in order.
            dry_run: count only; nothing is written, and a store file that does not exist is not created.
        Returns:
            (added, unchanged, the new event ids).
        """
        added, unchanged, ids = 0, 0, []

        def apply(conn: sqlite3.Connection | None) -> None:
            nonlocal added, unchanged
            force = {k: dict(v) for k, v in _in_force(_event_rows(conn, dataset) if conn is not None else []).items()}
            for e in events:
                key = label_range(e)
                if key in force and all(force[key][c] == e[c] for c in _SAME):
                    unchanged += 1
                    continue
                added += 1
                force[key] = e
                if conn is not None and not dry_run:
                    cur = conn.execute(_INSERT, (dataset, e["clip_id"], e["t0_s"], e["t1_s"], e["label"],
                                                 e["activity"], e["annotator"], e["note"], e["created"]))
                    ids.append(int(cur.lastrowid))

        if dry_run and not Path(getattr(self, "path", "")).exists():  # a dry run never creates the store
            apply(None)
        else:
            with closing(self.connect()) as conn:
                if dry_run:
                    apply(conn)
                else:
                    with write(conn):
                        apply(conn)
        return added, unchanged, ids

    def current_labels(self, dataset: str) -> pd.DataFrame:
        """The label in force per (clip_id, t0_s, t1_s): the latest event there that was not undone.

        Returns:
            DataFrame with EVENT_COLUMNS except undo_of, one row per labelled range, sorted by clip and t0_s
            (ranges whose every event was undone are absent).
        """
        sql = """
            SELECT e.* FROM label_events e
            WHERE e.dataset = ? AND e.undo_of IS NULL
              AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undo_of = e.id)
              AND e.id = (SELECT MAX(f.id) FROM label_events f
                          WHERE f.dataset = e.dataset AND f.clip_id = e.clip_id AND f.t0_s = e.t0_s
                            AND f.t1_s IS e.t1_s AND f.undo_of IS NULL
                            AND NOT EXISTS (SELECT 1 FROM label_events v WHERE v.undo_of = f.id))
            ORDER BY e.clip_id, e.t0_s, e.t1_s"""
        with closing(self.connect()) as conn:
            df = pd.read_sql_query(sql, conn, params=(dataset,))
        return df[[c for c in EVENT_COLUMNS if c != "undo_of"]].reset_index(drop=True)

    def whole_clip_labels(self, dataset: str) -> dict[str, tuple[str, str | None]]:
        """clip_id -> (label, activity) of the whole-clip labels in force (t0_s 0, open end); ranged labels are
        left out. A store file that does not exist yet holds none (and is not created)."""
        if not Path(getattr(self, "path", "")).exists():
            return {}
        cur = self.current_labels(dataset)
        whole = cur[(cur["t0_s"] == 0) & cur["t1_s"].isna()]
        return {str(c): (str(lab), None if _missing(act) else str(act))
                for c, lab, act in zip(whole["clip_id"], whole["label"], whole["activity"])}

    def labelling_progress(self, dataset: str, clip_ids_by_video: Mapping[str, Iterable[str]]) -> pd.DataFrame:
        """How far labelling has come, per video and overall, from the labels in force.

        A clip is "labelled" when a whole-clip label (t0_s 0, open end) is in force; its label is counted in
        null/activity/unsure/bad. A clip with only ranged labels in force is "partly" labelled; the rest are
        "unlabelled". Labels of clips not in `clip_ids_by_video` are ignored.

        Args:
            dataset: the store's key of the dataset.
            clip_ids_by_video: video -> its clip ids.
        Returns:
            PROGRESS_COLUMNS, one row per video in the mapping's order, then the overall row (video ALL_VIDEOS,
            each distinct clip counted once); progress = labelled / clips (0 for no clips).
        """
        cur = self.current_labels(dataset)
        whole = cur[(cur["t0_s"] == 0) & cur["t1_s"].isna()]
        whole_label = dict(zip(whole["clip_id"], whole["label"]))
        ranged = set(cur["clip_id"]) - set(whole_label)

        def row(video: str, clips: list[str]) -> dict[str, Any]:
            clips = list(dict.fromkeys(clips))
            labels = [whole_label[c] for c in clips if c in whole_label]
            partly = sum(c in ranged for c in clips)
            return {"video": video, "clips": len(clips), "labelled": len(labels),
                    **{name: labels.count(name) for name in LABELS}, "partly": partly,
                    "unlabelled": len(clips) - len(labels) - partly,
                    "progress": len(labels) / len(clips) if clips else 0.0}

        groups = {str(v): [str(c) for c in clips] for v, clips in clip_ids_by_video.items()}  # iterators: once
        rows = [row(v, clips) for v, clips in groups.items()]
        rows.append(row(ALL_VIDEOS, [c for clips in groups.values() for c in clips]))
        return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
