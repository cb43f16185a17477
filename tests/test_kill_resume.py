"""Kill tests: `mujo synth | pretrain | embed | sweep run | labels import` killed with SIGKILL at seeded random points,
then resumed. Nothing half-written is ever read as valid, and the resumed run ends with the uninterrupted run's result.

Each command runs as a real subprocess in its own session, and its whole process group (pool workers too) is killed
at a seeded random moment of its work: a delay drawn within the runtime of the same work measured in this process,
counted from the moment the command has started its job (its progress file appears), or a moment inside its store
transaction or inside a sweep cell. Set MUJO_KILL_SEED to try other points. The uninterrupted reference and the
resume run in this process (the same code without a second interpreter start). The fast tests at the end enumerate
the narrow crash points (between two renames, inside a deletion) that a timed kill rarely hits.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import SITES, one_thread, train_data, write_preset  # noqa: F401 (fixtures)

from mujo.checkpoint import CONFIG, WEIGHTS, CheckpointError, check_folder
from mujo.cli import main
from mujo.demo.presets import preset_config
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.errors import FimadBaseError
from mujo.models.checkpoint_io import load_checkpoint
from mujo.models_registry import read_checkpoint
from mujo.store import Store
from mujo.synth.generate import generate_dataset
from mujo.synth.state import generation_pending

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("MUJO_KILL_SEED", "20261207"))


def _rng(name: str) -> random.Random:
    """The kill points of one test: seeded by MUJO_KILL_SEED and the test's name."""
    return random.Random(SEED * 1_000_003 + zlib.crc32(name.encode()))


def _fraction(progress_file: Path) -> float:
    try:
        return float(json.loads(progress_file.read_text(encoding="utf-8")).get("fraction", 0.0))
    except (OSError, ValueError):
        return 0.0


def kill_at(argv: list[str], tmp: Path, milestone: Callable[[], bool], delay_s: float | Callable[[], float], *,
            env: dict | None = None, timeout: float = 180.0) -> bool:
    """Run `mujo <argv>` in its own session; SIGKILL its process group `delay_s` (a number, or a function called at
    the milestone) after `milestone()` turns true.

    Returns:
        True when the command was killed, False when it finished first (its exit status must then be 0).
    """
    log = tmp / f"kill-{len(list(tmp.glob('kill-*.log')))}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mujo.cli", *argv], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and not milestone():
            assert time.monotonic() < deadline, f"no milestone within {timeout} s: {log.read_text()[-2000:]}"
            time.sleep(0.01)
        delay_s = delay_s() if callable(delay_s) else delay_s
        if delay_s > 0 and proc.poll() is None:
            time.sleep(delay_s)
        if proc.poll() is not None:
            assert proc.returncode == 0, log.read_text()[-3000:]
            return False
        seen = _fraction(Path(argv[argv.index("--progress-file") + 1])) if "--progress-file" in argv else None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_group_gone(proc.pid)
        print(f"mujo {argv[0]} killed {delay_s:.2f} s after its milestone (progress {seen}, seed {SEED})")
        return True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of the killed group is left (pool workers die with it; nothing writes after this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"processes of group {pgid} outlived SIGKILL")


def started(progress_file: Path) -> Callable[[], bool]:
    """The command has started its job: its imports are done and its work begins."""
    return progress_file.exists


def timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def visible_files(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under `root` outside hidden names (temp files a kill may leave)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def integrity(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# --------------------------------------------------------------------------------------------------- mujo synth


@pytest.mark.slow
def test_synth_killed_then_resumed_gives_the_same_bytes(tmp_path: Path) -> None:
    """The tiny preset without video: a killed + resumed run vs. an uninterrupted one made in this process."""
    rng = _rng("synth")
    out, pf = tmp_path / "ds", tmp_path / "synth.json"
    argv = ["synth", str(out), "--preset", "tiny", "--no-video", "--workers", "1", "--progress-file", str(pf)]
    runtime = timed(lambda: main(["synth", str(tmp_path / "reference"), *argv[2:-2]]))
    reference = visible_files(tmp_path / "reference")
    killed = kill_at(argv, tmp_path, started(pf), rng.uniform(0.0, 1.2 * runtime))
    if killed:
        try:
            FimadDataset(out)
        except FimadBaseError:
            pass  # not a dataset yet: fimad.json is written last
        else:  # killed after fimad.json: then the dataset is whole
            assert visible_files(out) == reference
        # each video the resume will keep (its record is written last) is complete, byte for byte
        for record in (out / ".synth").glob("[0-9]*.json"):
            for row in json.loads(record.read_text()):
                for rel in (f"pose/{row['clip_id']}.npy", f"imu/{row['clip_id']}.npz"):
                    assert (out / rel).read_bytes() == reference[rel], rel
    assert main(argv[:-2]) == 0  # the same command again resumes
    assert visible_files(out) == reference


# ------------------------------------------------------------------------------------------------ labels import


def _label_file(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created"])
        for i in range(n):
            t0 = float(i // 400)
            w.writerow([f"clip{i % 400:04d}", t0, t0 + 0.5, "activity" if i % 3 == 0 else "null",
                        "squat" if i % 3 == 0 else "", f"annotator{i % 7}", f"row {i}",
                        f"2026-01-01T00:{i // 3600 % 60:02d}:{i // 60 % 60:02d}+00:00"])
    return path


def _events(db: Path) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT * FROM label_events ORDER BY id").fetchall()


def _write_lock_held(db: Path) -> Callable[[], bool]:
    """True while another connection holds the store's write lock (the import's one transaction)."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)

    def held() -> bool:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked
            return True
        conn.execute("ROLLBACK")
        return False

    return held


@pytest.mark.slow
def test_label_import_killed_inside_its_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    rng = _rng("labels")
    n = 6_000
    labels = _label_file(tmp_path / "labels.csv", n)
    reference = tmp_path / "reference.sqlite"
    runtime = timed(lambda: main(["labels", "import", "killtest", str(labels), "--store", str(reference)]))
    db = tmp_path / "s.sqlite"
    Store(db).runs()  # the store exists (migrated), so the only write transaction is the import's
    argv = ["labels", "import", "killtest", str(labels), "--store", str(db)]
    # killed at a random moment after its transaction took the write lock (often inside it, sometimes after it)
    killed = kill_at(argv, tmp_path, _write_lock_held(db), rng.uniform(0.0, 0.5 * runtime))
    assert integrity(db) == "ok"
    after_kill = _events(db)
    assert len(after_kill) in (0, n), f"a partial import is visible: {len(after_kill)} of {n} rows"
    assert killed or len(after_kill) == n
    assert main(argv) == 0  # import again: the rows already in are skipped as unchanged
    assert integrity(db) == "ok"
    assert _events(db) == _events(reference)


# ------------------------------------------------------------------------------------------------ mujo pretrain


def _pretrain_argv(data: tuple[Path, Path], out: Path, db: Path) -> list[str]:
    ds, preset = data
    return ["pretrain", str(ds), "--out", str(out), "--preset", str(preset), "--sites", *SITES, "--text-field",
            "chapter", "--epochs", "5", "--threads", "1", "--store", str(db), "--quiet"]


@pytest.fixture(scope="module")
def pretrained(train_data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, store) of an uninterrupted `mujo pretrain` of the tiny preset, 5 epochs, made in this process."""
    root = tmp_path_factory.mktemp("pretrain_reference")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:  # the per-test MUJO_HOME: the window bank is shared with the tests
        mp.setenv("MUJO_HOME", str(tmp_path_factory.getbasetemp() / "mujo_home"))
        assert main(_pretrain_argv(train_data, root / "out", root / "s.sqlite")) == 0
    torch.set_num_threads(threads)
    return root / "out", root / "s.sqlite"


def assert_no_half_checkpoint(root: Path) -> None:
    """Every folder under `root` that the torch-free listing (what the pages read) takes for a checkpoint loads."""
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        try:
            read_checkpoint(folder)
        except CheckpointError:
            continue  # not a checkpoint (yet, or any more): pages say so
        load_checkpoint(folder)  # raises when the pair is not one save


def _metrics(db: Path, run_id: int) -> dict:
    """A run's per-epoch metrics, without the timing ones (windows/s and seconds differ between two machines' runs)."""
    df = Store(db).metrics(run_id)
    df = df[~df["name"].isin(["windows_per_s", "seconds"])]
    return {(int(r.epoch), r.split, r.name): r.value for r in df.itertuples()}


@pytest.mark.slow
def test_pretrain_killed_then_resumed_ends_with_the_same_weights_and_metrics(
        train_data: tuple[Path, Path], pretrained: tuple[Path, Path], tmp_path: Path) -> None:
    """Resume promises an exact continuation (same seed, batches, optimizer state): the weights are equal bit for
    bit (one torch thread) and so are the losses and scores logged per epoch."""
    rng = _rng("pretrain")
    out, db, pf = tmp_path / "out", tmp_path / "s.sqlite", tmp_path / "pretrain.json"
    argv = _pretrain_argv(train_data, out, db)
    ref_out, ref_db = pretrained
    runtime = float(Store(ref_db).metrics(1).query("name == 'seconds'")["value"].sum())  # the epochs' time
    training = lambda: _fraction(pf) >= 0.1 or out.exists()  # noqa: E731  (the window bank is open)
    killed = kill_at(argv + ["--progress-file", str(pf)], tmp_path, training, rng.uniform(0.0, 1.2 * runtime))
    if killed:
        last = out / "last" / "train_state.json"
        print("left by the kill:", sorted(p.name for p in out.iterdir()) if out.is_dir() else "nothing",
              f"last/ after epoch {json.loads(last.read_text())['state']['epoch']}" if last.is_file() else "")
        assert_no_half_checkpoint(out)
        assert integrity(db) == "ok"
        if (killed_run := _running_run(db)()) is not None:
            assert_listed_as_interrupted(db, killed_run)
        assert main(argv + ["--resume"]) == 0
    for sub in ("last", "best", "."):
        a, b = load_file(str(ref_out / sub / WEIGHTS)), load_file(str(out / sub / WEIGHTS))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), sub
    assert_no_half_checkpoint(out)
    run_id = json.loads((out / CONFIG).read_text())["extra"]["run_id"]
    assert Store(db).get_run(run_id)["status"] == "done"
    assert Store(db).process_of(run_id)["pid"] == os.getpid() or not killed  # the resume owns the run
    assert _metrics(db, run_id) == _metrics(ref_db, 1)
    assert integrity(db) == "ok"


def _running_run(db: Path) -> Callable[[], int | None]:
    """The id of a running run in the store (read-only: a reader never creates or marks anything), or None."""
    def running() -> int | None:
        if not db.exists():
            return None
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)) as conn:
                row = conn.execute("SELECT id FROM runs WHERE status = 'running'").fetchone()
        except sqlite3.Error:  # not migrated yet, or locked by the writer
            return None
        return row[0] if row else None

    return running


def assert_listed_as_interrupted(db: Path, run_id: int) -> None:
    """The run is still 'running' in the file (a SIGKILL leaves no chance to mark it) until a reader of the runs sees
    that its process is gone: then it is 'interrupted', in the file too, with the process named."""
    assert _running_run(db)() == run_id
    owner = Store(db).process_of(run_id)
    listing = Store(db).runs("pretrain").set_index("id")
    assert listing.loc[run_id, "status"] == "interrupted", listing
    assert f"its process (pid {owner['pid']} on {owner['host']}) ended" in listing.loc[run_id, "error"]
    assert _running_run(db)() is None and integrity(db) == "ok"


@pytest.mark.slow
def test_pretrain_killed_is_listed_as_interrupted(train_data: tuple[Path, Path], tmp_path: Path) -> None:
    """Killed as soon as its run is in the store (the slow test above resumes one killed later)."""
    out, db, pf = tmp_path / "out", tmp_path / "s.sqlite", tmp_path / "pretrain.json"
    running = _running_run(db)
    assert kill_at(_pretrain_argv(train_data, out, db) + ["--progress-file", str(pf)], tmp_path,
                   lambda: running() is not None, 0.0), "mujo pretrain finished before it could be killed"
    run_id = running()
    assert Store(db).process_of(run_id)["pid"] != os.getpid()
    assert_listed_as_interrupted(db, run_id)
    assert main(["runs", "--store", str(db)]) == 0


# --------------------------------------------------------------------------------------------------- mujo embed


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.load(p, allow_pickle=False) for p in sorted(folder.glob("*.npy"))}


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


