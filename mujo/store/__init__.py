"""The project's SQLite store (WAL): runs, per-epoch metrics, results, curation label events (versioned
decisions, disputes, queue leases), sweeps and jobs.

A `Store` is only a path: every call opens its own connection (safe across threads and processes) and every write
is one transaction that waits for other writers (busy timeout) instead of failing. One idle connection per file and
process (`mujo.store.anchor`) keeps closing those connections cheap.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mujo import paths
from mujo.store.anchor import keep_open
from mujo.store.decisions import Decision, DecisionsMixin
from mujo.store.disputes import DisputesMixin
from mujo.store.jobs import JobsMixin
from mujo.store.labels import LABELS, LabelsMixin, dataset_key
from mujo.store.leases import LEASE_S, Lease, LeasesMixin
from mujo.store.runs import STATUSES, RunsMixin
from mujo.store.schema import SCHEMA_VERSION, connect
from mujo.store.sweeps import SweepsMixin

__all__ = ["LABELS", "LEASE_S", "SCHEMA_VERSION", "STATUSES", "Decision", "Lease", "Store", "dataset_key",
           "open_store"]


class Store(RunsMixin, LabelsMixin, DecisionsMixin, DisputesMixin, LeasesMixin, SweepsMixin, JobsMixin):
    """The store at `path` (default `mujo.paths.store_path()`); the file and its schema are created on first use."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else paths.store_path()

    def connect(self) -> sqlite3.Connection:
        """A new connection (close it; `contextlib.closing`), schema migrated, row access by name."""
        conn = connect(self.path)
        keep_open(self.path)
        return conn

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def open_store(store: Store | str | Path | None = None) -> Store:
    """A Store from a Store, a path, or None (the project's default store)."""
    return store if isinstance(store, Store) else Store(store)
