"""Running a sweep: the coordinator loop over a local process pool or a Dask cluster, and the per-cell worker.

The coordinator only schedules: it hands cell keys to at most `capacity` workers at a time, polls the cancel flag
and keeps its heartbeat. Each worker reads its cell from the store, fine-tunes, and saves the run together with
the cell's 'done' mark in one transaction, so results never depend on the coordinator surviving.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mujo.store import Store, open_store
from mujo.store.sweeps import mark_cell_saved, process_id
from mujo.train.finetune_plan import model_plan, open_windows
from mujo.train.finetune_settings import FinetuneSettings

DEFAULT_RUNNER = "mujo.train.finetune:finetune"
HEARTBEAT_S = 5.0  # well below mujo.store.sweeps.STALE_S
CANCEL_POLL_S = 2.0  # how often a running cell looks at the cancel flag
MAX_ATTEMPTS = 3  # a cell whose worker process dies this often is failed instead of retried
Progress = Callable[[float, str], None]


@dataclass
class SweepSummary:
    """How a `run_sweep` call ended."""

    sweep_id: int
    counts: dict[str, int] = field(default_factory=dict)  # cells per status after the call
    ran: int = 0  # cells this call handed to workers
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def progress_message(counts: dict[str, int]) -> str:
    """"12/40 done, 1 failed, 2 running" from cell counts."""
    total = sum(counts.values())
    parts = [f"{counts.get('done', 0)}/{total} done"]
    parts += [f"{counts[s]} {s}" for s in ("failed", "cancelled", "running") if counts.get(s)]
    return ", ".join(parts)


def default_workers() -> int:
    """Local worker processes by default: half the cores (each runs one torch thread), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


def _one_thread() -> None:
    import torch  # noqa: PLC0415  (keeps torch off mujo.train.sweep: `mujo sweep list/status`, the sweep table)

    torch.set_num_threads(1)
    _undo_malloc_trim()


