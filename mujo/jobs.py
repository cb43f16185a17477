"""The job registry: every long task is a `mujo` command in its own process, its state and progress in the store.

`submit` records a job (a request for work already queued or running with the same kind and inputs joins it: the
store's partial UNIQUE index makes that atomic across processes) and runs the launcher step, which starts queued jobs
in FIFO order while fewer than `max_jobs()` heavy jobs run. The launcher step also runs on every `poll` (pages
following a job) and when a job process ends (it promotes the next one itself), so no daemon is needed. A job runs
`python -m mujo.cli --job-id ID ... <argv>` in a new session: it outlives the Streamlit server, reports its progress
to the store (`JobReporter`, throttled), and is found again after a restart; a 'running' job whose process is gone
(pid checked with its command line, against pid reuse) is marked failed with its last message and log tail. The
process that starts a job reaps it in a daemon thread, so no job stays a zombie. `cancel` is for whoever may start
that kind of job (mujo.access): a queued job is simply cancelled, a running one gets SIGTERM, SIGKILL after a grace.

`start(name, argv)` / `status(name)` are the by-name view of the same registry that older callers use.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from mujo import paths
from mujo.access import Action, User, require
from mujo.procs import pid_alive
from mujo.store import Store, open_store

QUEUED, RUNNING, DONE, FAILED, CANCELLED, ABSENT = "queued", "running", "done", "failed", "cancelled", "absent"
GRACE_S = 10.0  # a cancelled job's process group gets SIGTERM, then SIGKILL after this
PROGRESS_INTERVAL_S = 0.5  # at most this often a job writes its progress to the store
KIND_ACTIONS = {"umap": Action.RUN_LIGHT_JOB, "zeroshot": Action.RUN_LIGHT_JOB, "embed": Action.RUN_LIGHT_JOB,
                "validate": Action.RUN_LIGHT_JOB,
                "null-compare": Action.RUN_LIGHT_JOB, "sweep": Action.SWEEP, "pretrain": Action.PRETRAIN,
                "feedback": Action.PRETRAIN, "demo": Action.PRETRAIN}
StoreArg = Store | str | Path | None


@dataclass
class Job:
    """One row of the registry (see mujo.store.jobs)."""

    id: int
    kind: str
    key: str
    argv: list = field(default_factory=list)
    heavy: bool = True
    state: str = QUEUED
    owner: str = ""
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    host: str | None = None
    fraction: float = 0.0
    message: str = ""
    error: str = ""
    cancel: bool = False
    cancelled_by: str = ""
    result: dict = field(default_factory=dict)

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> Job | None:
        names = {f.name for f in fields(cls)}
        return None if row is None else cls(**{k: v for k, v in row.items() if k in names})

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def age_s(self, now: float | None = None) -> float:
        return (now or time.time()) - self.created

    def log_path(self) -> Path:
        return log_path(self.id)


def max_jobs() -> int:
    """The cap of heavy jobs running at once: `$MUJO_MAX_JOBS`, else the number of cores."""
    try:
        return max(1, int(os.environ.get("MUJO_MAX_JOBS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


def jobs_dir() -> Path:
    """Where the jobs' logs are written."""
    return paths.data_dir() / "jobs"


def log_path(job_id: int) -> Path:
    return jobs_dir() / f"job-{int(job_id)}.log"


def job_key(kind: str, key_inputs: Any) -> str:
    """`kind:digest` of the inputs: two requests with the same kind and inputs are the same work."""
    text = json.dumps(key_inputs, sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:24]}"


def _marker(job_id: int) -> bytes:
    return f"\0--job-id\0{int(job_id)}\0".encode()


def _alive(row: dict[str, Any]) -> bool:
    """Whether a running job's process is alive and is that job (its command line carries `--job-id ID`)."""
    pid = int(row.get("pid") or 0)
    if not pid_alive(pid):
        return False
    if time.time() - float(row.get("started") or 0.0) < 5.0:  # maybe not exec'd yet: still its parent's cmdline
        return True
    try:
        return _marker(int(row["id"])) in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc").is_dir()  # no /proc (not Linux): trust the pid


def _dead_error(row: dict[str, Any]) -> str:
    log = log_path(int(row["id"]))
    tail = log.read_text(encoding="utf-8", errors="replace")[-1500:] if log.exists() else ""
    last = row.get("message") or ""
    return f"the job's process ended unexpectedly (last: {last}). Log:\n{tail}"