@pytest.mark.slow
def test_embed_killed_then_resumed_gives_the_same_store(train_data: tuple[Path, Path], pretrained: tuple[Path, Path],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the dataset and a fresh MUJO_HOME, so the killed run also builds the window bank: a bank or store
    that exists after the kill is whole (hidden temporaries aside); the resumed store equals the reference bit for
    bit, and what the killed run left under temporary names is removed."""
    from mujo.banks.bank import banks_dir  # noqa: PLC0415  (banks_dir reads MUJO_HOME when called)
    from mujo.eval.embed import EmbeddingStore, embed_dataset  # noqa: PLC0415

    rng = _rng("embed")
    ckpt = pretrained[0]
    runtime = timed(lambda: embed_dataset(ckpt, train_data[0], out=tmp_path / "reference", batch_size=8))
    reference = EmbeddingStore(tmp_path / "reference")
    ref_bank = _arrays(banks_dir() / reference.meta["bank_key"])
    runtime += json.loads((banks_dir() / reference.meta["bank_key"] / "meta.json").read_text())["build_s"]
    ds = tmp_path / "ds"  # with its text features (MiniLM would cost the subprocess ~10 s of CPU), without a bank
    shutil.copytree(train_data[0], ds)
    home, out, pf = tmp_path / "home", tmp_path / "store", tmp_path / "embed.json"
    argv = ["embed", str(ckpt), str(ds), "--out", str(out), "--batch-size", "8"]
    killed = kill_at(argv + ["--progress-file", str(pf)], tmp_path, started(pf), rng.uniform(0.0, 1.3 * runtime),
                     env={"MUJO_HOME": str(home)})
    monkeypatch.setenv("MUJO_HOME", str(home))

    def check_caches() -> None:
        for bank in (p for p in banks_dir().glob("*") if p.is_dir() and not p.name.startswith(".")):
            assert (bank / "meta.json").is_file(), f"{bank} is a bank folder without meta.json"
            assert _same_arrays(_arrays(bank), ref_bank), bank
        if out.exists():
            store = EmbeddingStore(out)
            assert _same_arrays(_arrays(out), _arrays(reference.folder))
            assert store.index.equals(reference.index)

    if killed:
        print("left by the kill:", [p.name for p in banks_dir().glob("*")], out.exists(),
              [p.name for p in out.parent.glob(f".{out.name}*")])
        check_caches()
        assert main(argv) == 0
    check_caches()
    assert out.is_dir() and len(list(banks_dir().glob("[!.]*"))) == 1
    # what the killed run left behind (a half-written bank or store under a temporary name) was removed
    assert not [p for p in [*banks_dir().glob(".*.tmp-*"), *out.parent.glob(f".{out.name}.*-*")]]


# ------------------------------------------------------------------------------------------------- mujo sweep run


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generic-format target dataset: 4 subjects, wrist acc, 'slow' (1 Hz) / 'fast' (3 Hz) swings, NULL between."""
    from mujo.datasets.base import NULL_INDEX, Recording  # noqa: PLC0415  (torch-free, but only these tests need it)
    from mujo.datasets.generic import write_generic  # noqa: PLC0415

    recs, t = [], np.arange(600) / 50.0
    for s in range(4):
        rng = np.random.default_rng(s)
        labels = np.full(600, NULL_INDEX, np.int64)
        labels[:260], labels[340:] = 0, 1
        freq = np.where(labels == 1, 3.0, 1.0)
        acc = np.stack([np.sin(2 * np.pi * freq * t + k) * (1 + (labels == 1)) for k in range(3)], 1)
        acc[labels == NULL_INDEX] = 0.0
        recs.append(Recording(f"sub{s}", f"s{s}", 50.0, {"wrist": acc + rng.normal(0, 0.3, acc.shape)}, labels))
    return write_generic(tmp_path_factory.mktemp("target") / "tiny", recs, name="tiny", classes=("slow", "fast"),
                         placements={"wrist": "RWrist"})


def _cells_and_runs_agree(db: Path, sweep_id: int) -> None:
    """A cell is done exactly when its fine-tuning run was saved (one transaction): no run without its cell, no
    done cell without its run and results."""
    store = Store(db)
    cells = store.sweep_cells(sweep_id)
    done = cells[cells["status"] == "done"]
    runs = store.runs("finetune")
    assert set(runs["id"]) == set(done["run_id"].astype(int)), (runs[["id", "status"]], cells[["key", "status"]])
    assert (runs["status"] == "done").all()
    assert all("metrics" in store.results(int(r)) for r in done["run_id"])


@pytest.mark.slow
def test_sweep_killed_then_resumed_gives_the_same_results(target: Path, tmp_path: Path) -> None:
    """Coordinator and pool worker killed together; `mujo sweep run ID` then re-runs only the cells not done, and each
    cell's scores equal those of an uninterrupted sweep (each cell is a pure function of its settings and seed)."""
    from mujo.train.sweep import SweepSpec, create_sweep, sweep_results  # noqa: PLC0415
    from mujo.train.sweep_exec import run_cell  # noqa: PLC0415

    rng = _rng("sweep")
    spec = SweepSpec(datasets=(str(target),), scenarios=("baseline",), fractions=(1.0,), repeats=3, preset="small",
                     epochs=2, patience=2)
    ref_db, db = tmp_path / "reference.sqlite", tmp_path / "s.sqlite"
    sweep_id = create_sweep(spec, Store(db))
    argv = ["sweep", "run", str(sweep_id), "--workers", "1", "--quiet", "--store", str(db)]
    done_before, share = rng.choice([1, 2]), rng.random()

    def into_next_cell() -> float:  # a random share of the last finished cell's duration: inside the next cell
        last = Store(db).sweep_cells(sweep_id, "done").iloc[-1]
        took = datetime.fromisoformat(last["finished"]) - datetime.fromisoformat(last["started"])
        return share * took.total_seconds()

    killed = kill_at(argv, tmp_path, lambda: Store(db).get_sweep(sweep_id)["counts"]["done"] >= done_before,
                     into_next_cell)
    kept = Store(db).sweep_cells(sweep_id, "done").set_index("key")["run_id"]
    if not killed:  # it finished first: every cell is compared below
        kept = kept.iloc[:0]
    if killed:
        assert integrity(db) == "ok"
        _cells_and_runs_agree(db, sweep_id)
        assert main(argv) == 0
        after = Store(db).sweep_cells(sweep_id).set_index("key")
        assert (after.loc[kept.index, "run_id"] == kept).all(), "a cell done before the kill was run again"
        assert (after.loc[kept.index, "attempts"] == 1).all()
    _cells_and_runs_agree(db, sweep_id)
    # the uninterrupted reference of the cells the kill interrupted or never started, run as a pool worker runs them
    ref_id = create_sweep(spec, Store(ref_db))
    redone = [k for k in Store(ref_db).pending_keys(ref_id) if k not in kept.index]
    threads = torch.get_num_threads()
    for key in redone:
        assert run_cell(str(ref_db), ref_id, key)["status"] == "done"
    torch.set_num_threads(threads)
    ours = sweep_results(db, sweep_id).set_index("key").loc[redone]
    ref = sweep_results(ref_db, ref_id).set_index("key").loc[redone]
    assert len(sweep_results(db, sweep_id)) == 3 and len(Store(db).runs("finetune")) == 3  # nothing done twice
    for column in ("macro_f1", "accuracy", "n_train", "split", "fraction", "repeat"):
        assert ours[column].tolist() == ref[column].tolist(), column
    assert integrity(db) == "ok"


# ------------------------------------------------------------- crash points a timed kill rarely hits (fast tests)


class Crash(BaseException):
    """The process dies here (a BaseException, so no `except Exception` handler treats it as an error)."""


class CrashAt:
    """os.replace and shutil.rmtree that crash at their n-th call (1-based) among both; a deletion crashes half-way
    (one file removed); `crashed` tells whether the n-th call came."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, n: int):
        self.n, self.calls, self.crashed = n, 0, False
        self._replace, self._rmtree = os.replace, shutil.rmtree
        monkeypatch.setattr(os, "replace", self.replace)
        monkeypatch.setattr(shutil, "rmtree", self.rmtree)

    def _now(self) -> bool:
        self.calls += 1
        self.crashed = self.crashed or self.calls == self.n
        return self.calls == self.n

    def replace(self, src, dst) -> None:
        if self._now():
            raise Crash(f"killed before os.replace({src}, {dst})")
        self._replace(src, dst)

    def rmtree(self, path, *args, **kwargs) -> None:
        if self._now():
            first = sorted(p for p in Path(path).rglob("*") if p.is_file())[:1]
            for p in first:
                p.unlink()
            raise Crash(f"killed half-way through removing {path}")
        self._rmtree(path, *args, **kwargs)


def test_replace_dir_leaves_one_whole_copy_at_every_crash_point(tmp_path: Path) -> None:
    """`last/` is replaced after every epoch: a kill at any step of two successive replacements (the second one
    being the resumed run's) leaves `existing_dir` a whole copy, and the next replacement completes."""
    from mujo.train.resume import existing_dir, replace_dir  # noqa: PLC0415  (torch-free, but imports torch's loop)

    def write(folder: Path, version: int) -> Path:
        folder.mkdir(parents=True)
        for name in ("model.safetensors", "config.json", "train_state.json"):
            (folder / name).write_text(f"{version}")
        return folder

    def whole(folder: Path | None) -> int:
        assert folder is not None, "no copy left to resume from"
        versions = {(folder / n).read_text() if (folder / n).exists() else None
                    for n in ("model.safetensors", "config.json", "train_state.json")}
        assert len(versions) == 1 and None not in versions, f"{folder} is half a copy: {versions}"
        return int(versions.pop())

    cases = 0
    for first in range(1, 9):
        for second in range(1, 9):
            root = tmp_path / f"{first}-{second}"
            final = write(root / "last", 1)
            with pytest.MonkeyPatch.context() as mp:
                CrashAt(mp, first)
                with _maybe(Crash):
                    replace_dir(write(root / ".last.tmp", 2), final)
            assert whole(existing_dir(final)) in (1, 2)
            shutil.rmtree(root / ".last.tmp", ignore_errors=True)  # what RunFiles._write does before writing
            with pytest.MonkeyPatch.context() as mp:
                crash = CrashAt(mp, second)
                with _maybe(Crash):
                    replace_dir(write(root / ".last.tmp", 3), final)
            assert whole(existing_dir(final)) in (1, 2, 3)
            shutil.rmtree(root / ".last.tmp", ignore_errors=True)
            replace_dir(write(root / ".last.tmp", 4), final)
            assert existing_dir(final) == final and whole(final) == 4
            cases += crash.crashed
    assert cases > 10


class _maybe:
    """Like pytest.raises, but the exception may also not come (the crash point lies past the last call)."""

    def __init__(self, exc: type[BaseException]):
        self.exc = exc

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, value, tb) -> bool:
        return typ is not None and issubclass(typ, self.exc)


def test_checkpoint_save_killed_between_its_files_is_never_read_as_valid(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Overwriting a checkpoint with another architecture, killed before each rename: what the torch-free listing
    accepts also loads, and it is the old or the new model, never new weights beside the old config."""
    from mujo.models import create_model  # noqa: PLC0415
    from mujo.models.checkpoint_io import save_checkpoint  # noqa: PLC0415

    def model(dim: int) -> torch.nn.Module:
        torch.manual_seed(dim)
        return create_model({"model_type": "mujo", "modalities": ["imu"], "imu_sites": ["RWrist"],
                             "imu_channels": ["acc"], "imu": {"channels": [3, 6, 6], "kernel": 3, "fc": [8]},
                             "projection": {"hidden": 8}, "embed_dim": dim})

    old, new = model(4), model(6)
    for n in (1, 2, 3):
        folder = save_checkpoint(tmp_path / f"ckpt{n}", old)
        with pytest.MonkeyPatch.context() as mp:
            CrashAt(mp, n)
            with _maybe(Crash):
                save_checkpoint(folder, new)
        try:
            info = read_checkpoint(folder)
        except CheckpointError:
            with pytest.raises(CheckpointError, match="missing"):
                check_folder(folder)
            continue
        loaded, _ = load_checkpoint(folder)
        assert info.model["embed_dim"] == loaded.config.embed_dim in (4, 6)
        want = old if loaded.config.embed_dim == 4 else new
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), want.state_dict().values()))


def test_pretrain_killed_right_after_a_checkpoint_keeps_that_epochs_metrics(
        train_data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill right after an epoch's checkpoint is written used to lose that epoch's metrics (the resume starts after
    it); now the metrics go first, and a resumed run that repeats the epoch writes them again."""
    from mujo.train.checkpoints import RunFiles  # noqa: PLC0415
    from mujo.train.pretrain import PretrainSettings, pretrain  # noqa: PLC0415

    ds, preset = train_data
    db = tmp_path / "s.sqlite"
    settings = PretrainSettings(dataset=str(ds), out=str(tmp_path / "out"), preset=str(preset), sites=SITES,
                                text_field="chapter", threads=1, epochs=3)
    save = RunFiles.save_epoch

    def killed_after_epoch_1(self, model, objective, optimizer, state, *args) -> None:
        save(self, model, objective, optimizer, state, *args)
        if state.epoch == 2:  # epoch 1 (0-based) is on disk: the process dies before anything else
            raise Crash("killed after the checkpoint of epoch 1")

    monkeypatch.setattr(RunFiles, "save_epoch", killed_after_epoch_1)
    with pytest.raises(Crash):
        pretrain(settings, store=db)
    monkeypatch.setattr(RunFiles, "save_epoch", save)
    result = pretrain(dataclasses.replace(settings, resume=True), store=db)
    assert result.epochs == 3 and result.run_id == 1
    wide = Store(db).metrics(1, wide=True)
    assert list(wide.index) == [0, 1, 2] and wide[["train_loss", "val_loss"]].notna().all().all()


def test_synth_killed_while_finishing_a_larger_run_is_not_a_dataset(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Resuming into a finished folder with more videos publishes clips.csv (and, at the end, splits.json and
    fimad.json); a kill between them never leaves a splits.json that lags behind clips.csv: the folder opens as a
    consistent, still-pending dataset (the split column carries the splits), and a resume completes it."""
    import mujo.fimad.writer as writer  # noqa: PLC0415

    cfg = dataclasses.replace(preset_config("tiny"), with_video=False, n_videos=1)
    root = generate_dataset(tmp_path / "ds", cfg, workers=1)
    assert len(FimadDataset(root)) > 0 and (root / "splits.json").exists()
    write = writer.atomic_write

    def killed_after_clips_csv(path: Path, body) -> None:
        if path.name == "splits.json":  # clips.csv is replaced; splits.json and fimad.json are not yet
            raise Crash("killed in finish()")
        write(path, body)

    monkeypatch.setattr(writer, "atomic_write", killed_after_clips_csv)
    with pytest.raises(Crash):
        generate_dataset(root, dataclasses.replace(cfg, n_videos=2), workers=1)
    monkeypatch.setattr(writer, "atomic_write", write)
    assert not (root / "splits.json").exists()  # removed before the new clips were published
    ds = FimadDataset(root)
    assert ds.clips["video_id"].nunique() == 2 and not ds.load_problems
    assert generation_pending(root)  # not "ready": the demo would resume it
    generate_dataset(root, dataclasses.replace(cfg, n_videos=2), workers=1)
    assert FimadDataset(root).clips["video_id"].nunique() == 2 and (root / "splits.json").exists()
    assert not generation_pending(root)


def test_orphaned_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    from mujo.procs import remove_orphans  # noqa: PLC0415

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for pid in (int(dead.stdout), os.getpid()):
        (tmp_path / f".bank.tmp-{pid}").mkdir()
        (tmp_path / f".bank.tmp-{pid}" / "pose.npy").write_bytes(b"half")
    (tmp_path / ".other.tmp-x").mkdir()
    assert remove_orphans(tmp_path, ".bank.tmp-*") == [tmp_path / f".bank.tmp-{int(dead.stdout)}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f".bank.tmp-{os.getpid()}", ".other.tmp-x"])
