"""Queue leases: a clip shown to one annotator is leased to their session for a few minutes, so the queues of the
other annotators skip it. A session holds at most one lease per dataset (the clip it shows): taking the next clip
releases the previous one; a lease not renewed expires (a closed tab, a session that went elsewhere)."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass

from mujo.store.labels import MAX_NAME_CHARS, _text
from mujo.store.schema import write

LEASE_S = 180.0  # how long a shown clip stays leased without activity (the page renews it on every action)
LEASE_ENV = "MUJO_LEASE_S"  # a lab may set another lease time in seconds


def lease_seconds() -> float:
    """The lease time: $MUJO_LEASE_S when it is a positive number of seconds, else LEASE_S."""
    try:
        value = float(os.environ.get(LEASE_ENV, ""))
    except ValueError:
        return LEASE_S
    return value if value > 0 and value == value and value != float("inf") else LEASE_S


@dataclass(frozen=True)
class Lease:
    """A clip's lease: who holds it (annotator, session) and until when (unix time)."""

    clip_id: str
    holder: str
    session: str
    expires: float

    def mine(self, session: str) -> bool:
        return self.session == session


class LeasesMixin:
    """Store methods for clip leases (mixed into `Store`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def acquire_lease(self, dataset: str, clip_id: str, holder: str, session: str, *, ttl_s: float = LEASE_S,
                      now: float | None = None) -> Lease:
        """Lease a clip to a session (or renew its lease), in one transaction: two sessions racing for a free clip,
        one wins. The session's other leases in the dataset are released (it shows one clip at a time). A lease of
        the same holder in another session (a reloaded tab) passes to this one.

        Args:
            holder: the annotator's name; session: their browser session (any stable text).
            ttl_s: seconds until the lease expires unless renewed. now: unix time (tests).
        Returns:
            The clip's lease: this session's when acquired, else the other session's that holds it.
        """
        dataset, clip_id = _text(dataset, "dataset"), _text(clip_id, "clip id", one_line=True)
        holder = _text(holder, "annotator", max_chars=MAX_NAME_CHARS, one_line=True)
        session = _text(session, "session", max_chars=MAX_NAME_CHARS, one_line=True)
        if not session:
            raise ValueError("session is empty")
        t = time.time() if now is None else float(now)
        with closing(self.connect()) as conn, write(conn):
            conn.execute("DELETE FROM clip_leases WHERE expires <= ?", (t,))
            conn.execute("DELETE FROM clip_leases WHERE dataset = ? AND session = ? AND clip_id <> ?",
                         (dataset, session, clip_id))
            conn.execute("INSERT INTO clip_leases (dataset, clip_id, holder, session, expires) VALUES (?, ?, ?, ?, ?)"
                         " ON CONFLICT(dataset, clip_id) DO UPDATE SET holder = excluded.holder,"
                         " session = excluded.session, expires = excluded.expires"
                         " WHERE clip_leases.session = excluded.session OR clip_leases.holder = excluded.holder",
                         (dataset, clip_id, holder, session, t + float(ttl_s)))
            row = conn.execute("SELECT * FROM clip_leases WHERE dataset = ? AND clip_id = ?",
                               (dataset, clip_id)).fetchone()
        return Lease(row["clip_id"], row["holder"], row["session"], float(row["expires"]))

    def release_leases(self, dataset: str, session: str, clip_id: str | None = None) -> int:
        """Release a session's leases in a dataset (or only its lease of `clip_id`); returns how many."""
        sql, args = "DELETE FROM clip_leases WHERE dataset = ? AND session = ?", [dataset, session]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", [*args, clip_id]
        with closing(self.connect()) as conn, write(conn):
            return int(conn.execute(sql, args).rowcount)

    def active_leases(self, dataset: str, *, now: float | None = None) -> dict[str, Lease]:
        """clip_id -> its lease, for the dataset's leases that have not expired."""
        t = time.time() if now is None else float(now)
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT * FROM clip_leases WHERE dataset = ? AND expires > ?", (dataset, t)).fetchall()
        return {r["clip_id"]: Lease(r["clip_id"], r["holder"], r["session"], float(r["expires"])) for r in rows}


__all__ = ["LEASE_ENV", "LEASE_S", "Lease", "LeasesMixin", "lease_seconds"]
