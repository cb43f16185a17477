"""Fine-tuning sweeps in the store: the sweep, its grid cells, who runs it, the cancel flag and cell outcomes.

A cell moves pending -> running -> done / failed / cancelled. Only the process that saves a cell's run marks it
done, inside the run's own transaction (`mark_cell_saved` as `save_run`'s `on_saved` hook), so a kill can neither
lose a finished result nor mark an unfinished cell done. One coordinator runs a sweep at a time (`claim_sweep`); it
proves it is alive with a heartbeat, and a new coordinator re-runs the cells a dead one left 'running'.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import pandas as pd

from mujo.procs import pid_alive
from mujo.store.runs import now_iso
from mujo.store.schema import write

CELL_STATUSES = ("pending", "running", "done", "failed", "cancelled")
STALE_S = 60.0  # a coordinator whose heartbeat is older than this is dead (the only test across machines)


class SweepBusy(RuntimeError):
    """Another live process is running this sweep."""


class CellAlreadyDone(RuntimeError):
    """A second run of a cell that is already done; raised inside `save_run` so the duplicate is rolled back."""


def process_id() -> str:
    """`host:pid` of this process, as stored in `coordinator` and `worker`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None, heartbeat: str | None, stale_s: float = STALE_S) -> bool:
    """Whether the coordinator `host:pid` with this last heartbeat still runs (pid checked on this host)."""
    if not owner or not heartbeat:
        return False
    age = (datetime.now(timezone.utc) - datetime.fromisoformat(heartbeat)).total_seconds()
    if age > stale_s:
        return False
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return pid_alive(int(pid))
    return True


def mark_cell_saved(conn: sqlite3.Connection, run_id: int, *, sweep_id: int, key: str) -> None:
    """`save_run`'s on_saved hook: record the run on its cell in the run's transaction.

    A done run makes the cell done, an interrupted one cancelled, a failed one failed.

    Raises:
        CellAlreadyDone: another attempt finished the cell first; the exception rolls this run back.
    """
    row = conn.execute("SELECT status, error FROM runs WHERE id = ?", (int(run_id),)).fetchone()
    run_status, error = (row[0], row[1]) if row is not None else ("failed", "run vanished")
    status = {"done": "done", "interrupted": "cancelled"}.get(run_status, "failed")
    cur = conn.execute(
        "UPDATE sweep_cells SET status = ?, run_id = ?, error = ?, finished = ? "
        "WHERE sweep_id = ? AND key = ? AND status != 'done'",
        (status, int(run_id), None if status == "done" else (error or f"run ended {run_status}"), now_iso(),
         int(sweep_id), key))
    if cur.rowcount == 0:
        raise CellAlreadyDone(f"sweep {sweep_id} cell {key!r} is already done (or gone); this run is discarded")