def _reap_when_done(proc: subprocess.Popen) -> None:
    """Collect the job's exit status in a daemon thread as soon as it ends (else it stays a zombie while we run).

    Its outcome is read from the store, not from here; once reaped, its pid is free and `_alive` tells a reused pid
    by its command line.
    """
    threading.Thread(target=proc.wait, name=f"mujo-job-reaper-{proc.pid}", daemon=True).start()


def _spawner(store: Store) -> Callable[[dict[str, Any]], int]:
    def spawn(row: dict[str, Any]) -> int:
        log = log_path(int(row["id"]))
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "mujo.cli", "--job-id", str(row["id"]), "--job-store",
               str(Path(store.path).resolve()), *row["argv"]]
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=paths.project_root())
        _reap_when_done(proc)
        return proc.pid

    return spawn


def poll(store: StoreArg = None) -> list[int]:
    """The launcher step: mark dead jobs failed, start queued ones while the cap allows; returns the started ids."""
    store = open_store(store)
    return store.launch_queued(max_jobs(), _spawner(store), _alive, _dead_error)


_ACTING = threading.local()  # .name: who submits the jobs of this thread (a Streamlit session's script run)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Jobs submitted in this block without an owner (also by name, through `start`) are owned by `name`."""
    before, _ACTING.name = getattr(_ACTING, "name", ""), name
    try:
        yield
    finally:
        _ACTING.name = before


def submit(kind: str, argv: Sequence[str], *, key_inputs: Any, owner: str = "", heavy: bool = True,
           store: StoreArg = None) -> Job:
    """Queue `mujo <argv>` as a job (or join the queued/running job of the same kind and inputs) and run the
    launcher step; returns the job as it stands after that step."""
    store = open_store(store)
    owner = owner or getattr(_ACTING, "name", "")
    row, _ = store.submit_job(kind, job_key(kind, key_inputs), [str(a) for a in argv], heavy=heavy, owner=owner)
    poll(store)
    return get(int(row["id"]), store)  # type: ignore[return-value]


def get(job_id: int, store: StoreArg = None) -> Job | None:
    return Job.of(open_store(store).job(job_id))


def latest(kind: str, key_inputs: Any, store: StoreArg = None) -> Job | None:
    """The active job for this work, else the last one that did it (None: never asked for)."""
    store = open_store(store)
    return Job.of(store.latest_job(job_key(kind, key_inputs))) if store.path.exists() else None


def list_jobs(active: bool | None = None, limit: int = 50, store: StoreArg = None) -> list[Job]:
    """Queued and running jobs in queue order (active=True), finished ones newest first (False), or all."""
    store = open_store(store)
    return [Job.of(r) for r in store.list_jobs(active=active, limit=limit)] if store.path.exists() else []  # type: ignore[misc]


def queue_position(job: Job, store: StoreArg = None) -> int:
    return open_store(store).queue_position(job.id)


def may_cancel(job: Job, user: User) -> bool:
    """Whether `user` may start, hence cancel, this kind of job."""
    return user.can(KIND_ACTIONS.get(job.kind, Action.PRETRAIN))


def _kill_later(pid: int, grace_s: float) -> None:
    def kill() -> None:
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    threading.Thread(target=kill, name=f"mujo-job-kill-{pid}", daemon=True).start()


