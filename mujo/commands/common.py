"""Shared pieces of the `mujo` commands: exit codes, a tqdm progress bar, and `run_job` (job, bar, Ctrl-C, errors)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from tqdm import tqdm

from mujo import jobs
from mujo.jobs import tee

EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

T = TypeVar("T")
Progress = Callable[[float, str], None]
# (exception types, exit code): an expected failure of a command, first match wins
ErrorCodes = Sequence[tuple[type[BaseException] | tuple[type[BaseException], ...], int]]


class Bar:
    """A tqdm progress bar fed by the library's (fraction, message) progress callbacks."""

    def __init__(self, desc: str):
        self._bar = tqdm(total=1000, desc=desc, unit="‰", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def __call__(self, fraction: float, message: str) -> None:
        self._bar.n = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        self._bar.set_postfix_str(message, refresh=True)

    def close(self) -> None:
        self._bar.close()


def with_bar(desc: str, fn: Callable[[Bar], T]) -> T:
    """Run fn(bar) with a progress bar that is closed however fn ends."""
    bar = Bar(desc)
    try:
        return fn(bar)
    finally:
        bar.close()


class Interrupted(Exception):
    """A run that stopped before it finished: the job fails with `reason`, `say` goes to stderr, exit 130."""

    def __init__(self, reason: str = "interrupted", say: str | None = "\ninterrupted"):
        super().__init__(reason)
        self.reason, self.say = reason, say


class ProgressFile:
    """A progress callback (fraction, message) that writes a JobStatus as JSON (`--progress-file`, for scripts and a
    command run by hand), throttled and atomic."""

    def __init__(self, path: str | Path, min_interval_s: float = 0.25):
        self.path, self.min_interval_s, self._last = Path(path), min_interval_s, 0.0
        try:
            prev = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            prev = None
        self.status = jobs.JobStatus(name=self.path.stem, state=jobs.RUNNING, pid=os.getpid(),
                                started=(prev or {}).get("started", time.time()))
        self._flush()

    def _flush(self) -> None:
        self.status.updated = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self.status)), encoding="utf-8")
        os.replace(tmp, self.path)

    def __call__(self, fraction: float, message: str) -> None:
        self.status.fraction, self.status.message = float(fraction), str(message)
        if time.monotonic() - self._last >= self.min_interval_s or fraction >= 1.0:
            self._last = time.monotonic()
            self._flush()

    def done(self, message: str = "done") -> None:
        self.status.state, self.status.fraction, self.status.message = jobs.DONE, 1.0, message
        self._flush()

    def fail(self, error: str) -> None:
        self.status.state, self.status.error = jobs.FAILED, error
        self._flush()


class _Both:
    """The progress file (`--progress-file`) and the registry job this process runs (`--job-id`), as one."""

    def __init__(self, *parts: ProgressFile | jobs.JobReporter | None):
        self.parts = [p for p in parts if p is not None]

    def __bool__(self) -> bool:
        return bool(self.parts)

    def __call__(self, fraction: float, message: str) -> None:
        for p in self.parts:
            p(fraction, message)

    def done(self, message: str) -> None:
        for p in self.parts:
            p.done(message)

    def fail(self, error: str) -> None:
        for p in self.parts:
            p.fail(error)


def _stopped(job: _Both | None, how: Interrupted) -> int:
    if job:
        job.fail(how.reason)
    if how.say is not None:
        print(how.say, file=sys.stderr)
    return EXIT_INTERRUPTED


def refuse(progress_file: str | None, error: str, say: str, code: int) -> int:
    """A command that cannot start: its job (if any) fails with `error`, `say` goes to stderr, exit `code`."""
    if progress_file:
        ProgressFile(progress_file).fail(error)
    if jobs.current():
        jobs.current().fail(error)  # type: ignore[union-attr]
    print(say, file=sys.stderr)
    return code


def run_job(command: str, work: Callable[[Progress], T], report: Callable[[T], str], *,
            progress_file: str | None = None, bar: str | None = None, errors: ErrorCodes = (),
            interrupted: Interrupted | None = None, stops: tuple[type[BaseException], ...] = ()) -> int:
    """Run a command's work as a job: its progress file, a progress bar, Ctrl-C and failures handled one way.

    Args:
        command: the command's name in error messages ("mujo <command>: <error>").
        work: does the work, reporting through the progress callback it is given (the bar and the job's file).
        report: called with work's result once the bar is closed: prints it and returns the job's closing message.
            It may raise Interrupted (a run that ended early and says so in its result).
        progress_file: also write the progress there as JSON (`--progress-file`, for scripts); a command run as a
            registry job (`mujo --job-id`) also reports to its row in the store.
        bar: the progress bar's label; None: no bar.
        errors: expected failures: such an error fails the job with its message, prints "mujo <command>: <error>"
            and returns the exit code; any other exception fails the job and propagates.
        interrupted: what Ctrl-C (or one of `stops`) says; default "interrupted".
        stops: exception types that mean the run was stopped, like Ctrl-C.
    Returns:
        The exit code: EXIT_OK, a code of `errors`, or EXIT_INTERRUPTED.
    """
    job = _Both(ProgressFile(progress_file) if progress_file else None, jobs.current())
    shown = Bar(bar) if bar else None
    try:
        result = work(tee(shown, job))
    except Interrupted as e:
        return _stopped(job, e)
    except (KeyboardInterrupt, *stops):
        return _stopped(job, interrupted or Interrupted())
    except Exception as e:
        code = next((c for types, c in errors if isinstance(e, types)), None)
        if job:
            job.fail(f"{type(e).__name__}: {e}" if code is None else str(e))
        if code is None:
            raise
        print(f"mujo {command}: {e}", file=sys.stderr)
        return code
    finally:
        if shown:
            shown.close()
    try:
        message = report(result)
    except Interrupted as e:
        return _stopped(job, e)
    if job:
        job.done(message)
    return EXIT_OK