class SweepsMixin:
    """Store methods for sweeps and their cells (mixed into `mujo.store.Store`, which provides `connect`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def add_sweep(self, name: str, spec: Mapping[str, Any], cells: Iterable[Mapping[str, Any]]) -> int:
        """Insert a sweep and all its cells in one transaction.

        Args:
            name: short human name; spec: JSON-able grid specification.
            cells: dicts with key, settings (JSON-able), and optionally meta, status ("pending" or "failed" for a
                cell that cannot run) and error (why).
        Returns:
            The sweep id.
        """
        with closing(self.connect()) as conn, write(conn):
            sweep_id = int(conn.execute("INSERT INTO sweeps (name, spec, created) VALUES (?, ?, ?)",
                                        (name, json.dumps(dict(spec), default=str), now_iso())).lastrowid)
            now = now_iso()
            conn.executemany(
                "INSERT INTO sweep_cells (sweep_id, key, position, settings, meta, status, error, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(sweep_id, c["key"], i, json.dumps(c["settings"], default=str), json.dumps(c.get("meta", {})),
                  c.get("status", "pending"), c.get("error"), None if c.get("status", "pending") == "pending"
                  else now) for i, c in enumerate(cells)])
            return sweep_id

    def get_sweep(self, sweep_id: int) -> dict[str, Any] | None:
        """The sweep row (spec decoded) with `counts` per cell status, `attempted` (cells started at least once)
        and `alive` (a live coordinator runs it)."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT * FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
            if row is None:
                return None
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM sweep_cells WHERE sweep_id = ? "
                                       "GROUP BY status", (int(sweep_id),)).fetchall())
            attempted = conn.execute("SELECT COUNT(*) FROM sweep_cells WHERE sweep_id = ? AND attempts > 0",
                                     (int(sweep_id),)).fetchone()[0]
        out = dict(row)
        out["spec"] = json.loads(out["spec"])
        out["counts"] = {s: int(counts.get(s, 0)) for s in CELL_STATUSES}
        out["attempted"] = int(attempted)  # cells that were started at least once
        out["alive"] = owner_alive(out["coordinator"], out["heartbeat"])
        return out

    def sweeps(self) -> pd.DataFrame:
        """All sweeps, newest first, with the number of cells per status and in total."""
        counts = ", ".join(f"COALESCE(SUM(c.status = '{s}'), 0) AS {s}" for s in CELL_STATUSES)
        with closing(self.connect()) as conn:
            return pd.read_sql_query(f"SELECT s.*, {counts}, COUNT(c.key) AS total FROM sweeps s "
                                     f"LEFT JOIN sweep_cells c ON c.sweep_id = s.id GROUP BY s.id ORDER BY s.id DESC",
                                     conn)

    def sweep_cells(self, sweep_id: int, status: str | None = None) -> pd.DataFrame:
        """The cells of a sweep in run order (settings and meta stay JSON strings)."""
        sql, args = "SELECT * FROM sweep_cells WHERE sweep_id = ?", [int(sweep_id)]
        if status is not None:
            sql, args = sql + " AND status = ?", args + [status]
        with closing(self.connect()) as conn:
            return pd.read_sql_query(sql + " ORDER BY position", conn, params=args)

    def pending_keys(self, sweep_id: int) -> list[str]:
        """Keys of the pending cells, in run order."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT key FROM sweep_cells WHERE sweep_id = ? AND status = 'pending' "
                                "ORDER BY position", (int(sweep_id),)).fetchall()
        return [r[0] for r in rows]

    def claim_sweep(self, sweep_id: int, owner: str, *, retry_failed: bool = False) -> None:
        """Become the sweep's coordinator and make its unfinished cells pending again.

        Cells left 'running' by a dead coordinator and cancelled cells become pending (running a sweep again
        resumes it); failed ones too with `retry_failed`, except those that could not run from the start. Done
        cells are never touched. The cancel flag is cleared.

        Raises:
            SweepBusy: another live process runs the sweep. ValueError: no such sweep.
        """
        with closing(self.connect()) as conn, write(conn):
            row = conn.execute("SELECT coordinator, heartbeat FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
            if row is None:
                raise ValueError(f"no sweep {sweep_id} in the store")
            if row[0] and row[0] != owner and owner_alive(row[0], row[1]):
                raise SweepBusy(f"sweep {sweep_id} is already being run by process {row[0]}; cancel it first "
                                f"(`mujo sweep cancel {sweep_id}`) or wait for it")
            conn.execute("UPDATE sweeps SET coordinator = ?, heartbeat = ?, cancel = 0, finished = NULL "
                         "WHERE id = ?", (owner, now_iso(), int(sweep_id)))
            again = ("running", "cancelled") + (("failed",) if retry_failed else ())
            conn.execute(
                f"UPDATE sweep_cells SET status = 'pending', worker = NULL "
                f"WHERE sweep_id = ? AND status IN ({','.join('?' * len(again))}) "
                f"AND json_extract(meta, '$.unrunnable') IS NULL", (int(sweep_id), *again))

    def heartbeat(self, sweep_id: int, owner: str) -> bool:
        """Refresh the coordinator's heartbeat; False when `owner` is no longer the coordinator."""
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute("UPDATE sweeps SET heartbeat = ? WHERE id = ? AND coordinator = ?",
                               (now_iso(), int(sweep_id), owner))
            return cur.rowcount == 1

    def release_sweep(self, sweep_id: int, owner: str) -> None:
        """Stop coordinating: after a cancel, the cells not run become cancelled; `finished` is set when no cell
        is left pending or running."""
        with closing(self.connect()) as conn, write(conn):
            cancel = conn.execute("SELECT cancel FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
            if cancel and cancel[0]:
                conn.execute("UPDATE sweep_cells SET status = 'cancelled', finished = ? "
                             "WHERE sweep_id = ? AND status IN ('pending', 'running')", (now_iso(), int(sweep_id)))
            left = conn.execute("SELECT COUNT(*) FROM sweep_cells WHERE sweep_id = ? AND status IN "
                                "('pending', 'running')", (int(sweep_id),)).fetchone()[0]
            conn.execute("UPDATE sweeps SET coordinator = NULL, heartbeat = NULL, finished = ? "
                         "WHERE id = ? AND coordinator = ?", (None if left else now_iso(), int(sweep_id), owner))

    def request_cancel(self, sweep_id: int) -> None:
        """Set the cancel flag; pending cells become cancelled now, and with no live coordinator so do cells
        left running (their process is gone)."""
        with closing(self.connect()) as conn, write(conn):
            row = conn.execute("SELECT coordinator, heartbeat FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
            if row is None:
                raise ValueError(f"no sweep {sweep_id} in the store")
            statuses = ("pending",) if owner_alive(row[0], row[1]) else ("pending", "running")
            conn.execute("UPDATE sweeps SET cancel = 1 WHERE id = ?", (int(sweep_id),))
            conn.execute(f"UPDATE sweep_cells SET status = 'cancelled', finished = ? WHERE sweep_id = ? "
                         f"AND status IN ({','.join('?' * len(statuses))})", (now_iso(), int(sweep_id), *statuses))

    def cancel_requested(self, sweep_id: int) -> bool:
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT cancel FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
        return bool(row and row[0])

    def begin_cell(self, sweep_id: int, key: str, worker: str) -> dict[str, Any] | None:
        """Mark a pending cell running (attempts + 1) and return it (settings, meta decoded); None when the cell
        is not pending any more (cancelled meanwhile, or done by another attempt)."""
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute("UPDATE sweep_cells SET status = 'running', attempts = attempts + 1, worker = ?, "
                               "started = ?, finished = NULL, error = NULL "
                               "WHERE sweep_id = ? AND key = ? AND status = 'pending'",
                               (worker, now_iso(), int(sweep_id), key))
            if cur.rowcount == 0:
                return None
            row = dict(conn.execute("SELECT * FROM sweep_cells WHERE sweep_id = ? AND key = ?",
                                    (int(sweep_id), key)).fetchone())
        row["settings"], row["meta"] = json.loads(row["settings"]), json.loads(row["meta"])
        return row

    def end_cell(self, sweep_id: int, key: str, status: str, error: str | None = None, *,
                 only_running: bool = True) -> bool:
        """Record a cell that ended without a saved run (failed / cancelled / pending again); a done cell is never
        changed. Returns whether the cell was updated."""
        if status not in ("pending", "failed", "cancelled"):
            raise ValueError(f"end_cell status must be pending, failed or cancelled, got {status!r}")
        cond = "status = 'running'" if only_running else "status != 'done'"
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(f"UPDATE sweep_cells SET status = ?, error = ?, finished = ? "
                               f"WHERE sweep_id = ? AND key = ? AND {cond}",
                               (status, error, None if status == "pending" else now_iso(), int(sweep_id), key))
            return cur.rowcount == 1

    def cell(self, sweep_id: int, key: str) -> dict[str, Any] | None:
        """One cell (settings and meta decoded), or None."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT * FROM sweep_cells WHERE sweep_id = ? AND key = ?",
                               (int(sweep_id), key)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["settings"], out["meta"] = json.loads(out["settings"]), json.loads(out["meta"])
        return out

    def sweep_runs(self, sweep_id: int | None = None) -> pd.DataFrame:
        """Done fine-tuning runs joined with their cell (NULL sweep columns for runs outside a sweep unless
        `sweep_id` is given): run_id, sweep_id, key, meta, config, started, finished, metrics, summary, warnings."""
        sql = ("SELECT r.id AS run_id, c.sweep_id, c.key, c.meta, r.config, r.started, r.finished, "
               "(SELECT value FROM results WHERE run_id = r.id AND key = 'metrics') AS metrics, "
               "(SELECT value FROM results WHERE run_id = r.id AND key = 'summary') AS summary, "
               "(SELECT value FROM results WHERE run_id = r.id AND key = 'warnings') AS warnings "
               "FROM runs r LEFT JOIN sweep_cells c ON c.run_id = r.id "
               "WHERE r.kind = 'finetune' AND r.status = 'done'")
        args: tuple = ()
        if sweep_id is not None:
            sql, args = sql + " AND c.sweep_id = ? AND c.status = 'done'", (int(sweep_id),)
        with closing(self.connect()) as conn:
            return pd.read_sql_query(sql + " ORDER BY c.sweep_id, c.position, r.id", conn, params=args)
