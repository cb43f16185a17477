"""Whether a process still runs (background jobs, sweep coordinators), and removing what a killed writer left."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True while process `pid` exists and has not ended (a zombie, ended but not yet reaped, counts as ended).

    A process of another user that we may not signal counts as alive.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has ended; only its exit status is left for its parent to collect
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_orphans(folder: Path, pattern: str) -> list[Path]:
    """Remove the temporary folders and files matching `pattern` in `folder` whose name ends in `-<pid>` of a
    process that no longer runs: what a killed writer left behind (a live writer's are kept). Returns the removed.

    Writers name their temporaries `<name>-<their pid>` (a window bank's `.<key>.tmp-<pid>`, an embedding store's
    `.<name>.tmp-<pid>`), so a later writer can tell an abandoned one from one being written now.
    """
    removed = []
    for p in folder.glob(pattern) if folder.is_dir() else []:
        pid = p.name.rpartition("-")[2]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:  # removed by another process meanwhile, or not ours to remove
            pass
    return removed
