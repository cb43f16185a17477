"""One idle connection per store file and process, so that closing a call's own connection does not checkpoint.

SQLite checkpoints the WAL into the database file, with an fsync, and removes the WAL whenever the last connection
to a file closes. A `Store` opens one connection per call, so in a process where nothing else holds the file open
every write paid that: about 20 ms per decision here instead of 2 ms, and several annotators queued behind it. An
idle connection that has read the schema once keeps the file open; it never runs a statement after that and holds
no lock. The WAL is still checkpointed automatically (every 1000 pages) by the connections that write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from mujo.store.schema import BUSY_TIMEOUT_MS

MAX_ANCHORS = 8  # store files kept open per process (tests open many; the app one)
_anchors: OrderedDict[tuple[int, str], sqlite3.Connection] = OrderedDict()
_inherited: list[sqlite3.Connection] = []  # a forked child's copies of its parent's: kept, never used or closed
_lock = threading.Lock()


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    _inherited.extend(_anchors.values())
    _anchors.clear()


os.register_at_fork(after_in_child=_after_fork)


def keep_open(path: str | Path) -> None:
    """Keep an idle connection to the store at `path` open in this process (the least recently anchored of more
    than MAX_ANCHORS files is closed). A forked child anchors its own; its copies of the parent's connections are
    kept unused (a connection is never used, not even closed, across fork)."""
    key = (os.getpid(), str(path))  # the pid: belt and braces beside the fork hook
    with _lock:
        if key in _anchors:
            _anchors.move_to_end(key)
            return
        # Closed by whichever thread evicts it (Streamlit runs each session's script in a thread of its own).
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute("PRAGMA user_version").fetchall()  # a read: the WAL index is open, so the file stays open
        _anchors[key] = conn
        while len(_anchors) > MAX_ANCHORS:
            _anchors.popitem(last=False)[1].close()


def release_all() -> None:
    """Close this process's idle connections (tests; a store file about to be replaced)."""
    with _lock:
        for conn in _anchors.values():
            conn.close()
        _anchors.clear()


__all__ = ["MAX_ANCHORS", "keep_open", "release_all"]