def cancel(job_id: int, user: User, *, grace_s: float = GRACE_S, store: StoreArg = None) -> Job | None:
    """Cancel a job: a queued one is dropped from the queue, a running one's process group gets SIGTERM (SIGKILL
    after `grace_s`). Raises PermissionDenied when `user` may not start this kind of job."""
    store = open_store(store)
    job = get(job_id, store)
    if job is None:
        return None
    require(user, KIND_ACTIONS.get(job.kind, Action.PRETRAIN))
    before = Job.of(store.cancel_job(job_id, by=user.name))
    if before is not None and before.state == RUNNING and before.pid and before.host == socket.gethostname() \
            and _alive(asdict(before)):
        try:
            os.killpg(before.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        _kill_later(before.pid, grace_s)
    poll(store)
    return get(job_id, store)


# ---- the job's own process -------------------------------------------------------------------------------------

class JobReporter:
    """A progress callback (fraction, message) that writes to the job's row, throttled; and how the job ends."""

    def __init__(self, job_id: int, store: StoreArg = None, min_interval_s: float = PROGRESS_INTERVAL_S):
        self.id, self.store = int(job_id), open_store(store)
        self.min_interval_s, self._last, self.ended = min_interval_s, 0.0, False
        self.message = ""

    def __call__(self, fraction: float, message: str) -> None:
        self.message = str(message)
        if time.monotonic() - self._last >= self.min_interval_s or fraction >= 1.0:
            self._last = time.monotonic()
            if not self.store.job_progress(self.id, min(max(float(fraction), 0.0), 1.0), self.message):
                raise KeyboardInterrupt  # cancelled (e.g. from another host, where no signal reaches): stop

    def result(self, **values: Any) -> None:
        self.store.set_job_result(self.id, values)

    def done(self, message: str = "done") -> None:
        self.ended = True
        self.store.finish_job(self.id, DONE, message=message)

    def fail(self, error: str) -> None:
        self.ended = True
        self.store.finish_job(self.id, FAILED, error=error)


_CURRENT = threading.local()  # .reporter: the job this thread runs (a thread: in-process test runs)


def current() -> JobReporter | None:
    """The reporter of the job this process (thread) runs; None outside a job."""
    return getattr(_CURRENT, "reporter", None)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # commands clean up and stop as on Ctrl-C


def run_as_job(job_id: int, store: StoreArg, work: Callable[[], int]) -> int:
    """Run a command as registry job `job_id`: progress via `current()`, SIGTERM as Ctrl-C, the job ended by the
    exit code when the command did not end it, and the next queued job started on the way out."""
    reporter = _CURRENT.reporter = JobReporter(job_id, store)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    code = 1
    try:
        code = int(work())
    except BaseException as e:
        reporter.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        if not reporter.ended:
            if code == 0:
                reporter.done(reporter.message or "done")
            else:
                reporter.fail(f"exit code {code}" + (f" ({reporter.message})" if reporter.message else ""))
        _CURRENT.reporter = None
        poll(reporter.store)
    return code


# ---- the by-name view (older callers: the demo build, pre-training, sweeps) -------------------------------------

@dataclass
class JobStatus:
    """What a named job is doing. A queued job reads as running (its message says it waits), a cancelled one as
    failed (its error says who cancelled it)."""

    name: str
    state: str = ABSENT  # running / done / failed / absent
    fraction: float = 0.0
    message: str = ""
    error: str = ""
    pid: int = 0
    started: float = 0.0
    updated: float = 0.0
    job_id: int = 0
    queued: bool = False


def _check_name(name: str) -> str:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"job name {name!r} must be letters, digits, '-' and '_'")
    return name


def kind_of(name: str) -> str:
    """The kind of a named job: its name up to the first '-' ("sweep-3" -> "sweep")."""
    return name.split("-", 1)[0]


def _status(name: str, job: Job | None, store: StoreArg) -> JobStatus:
    if job is None:
        return JobStatus(name=name)
    st = JobStatus(name=name, fraction=job.fraction, message=job.message, error=job.error, pid=job.pid or 0,
                   started=job.started or job.created, updated=time.time(), job_id=job.id)
    if job.state == QUEUED:
        ahead = queue_position(job, store)
        st.state, st.queued = RUNNING, True
        st.message = f"queued: {ahead} job(s) ahead" if ahead else "queued: waiting for a free slot"
    elif job.state == CANCELLED:
        st.state, st.error = FAILED, job.message or "cancelled"
    else:
        st.state = job.state
    return st


def start(name: str, argv: list[str], *, owner: str = "", heavy: bool = True, store: StoreArg = None) -> JobStatus:
    """Submit `mujo <argv>` as the job named `name` (joining it while it is queued or running); its status."""
    job = submit(kind_of(_check_name(name)), argv, key_inputs=name, owner=owner, heavy=heavy, store=store)
    return _status(name, job, store)


def status(name: str, store: StoreArg = None) -> JobStatus:
    """The named job's status (its latest run); a job whose process died is reported as failed."""
    job = latest(kind_of(_check_name(name)), name, store)
    if job is not None and job.state == RUNNING and job.host == socket.gethostname() and not _alive(asdict(job)):
        poll(store)
        job = latest(kind_of(name), name, store)
    return _status(name, job, store)


def tee(*callbacks: Callable[[float, str], None] | None) -> Callable[[float, str], None]:
    """One progress callback that calls several (None entries are skipped)."""
    cbs = [c for c in callbacks if c is not None]

    def call(fraction: float, message: str) -> None:
        for c in cbs:
            c(fraction, message)

    return call
