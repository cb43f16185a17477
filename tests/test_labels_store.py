"""The label store: history and undo, validation, bulk atomicity, progress, concurrent writers, a killed writer."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mujo
from mujo.curation.label_export import label_history
from mujo.store import Store
from mujo.store.labels import ALL_VIDEOS, LABELS, MAX_NOTE_BYTES, PROGRESS_COLUMNS

DS = "ds"


def _in_force(events: pd.DataFrame) -> dict[tuple, int]:
    """Reference for current_labels, written independently: per range, the latest label event not undone."""
    undone = set(events["undo_of"].dropna().astype(int))
    out: dict[tuple, int] = {}
    for e in events.sort_values("id").itertuples():
        if pd.isna(e.undo_of) and e.id not in undone:
            out[(e.clip_id, float(e.t0_s), None if pd.isna(e.t1_s) else float(e.t1_s))] = int(e.id)
    return out


def _current(store: Store, dataset: str = DS) -> dict[tuple, int]:
    cur = store.current_labels(dataset)
    return {(c, float(t0), None if pd.isna(t1) else float(t1)): int(i)
            for c, t0, t1, i in zip(cur["clip_id"], cur["t0_s"], cur["t1_s"], cur["id"])}


# --- history and undo ------------------------------------------------------------------------------------
def test_supersede_undo_and_undo_of_undo(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    a = store.add_label_event(DS, "c1", "null", annotator="ann", note="first look")
    b = store.add_label_event(DS, "c1", "activity", activity="squat", annotator="bo")  # supersedes a
    r = store.add_label_event(DS, "c1", "bad", t0_s=1.0, t1_s=2.5)  # another range: supersedes nothing
    assert _current(store) == {("c1", 0.0, None): b, ("c1", 1.0, 2.5): r}
    ub = store.undo_label_event(b, annotator="bo", note="wrong clip")
    assert _current(store) == {("c1", 0.0, None): a, ("c1", 1.0, 2.5): r}  # back to the previous label
    with pytest.raises(ValueError, match="is an undo"):
        store.undo_label_event(ub)
    with pytest.raises(ValueError, match="already undone"):
        store.undo_label_event(b)
    with pytest.raises(ValueError, match="no label event"):
        store.undo_label_event(10_000)
    b2 = store.add_label_event(DS, "c1", "activity", activity="squat")  # redo = label again
    assert _current(store)[("c1", 0.0, None)] == b2
    events = store.label_events(DS)
    assert events["id"].tolist() == [a, b, r, ub, b2]  # nothing was edited or deleted
    undo = events.set_index("id").loc[ub]
    assert pd.isna(undo["label"]) and [undo["undo_of"], undo["annotator"], undo["note"]] == [b, "bo", "wrong clip"]
    assert _current(store) == _in_force(events)
    h = label_history(store, DS, "c1").set_index("event_id")  # who, when, before, after
    assert h.loc[ub, ["kind", "annotator", "before_event_id", "after_event_id"]].tolist() == ["undo", "bo", b, a]
    assert h["created"].notna().all()


def test_undo_last_is_per_annotator_and_clip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    a1 = store.add_label_event(DS, "c1", "null", annotator="ann")
    b1 = store.add_label_event(DS, "c1", "activity", activity="lunge", annotator="bo")  # supersedes a1
    a2 = store.add_label_event(DS, "c1", "bad", t0_s=3, t1_s=4, annotator="ann")
    other_clip = store.add_label_event(DS, "c2", "unsure", annotator="ann")
    other_ds = store.add_label_event("other", "c1", "unsure", annotator="ann")

    u = store.undo_last(DS, "c1", "ann")
    assert store.label_events(DS).set_index("id").loc[u, ["undo_of", "annotator"]].tolist() == [a2, "ann"]
    u = store.undo_last(DS, "c1", "ann")  # a1 was superseded by bo: undone, nothing in force changes
    assert store.label_events(DS).set_index("id").loc[u, "undo_of"] == a1
    assert _current(store) == {("c1", 0.0, None): b1, ("c2", 0.0, None): other_clip}
    assert store.undo_last(DS, "c1", "ann") is None  # nothing of ann's left there (undo events are not undone)
    assert store.undo_last(DS, "c1", "nobody") is None
    u = store.undo_last(DS, "c1", "bo")
    assert store.label_events(DS).set_index("id").loc[u, "undo_of"] == b1
    assert _current(store) == {("c2", 0.0, None): other_clip}
    assert _current(store, "other") == {("c1", 0.0, None): other_ds}
    assert store.undo_last(DS, "c9", "ann") is None
    assert store.undo_last(DS, "c1", "") is None
    events = store.label_events(DS)
    assert _current(store) == _in_force(events) and events["undo_of"].dropna().is_unique


def test_undo_last_pressed_in_several_sessions_at_once(tmp_path: Path) -> None:
    """Browser sessions are threads: concurrent undo presses never undo one event twice."""
    store = Store(tmp_path / "s.sqlite")
    ids = store.add_label_events(DS, [{"clip_id": "c1", "label": "unsure", "t0_s": i} for i in range(24)],
                                 annotator="ann")
    got: list[int | None] = []
    lock = threading.Lock()

    def press() -> None:
        for _ in range(10):
            u = store.undo_last(DS, "c1", "ann")
            with lock:
                got.append(u)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    undos = [u for u in got if u is not None]
    assert len(got) == 40 and len(undos) == 24 and len(set(undos)) == 24
    events = store.label_events(DS)
    assert sorted(events["undo_of"].dropna().astype(int)) == ids and store.current_labels(DS).empty


# --- validation ------------------------------------------------------------------------------------------
def test_validation(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    bad_calls = [
        (dict(label="null", activity="squat"), "needs label 'activity'"),
        (dict(label="maybe"), "not one of"),
        (dict(label="bad", t0_s=3, t1_s=3), "empty"),
        (dict(label="bad", t0_s=-1), "before the clip"),
        (dict(label="bad", t0_s=float("nan")), "finite"),
        (dict(label="bad", t1_s=float("inf")), "finite"),
        (dict(label="bad", t0_s=True), "number of seconds"),
        (dict(label="bad", t0_s="soon"), "number of seconds"),
        (dict(label="null", note="x" * (MAX_NOTE_BYTES + 1)), f"at most {MAX_NOTE_BYTES}"),
        (dict(label="null", note="€" * (MAX_NOTE_BYTES // 3 + 1)), "bytes of UTF-8"),  # fewer chars, more bytes
        (dict(label="null", note="a\x00b"), "NUL"),
        (dict(label="null", note="\udce9"), "lone surrogate"),
        (dict(label="null", annotator="two\nlines"), "one line"),
        (dict(label="null", annotator="x" * 201), "characters long"),
        (dict(label="null", annotator=None), "must be text"),
        (dict(label="activity", activity=3), "must be text"),
    ]
    for kwargs, message in bad_calls:
        with pytest.raises(ValueError, match=message):
            store.add_label_event(DS, "c1", **kwargs)
    with pytest.raises(ValueError, match="clip id is empty"):
        store.add_label_event(DS, "", "null")
    with pytest.raises(ValueError, match="must be text"):
        store.add_label_event(DS, 7, "null")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="note"):
        store.undo_label_event(1, note="y" * (MAX_NOTE_BYTES + 1))
    assert store.label_events(DS).empty  # a refused call writes nothing

    note = "Гантели 🏋️ — «ok»\nzweite Zeile, \"quoted\"" + "é" * 100
    a = store.add_label_event(DS, "клип-1", "activity", activity="  Kniebeuge ", annotator="José 李", note=note)
    b = store.add_label_event(DS, "c2", "activity", activity="")  # an activity without a name is allowed
    c = store.add_label_event(DS, "c3", "null", activity="   ", t0_s=np.float32(0.5), t1_s=np.int64(2))
    d = store.add_label_event(DS, "c4", "null", note="x" * MAX_NOTE_BYTES)  # exactly at the limit
    ev = store.label_events(DS).set_index("id")
    assert ev.loc[a, ["clip_id", "activity", "annotator", "note"]].tolist() == ["клип-1", "Kniebeuge", "José 李", note]
    assert pd.isna(ev.loc[b, "activity"]) and pd.isna(ev.loc[c, "activity"])
    assert ev.loc[c, ["t0_s", "t1_s"]].tolist() == [0.5, 2.0] and len(ev.loc[d, "note"]) == MAX_NOTE_BYTES


# --- bulk ------------------------------------------------------------------------------------------------
def test_bulk_insert_is_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    assert store.add_label_events(DS, []) == [] and not store.path.exists()  # nothing to do: no store made
    keep = store.add_label_event(DS, "c0", "unsure")
    rows = [{"clip_id": "c1", "label": "null"}, {"clip_id": "c2", "label": "activity", "activity": "squat"},
            {"clip_id": "c3", "label": "null", "activity": "squat"},  # bad: activity with null
            {"clip_id": "c4", "label": "bad", "t0_s": 2, "t1_s": 1},  # bad: inverted
            {"clip_id": "c5", "label": "bad", "activty": "typo"},  # bad: unknown key
            {"label": "bad"}]  # bad: no clip
    with pytest.raises(ValueError) as err:
        store.add_label_events(DS, rows, annotator="ann")
    text = str(err.value)
    assert "4 of 6" in text and "nothing was written" in text
    assert all(f"row {i}" in text for i in (2, 3, 4, 5)) and "row 0" not in text and "activty" in text
    assert store.label_events(DS)["id"].tolist() == [keep]
    with pytest.raises(ValueError, match="single mapping"):
        store.add_label_events(DS, {"clip_id": "c1", "label": "null"})  # type: ignore[arg-type]

    ids = store.add_label_events(DS, rows[:2] + [{"clip_id": "c3", "label": "bad", "annotator": "bo", "note": ""}],
                                 annotator="ann", note="bulk")
    assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0] > keep
    ev = store.label_events(DS).set_index("id").loc[ids]
    assert ev["clip_id"].tolist() == ["c1", "c2", "c3"] and ev["activity"].fillna("").tolist() == ["", "squat", ""]
    assert ev["annotator"].tolist() == ["ann", "ann", "bo"] and ev["note"].tolist() == ["bulk", "bulk", ""]
    assert ev["created"].nunique() == 1  # one transaction, one time

    frame = pd.DataFrame({"clip_id": ["c5", "c6"], "label": ["bad", "activity"], "t0_s": [1.0, 0.0],
                          "t1_s": [2.0, np.nan], "activity": [None, "lunge"]})  # missing cells: not given
    more = store.add_label_events(DS, frame)
    assert _current(store)[("c5", 1.0, 2.0)] == more[0] and _current(store)[("c6", 0.0, None)] == more[1]


# --- progress --------------------------------------------------------------------------------------------
def test_labelling_progress(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    videos = {"v1": ["a", "b", "c", "d"], "v2": iter(["e", "f", "g"]), "v3": []}
    store.add_label_events(DS, [
        {"clip_id": "a", "label": "null"},
        {"clip_id": "b", "label": "unsure"}, {"clip_id": "b", "label": "activity", "activity": "squat"},  # latest
        {"clip_id": "c", "label": "bad", "t0_s": 1, "t1_s": 2},  # ranged only: partly
        {"clip_id": "e", "label": "unsure"},
        {"clip_id": "f", "label": "bad"}, {"clip_id": "f", "label": "null", "t0_s": 0, "t1_s": 1},
        {"clip_id": "zz", "label": "null"}])  # not in the mapping: ignored
    d = store.add_label_event(DS, "d", "null")
    store.undo_label_event(d)  # undone: unlabelled again
    store.add_label_event("other", "g", "null")  # another dataset
    p = store.labelling_progress(DS, videos).set_index("video")
    assert list(p.reset_index().columns) == PROGRESS_COLUMNS and list(p.index) == ["v1", "v2", "v3", ALL_VIDEOS]
    cols = ["clips", "labelled", "null", "activity", "unsure", "bad", "partly", "unlabelled"]
    assert p.loc["v1", cols].tolist() == [4, 2, 1, 1, 0, 0, 1, 1]
    assert p.loc["v2", cols].tolist() == [3, 2, 0, 0, 1, 1, 0, 1]
    assert p.loc["v3", cols].tolist() == [0] * 8 and p.loc["v3", "progress"] == 0.0
    assert p.loc[ALL_VIDEOS, cols].tolist() == [7, 4, 1, 1, 1, 1, 1, 2]
    assert p.loc["v1", "progress"] == 0.5 and p.loc[ALL_VIDEOS, "progress"] == pytest.approx(4 / 7)
    empty = Store(tmp_path / "new.sqlite").labelling_progress(DS, {"v": ["a"]}).set_index("video")
    assert empty.loc["v", ["clips", "labelled", "unlabelled"]].tolist() == [1, 0, 1]


# --- concurrent writers in several processes -------------------------------------------------------------
N_WRITES, N_WRITERS, N_BATCHES, BATCH = 50, 4, 5, 20


def _label_writer(path: str, worker: int, start, out: str) -> None:
    store, ids, undos = Store(path), [], []
    start.wait(60)
    for i in range(N_WRITES):
        label = LABELS[i % 4]
        clip = "shared" if i % 4 == 0 else f"w{worker}-{i % 5}"
        ids.append(store.add_label_event(DS, clip, label, activity=f"act{worker}" if label == "activity" else None,
                                         annotator=f"ann{worker}", note=f"{worker}/{i}"))
        if i % 10 == 9:
            undos.append(store.undo_last(DS, clip, f"ann{worker}"))
    Path(out).write_text(json.dumps({"ids": ids, "undos": undos}))


def _bulk_writer(path: str, start, out: str) -> None:
    store, ids = Store(path), []
    start.wait(60)
    for k in range(N_BATCHES):
        ids += store.add_label_events(DS, [{"clip_id": f"bulk{j}", "label": "unsure", "t0_s": k} for j in range(BATCH)],
                                      annotator="bulk")
    Path(out).write_text(json.dumps({"ids": ids, "undos": []}))


def _reader(path: str, start, stop, out: str) -> None:
    """Reads while the others write: every snapshot is a prefix-consistent log, bulk batches all-or-nothing."""
    store, reads, last = Store(path), 0, -1
    start.wait(60)
    while True:
        done = stop.is_set()
        ev = store.label_events(DS)
        assert ev["id"].is_monotonic_increasing and ev["id"].is_unique
        assert len(ev) >= last, "a committed event disappeared"
        assert (ev["annotator"] == "bulk").sum() % BATCH == 0, "a bulk batch was visible in part"
        store.current_labels(DS)
        last, reads = len(ev), reads + 1
        if done:
            break
    Path(out).write_text(json.dumps({"reads": reads, "last": last}))


def test_concurrent_writers_in_processes_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")  # a new file: the processes also race to create the schema
    ctx = mp.get_context("spawn")
    start, stop = ctx.Event(), ctx.Event()
    outs = [str(tmp_path / f"w{w}.json") for w in range(N_WRITERS)] + [str(tmp_path / "bulk.json")]
    writers = [ctx.Process(target=_label_writer, args=(path, w, start, outs[w])) for w in range(N_WRITERS)]
    writers.append(ctx.Process(target=_bulk_writer, args=(path, start, outs[-1])))
    reader = ctx.Process(target=_reader, args=(path, start, stop, str(tmp_path / "reader.json")))
    for p in [*writers, reader]:
        p.start()
    start.set()
    for p in writers:
        p.join(60)
    stop.set()
    reader.join(60)
    assert [p.exitcode for p in writers] == [0] * len(writers) and reader.exitcode == 0

    returned = [json.loads(Path(o).read_text()) for o in outs]
    ids = [i for r in returned for i in r["ids"]]
    undos = [u for r in returned for u in r["undos"]]
    assert None not in undos and len(undos) == N_WRITERS * N_WRITES // 10
    assert len(ids) == N_WRITERS * N_WRITES + N_BATCHES * BATCH
    store = Store(path)
    events = store.label_events(DS)
    assert len(events) == len(ids) + len(undos) == len(set(ids + undos))  # every write is there, ids unique
    assert set(events["id"]) == set(ids + undos)
    for w in range(N_WRITERS):  # each process's own events, in its order, with what it wrote
        mine = events[events["annotator"] == f"ann{w}"]
        assert mine["id"].tolist() == sorted(mine["id"]) and len(mine) == N_WRITES + N_WRITES // 10
        assert mine.loc[mine["undo_of"].isna(), "note"].tolist() == [f"{w}/{i}" for i in range(N_WRITES)]
    assert _current(store) == _in_force(events)  # the derived labels agree with the log
    shared = events[(events["clip_id"] == "shared") & events["undo_of"].isna()]
    assert _current(store)[("shared", 0.0, None)] == shared["id"].max()  # nothing on it was undone: latest wins
    assert json.loads((tmp_path / "reader.json").read_text())["reads"] >= 1
    with closing(store.connect()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- a writer killed in the middle of a transaction ------------------------------------------------------
_KILLED = r"""
import sys, time
from contextlib import contextmanager
from pathlib import Path
from mujo.store import Store
import mujo.store.labels as labels

