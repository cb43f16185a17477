"""The job registry in the store: every long task (first-start build, pre-training, UMAP, zero-shot, sweeps ...).

A job moves queued -> running -> done / failed / cancelled. At most one job per key is queued or running (a partial
UNIQUE index), so two processes submitting the same work at once insert one row: the second one joins it. Queued
jobs are started in FIFO order by `launch_queued`, under the write lock, while fewer heavy jobs than the cap run;
the process start itself is the caller's (`mujo.jobs`), the store only decides who starts and records it.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from contextlib import closing
from typing import Any, Callable, Sequence

from mujo.store.schema import write

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
Row = dict[str, Any]


def _row(r: sqlite3.Row | None) -> Row | None:
    if r is None:
        return None
    d = dict(r)
    d["argv"] = json.loads(d.get("argv") or "[]")
    d["result"] = json.loads(d.get("result") or "{}")
    d["heavy"], d["cancel"] = bool(d["heavy"]), bool(d["cancel"])
    return d


class JobsMixin:
    """Job registry methods of `Store` (see the module docstring)."""

    def connect(self) -> sqlite3.Connection:  # provided by Store
        raise NotImplementedError

    def submit_job(self, kind: str, key: str, argv: Sequence[str], *, heavy: bool = True, owner: str = ""
                   ) -> tuple[Row, bool]:
        """(the job, True) for a new queued job; (the queued or running job with this key, False) when one exists."""
        with closing(self.connect()) as conn, write(conn):
            found = conn.execute("SELECT * FROM jobs WHERE key = ? AND state IN ('queued', 'running')",
                                 (key,)).fetchone()
            if found is not None:
                return _row(found), False  # type: ignore[return-value]
            cur = conn.execute("INSERT INTO jobs (kind, key, argv, heavy, owner, created, message) "
                               "VALUES (?, ?, ?, ?, ?, ?, 'queued')",
                               (kind, key, json.dumps(list(argv)), int(heavy), owner, time.time()))
            return _row(conn.execute("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,)).fetchone()), True  # type: ignore[return-value]

    def job(self, job_id: int) -> Row | None:
        with closing(self.connect()) as conn:
            return _row(conn.execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone())

    def latest_job(self, key: str) -> Row | None:
        """The active job with this key, else the newest one (None: never submitted)."""
        with closing(self.connect()) as conn:
            return _row(conn.execute(
                "SELECT * FROM jobs WHERE key = ? ORDER BY state IN ('queued', 'running') DESC, id DESC LIMIT 1",
                (key,)).fetchone())

    def list_jobs(self, *, active: bool | None = None, limit: int = 50, kind: str | None = None) -> list[Row]:
        """Jobs, newest first; active=True: queued and running only (oldest first, the queue's order);
        active=False: finished ones only."""
        where, args = [], []
        if active is True:
            where.append("state IN ('queued', 'running')")
        elif active is False:
            where.append("state NOT IN ('queued', 'running')")
        if kind:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id " + ("ASC" if active else "DESC") + " LIMIT ?"
        with closing(self.connect()) as conn:
            return [_row(r) for r in conn.execute(sql, (*args, int(limit))).fetchall()]  # type: ignore[misc]

    def queue_position(self, job_id: int) -> int:
        """How many queued heavy jobs were submitted before this one (0: next to start)."""
        with closing(self.connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND heavy = 1 AND id < ?",
                                    (int(job_id),)).fetchone()[0])

    def launch_queued(self, cap: int, spawn: Callable[[Row], int], alive: Callable[[Row], bool],
                      dead_error: Callable[[Row], str]) -> list[int]:
        """Under the write lock: mark this host's running jobs whose process died failed (`dead_error`), then
        start queued jobs in FIFO order (`spawn(job)` returns the pid) while fewer than `cap` heavy jobs run;
        light jobs start at once. Returns the started job ids."""
        host, started = socket.gethostname(), []
        with closing(self.connect()) as conn, write(conn):
            for r in conn.execute("SELECT * FROM jobs WHERE state = 'running' AND host = ?", (host,)).fetchall():
                job = _row(r)
                if not alive(job):  # type: ignore[arg-type]
                    conn.execute("UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                                 (time.time(), dead_error(job), job["id"]))  # type: ignore[arg-type,index]
            running = int(conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'running' AND heavy = 1"
                                       ).fetchone()[0])
            for r in conn.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY id").fetchall():
                job = _row(r)
                if job["heavy"] and running >= cap:  # type: ignore[index]
                    continue  # a light job behind it may still start
                try:
                    pid = spawn(job)  # type: ignore[arg-type]
                except OSError as e:
                    conn.execute("UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                                 (time.time(), f"could not start: {e}", job["id"]))  # type: ignore[index]
                    continue
                conn.execute("UPDATE jobs SET state = 'running', started = ?, pid = ?, host = ?, "
                             "message = 'starting' WHERE id = ?", (time.time(), pid, host, job["id"]))  # type: ignore[index]
                running += bool(job["heavy"])  # type: ignore[index]
                started.append(int(job["id"]))  # type: ignore[index]
        return started

    def job_progress(self, job_id: int, fraction: float, message: str) -> bool:
        """Record a running job's progress; False when it is no longer running (e.g. cancelled)."""
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute("UPDATE jobs SET fraction = ?, message = ? WHERE id = ? AND state = 'running'",
                               (float(fraction), str(message), int(job_id)))
            return cur.rowcount > 0

    def finish_job(self, job_id: int, state: str, *, message: str | None = None, error: str = "",
                   result: dict[str, Any] | None = None) -> bool:
        """End a running job as done or failed; False when it had already ended (cancelled, marked dead)."""
        if state not in ("done", "failed"):
            raise ValueError(f"a job finishes done or failed, not {state!r}")
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ?, message = COALESCE(?, message), "
                "fraction = CASE WHEN ? = 'done' THEN 1.0 ELSE fraction END, "
                "result = CASE WHEN ? IS NULL THEN result ELSE ? END WHERE id = ? AND state = 'running'",
                (state, time.time(), error, message, state, None if result is None else 1,
                 json.dumps(result or {}, default=str), int(job_id)))
            return cur.rowcount > 0

    def set_job_result(self, job_id: int, result: dict[str, Any]) -> None:
        """What the job leaves for the page that follows it (merged into its result)."""
        with closing(self.connect()) as conn, write(conn):
            r = conn.execute("SELECT result FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
            if r is not None:
                merged = json.loads(r[0] or "{}") | dict(result)
                conn.execute("UPDATE jobs SET result = ? WHERE id = ?", (json.dumps(merged, default=str),
                                                                        int(job_id)))

    def cancel_job(self, job_id: int, by: str = "") -> Row | None:
        """Cancel a queued or running job (state cancelled, cancel flag set); returns the job as it was before,
        None when there is no such job. The caller stops a running job's process."""
        with closing(self.connect()) as conn, write(conn):
            before = _row(conn.execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone())
            if before is not None and before["state"] in ACTIVE:
                conn.execute("UPDATE jobs SET state = 'cancelled', cancel = 1, cancelled_by = ?, finished = ?, "
                             "message = ? WHERE id = ?",
                             (by, time.time(), f"cancelled by {by}" if by else "cancelled", int(job_id)))
            return before
