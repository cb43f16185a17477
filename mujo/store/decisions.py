"""Versioned curation decisions: a decision names the label event it saw in force and is applied only if that is
still in force, once per request id; the labels in force of one clip, the newest events, each annotator's labels.

Several annotators label at once. A plain `add_label_event` appends whatever is in force, so the later of two
annotators would silently win. `decide_label` instead takes, in one BEGIN IMMEDIATE transaction, the event in force
on the range (its id, 0 for none) and compares it with the `base_event` the annotator saw: equal, the event is
appended; different, nothing is written and the caller gets a conflict naming who changed the range, when and to
what. A `request_id` makes a retry (a lost reply, a restarted server) return the first answer without a second row.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mujo.store.labels import _text, check_label_event
from mujo.store.runs import now_iso
from mujo.store.schema import write

MAX_REQUEST_CHARS = 200
APPLIED, REPLAYED, CONFLICT = "applied", "replayed", "conflict"
_NOT_UNDONE = "NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undo_of = e.id)"
_INSERT = ("INSERT INTO label_events (dataset, clip_id, t0_s, t1_s, label, activity, annotator, note, created,"
           " base_event, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True)
class Decision:
    """What `decide_label` did.

    status: APPLIED (a new event), REPLAYED (this request id was applied before: its event, nothing new written) or
        CONFLICT (the range changed since the annotator saw it: nothing written).
    event_id: the applied (or replayed) event; None on a conflict.
    current: on a conflict, the label event in force now (a dict of its columns), None when none is.
    change: on a conflict, the newest event on the range (a label, or the undo that took one back): who changed it.
    """

    status: str
    event_id: int | None = None
    current: dict[str, Any] | None = None
    change: dict[str, Any] | None = field(default=None)

    @property
    def applied(self) -> bool:
        return self.status in (APPLIED, REPLAYED)


def range_in_force(conn: sqlite3.Connection, dataset: str, clip_id: str, t0_s: float, t1_s: float | None
                   ) -> dict[str, Any] | None:
    """The label event in force on exactly this range (the newest label not undone), None when none is."""
    row = conn.execute(
        "SELECT * FROM label_events e WHERE e.dataset = ? AND e.clip_id = ? AND e.t0_s = ? AND e.t1_s IS ?"
        f" AND e.undo_of IS NULL AND {_NOT_UNDONE} ORDER BY e.id DESC LIMIT 1",
        (dataset, clip_id, t0_s, t1_s)).fetchone()
    return None if row is None else dict(row)


def apply_decision(conn: sqlite3.Connection, dataset: str, e: dict[str, Any], base_event: int,
                   request_id: str | None) -> Decision:
    """Inside a write transaction: replay a known request id, report a conflict, or append the event."""
    if request_id is not None:
        prev = conn.execute("SELECT id, dataset, clip_id FROM label_events WHERE request_id = ?",
                            (request_id,)).fetchone()
        if prev is not None:
            if (prev["dataset"], prev["clip_id"]) != (dataset, e["clip_id"]):
                raise ValueError(f"request id {request_id!r} was used for another clip")
            return Decision(REPLAYED, int(prev["id"]))
    current = range_in_force(conn, dataset, e["clip_id"], e["t0_s"], e["t1_s"])
    if (0 if current is None else int(current["id"])) != base_event:
        change = conn.execute(
            "SELECT e.*, o.label AS undone_label, o.activity AS undone_activity, o.annotator AS undone_annotator"
            " FROM label_events e LEFT JOIN label_events o ON o.id = e.undo_of"
            " WHERE e.dataset = ? AND e.clip_id = ? AND e.t0_s = ? AND e.t1_s IS ? ORDER BY e.id DESC LIMIT 1",
            (dataset, e["clip_id"], e["t0_s"], e["t1_s"])).fetchone()
        return Decision(CONFLICT, None, current, None if change is None else dict(change))
    cur = conn.execute(_INSERT, (dataset, e["clip_id"], e["t0_s"], e["t1_s"], e["label"], e["activity"],
                                 e["annotator"], e["note"], now_iso(), base_event, request_id))
    return Decision(APPLIED, int(cur.lastrowid))


def check_request(request_id: str | None) -> str | None:
    if request_id is None:
        return None
    rid = _text(request_id, "request id", max_chars=MAX_REQUEST_CHARS, one_line=True)
    if not rid:
        raise ValueError("request id is empty")
    return rid


def check_base(base_event: Any) -> int:
    if isinstance(base_event, bool) or not isinstance(base_event, int) or base_event < 0:
        raise ValueError(f"base_event must be an event id or 0 (none in force), got {base_event!r}")
    return int(base_event)


def merge_in_force(labels: pd.DataFrame, touched: list[tuple[str, float, float | None]],
                   rows: list[dict[str, Any]]) -> pd.DataFrame:
    """`Store.current_labels` brought up to date with `labels_changed_since`'s touched ranges and their labels in
    force: the same rows, in the same order, as reading `current_labels` again."""
    cols = list(labels.columns)
    keys = set(touched)
    near = labels["clip_id"].isin({c for c, _, _ in touched}).to_numpy()
    drop = np.zeros(len(labels), dtype=bool)
    for i in np.flatnonzero(near):
        t1 = labels["t1_s"].iat[i]
        drop[i] = (labels["clip_id"].iat[i], float(labels["t0_s"].iat[i]),
                   None if t1 is None or pd.isna(t1) else float(t1)) in keys
    new = pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
    out = pd.concat([labels[~drop], new], ignore_index=True) if len(new) else labels[~drop]
    # SQLite sorts NULL first: a whole clip's open end before any range of it that starts at the same time
    return out.sort_values(["clip_id", "t0_s", "t1_s"], na_position="first", kind="stable").reset_index(drop=True)


class DecisionsMixin:
    """Store methods for versioned decisions and the reads the Curation page needs (mixed into `Store`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def decide_label(self, dataset: str, clip_id: str, label: str, *, base_event: int, request_id: str | None = None,
                     t0_s: float = 0.0, t1_s: float | None = None, activity: str | None = None, annotator: str = "",
                     note: str = "") -> Decision:
        """Append a label only if the range's label in force is still the one the annotator saw.

        Args:
            dataset, clip_id, label, t0_s, t1_s, activity, annotator, note: as in `add_label_event`.
            base_event: the id of the event in force on the range when the annotator saw it; 0 for none.
            request_id: an idempotency key (unique over the store); a decision retried with it is applied once.
        Returns:
            A `Decision`: applied, replayed or conflict (nothing written).
        Raises:
            ValueError: an invalid event (see `check_label_event`), base_event or request id, or a request id used
                before for another clip.
        """
        e = check_label_event(clip_id, label, t0_s=t0_s, t1_s=t1_s, activity=activity, annotator=annotator,
                              note=note)
        dataset, base, rid = _text(dataset, "dataset"), check_base(base_event), check_request(request_id)
        with closing(self.connect()) as conn, write(conn):
            return apply_decision(conn, dataset, e, base, rid)

    def clip_in_force(self, dataset: str, clip_id: str) -> list[dict[str, Any]]:
        """The label events in force on one clip, one per range (sorted by t0_s, t1_s): what its page shows."""
        with closing(self.connect()) as conn:
            rows = [dict(r) for r in conn.execute(
                "SELECT * FROM label_events e WHERE e.dataset = ? AND e.clip_id = ? AND e.undo_of IS NULL"
                f" AND {_NOT_UNDONE} ORDER BY e.id", (dataset, clip_id))]
        force: dict[tuple, dict[str, Any]] = {}
        for r in rows:  # oldest first: the newest per range wins
            force[(float(r["t0_s"]), r["t1_s"])] = r
        return sorted(force.values(), key=lambda r: (r["t0_s"], r["t1_s"] is None, r["t1_s"] or 0.0))

    def recent_label_events(self, dataset: str, limit: int = 10) -> list[dict[str, Any]]:
        """The dataset's newest `limit` events, newest first; an undo carries the undone event's label and activity
        (undone_label, undone_activity). Reads only those rows (index on (dataset, id))."""
        with closing(self.connect()) as conn:
            return [dict(r) for r in conn.execute(
                "SELECT e.*, o.label AS undone_label, o.activity AS undone_activity FROM label_events e"
                " LEFT JOIN label_events o ON o.id = e.undo_of WHERE e.dataset = ? ORDER BY e.id DESC LIMIT ?",
                (dataset, max(0, int(limit))))]

    def last_event_id(self, dataset: str) -> int:
        """The id of the dataset's newest event (0: none): changes with every label, undo or import."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT MAX(id) FROM label_events WHERE dataset = ?", (dataset,)).fetchone()
        return int(row[0] or 0)

    def labels_changed_since(self, dataset: str, after_event: int
                             ) -> tuple[int, list[tuple[str, float, float | None]], list[dict[str, Any]]]:
        """What changed in the labels in force after an event, read in one snapshot: (the newest event id, every
        (clip_id, t0_s, t1_s) range an event after `after_event` touched, the label event in force on each touched
        range that has one). Lets a reader keep `current_labels` up to date without reading the dataset again."""
        with closing(self.connect()) as conn:
            conn.execute("BEGIN")  # a read snapshot
            try:
                newest = int(conn.execute("SELECT MAX(id) FROM label_events WHERE dataset = ?",
                                          (dataset,)).fetchone()[0] or 0)
                touched = [(r[0], float(r[1]), r[2]) for r in conn.execute(
                    "SELECT DISTINCT clip_id, t0_s, t1_s FROM label_events WHERE dataset = ? AND id > ? AND id <= ?",
                    (dataset, int(after_event), newest))]
                rows = [r for c, a, b in touched if (r := range_in_force(conn, dataset, c, a, b)) is not None]
            finally:
                conn.execute("COMMIT")
        return newest, touched, rows

    def annotator_labels(self, dataset: str) -> list[dict[str, Any]]:
        """Each annotator's own latest label per range (not undone; a later label by someone else does not hide
        it), oldest first: what agreement statistics compare. Events a settler wrote to settle a disagreement
        (label_disputes.wrote_event) are adjudications, not votes, and are left out."""
        with closing(self.connect()) as conn:
            rows = conn.execute(
                "SELECT e.id, e.clip_id, e.t0_s, e.t1_s, e.label, e.activity, e.annotator, e.note, e.created"
                f" FROM label_events e WHERE e.dataset = ? AND e.undo_of IS NULL AND {_NOT_UNDONE}"
                " AND NOT EXISTS (SELECT 1 FROM label_disputes d WHERE d.resolution_event = e.id"
                " AND d.wrote_event = 1) ORDER BY e.id", (dataset,)).fetchall()
        latest: dict[tuple, dict[str, Any]] = {}
        for r in rows:
            latest[(r["clip_id"], float(r["t0_s"]), r["t1_s"], r["annotator"])] = dict(r)
        return sorted(latest.values(), key=lambda r: r["id"])


__all__ = ["APPLIED", "CONFLICT", "REPLAYED", "Decision", "DecisionsMixin", "apply_decision", "merge_in_force",
           "range_in_force"]
