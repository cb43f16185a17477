"""Curation labels as an append-only event log: a label is never edited, only superseded or undone."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pandas as pd

from mujo.store.runs import now_iso
from mujo.store.schema import write

# "null" is HAR's NULL class (no exercise), "activity" an exercise (named in `activity`), "unsure" needs a second
# look, "bad" unusable data (broken pose, wrong chapter ...).
LABELS = ("null", "activity", "unsure", "bad")
EVENT_COLUMNS = ["id", "dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created",
                 "undo_of"]


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
            activity: the exercise, for label "activity".
        Returns:
            The event id.
        Raises:
            ValueError: unknown label or an empty/inverted range.
        """
        if label not in LABELS:
            raise ValueError(f"label {label!r} is not one of {LABELS}")
        if t1_s is not None and not float(t1_s) > float(t0_s):
            raise ValueError(f"label range of clip {clip_id!r} is empty: t0_s={t0_s} >= t1_s={t1_s}")
        if float(t0_s) < 0:
            raise ValueError(f"label range of clip {clip_id!r} starts before the clip: t0_s={t0_s}")
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(
                "INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, activity, annotator, note, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (dataset, clip_id, float(t0_s), None if t1_s is None else float(t1_s), label, activity, annotator,
                 note, now_iso()))
            return int(cur.lastrowid)

    def undo_label_event(self, event_id: int, *, annotator: str = "", note: str = "") -> int:
        """Append an event that undoes an earlier label event (the range falls back to its previous label).

        Returns:
            The id of the undo event.
        Raises:
            ValueError: no such event, it is itself an undo, or it was already undone.
        """
        with closing(self.connect()) as conn, write(conn):
            row = conn.execute("SELECT * FROM label_events WHERE id = ?", (int(event_id),)).fetchone()
            if row is None:
                raise ValueError(f"no label event {event_id}")
            if row["undo_of"] is not None:
                raise ValueError(f"label event {event_id} is an undo; add the label again instead")
            if conn.execute("SELECT 1 FROM label_events WHERE undo_of = ?", (int(event_id),)).fetchone():
                raise ValueError(f"label event {event_id} was already undone")
            cur = conn.execute(
                "INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, annotator, note, created, undo_of)"
                " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (row["dataset"], row["clip_id"], row["t0_s"], row["t1_s"], annotator, note, now_iso(),
                 int(event_id)))
            return int(cur.lastrowid)

    def label_events(self, dataset: str, clip_id: str | None = None) -> pd.DataFrame:
        """The full event log of a dataset (or one clip), oldest first."""
        sql, args = "SELECT * FROM label_events WHERE dataset = ?", [dataset]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", args + [clip_id]
        with closing(self.connect()) as conn:
            df = pd.read_sql_query(sql + " ORDER BY id", conn, params=args)
        return df[EVENT_COLUMNS]

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
