"""The store's SQLite schema: connection settings and ordered migrations tracked in PRAGMA user_version."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# How long a writer waits for another process's write lock before giving up (SQLite's busy handler).
BUSY_TIMEOUT_MS = 30_000

# Migration i (1-based) brings the schema from user_version i-1 to i. Append new ones; never edit a released one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: runs, per-epoch metrics, results, label events
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,                -- pretrain / finetune / zeroshot / ...
            name TEXT NOT NULL DEFAULT '',
            dataset TEXT NOT NULL DEFAULT '',
            config TEXT NOT NULL DEFAULT '{}', -- JSON
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
            started TEXT NOT NULL,             -- ISO 8601, UTC
            finished TEXT,
            checkpoint TEXT,
            error TEXT
        )""",
        """CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            split TEXT NOT NULL,               -- train / val / test / ...
            name TEXT NOT NULL,
            value REAL,
            PRIMARY KEY (run_id, epoch, split, name)
        )""",
        """CREATE TABLE results (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,               -- JSON
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE label_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL,
            clip_id TEXT NOT NULL,
            t0_s REAL NOT NULL DEFAULT 0,
            t1_s REAL,                         -- NULL: to the end of the clip
            label TEXT CHECK (label IS NULL OR label IN ('null', 'activity', 'unsure', 'bad')),
            activity TEXT,
            annotator TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            undo_of INTEGER REFERENCES label_events(id),
            CHECK ((undo_of IS NULL) = (label IS NOT NULL))  -- an event either labels or undoes
        )""",
        "CREATE INDEX label_events_dataset ON label_events(dataset, clip_id)",
        "CREATE INDEX runs_kind ON runs(kind, started)",
    ),
    (  # 2: fine-tuning sweeps and their grid cells
        """CREATE TABLE sweeps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL DEFAULT '',
            spec TEXT NOT NULL DEFAULT '{}',   -- JSON of the SweepSpec
            created TEXT NOT NULL,
            cancel INTEGER NOT NULL DEFAULT 0, -- 1: cancel requested (the coordinator and its workers poll it)
            coordinator TEXT,                  -- host:pid of the process running the sweep, NULL when none
            heartbeat TEXT,                    -- ISO time the coordinator last said it is alive
            finished TEXT
        )""",
        """CREATE TABLE sweep_cells (
            sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
            key TEXT NOT NULL,                 -- stable text id of the cell within its sweep
            position INTEGER NOT NULL,         -- run order
            settings TEXT NOT NULL,            -- JSON of the FinetuneSettings
            meta TEXT NOT NULL DEFAULT '{}',   -- JSON: checkpoint method, checkpoints sharing a baseline ...
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
            run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT,                       -- host:pid of the process that ran it last
            started TEXT,
            finished TEXT,
            PRIMARY KEY (sweep_id, key)
        )""",
        "CREATE INDEX sweep_cells_status ON sweep_cells(sweep_id, status, position)",
        "CREATE INDEX sweep_cells_run ON sweep_cells(run_id)",
    ),
    (  # 3: find a label event's undo by index (current_labels was quadratic in the number of events without it)
        "CREATE INDEX label_events_undo ON label_events(undo_of) WHERE undo_of IS NOT NULL",
    ),
    (  # 4: several annotators: queue leases, versioned decisions (the event in force the annotator saw), disputes
        """CREATE TABLE clip_leases (
            dataset TEXT NOT NULL,
            clip_id TEXT NOT NULL,
            holder TEXT NOT NULL,              -- the annotator (logged-in user) the clip is shown to
            session TEXT NOT NULL,             -- that annotator's browser session
            expires REAL NOT NULL,             -- unix time; an expired lease is free
            PRIMARY KEY (dataset, clip_id)
        )""",
        "CREATE INDEX clip_leases_holder ON clip_leases(dataset, session)",
        "CREATE INDEX clip_leases_expires ON clip_leases(expires)",
        # the page's "recent labels" reads the dataset's newest events only (not its whole history)
        "CREATE INDEX label_events_recent ON label_events(dataset, id)",
        # the id of the event in force for the clip when the annotator decided (0: none); NULL: not versioned
        "ALTER TABLE label_events ADD COLUMN base_event INTEGER",
        # the UI's idempotency key: a decision retried after a lost reply or a server restart is applied once
        "ALTER TABLE label_events ADD COLUMN request_id TEXT",
        "CREATE UNIQUE INDEX label_events_request ON label_events(request_id) WHERE request_id IS NOT NULL",
        """CREATE TABLE label_disputes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL,
            clip_id TEXT NOT NULL,
            raised_by TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            resolved TEXT,                     -- ISO time it was settled, NULL while open
            resolved_by TEXT,
            resolution_event INTEGER,          -- the event in force once settled (0: none); newer labels reopen it
            wrote_event INTEGER NOT NULL DEFAULT 0  -- 1: the settler wrote that event (an adjudication, not a vote)
        )""",
        "CREATE INDEX label_disputes_clip ON label_disputes(dataset, clip_id)",
    ),
    (  # 5: one registry of background jobs (first-start build, pre-training, embedding, UMAP, zero-shot, sweeps ...)
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,                -- demo / pretrain / embed / umap / zeroshot / sweep / feedback ...
            key TEXT NOT NULL,                 -- kind + digest of the inputs: a request for the same work joins it
            argv TEXT NOT NULL,                -- JSON list: the `mujo` command the job runs
            heavy INTEGER NOT NULL DEFAULT 1,  -- counted against the cap of heavy jobs running at once
            state TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            owner TEXT NOT NULL DEFAULT '',    -- who asked for it
            created REAL NOT NULL,             -- unix times
            started REAL,
            finished REAL,
            pid INTEGER,
            host TEXT,
            fraction REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            cancel INTEGER NOT NULL DEFAULT 0, -- 1: cancel requested
            cancelled_by TEXT NOT NULL DEFAULT '',
            result TEXT NOT NULL DEFAULT '{}'  -- JSON the job's command leaves for the page (e.g. its run id)
        )""",
        "CREATE UNIQUE INDEX jobs_active_key ON jobs(key) WHERE state IN ('queued', 'running')",
        "CREATE INDEX jobs_state ON jobs(state, created)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode with WAL, a busy timeout and foreign keys; the schema is migrated.

    Autocommit (isolation_level=None) so that writes take the lock up front with `write(conn)` (BEGIN IMMEDIATE):
    a deferred transaction that reads first and writes later can fail at once with SQLITE_BUSY in WAL mode instead
    of waiting for the busy timeout.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a crash loses at most the last commits
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that holds the write lock from its start (BEGIN IMMEDIATE); rolled back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file lacks, each in its own transaction; returns the schema version.

    Several processes may open a new file at once: the version is re-read under the write lock, so each migration
    runs exactly once.

    Raises:
        RuntimeError: the file was written by a newer MuJo Studio (its version is above SCHEMA_VERSION).
    """
    current = version(conn)
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"the store's schema version {current} is newer than this MuJo Studio's "
                           f"({SCHEMA_VERSION}); update MuJo Studio or use another store file")
    while current < SCHEMA_VERSION:
        with write(conn):
            current = version(conn)
            if current >= SCHEMA_VERSION:
                break
            for statement in MIGRATIONS[current]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {current + 1}")
        current = version(conn)
    return current
