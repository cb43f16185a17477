"""The store's sweep tables: migration, cell life cycle, the on_saved 'done' mark, claiming, cancel, concurrency."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from mujo.store import SCHEMA_VERSION, Store
from mujo.store.runs import now_iso
from mujo.store.schema import MIGRATIONS, write
from mujo.store.sweeps import CellAlreadyDone, SweepBusy, mark_cell_saved, owner_alive, process_id


def make(store: Store, n: int = 3, failed: int = 0) -> int:
    cells = [{"key": f"c{i}", "settings": {"dataset": "d", "repeat": i}, "meta": {"method": "mujo"}} for i in range(n)]
    cells += [{"key": f"bad{i}", "settings": {}, "status": "failed", "error": "sites differ",
               "meta": {"unrunnable": "sites differ"}} for i in range(failed)]
    return store.add_sweep("test", {"datasets": ["d"]}, cells)


def save(store: Store, sweep_id: int, key: str, status: str = "done") -> int:
    hook = lambda conn, rid: mark_cell_saved(conn, rid, sweep_id=sweep_id, key=key)  # noqa: E731
    return store.save_run("finetune", results={"metrics": {"macro_f1": 0.5}}, status=status, on_saved=hook,
                          error=None if status == "done" else "stopped")


def test_migration_from_version_1_keeps_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO runs (kind, started) VALUES ('pretrain', ?)", (now_iso(),))
    store = Store(path)
    assert len(store.runs()) == 1
    with closing(store.connect()) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sweeps", "sweep_cells"} <= tables


def test_cell_life_cycle_and_counts(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = make(store, 3, failed=1)
    assert store.get_sweep(sid)["counts"] == {"pending": 3, "running": 0, "done": 0, "failed": 1, "cancelled": 0}
    assert store.pending_keys(sid) == ["c0", "c1", "c2"]
    cell = store.begin_cell(sid, "c0", "host:1")
    assert cell["status"] == "running" and cell["attempts"] == 1 and cell["settings"] == {"dataset": "d", "repeat": 0}
    assert store.begin_cell(sid, "c0", "host:2") is None  # not pending any more
    run_id = save(store, sid, "c0")
    done = store.cell(sid, "c0")
    assert done["status"] == "done" and done["run_id"] == run_id and done["finished"]
    # a second run of a done cell is rolled back with its run: no duplicate result
    with pytest.raises(CellAlreadyDone):
        save(store, sid, "c0")
    assert len(store.runs("finetune")) == 1
    # an interrupted run marks its cell cancelled; end_cell never touches a done cell
    store.begin_cell(sid, "c1", "host:1")
    save(store, sid, "c1", status="interrupted")
    assert store.cell(sid, "c1")["status"] == "cancelled"
    assert not store.end_cell(sid, "c0", "failed", "late error", only_running=False)
    assert store.cell(sid, "c0")["status"] == "done"
    df = store.sweeps()
    assert df.loc[0, "total"] == 4 and df.loc[0, "done"] == 1 and df.loc[0, "cancelled"] == 1
    assert list(store.sweep_runs(sid)["run_id"]) == [run_id]


def test_failing_hook_rolls_back_the_run(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = make(store, 1)
    with pytest.raises(CellAlreadyDone):
        save(store, sid, "no-such-cell")
    assert store.runs().empty


def test_claim_resets_dead_runs_and_refuses_a_live_coordinator(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = make(store, 4, failed=1)
    store.claim_sweep(sid, "host-a:1")
    for key in ("c0", "c1", "c2"):
        store.begin_cell(sid, key, "host-a:2")
    save(store, sid, "c0")
    store.end_cell(sid, "c2", "failed", "boom")
    # the first coordinator "dies" (another host, stale heartbeat): a new one takes over and re-runs c1 only
    with closing(store.connect()) as conn, write(conn):
        conn.execute("UPDATE sweeps SET heartbeat = '2000-01-01T00:00:00+00:00' WHERE id = ?", (sid,))
    store.claim_sweep(sid, process_id())
    assert store.pending_keys(sid) == ["c1", "c3"]
    assert store.cell(sid, "c0")["status"] == "done" and store.cell(sid, "c2")["status"] == "failed"
    # retry_failed brings back c2 but never a cell that could not run from the start
    store.claim_sweep(sid, process_id(), retry_failed=True)
    assert store.pending_keys(sid) == ["c1", "c2", "c3"] and store.cell(sid, "bad0")["status"] == "failed"
    # this process is alive and beating: nobody else may run the sweep
    assert owner_alive(process_id(), now_iso())
    with pytest.raises(SweepBusy, match=f"sweep {sid} is already being run"):
        store.claim_sweep(sid, "elsewhere:1")
    store.release_sweep(sid, process_id())
    assert store.get_sweep(sid)["coordinator"] is None and store.get_sweep(sid)["finished"] is None
    # a dead process on this host is noticed at once, without waiting for the heartbeat to go stale
    host = process_id().rsplit(":", 1)[0]
    assert not owner_alive(f"{host}:{2 ** 22 + 12345}", now_iso())


def test_cancel_with_and_without_a_coordinator(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = make(store, 3)
    store.claim_sweep(sid, process_id())
    store.begin_cell(sid, "c0", "w:1")
    store.request_cancel(sid)
    assert store.cancel_requested(sid)
    counts = store.get_sweep(sid)["counts"]
    assert counts["running"] == 1 and counts["cancelled"] == 2  # the live coordinator's worker stops c0 itself
    store.release_sweep(sid, process_id())  # after a cancel, what did not finish is cancelled
    assert store.get_sweep(sid)["counts"]["cancelled"] == 3 and store.get_sweep(sid)["finished"]
    sid2 = make(store, 2)
    store.begin_cell(sid2, "c0", "w:1")  # left running by a coordinator that is gone
    store.request_cancel(sid2)
    assert store.get_sweep(sid2)["counts"]["cancelled"] == 2
    store.claim_sweep(sid2, process_id())  # running it again resumes the cancelled cells and clears the flag
    assert store.pending_keys(sid2) == ["c0", "c1"] and not store.cancel_requested(sid2)


def test_concurrent_workers_begin_each_cell_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = make(store, 30)
    keys = store.pending_keys(sid)
    won: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        s = Store(store.path)  # its own connections, like another process
        for key in keys:
            if s.begin_cell(sid, key, f"t:{w}") is not None:
                save(s, sid, key)
                with lock:
                    won.append((w, key))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k for _, k in won) == sorted(keys)
    cells = store.sweep_cells(sid)
    assert set(cells["status"]) == {"done"} and set(cells["attempts"]) == {1}
    assert len(store.runs("finetune")) == 30 and cells["run_id"].is_unique
    assert os.path.exists(store.path)