path, flag, mode = sys.argv[1:4]
store = Store(path)
if mode == "raw":  # a raw transaction large enough to spill uncommitted pages into the WAL file
    conn = store.connect()
    conn.execute("PRAGMA cache_size = 5")
    conn.execute("BEGIN IMMEDIATE")
    for i in range(2000):
        conn.execute("INSERT INTO label_events (dataset, clip_id, label, annotator, note, created)"
                     " VALUES ('ds', ?, 'bad', 'killed', ?, 'now')", (f"k{i}", "n" * 500))
    Path(flag).write_text("inside")
    time.sleep(120)
else:  # the library's bulk insert, stopped after its inserts and before its COMMIT
    real = labels.write

    @contextmanager
    def paused(conn):
        with real(conn):
            yield conn
            Path(flag).write_text("inside")
            time.sleep(120)

    labels.write = paused
    store.add_label_events("ds", [{"clip_id": f"k{i}", "label": "bad"} for i in range(500)], annotator="killed")
"""


def _can_write_now(path: Path) -> bool:
    """Whether a writer gets the write lock without waiting (busy timeout 0)."""
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            assert "locked" in str(e)
            return False
        conn.execute("ROLLBACK")
        return True


@pytest.mark.parametrize("mode", ["raw", "bulk"])
def test_writer_killed_mid_transaction(tmp_path: Path, mode: str) -> None:
    path, flag = tmp_path / "s.sqlite", tmp_path / "inside"
    store = Store(path)
    a = store.add_label_event(DS, "c1", "null", annotator="ann")
    store.undo_label_event(store.add_label_event(DS, "c2", "bad"))
    before, current = store.label_events(DS), _current(store)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(mujo.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(path), str(flag), mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 25
        while not flag.exists():
            assert proc.poll() is None, f"the writer died early: {proc.communicate()[1].decode()[-2000:]}"
            assert time.monotonic() < deadline, "the writer never got inside its transaction"
            time.sleep(0.05)
        assert not _can_write_now(path)  # it really holds the write lock ...
        pd.testing.assert_frame_equal(store.label_events(DS), before)  # ... and readers see only committed rows
        if mode == "raw":
            assert Path(f"{path}-wal").stat().st_size > 200_000  # uncommitted pages were spilled into the WAL
    finally:
        proc.kill()  # SIGKILL: no rollback, no cleanup, no closing of the connection
        proc.wait(10)

    assert _can_write_now(path)  # the lock died with the process
    with closing(store.connect()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM label_events WHERE annotator = 'killed'").fetchone()[0] == 0
    pd.testing.assert_frame_equal(store.label_events(DS), before)
    assert _current(store) == current
    # the next write goes through (the lock is free: _can_write_now above) and is in force; undo takes it back
    new = store.add_label_event(DS, "c1", "activity", activity="squat", annotator="ann")
    assert new > a and _current(store)[("c1", 0.0, None)] == new
    undo = store.undo_last(DS, "c1", "ann")
    events = store.label_events(DS)
    assert undo == events["id"].max() and events.set_index("id").loc[undo, "undo_of"] == new
    assert _current(store) == current
