"""Several annotators on one store: clip leases (race, expiry, release), versioned decisions (conflicts, idempotent
retries, undo), disputes and their settlement, each annotator's own labels, the newest events."""

from __future__ import annotations

import multiprocessing as mp
import random
import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest

from mujo.store import Store
from mujo.store.anchor import release_all
from mujo.store.decisions import merge_in_force

DS = "ds"


def test_lease_race_between_threads_has_one_winner(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.acquire_lease(DS, "warm", "x", "warmup")  # the schema exists before the race
    for round_ in range(5):
        clip = f"c{round_}"
        barrier, won = threading.Barrier(8), []

        def grab(i: int) -> None:
            barrier.wait()
            lease = store.acquire_lease(DS, clip, f"a{i}", f"s{i}-{round_}")
            if lease.mine(f"s{i}-{round_}"):
                won.append(i)

        threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1
        assert store.active_leases(DS)[clip].holder == f"a{won[0]}"


def _grab_in_process(path: str, session: str, barrier, out) -> None:
    barrier.wait()
    out.put((session, Store(path).acquire_lease(DS, "c", session, session).session))


def test_lease_race_between_processes_has_one_winner(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    Store(path).active_leases(DS)  # create the schema first
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_grab_in_process, args=(path, f"s{i}", barrier, out)) for i in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    holders = {held for _, held in results}
    assert len(holders) == 1  # every process saw the same single winner
    assert sum(session == held for session, held in results) == 1


def test_lease_expiry_renewal_and_release(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    a = store.acquire_lease(DS, "c1", "Ada", "sa", ttl_s=60, now=1000.0)
    assert a.mine("sa") and a.expires == 1060.0
    assert store.acquire_lease(DS, "c1", "Bob", "sb", ttl_s=60, now=1030.0).holder == "Ada"  # held
    assert store.acquire_lease(DS, "c1", "Ada", "sa", ttl_s=60, now=1050.0).expires == 1110.0  # renewed
    assert store.acquire_lease(DS, "c1", "Bob", "sb", ttl_s=60, now=1100.0).holder == "Ada"
    assert store.acquire_lease(DS, "c1", "Bob", "sb", ttl_s=60, now=1111.0).holder == "Bob"  # expired: Bob's
    assert set(store.active_leases(DS, now=1111.0)) == {"c1"}
    # Taking the next clip releases the previous one; a session holds one lease per dataset.
    store.acquire_lease(DS, "c2", "Bob", "sb", ttl_s=60, now=1112.0)
    assert set(store.active_leases(DS, now=1112.0)) == {"c2"}
    store.acquire_lease("other", "c9", "Bob", "sb", ttl_s=60, now=1112.0)
    assert set(store.active_leases(DS, now=1112.0)) == {"c2"}  # per dataset
    # The same annotator in another session (a reloaded tab) takes the lease over.
    assert store.acquire_lease(DS, "c2", "Bob", "sb2", ttl_s=60, now=1113.0).mine("sb2")
    assert store.release_leases(DS, "sb") == 0
    assert store.release_leases(DS, "sb2") == 1
    assert store.active_leases(DS, now=1112.0) == {}
    assert store.active_leases(DS, now=2000.0) == {}


def test_decision_conflict_names_who_changed_the_clip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    seen = store.clip_in_force(DS, "c1")
    assert seen == []
    bob = store.decide_label(DS, "c1", "bad", base_event=0, annotator="Bob", request_id="b1")
    assert bob.status == "applied"
    ada = store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada", request_id="a1", note="x")
    assert ada.status == "conflict" and ada.event_id is None and not ada.applied
    assert ada.current["id"] == bob.event_id and ada.current["annotator"] == "Bob"
    assert ada.current["label"] == "bad" and ada.current["created"]
    assert len(store.label_events(DS)) == 1  # nothing written
    # Replace: a new decision based on the version now in force.
    again = store.decide_label(DS, "c1", "null", base_event=bob.event_id, annotator="Ada", request_id="a2")
    assert again.status == "applied"
    assert store.clip_in_force(DS, "c1")[0]["id"] == again.event_id
    ev = store.label_event_rows(DS)
    assert [e["base_event"] for e in ev] == [0, bob.event_id]
    # A range is versioned on its own: a decision on another range of the clip is not a conflict.
    ranged = store.decide_label(DS, "c1", "unsure", base_event=0, t0_s=1.0, t1_s=2.0, annotator="Ada")
    assert ranged.status == "applied"
    assert [r["t0_s"] for r in store.clip_in_force(DS, "c1")] == [0.0, 1.0]


def test_undo_changes_the_version_and_undo_keeps_working(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    a = store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada", request_id="a1")
    undo = store.undo_last(DS, "c1", "Ada")
    assert undo is not None and store.clip_in_force(DS, "c1") == []
    stale = store.decide_label(DS, "c1", "bad", base_event=a.event_id, annotator="Bob")
    assert stale.status == "conflict" and stale.current is None
    assert stale.change["undo_of"] == a.event_id and stale.change["annotator"] == "Ada"
    assert stale.change["undone_label"] == "null"
    assert store.decide_label(DS, "c1", "bad", base_event=0, annotator="Bob").status == "applied"


def test_retried_request_is_applied_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    first = store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada", request_id="r-1")
    retry = store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada", request_id="r-1")
    assert (retry.status, retry.event_id) == ("replayed", first.event_id) and retry.applied
    assert len(store.label_events(DS)) == 1
    with pytest.raises(ValueError, match="another clip"):
        store.decide_label(DS, "c2", "null", base_event=0, annotator="Ada", request_id="r-1")
    with pytest.raises(ValueError, match="base_event"):
        store.decide_label(DS, "c2", "null", base_event=-1)
    with pytest.raises(ValueError, match="request id is empty"):
        store.decide_label(DS, "c2", "null", base_event=0, request_id="")
    # A retry racing with itself in threads: still one row.
    barrier, results = threading.Barrier(6), []

    def retry_() -> None:
        barrier.wait()
        results.append(store.decide_label(DS, "c3", "bad", base_event=0, annotator="Bob", request_id="r-3"))

    threads = [threading.Thread(target=retry_) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["applied"] + ["replayed"] * 5
    assert len({r.event_id for r in results}) == 1
    assert len(store.label_events(DS, "c3")) == 1


def test_concurrent_stale_decisions_one_applies(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.clip_in_force(DS, "c")
    barrier, results = threading.Barrier(6), []

    def go(i: int) -> None:
        barrier.wait()
        results.append(store.decide_label(DS, "c", "null", base_event=0, annotator=f"a{i}", request_id=f"q{i}"))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["applied"] + ["conflict"] * 5
    assert len(store.label_events(DS)) == 1


def test_disputes_and_settling(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    a = store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada")
    b = store.decide_label(DS, "c1", "bad", base_event=a.event_id, annotator="Bob")
    d1 = store.raise_dispute(DS, "c1", "Ada", "I think it is NULL")
    assert store.raise_dispute(DS, "c1", "Ada") == d1  # one open dispute per clip
    assert [d["id"] for d in store.label_disputes(DS, open_only=True)] == [d1]
    # Settling on a stale version is a conflict: nothing resolved.
    stale = store.settle_clip(DS, "c1", "Cy", base_event=a.event_id, label="null")
    assert stale.status == "conflict" and store.label_disputes(DS, open_only=True)
    settled = store.settle_clip(DS, "c1", "Cy", base_event=b.event_id, label="null", note="settled: NULL")
    assert settled.status == "applied"
    assert store.label_disputes(DS, open_only=True) == []
    (d,) = store.label_disputes(DS, "c1")
    assert (d["resolved_by"], d["resolution_event"], d["wrote_event"]) == ("Cy", settled.event_id, 1)
    # The settler's event is an adjudication: each annotator's own label stays as they gave it.
    own = {(r["clip_id"], r["annotator"]): r["label"] for r in store.annotator_labels(DS)}
    assert own == {("c1", "Ada"): "null", ("c1", "Bob"): "bad"}
    # Keeping the label in force writes no event but records the settlement.
    kept = store.settle_clip(DS, "c2", "Cy", base_event=0)
    assert kept.status == "applied" and kept.event_id is None
    assert store.label_disputes(DS, "c2")[0]["resolution_event"] == 0


def test_annotator_labels_are_each_ones_latest_not_undone(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.add_label_event(DS, "c1", "null", annotator="Ada")
    store.add_label_event(DS, "c1", "bad", annotator="Ada")
    store.add_label_event(DS, "c1", "activity", activity="squat", annotator="Bob")
    store.undo_last(DS, "c1", "Ada")  # Ada's latest is NULL again
    own = {(r["clip_id"], r["annotator"]): (r["label"], r["activity"]) for r in store.annotator_labels(DS)}
    assert own == {("c1", "Ada"): ("null", None), ("c1", "Bob"): ("activity", "squat")}


def test_recent_events_read_only_the_newest(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    for i in range(30):
        store.add_label_event(DS, f"c{i}", "null", annotator="Ada")
    store.add_label_event("other", "x", "bad")
    store.undo_last(DS, "c29", "Ada")
    recent = store.recent_label_events(DS, 10)
    assert len(recent) == 10 and recent[0]["undo_of"] is not None and recent[0]["undone_label"] == "null"
    assert [r["clip_id"] for r in recent[1:]] == [f"c{i}" for i in range(29, 20, -1)]
    assert store.last_event_id(DS) == recent[0]["id"] and store.last_event_id("none") == 0
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM label_events WHERE dataset = ? ORDER BY id DESC LIMIT 10", (DS,)))
    assert "label_events_recent" in plan


def _decide_in_child(path: str, out) -> None:
    d = Store(path).decide_label(DS, "child", "bad", base_event=0, annotator="kid")
    out.put(d.status)


def test_the_idle_connection_keeps_writes_cheap_and_survives_fork(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    store.decide_label(DS, "c1", "null", base_event=0, annotator="Ada")
    assert Path(f"{path}-wal").exists()  # no checkpoint-and-delete on every close: the process keeps the file open
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_decide_in_child, args=(str(path), out))
    child.start()
    assert out.get(timeout=60) == "applied"
    child.join(60)
    assert child.exitcode == 0
    store.decide_label(DS, "c2", "null", base_event=0, annotator="Ada")  # the parent's own connections still work
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r["clip_id"] for r in store.label_event_rows(DS)} == {"c1", "child", "c2"}
    release_all()
    assert store.decide_label(DS, "c3", "null", base_event=0).applied


def test_labels_changed_since_keeps_current_labels_up_to_date(tmp_path: Path) -> None:
    """Merging the touched ranges gives exactly what reading current_labels again gives, after any mix of labels,
    ranges, undos and events of another dataset."""
    store, rng = Store(tmp_path / "s.db"), random.Random(3)
    labels, last = store.current_labels(DS), 0
    for step in range(120):
        clip = f"c{rng.randrange(12)}"
        t0, t1 = rng.choice([(0.0, None), (1.0, 2.0), (0.0, 2.0)])
        if rng.random() < 0.3:
            store.undo_last(DS, clip, rng.choice(["Ada", "Bob"]))
        else:
            store.add_label_event(DS if rng.random() < 0.9 else "other", clip, rng.choice(["null", "bad"]), t0_s=t0,
                                  t1_s=t1, annotator=rng.choice(["Ada", "Bob"]))
        if step % rng.choice([1, 3, 7]) == 0:
            last, touched, rows = store.labels_changed_since(DS, last)
            labels = merge_in_force(labels, touched, rows)
            expected = store.current_labels(DS)
            norm = [df.assign(t1_s=df["t1_s"].astype(float)).astype(object) for df in (labels, expected)]
            pd.testing.assert_frame_equal(*norm, check_dtype=False)  # t1_s: None or NaN, as pandas reads it
