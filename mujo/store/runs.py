"""Runs (pre-training, fine-tuning, zero-shot ...), their per-epoch metrics and their result blobs."""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from mujo.store.schema import write

STATUSES = ("running", "done", "failed", "interrupted")


def now_iso() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _finite(value: float) -> float | None:
    """SQLite has no NaN: store non-finite values as NULL."""
    value = float(value)
    return value if math.isfinite(value) else None


class RunsMixin:
    """Store methods for runs, metrics and results (mixed into `mujo.store.Store`, which provides `connect`)."""

    def connect(self) -> sqlite3.Connection:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def start_run(self, kind: str, *, name: str = "", dataset: str = "", config: Mapping[str, Any] | None = None,
                  checkpoint: str | None = None) -> int:
        """Record a new run with status 'running'.

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
            return int(cur.lastrowid)

    def set_run_status(self, run_id: int, status: str, *, checkpoint: str | None = None,
                       error: str | None = None) -> None:
        """Change a run's status; a final status (done/failed/interrupted) also sets `finished`.

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

    def finish_run(self, run_id: int, *, checkpoint: str | None = None) -> None:
        """Mark a run done."""
        self.set_run_status(run_id, "done", checkpoint=checkpoint)

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a run failed with the reason."""
        self.set_run_status(run_id, "failed", error=error)

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run as a dict (config decoded), or None when there is no such run."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["config"] = json.loads(out["config"])
        return out

    def runs(self, kind: str | None = None) -> pd.DataFrame:
        """All runs (newest first), optionally of one kind; `config` stays a JSON string."""
        sql, args = "SELECT * FROM runs", ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        with closing(self.connect()) as conn:
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
        """All results of a run, decoded, by key."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT key, value FROM results WHERE run_id = ?", (int(run_id),)).fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}
