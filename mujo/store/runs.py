"""Runs (pre-training, fine-tuning, zero-shot ...), their per-epoch metrics and their result blobs.

A run started with `start_run` (or resumed with `set_run_status(..., "running")`) records the process that owns it
(pid, host and the process's start time) as its "process" result, in the same transaction. A process killed with
SIGKILL, or a machine that lost power, cannot mark its run: reading the runs marks a running run whose process on
this host is gone (or whose pid now belongs to another process) as 'interrupted', in a transaction.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from mujo.store.schema import write

STATUSES = ("running", "done", "failed", "interrupted")
PROCESS_KEY = "process"  # the results key of a run's owning process: {"pid", "host", "start"}


def now_iso() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _finite(value: float) -> float | None:
    """SQLite has no NaN: store non-finite values as NULL."""
    value = float(value)
    return value if math.isfinite(value) else None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of a process from /proc, or None where that cannot be read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        fields = text.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces and ')'
        return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime) of proc(5)
    except (OSError, IndexError, ValueError):
        return None


def this_process() -> dict[str, Any]:
    """What identifies the running process: its pid, the host, and its start time (which tells a reused pid)."""
    stat = _proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": stat[1] if stat else None}


def process_gone(owner: Any) -> bool:
    """Whether the process recorded in `owner` (see `this_process`) has ended: its pid is free, a zombie, or now
    another process's. False for a process on another host or a record that cannot be read (nothing is known)."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, run by another user
        pass
    stat = _proc_stat(pid)
    if stat is None:  # no /proc: the pid exists, and that is all that can be told
        return False
    return stat[0] == "Z" or (owner.get("start") is not None and stat[1] != owner["start"])


def _own(conn: sqlite3.Connection, run_id: int) -> None:
    conn.execute("INSERT OR REPLACE INTO results (run_id, key, value) VALUES (?, ?, ?)",
                 (run_id, PROCESS_KEY, json.dumps(this_process())))


def settle_dead_runs(conn: sqlite3.Connection, run_id: int | None = None) -> list[int]:
    """Mark running runs (all, or one) whose owning process is gone as 'interrupted', and return their ids.

    Reads first and takes the write lock only when a run is to be marked; the update re-checks, under the lock, that
    the run is still running under the same process (a resume in between records a new one and is left alone).
    """
    sql = ("SELECT r.id, v.value FROM runs r JOIN results v ON v.run_id = r.id AND v.key = ? "
           "WHERE r.status = 'running'")
    args: tuple = (PROCESS_KEY,)
    if run_id is not None:
        sql, args = sql + " AND r.id = ?", (PROCESS_KEY, int(run_id))
    dead = []
    for rid, value in conn.execute(sql, args).fetchall():
        try:
            owner = json.loads(value)
        except ValueError:
            continue
        if process_gone(owner):
            dead.append((int(rid), value, owner))
    marked = []
    if dead:
        with write(conn):
            for rid, value, owner in dead:
                cur = conn.execute(
                    "UPDATE runs SET status = 'interrupted', finished = ?, error = ? WHERE id = ? AND status = "
                    "'running' AND EXISTS (SELECT 1 FROM results WHERE run_id = ? AND key = ? AND value = ?)",
                    (now_iso(), f"its process (pid {owner.get('pid')} on {owner.get('host')}) ended without "
                     "finishing it; resume it or start it again", rid, rid, PROCESS_KEY, value))
                if cur.rowcount:
                    marked.append(rid)
    return marked


