"""A consistent copy of the store while the app runs: SQLite's online backup, into a new file renamed into place."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

from mujo.store import Store, open_store

# Every page in one step, on one read snapshot: the store is in WAL mode, so writers go on appending meanwhile.
# (Copied in steps, the backup restarted whenever a write landed between two of them: with annotators writing
# steadily a 147 MiB store never finished, measured by benchmarks/bench_backup.py.)
PAGES_PER_STEP = -1


def backup_store(dest: str | Path, store: Store | str | Path | None = None) -> Path:
    """Copy the store to `dest` with SQLite's online backup API (`sqlite3.Connection.backup`).

    The copy is consistent even while annotators write: it reads one snapshot of the store (WAL mode: writers are
    not blocked meanwhile). It is written to a temporary file beside the destination, checked (`PRAGMA
    integrity_check`) and renamed into place, so `dest` is either the old file or a complete new copy.

    Args:
        dest: the file to write, or a folder (an existing one, or a path ending in '/'): the copy is then named
            `mujo-YYYYmmdd-HHMMSS.sqlite` in it.
        store: the store to copy (default: the project's).

    Returns:
        The file written.

    Raises:
        FileNotFoundError: the store does not exist yet.
        ValueError: `dest` is the store itself, or the copy failed its integrity check.
    """
    src = open_store(store).path.resolve()
    if not src.is_file():
        raise FileNotFoundError(f"no store at {src}")
    folder = str(dest).endswith(("/", os.sep))
    dest = Path(dest).expanduser()
    if folder or dest.is_dir():
        dest = dest / time.strftime("mujo-%Y%m%d-%H%M%S.sqlite")
    dest = dest.resolve()
    if dest == src:
        raise ValueError(f"{dest} is the store itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}-", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        # A plain connection: the source is only read (no schema migration), the copy gets the source's pages.
        with closing(sqlite3.connect(src, timeout=30)) as s, closing(sqlite3.connect(tmp)) as d:
            s.backup(d, pages=PAGES_PER_STEP)
            ok = d.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise ValueError(f"the copy of {src} failed its integrity check: {ok}")
            d.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