@functools.lru_cache(maxsize=None)
def _undo_malloc_trim() -> None:
    """Give glibc back large free-memory thresholds when MALLOC_TRIM_THRESHOLD_ is set (Dask's nannies set it to
    64 KiB for their workers, and a process pool started after a LocalCluster inherits it): the variable also fixes
    the mmap threshold at 128 KiB, so every batch tensor is mmap'ed and page-faulted afresh, which measured 2x
    slower fine-tuning. These are the values glibc's own dynamic thresholds grow to."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: 32 MiB
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD: 64 MiB
    except (OSError, AttributeError):  # not glibc
        pass


def _init_local_worker(parent_pid: int) -> None:
    """Pool worker set-up: one torch thread, Ctrl-C left to the coordinator, exit when the coordinator is gone
    (a pool worker would otherwise wait forever on its queue after the coordinator was killed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _one_thread()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(3)  # the cell stays 'running'; the next coordinator runs it again

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _CancelPoll:
    """`should_stop` for a running cell: True once the sweep's cancel flag is set (read every few seconds)."""

    def __init__(self, store: Store, sweep_id: int, interval_s: float = CANCEL_POLL_S):
        self.store, self.sweep_id, self.interval_s = store, sweep_id, interval_s
        self.requested, self._last = False, time.monotonic()

    def __call__(self) -> bool:
        if not self.requested and time.monotonic() - self._last >= self.interval_s:
            self._last = time.monotonic()
            try:
                self.requested = self.store.cancel_requested(self.sweep_id)
            except Exception:  # a busy store must not kill the cell; look again later
                pass
        return self.requested


def settings_from_dict(d: dict[str, Any]) -> FinetuneSettings:
    """FinetuneSettings from its stored JSON."""
    return FinetuneSettings.from_dict(d)


def _load(runner: str) -> Callable[..., Any]:
    module, _, name = runner.partition(":")
    return getattr(importlib.import_module(module), name)


def _tail(text: str, n: int = 2000) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def run_cell(store_path: str, sweep_id: int, key: str, runner: str = DEFAULT_RUNNER) -> dict[str, Any]:
    """Run one cell in this process (a pool or Dask worker); every outcome is recorded on the cell.

    Args:
        store_path: the store file (must be reachable from the worker).
        runner: "module:function" with finetune's signature (tests pass a fake).
    Returns:
        {"key", "status", "run_id", "error"}; status "skipped" when the cell was no longer pending.
    """
    _one_thread()
    store = Store(store_path)
    cell = store.begin_cell(sweep_id, key, process_id())
    if cell is None:
        return {"key": key, "status": "skipped", "run_id": None, "error": None}
    stop = _CancelPoll(store, sweep_id)
    error = None
    try:
        settings = settings_from_dict(cell["settings"])
        _load(runner)(settings, store=store, should_stop=stop,
                      on_saved=functools.partial(mark_cell_saved, sweep_id=sweep_id, key=key))
    except Exception:
        error = _tail(traceback.format_exc())
    cell = store.cell(sweep_id, key) or {}
    if cell.get("status") == "running":  # no run was saved: it raised, or it stopped early without saving
        status = "cancelled" if stop.requested else "failed"
        store.end_cell(sweep_id, key, status, error or "fine-tuning returned without saving a result"
                       + (" (cancelled)" if stop.requested else ""))
        cell = store.cell(sweep_id, key) or {}
    return {"key": key, "status": cell.get("status"), "run_id": cell.get("run_id"), "error": cell.get("error")}


class _LocalPool:
    """A spawn-context process pool (torch and fork do not mix) of `workers` processes."""

    def __init__(self, workers: int):
        self.capacity = max(1, int(workers))
        self.executor = ProcessPoolExecutor(max_workers=self.capacity, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_local_worker, initargs=(os.getpid(),))
        self.broken = False

    def submit(self, *args: Any) -> Any:
        return self.executor.submit(*args)

    def close(self, force: bool = False) -> None:
        if force:  # stop the cells now; their cells go back to pending (ProcessPoolExecutor has no public kill)
            for proc in list(getattr(self.executor, "_processes", {}).values()):
                proc.terminate()
        self.executor.shutdown(wait=not force, cancel_futures=True)


class _DaskPool:
    """A dask.distributed client on `address`; capacity = the cluster's worker threads."""

    def __init__(self, address: str):
        from dask.distributed import Client  # noqa: PLC0415 (keeps dask off the pages' import path: Home -> actions)

        self.client = Client(address, timeout="30s")
        try:
            self.client.wait_for_workers(1, timeout=60)
        except Exception as e:
            self.client.close()
            raise RuntimeError(f"the Dask scheduler at {address} has no workers: {e}") from e
        self.capacity = max(1, sum(self.client.nthreads().values()))
        self.broken = False
        self._futures: list[Any] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        future = self.client.submit(fn, *args, pure=False)
        self._futures.append(future)
        return future

    def close(self, force: bool = False) -> None:
        if force:
            self.client.cancel([f for f in self._futures if not f.done()])
        self.client.close()


class _Heartbeat:
    """Refreshes the coordinator's heartbeat every HEARTBEAT_S from a daemon thread; `lost` once another process
    has become the coordinator."""

    def __init__(self, store: Store, sweep_id: int, owner: str):
        self.lost, self._stop = False, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(store, sweep_id, owner), name="sweep-heartbeat",
                                        daemon=True)
        self._thread.start()

    def _run(self, store: Store, sweep_id: int, owner: str) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.lost = self.lost or not store.heartbeat(sweep_id, owner)
            except Exception:  # a busy store: try again at the next beat
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _counts(store: Store, sweep_id: int) -> dict[str, int]:
    return store.get_sweep(sweep_id)["counts"]


