"""Disputed clips: an annotator marks a clip's label as disputed; an annotator settles it (keeping the label in force
or deciding a label), which resolves the clip's open disputes and records the event in force once settled."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from mujo.store.decisions import CONFLICT, Decision, apply_decision, check_base, check_request, range_in_force
from mujo.store.labels import MAX_NAME_CHARS, MAX_NOTE_BYTES, _text, check_label_event
from mujo.store.runs import now_iso
from mujo.store.schema import write


class DisputesMixin:
    """Store methods for label disputes (mixed into `Store`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def raise_dispute(self, dataset: str, clip_id: str, raised_by: str, note: str = "") -> int:
        """Mark a clip's label as disputed; returns the dispute's id (the clip's open one when it has one already:
        marking twice, or a retried click, opens no second dispute)."""
        dataset = _text(dataset, "dataset")
        clip_id = _text(clip_id, "clip id", one_line=True)
        raised_by = _text(raised_by, "annotator", max_chars=MAX_NAME_CHARS, one_line=True)
        note = _text(note, "note", max_bytes=MAX_NOTE_BYTES)
        with closing(self.connect()) as conn, write(conn):
            row = conn.execute("SELECT id FROM label_disputes WHERE dataset = ? AND clip_id = ? AND resolved IS NULL"
                               " ORDER BY id LIMIT 1", (dataset, clip_id)).fetchone()
            if row is not None:
                return int(row[0])
            cur = conn.execute("INSERT INTO label_disputes (dataset, clip_id, raised_by, note, created)"
                               " VALUES (?, ?, ?, ?, ?)", (dataset, clip_id, raised_by, note, now_iso()))
            return int(cur.lastrowid)

    def settle_clip(self, dataset: str, clip_id: str, settled_by: str, *, base_event: int, label: str | None = None,
                    activity: str | None = None, note: str = "", request_id: str | None = None) -> Decision:
        """Settle a clip's disagreement in one transaction: with `label`, decide it (versioned, as `decide_label`;
        on a conflict nothing is written or resolved); without, keep the whole-clip label in force (it must still be
        `base_event`). Then every open dispute of the clip is resolved, or a resolved row records the settlement,
        with the event in force (a later label by anyone reopens the disagreement when the labels differ).

        Returns:
            The Decision (APPLIED with the new or kept event id; REPLAYED; or CONFLICT).
        """
        dataset = _text(dataset, "dataset")
        settled_by = _text(settled_by, "annotator", max_chars=MAX_NAME_CHARS, one_line=True)
        base, rid = check_base(base_event), check_request(request_id)
        e = None if label is None else check_label_event(clip_id, label, activity=activity, annotator=settled_by,
                                                         note=note)
        clip_id = _text(clip_id, "clip id", one_line=True)
        with closing(self.connect()) as conn, write(conn):
            if e is not None:
                decision = apply_decision(conn, dataset, e, base, rid)
                if decision.status != "applied":
                    return decision
                in_force, wrote = decision.event_id, 1
            else:
                current = range_in_force(conn, dataset, clip_id, 0.0, None)
                in_force, wrote = (0 if current is None else int(current["id"])), 0
                if in_force != base:
                    return Decision(CONFLICT, None, current, current)
                decision = Decision("applied", in_force or None)
            now = now_iso()
            n = conn.execute("UPDATE label_disputes SET resolved = ?, resolved_by = ?, resolution_event = ?,"
                             " wrote_event = ? WHERE dataset = ? AND clip_id = ? AND resolved IS NULL",
                             (now, settled_by, in_force, wrote, dataset, clip_id)).rowcount
            if not n:
                conn.execute("INSERT INTO label_disputes (dataset, clip_id, raised_by, note, created, resolved,"
                             " resolved_by, resolution_event, wrote_event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (dataset, clip_id, settled_by, "settled", now, now, settled_by, in_force, wrote))
            return decision

    def label_disputes(self, dataset: str, clip_id: str | None = None, *, open_only: bool = False
                       ) -> list[dict[str, Any]]:
        """The disputes of a dataset (or one clip), oldest first; `open_only`: those not resolved yet."""
        sql, args = "SELECT * FROM label_disputes WHERE dataset = ?", [dataset]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", [*args, clip_id]
        if open_only:
            sql += " AND resolved IS NULL"
        with closing(self.connect()) as conn:
            return [dict(r) for r in conn.execute(sql + " ORDER BY id", args)]


__all__ = ["DisputesMixin"]
