"""Long computations of a page (a UMAP projection) in a thread of the server process, shared by every session.

A page run that computes for a minute is cut short as soon as the user touches a widget (Streamlit stops the
script to rerun it), and the work is lost. Here the work runs in a daemon thread keyed by what it computes: the
page starts it (or finds it running), shows its progress, and reruns when it is done; reruns, other sessions and
other tabs asking for the same key follow the same thread. A process (mujo.jobs) would also free the GIL, but
would pay umap-learn's numba compilation (15-40 s) for every projection; a thread pays it once per server.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st

Progress = Callable[[float, str], None]


@dataclass
class Task:
    """What a background computation is doing (written by its thread, read by pages)."""

    key: str
    fraction: float = 0.0
    message: str = "starting"
    error: str = ""
    done: bool = False
    started: float = field(default_factory=time.monotonic)
    thread: threading.Thread | None = field(default=None, repr=False)

    def report(self, fraction: float, message: str) -> None:
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), str(message)


@st.cache_resource
def _registry() -> tuple[dict[str, Task], threading.Lock]:
    """The tasks of this server process (one dict for all sessions) and the lock that guards it."""
    return {}, threading.Lock()


def start(key: str, work: Callable[[Progress], Any]) -> Task:
    """The task computing `key`: the running or finished one, else a new thread running `work(progress)`.

    A failed task is kept (so pages can show its error) until `forget(key)`.
    """
    tasks, lock = _registry()
    with lock:
        task = tasks.get(key)
        if task is not None:
            return task
        task = Task(key)

        def run() -> None:
            try:
                work(task.report)
                task.report(1.0, "done")
                task.done = True
            except Exception as e:  # noqa: BLE001 - shown on the page, which offers to try again
                task.error = f"{type(e).__name__}: {e}"

        task.thread = threading.Thread(target=run, name=f"mujo-task-{key[:12]}", daemon=True)
        tasks[key] = task
        task.thread.start()
        return task


def forget(key: str) -> None:
    """Drop a finished or failed task (the next `start` computes again)."""
    tasks, lock = _registry()
    with lock:
        task = tasks.get(key)
        if task is not None and (task.done or task.error):
            del tasks[key]


def wait(task: Task, seconds: float) -> bool:
    """Wait up to `seconds` for the task to end (small jobs then render in the same run); True when it has."""
    if task.thread is not None:
        task.thread.join(timeout=max(0.0, seconds))
    return task.done or bool(task.error)
