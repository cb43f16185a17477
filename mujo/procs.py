"""Whether a process still runs: shared by background jobs (mujo.jobs) and sweep coordinators (mujo.store.sweeps)."""

from __future__ import annotations

import os


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