def run_sweep(sweep_id: int, store: Store | str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None, retry_failed: bool = False,
              runner: str = DEFAULT_RUNNER, poll_s: float = 0.2) -> SweepSummary:
    """Run the sweep's pending cells until none is left, it is cancelled, or this process is interrupted.

    Resuming is running it again: done cells are never repeated, cells a dead process left running are re-run.

    Args:
        workers: local worker processes (default `default_workers()`); ignored with `scheduler`.
        scheduler: a Dask scheduler address ("tcp://host:8786"); the store must be reachable by its workers.
        progress: called with (finished cells / total, "12/40 done, 1 failed ...").
        should_stop: polled; True cancels the sweep like `cancel_sweep`.
        retry_failed: run failed cells again (not those that could not run from the start).
        runner: "module:function" run per cell (finetune's signature); tests pass a fake.
    Returns:
        SweepSummary.
    Raises:
        SweepBusy: another live process runs this sweep. KeyboardInterrupt: passed on after the cells in flight
        were stopped and put back to pending.
    """
    store = open_store(store)
    store_path, owner, started = str(Path(store.path).resolve()), process_id(), time.monotonic()
    report = progress or (lambda f, m: None)
    store.claim_sweep(sweep_id, owner, retry_failed=retry_failed)
    summary, inflight, pool = SweepSummary(sweep_id), {}, None
    beat = _Heartbeat(store, sweep_id, owner)  # a thread, so a long dataset preparation does not look like death
    try:
        queue = store.pending_keys(sweep_id)
        if queue:  # nothing to resume: no pool to start
            _prewarm(store, sweep_id, queue, report)
            pool = _DaskPool(scheduler) if scheduler else _LocalPool(workers or default_workers())
        last_report, last_key = 0.0, ""
        while True:
            if beat.lost:  # another coordinator took over (we looked dead): let it schedule, finish ours
                queue.clear()
            elif not summary.cancelled and ((should_stop is not None and should_stop())
                                            or store.cancel_requested(sweep_id)):
                summary.cancelled = True
                store.request_cancel(sweep_id)  # pending cells cancelled; running ones see the flag
                queue.clear()
            while queue and pool is not None and not pool.broken and len(inflight) < pool.capacity:
                key = queue.pop(0)
                inflight[pool.submit(run_cell, store_path, sweep_id, key, runner)] = key
                summary.ran += 1
            done = [f for f in inflight if f.done()]
            for f in done:
                last_key = inflight.pop(f)
                _collect(store, sweep_id, f, last_key, pool, queue)
            if pool is not None and pool.broken and not inflight:
                pool.close(force=True)
                pool = _LocalPool(pool.capacity)
            if done or time.monotonic() - last_report >= 1.0:
                counts = _counts(store, sweep_id)
                total = sum(counts.values()) or 1
                report((counts["done"] + counts["failed"] + counts["cancelled"]) / total,
                       progress_message(counts) + (f"; last: {last_key}" if last_key else ""))
                last_report = time.monotonic()
            if not inflight and not queue:
                break
            if not done:
                time.sleep(poll_s)
    except BaseException:
        if pool is not None:
            pool.close(force=True)
            pool = None
        for key in inflight.values():
            store.end_cell(sweep_id, key, "pending")
        raise
    finally:
        beat.stop()
        if pool is not None:
            pool.close()
        store.release_sweep(sweep_id, owner)
    summary.counts, summary.seconds = _counts(store, sweep_id), time.monotonic() - started
    return summary


def _collect(store: Store, sweep_id: int, future: Any, key: str, pool: Any, queue: list[str]) -> None:
    """A finished future: the worker recorded the cell's outcome itself, unless its process died."""
    try:
        outcome = future.result()
        if outcome["status"] == "skipped" and (store.cell(sweep_id, key) or {}).get("status") == "running":
            # Dask re-ran the task after its worker died: the cell is still marked as the dead one's
            _crashed(store, sweep_id, key, RuntimeError("the worker running it died"), queue)
    except BrokenProcessPool as e:  # a pool worker process died (out of memory, killed)
        pool.broken = True
        _crashed(store, sweep_id, key, e, queue)
    except Exception as e:  # Dask: KilledWorker, a lost connection ...
        _crashed(store, sweep_id, key, e, queue)


def _crashed(store: Store, sweep_id: int, key: str, error: BaseException, queue: list[str]) -> None:
    """A cell whose worker died: run it again unless that happened MAX_ATTEMPTS times."""
    cell = store.cell(sweep_id, key) or {}
    if cell.get("status") not in ("pending", "running"):
        return  # it ended (done or recorded) before the pool broke
    if cell.get("attempts", 0) >= MAX_ATTEMPTS:
        why = (f"the worker process died {MAX_ATTEMPTS} times running this cell (out of memory?): "
               f"{type(error).__name__}: {error}")
        store.end_cell(sweep_id, key, "failed", why, only_running=False)
    else:
        store.end_cell(sweep_id, key, "pending", only_running=False)
        queue.insert(0, key)


def _prewarm(store: Store, sweep_id: int, keys: list[str], report: Progress) -> None:
    """Prepare (cache) each dataset's windows once here, before the workers start: otherwise every worker would
    cut the same windows at the same time. A dataset that fails here is left to its cells to report."""
    seen, planned = set(), set()
    for key in keys:
        settings = settings_from_dict(store.cell(sweep_id, key)["settings"])
        plan = (settings.dataset, settings.checkpoint, settings.preset, settings.channels, "pose" in settings.inputs)
        if plan in planned:
            continue
        planned.add(plan)
        try:
            config, _, channels, window = model_plan(settings)
            sites = tuple(config.imu_sites) if config is not None else None
            what = (settings.dataset, channels, window, "pose" in settings.inputs, sites)
            if what not in seen:
                seen.add(what)
                report(0.0, f"preparing the windows of {Path(settings.dataset).name}")
                open_windows(settings, channels, window, None, sites)
        except Exception:  # noqa: BLE001 - the cell itself fails with this error and records it
            continue
