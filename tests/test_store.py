"""The SQLite store: migrations, run lifecycle, metrics/results, label events, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing as mp
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mujo.store import SCHEMA_VERSION, Store
from mujo.store.runs import PROCESS_KEY, _proc_stat, process_gone, this_process
from mujo.store.schema import MIGRATIONS, migrate

REPO = Path(__file__).resolve().parents[1]


def test_migration_from_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.touch()  # an empty file is a valid, empty SQLite database
    store = Store(path)
    with closing(store.connect()) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"runs", "metrics", "results", "label_events"} <= tables
        assert migrate(conn) == SCHEMA_VERSION  # idempotent


def test_default_path_is_project_store() -> None:
    from mujo import paths

    assert Store().path == paths.store_path()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        Store(path).connect()


def test_run_lifecycle(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    rid = store.start_run("pretrain", name="demo", dataset="/data/x", config={"lr": 8e-4, "sites": ["RWrist"]})
    run = store.get_run(rid)
    assert run["status"] == "running" and run["finished"] is None and run["config"]["sites"] == ["RWrist"]
    for epoch in range(3):
        store.log_metrics(rid, epoch, "train", {"loss": 3.0 - epoch, "lr": 1e-3})
        store.log_metrics(rid, epoch, "val", {"loss": 3.5 - epoch})
    store.log_metrics(rid, 2, "val", {"loss": 0.25, "nan": float("nan")})  # an epoch written again replaces
    wide = store.metrics(rid, wide=True)
    assert list(wide.index) == [0, 1, 2] and wide.loc[2, "val_loss"] == 0.25 and wide.loc[0, "train_loss"] == 3.0
    assert len(store.metrics(rid)) == 3 * 3 + 1
    before = datetime.now(timezone.utc)
    store.set_run_status(rid, "interrupted")
    interrupted = store.get_run(rid)
    finished = datetime.fromisoformat(interrupted["finished"])  # ISO 8601, UTC, stamped now
    assert interrupted["status"] == "interrupted" and finished.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= finished <= datetime.now(timezone.utc), interrupted
    store.set_run_status(rid, "running")
    store.put_result(rid, "retrieval", {"R@1": 0.5})
    store.finish_run(rid, checkpoint="/ckpt")
    run = store.get_run(rid)
    assert run["status"] == "done" and run["checkpoint"] == "/ckpt"
    assert store.results(rid) == {"retrieval": {"R@1": 0.5}}
    other = store.start_run("finetune")
    store.fail_run(other, "boom")
    assert store.get_run(other)["error"] == "boom"
    assert list(store.runs()["id"]) == [other, rid] and list(store.runs("pretrain")["id"]) == [rid]
    with pytest.raises(ValueError, match="status"):
        store.set_run_status(rid, "weird")
    with pytest.raises(ValueError, match="no run"):
        store.set_run_status(999, "done")
    assert store.get_run(999) is None


def test_label_events_and_current_labels(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    a = store.add_label_event("ds", "c1", "null", annotator="ann")
    b = store.add_label_event("ds", "c1", "activity", activity="squat")  # supersedes a (same whole-clip range)
    store.add_label_event("ds", "c1", "bad", t0_s=2.0, t1_s=4.0)
    store.add_label_event("ds", "c2", "unsure")
    store.add_label_event("other", "c1", "bad")
    cur = store.current_labels("ds")
    assert list(zip(cur["clip_id"], cur["label"])) == [("c1", "activity"), ("c1", "bad"), ("c2", "unsure")]
    store.undo_label_event(b)
    cur = store.current_labels("ds").set_index(["clip_id", "t0_s"])
    assert cur.loc[("c1", 0.0), "label"] == "null" and cur.loc[("c1", 0.0), "id"] == a
    store.undo_label_event(a)
    assert "c1" not in set(store.current_labels("ds").query("t0_s == 0")["clip_id"])
    with pytest.raises(ValueError, match="already undone"):
        store.undo_label_event(a)
    assert len(store.label_events("ds")) == 6 and len(store.label_events("ds", "c2")) == 1
    with pytest.raises(ValueError, match="not one of"):
        store.add_label_event("ds", "c1", "maybe")
    with pytest.raises(ValueError, match="empty"):
        store.add_label_event("ds", "c1", "bad", t0_s=3, t1_s=3)


def _writer(path: str, worker: int, n: int) -> None:
    store = Store(path)
    for i in range(n):
        rid = store.start_run("pretrain", name=f"w{worker}-{i}")
        store.log_metrics(rid, 0, "train", {"loss": float(i)})
        store.add_label_event("ds", f"w{worker}", "unsure", t0_s=float(i), t1_s=float(i) + 1)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")  # a new file: the processes also race to create the schema
    n, workers = 40, 3
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, n)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * workers
    store = Store(path)
    runs = store.runs()
    assert len(runs) == n * workers and runs["name"].is_unique
    assert len(store.current_labels("ds")) == n * workers
    with closing(store.connect()) as conn:
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == n * workers


_START_AND_EXIT = ("import sys; from mujo.store import Store; "
                   "print(Store(sys.argv[1]).start_run('pretrain', name='orphan'))")


def _run_in_child(path: Path) -> tuple[int, subprocess.Popen]:
    """A run started by a child process that then exits without finishing it (as a SIGKILL would leave it)."""
    child = subprocess.Popen([sys.executable, "-c", _START_AND_EXIT, str(path)], cwd=REPO, stdout=subprocess.PIPE,
                             text=True)
    out = child.stdout.read()
    return int(out.strip()), child


def test_a_run_whose_process_is_gone_is_read_as_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    mine = store.start_run("pretrain", name="mine")
    orphan, child = _run_in_child(store.path)
    assert child.wait(60) == 0
    owner = store.process_of(orphan)
    assert owner["pid"] == child.pid and owner["host"] == socket.gethostname() and owner != this_process()
    assert store.process_of(mine) == this_process()
    listed = store.runs().set_index("id")  # the listing marks it, in the store
    assert listed.loc[orphan, "status"] == "interrupted" and listed.loc[mine, "status"] == "running"
    assert f"its process (pid {child.pid} on {socket.gethostname()}) ended without finishing it" in \
        listed.loc[orphan, "error"]
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("SELECT status FROM runs WHERE id = ?", (orphan,)).fetchone()[0] == "interrupted"
    assert store.results(orphan) == {}  # the owner is bookkeeping, not a result
    store.set_run_status(orphan, "running")  # a resume: this process owns it now
    assert store.get_run(orphan)["status"] == "running" and store.get_run(orphan)["process"] == this_process()
    store.finish_run(orphan)
    assert store.get_run(orphan)["status"] == "done"


def test_get_run_marks_a_dead_run_and_a_zombie_counts_as_dead(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    rid, child = _run_in_child(store.path)  # not waited for: a zombie until reaped
    deadline = time.monotonic() + 30
    while (st := _proc_stat(child.pid)) is not None and st[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.get_run(rid)["status"] == "interrupted"
    child.wait(10)


def test_runs_of_other_hosts_live_processes_and_reused_pids(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    here = this_process()
    elsewhere, reused, unreadable = (store.start_run("pretrain") for _ in range(3))
    with closing(store.connect()) as conn, conn:
        for rid, owner in ((elsewhere, {**here, "host": here["host"] + "-other"}),  # nothing known: left running
                           (reused, {**here, "start": (here["start"] or 0) + 1}),  # our pid, another process
                           (unreadable, "{not json")):
            conn.execute("UPDATE results SET value = ? WHERE run_id = ? AND key = ?",
                         (owner if isinstance(owner, str) else json.dumps(owner), rid, PROCESS_KEY))
    status = store.runs().set_index("id")["status"]
    assert status[elsewhere] == "running" and status[unreadable] == "running"
    assert status[reused] == ("interrupted" if here["start"] is not None else "running")
    assert not process_gone(here) and not process_gone({"pid": True, "host": here["host"]})