class RunsMixin:
    """Store methods for runs, metrics and results (mixed into `mujo.store.Store`, which provides `connect`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def start_run(self, kind: str, *, name: str = "", dataset: str = "", config: Mapping[str, Any] | None = None,
                  checkpoint: str | None = None) -> int:
        """Record a new run with status 'running', owned by this process (its "process" result).

        Args:
            kind: what the run is ("pretrain", "finetune", "zeroshot", ...).
            name: a short human name; dataset: the dataset it runs on (path or name).
            config: JSON-able settings of the run.
        Returns:
            The run id.
        """
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(
                "INSERT INTO runs (kind, name, dataset, config, status, started, checkpoint) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (kind, name, str(dataset), json.dumps(dict(config or {}), default=str), now_iso(), checkpoint))
            _own(conn, int(cur.lastrowid))
            return int(cur.lastrowid)

    def set_run_status(self, run_id: int, status: str, *, checkpoint: str | None = None,
                       error: str | None = None) -> None:
        """Change a run's status; a final status (done/failed/interrupted) also sets `finished`, and 'running' (a
        resume) makes this process the run's owner.

        Raises:
            ValueError: unknown status or run.
        """
        if status not in STATUSES:
            raise ValueError(f"run status {status!r} is not one of {STATUSES}")
        finished = None if status == "running" else now_iso()
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(
                "UPDATE runs SET status = ?, finished = ?, checkpoint = COALESCE(?, checkpoint), error = ? "
                "WHERE id = ?", (status, finished, checkpoint, error, int(run_id)))
            if cur.rowcount == 0:
                raise ValueError(f"no run {run_id} in the store")
            if status == "running":
                _own(conn, int(run_id))

    def finish_run(self, run_id: int, *, checkpoint: str | None = None) -> None:
        """Mark a run done."""
        self.set_run_status(run_id, "done", checkpoint=checkpoint)

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a run failed with the reason."""
        self.set_run_status(run_id, "failed", error=error)

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run as a dict (config decoded, and `process`: its owner, see `process_of`), or None when there is no
        such run; a running run whose process is gone is marked 'interrupted' first (`settle_dead_runs`)."""
        with closing(self.connect()) as conn:
            settle_dead_runs(conn, run_id)
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["config"] = json.loads(out["config"])
        out["process"] = self.process_of(run_id)
        return out

    def process_of(self, run_id: int) -> dict[str, Any] | None:
        """The process that owns (or last owned) a run, as `this_process` recorded it; None for a run saved whole
        (`save_run`) or written by an older MuJo Studio."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT value FROM results WHERE run_id = ? AND key = ?",
                               (int(run_id), PROCESS_KEY)).fetchone()
        try:
            return json.loads(row["value"]) if row else None
        except ValueError:
            return None

    def runs(self, kind: str | None = None) -> pd.DataFrame:
        """All runs (newest first), optionally of one kind; `config` stays a JSON string. Running runs whose process
        is gone are marked 'interrupted' first (`settle_dead_runs`)."""
        sql, args = "SELECT * FROM runs", ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        with closing(self.connect()) as conn:
            settle_dead_runs(conn)
            return pd.read_sql_query(sql + " ORDER BY id DESC", conn, params=args)

    def done_runs(self, kind: str, result_keys: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The runs of a kind with status done, newest first: id, started, dataset, checkpoint, `config` decoded and
        `results` {key: decoded value, None where the run has none} of `result_keys`. A store file that does not
        exist yet holds none (and is not created)."""
        if not Path(getattr(self, "path", "")).exists():
            return []
        keys = list(result_keys)
        cols = "".join(f", v{i}.value AS v{i}" for i in range(len(keys)))
        joins = "".join(f" LEFT JOIN results v{i} ON v{i}.run_id = r.id AND v{i}.key = ?" for i in range(len(keys)))
        with closing(self.connect()) as conn:
            rows = conn.execute(f"SELECT r.id, r.started, r.dataset, r.checkpoint, r.config{cols} FROM runs r{joins} "
                                "WHERE r.kind = ? AND r.status = 'done' ORDER BY r.id DESC", (*keys, kind)).fetchall()
        return [{"id": int(r["id"]), "started": r["started"], "dataset": r["dataset"], "checkpoint": r["checkpoint"],
                 "config": json.loads(r["config"] or "{}"),
                 "results": {k: json.loads(r[f"v{i}"]) if r[f"v{i}"] else None for i, k in enumerate(keys)}}
                for r in rows]

    def log_metrics(self, run_id: int, epoch: int, split: str, values: Mapping[str, float]) -> None:
        """Write metrics of one epoch and split; writing an epoch again replaces its values."""
        rows = [(int(run_id), int(epoch), split, str(k), _finite(v)) for k, v in values.items()]
        with closing(self.connect()) as conn, write(conn):
            conn.executemany("INSERT OR REPLACE INTO metrics (run_id, epoch, split, name, value) "
                             "VALUES (?, ?, ?, ?, ?)", rows)

    def metrics(self, run_id: int, *, wide: bool = False) -> pd.DataFrame:
        """A run's metrics: long (epoch, split, name, value) or, with `wide`, one row per epoch and a column per
        `<split>_<name>`."""
        with closing(self.connect()) as conn:
            df = pd.read_sql_query("SELECT epoch, split, name, value FROM metrics WHERE run_id = ? "
                                   "ORDER BY epoch, split, name", conn, params=(int(run_id),))
        if not wide:
            return df
        if df.empty:
            return pd.DataFrame(index=pd.Index([], name="epoch"))
        df["column"] = df["split"] + "_" + df["name"]
        return df.pivot(index="epoch", columns="column", values="value")

    def save_run(self, kind: str, *, results: Mapping[str, Any], name: str = "", dataset: str = "",
                 config: Mapping[str, Any] | None = None, started: str | None = None, status: str = "done",
                 checkpoint: str | None = None, error: str | None = None,
                 on_saved: Callable[[sqlite3.Connection, int], None] | None = None) -> int:
        """Insert a finished run and all its results in one transaction (a kill leaves all or nothing).

        Args:
            kind, name, dataset, config, checkpoint, error: as in `start_run` / `fail_run`.
            results: key -> JSON-able value, as `put_result` stores them.
            started: ISO time the work began (default now); `finished` is now.
            status: a final status (done / failed / interrupted).
            on_saved: called inside the same transaction with (connection, run id), e.g. to mark a sweep cell
                done, so the run and that mark are committed together.
        Returns:
            The run id.
        """
        if status not in STATUSES or status == "running":
            raise ValueError(f"save_run needs a final status, got {status!r}")
        rows = [(key, json.dumps(value, default=str)) for key, value in results.items()]
        with closing(self.connect()) as conn, write(conn):
            cur = conn.execute(
                "INSERT INTO runs (kind, name, dataset, config, status, started, finished, checkpoint, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, name, str(dataset), json.dumps(dict(config or {}), default=str), status,
                 started or now_iso(), now_iso(), checkpoint, error))
            run_id = int(cur.lastrowid)
            conn.executemany("INSERT INTO results (run_id, key, value) VALUES (?, ?, ?)",
                             [(run_id, k, v) for k, v in rows])
            if on_saved is not None:
                on_saved(conn, run_id)
            return run_id

    def put_result(self, run_id: int, key: str, value: Any) -> None:
        """Store a JSON-able result of a run under a key (replacing an earlier one)."""
        with closing(self.connect()) as conn, write(conn):
            conn.execute("INSERT OR REPLACE INTO results (run_id, key, value) VALUES (?, ?, ?)",
                         (int(run_id), key, json.dumps(value, default=str)))

    def results(self, run_id: int) -> dict[str, Any]:
        """All results of a run, decoded, by key (without the owning process: `get_run(...)["process"]`)."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT key, value FROM results WHERE run_id = ? AND key != ?",
                                (int(run_id), PROCESS_KEY)).fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}
