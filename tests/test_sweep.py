"""Sweeps: the grid and its baseline dedupe, failures, cancel, resume after SIGKILL, local pool vs Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mujo.cli import main
from mujo.datasets.base import NULL_INDEX, Recording
from mujo.datasets.generic import write_generic
from mujo.models import create_model
from mujo.models.checkpoint_io import save_checkpoint
from mujo.store import Store
from mujo.train.finetune import FinetuneInterrupted, FinetuneSettings
from mujo.train.sweep import (
    RESULT_COLUMNS,
    SweepSpec,
    create_sweep,
    expand,
    list_sweeps,
    run_sweep,
    sweep_results,
    sweep_status,
)

FAKE = f"{__name__}:fake_finetune"  # importable by the spawned workers: tests/ is on their sys.path too


def fake_finetune(settings: FinetuneSettings, *, store: Store, should_stop, on_saved, **kw) -> None:
    """Stands in for finetune: settings.name "fail" raises, "slow" waits for should_stop, else saves a run."""
    if settings.name == "fail":
        raise RuntimeError("class 'sit' has no training windows")
    if settings.name == "slow":
        while not should_stop():
            time.sleep(0.05)
        raise FinetuneInterrupted("stopped")
    store.save_run("finetune", results={"metrics": {"macro_f1": settings.fraction, "accuracy": 0.5},
                                        "summary": {"seconds": 0.01, "n_train": 3}},
                   config=settings.to_dict() | {"split": f"random-{settings.repeat}"}, on_saved=on_saved)


def fake_sweep(store: Store, names: list[str]) -> int:
    cells = [{"key": f"c{i}-{n}", "settings": FinetuneSettings(dataset="toy", fraction=0.1 * (i + 1), name=n,
                                                               repeat=i).to_dict()} for i, n in enumerate(names)]
    return store.add_sweep("fake", SweepSpec(datasets=("toy",)).to_dict(), cells)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generic-format dataset: 5 subjects, wrist acc, 'slow' (1 Hz) / 'fast' (3 Hz) swings with NULL between."""
    recs = []
    t = np.arange(900) / 50.0
    for s in range(5):
        rng = np.random.default_rng(s)
        labels = np.full(900, NULL_INDEX, np.int64)
        labels[:400], labels[500:] = 0, 1
        freq = np.where(labels == 1, 3.0, 1.0)
        acc = np.stack([np.sin(2 * np.pi * freq * t + k) * (1 + (labels == 1)) for k in range(3)], 1)
        acc[labels == NULL_INDEX] = 0.0
        acc = acc + rng.normal(0, 0.3, acc.shape) + [0, 0, 9.81]
        recs.append(Recording(f"sub{s}", f"s{s}", 50.0, {"wrist": acc}, labels))
    return write_generic(tmp_path_factory.mktemp("data") / "tiny", recs, name="tiny", classes=("slow", "fast"),
                         placements={"wrist": "RWrist"})


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two checkpoints with one IMU architecture (MuJo, simCLR proxy) and one for other sites."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ckpt")
    out = {}
    for name, method, mods, sites in (("mujo", "mujo", ["text", "imu"], ["RWrist"]),
                                      ("simclr", "simclr", ["imu"], ["RWrist"]),
                                      ("left", "mujo", ["imu"], ["LWrist"])):
        model = create_model("small", modalities=mods, imu_sites=sites, imu_channels=["acc"])
        out[name] = str(save_checkpoint(root / name, model, {"method": method}))
    return out


def test_expand_grid_dedupe_pairing_and_unrunnable(tiny: Path, ckpts: dict[str, str], tmp_path: Path) -> None:
    spec = SweepSpec(datasets=(str(tiny),), checkpoints=(ckpts["mujo"], ckpts["simclr"], ckpts["left"]),
                     scenarios=("baseline", "frozen", "finetuned"), fractions=(0.5, 1.0), repeats=2,
                     null=(False, True), inputs=(("imu",), ("pose",)), preset="small", epochs=2)
    cells = expand(spec)
    # per repeat/null/fraction: imu has 2 baselines (the fitting wrist checkpoints' architecture, and the preset's
    # built for the data, standing in for the left-wrist checkpoint that does not fit), pose 1 (no checkpoint has a
    # pose encoder: the preset's), each + 2 scenarios x 3 checkpoints
    assert len(cells) == 2 * 2 * 2 * (8 + 7) and len({c.key for c in cells}) == len(cells)
    assert [c.settings.repeat for c in cells[:len(cells) // 2]] == [0] * (len(cells) // 2)  # repeats outermost
    imu = [c for c in cells if c.settings.inputs == ("imu",)]
    base = [c for c in imu if c.settings.scenario == "baseline"]
    assert len(base) == 16 and all(c.status == "pending" and c.error is None for c in base)
    fitting = [c for c in base if c.settings.checkpoint is not None]
    assert len(fitting) == 8 and all(sorted(c.meta["checkpoints"]) == sorted([ckpts["mujo"], ckpts["simclr"]])
                                     for c in fitting)
    # a random-init baseline never depends on a checkpoint's sites: the left-wrist checkpoint's baseline is the
    # preset's, runs on the data's own sensors and is pending; only its pre-trained cells fail, naming the sites
    left_base = [c for c in base if ckpts["left"] in c.meta["checkpoints"]]
    assert len(left_base) == 8 and all(c.settings.checkpoint is None and c.settings.preset == "small"
                                       and c.meta["architecture"] == "preset-small" for c in left_base)
    left = [c for c in imu if c.settings.checkpoint == ckpts["left"]]
    assert len(left) == 16 and all(c.status == "failed" and "LWrist" in c.error and "RWrist" in c.error
                                   for c in left)
    assert {c.settings.scenario for c in left} == {"frozen", "finetuned"}
    assert all(c.status == "failed" and "has no pose" in c.error for c in cells if c.settings.inputs == ("pose",))
    # every scenario of one (fraction, repeat, null) has the same seed and repeat, hence the same split and windows
    group = [c.settings for c in imu if c.settings.fraction == 0.5 and c.settings.repeat == 1 and c.settings.null]
    assert len(group) == 8 and {(s.seed, s.repeat, s.split, s.epochs) for s in group} == {(0, 1, None, 2)}
    assert {c.meta["method"] for c in imu if c.settings.scenario != "baseline"} == {"mujo", "simclr"}
    store = Store(tmp_path / "s.sqlite")
    sid = create_sweep(spec, store)
    st = sweep_status(sid, store)
    assert st["total"] == len(cells) and st["counts"]["failed"] == sum(c.status == "failed" for c in cells)
    assert st["state"] == "pending" and all(st["errors"].values())
    with pytest.raises(ValueError, match="fractions"):
        expand(SweepSpec(datasets=(str(tiny),), fractions=(0.0,)))


def test_failed_cell_recorded_others_finish_and_resume_repeats_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = fake_sweep(store, ["ok", "fail", "ok", "ok"])
    seen = []
    summary = run_sweep(sid, store, workers=1, runner=FAKE, progress=lambda f, m: seen.append((f, m)))
    assert summary.counts["done"] == 3 and summary.counts["failed"] == 1 and summary.ran == 4
    cell = store.cell(sid, "c1-fail")
    assert "class 'sit' has no training windows" in cell["error"] and "Traceback" in cell["error"]
    assert seen[-1][0] == 1.0 and "3/4 done, 1 failed" in seen[-1][1]
    st = sweep_status(sid, store)
    assert st["state"] == "done" and st["fraction"] == 1.0 and not st["coordinator"]
    runs = store.runs("finetune")
    again = run_sweep(sid, store, workers=1, runner=FAKE)  # resume: nothing left to do
    assert again.ran == 0 and len(store.runs("finetune")) == len(runs) == 3
    df = sweep_results(store, sid)
    assert list(df.columns) == RESULT_COLUMNS and len(df) == 3 and set(df["split"]) == {"random-0", "random-2",
                                                                                        "random-3"}
    assert list(list_sweeps(store)["state"]) == ["done"]


def test_cancel_stops_running_cells_and_keeps_results(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    sid = fake_sweep(store, ["ok", "slow", "slow", "slow"])

    failures: list[BaseException] = []

    def cancel_when_running() -> None:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (store.path.exists() and
                                                       store.get_sweep(sid)["counts"]["running"]):
                time.sleep(0.05)
            assert main(["sweep", "cancel", str(sid), "--store", str(store.path)]) == 0
        except BaseException as e:  # an assertion in a thread is lost unless handed back to the test
            failures.append(e)

    thread = threading.Thread(target=cancel_when_running, daemon=True)
    thread.start()
    summary = run_sweep(sid, store, workers=1, runner=FAKE)
    thread.join(timeout=60)
    assert not thread.is_alive(), "the cancelling thread did not finish within 60 s"
    if failures:
        raise failures[0]
    assert summary.cancelled
    assert summary.counts == {"pending": 0, "running": 0, "done": 1, "failed": 0, "cancelled": 3}
    assert sweep_status(sid, store)["state"] == "cancelled"
    assert len(sweep_results(store, sid)) == 1


@pytest.fixture(scope="module")
def real_spec(tiny: Path, ckpts: dict[str, str]) -> SweepSpec:
    return SweepSpec(datasets=(str(tiny),), checkpoints=(ckpts["mujo"], ckpts["simclr"]),
                     scenarios=("baseline", "finetuned"), fractions=(0.5,), repeats=1, preset="small", epochs=2,
                     patience=2)


def test_real_sweep_local_then_dask_gives_the_same_results(real_spec: SweepSpec, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster  # noqa: PLC0415

    store = Store(tmp_path / "s.sqlite")
    sid = create_sweep(real_spec, store)
    summary = run_sweep(sid, store, workers=1)
    assert summary.counts["done"] == 3, store.sweep_cells(sid)[["key", "status", "error"]].to_string()
    local = sweep_results(store, sid)
    assert sorted(local["scenario"]) == ["baseline", "finetuned", "finetuned"]
    assert set(local[local["scenario"] == "finetuned"]["method"]) == {"mujo", "simclr"}
    assert list(local[local["scenario"] == "baseline"]["method"]) == [""]
    assert local["macro_f1"].between(0, 1).all() and len(set(local["split"])) == 1
    # paired: every scenario trained on exactly the same windows
    rows = {json.dumps(store.results(int(r))["train_windows"]["rows"]) for r in local["run_id"]}
    assert len(rows) == 1

    sid2 = create_sweep(real_spec, store)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run_sweep(sid2, store, scheduler=cluster.scheduler_address)
    assert summary.counts["done"] == 3
    dask = sweep_results(store, sid2)
    assert set(dask["key"]) == set(local["key"])
    a, b = local.set_index("key")["macro_f1"], dask.set_index("key")["macro_f1"]
    assert np.allclose(a.sort_index(), b.sort_index(), atol=1e-6)
    assert {c.split(":")[1] for c in store.sweep_cells(sid2)["worker"]} != {str(os.getpid())}


def test_resume_after_sigkill_keeps_finished_cells(tiny: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    spec = SweepSpec(datasets=(str(tiny),), scenarios=("baseline",), fractions=(0.5, 1.0), repeats=2,
                     preset="small", epochs=3, patience=3)
    sid = create_sweep(spec, store)
    proc = subprocess.Popen([sys.executable, "-m", "mujo.cli", "sweep", "run", str(sid), "--workers", "1",
                             "--quiet", "--store", str(store.path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if store.path.exists() and store.get_sweep(sid)["counts"]["done"] >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)  # only the coordinator: its pool worker is orphaned and must exit by itself
    proc.wait()
    proc.stderr.close()
    before = store.sweep_cells(sid).set_index("key")
    kept = before[before["status"] == "done"]
    assert 1 <= len(kept) < len(before)
    assert sweep_status(sid, store)["state"] == "interrupted"
    orphans = [int(w.rsplit(":", 1)[1]) for w in before["worker"].dropna()]
    summary = run_sweep(sid, store, workers=1)
    assert summary.counts["done"] == len(before)
    after = store.sweep_cells(sid).set_index("key")
    assert (after.loc[kept.index, "run_id"] == kept["run_id"]).all()
    assert (after.loc[kept.index, "attempts"] == 1).all()
    assert len(store.runs("finetune")) == len(before)  # nothing done twice
    deadline = time.monotonic() + 5  # the orphaned worker notices within a second that its coordinator is gone
    while any(_alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in orphans)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_cli_new_status_export_and_background_job(tiny: Path, tmp_path: Path, capsys) -> None:
    from mujo import jobs  # noqa: PLC0415
    from mujo.train.sweep import start_sweep_job  # noqa: PLC0415

    db = str(tmp_path / "s.sqlite")
    assert main(["sweep", "new", "--datasets", str(tiny), "--scenarios", "baseline", "--fractions", "0.5",
                 "--repeats", "2", "--inputs", "pose", "--preset", "small", "--no-run", "--store", db]) == 0
    out = capsys.readouterr().out
    assert "sweep 1 " in out and "2 cannot run" in out and "tiny has no pose" in out
    # the page's path: a background `mujo sweep run` job (nothing runnable here, so it ends quickly)
    st = start_sweep_job(1, store=db)
    assert st.state == jobs.RUNNING and st.name == "sweep-1"
    deadline = time.monotonic() + 60
    while jobs.status("sweep-1").state == jobs.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
    job = jobs.status("sweep-1")
    assert job.state == jobs.DONE and "0/2 done, 2 failed" in job.message, job
    assert main(["sweep", "status", "--store", db]) == 0 and "done" in capsys.readouterr().out
    assert main(["sweep", "export", "1", str(tmp_path / "r.csv"), "--store", db]) == 0
    assert (tmp_path / "r.csv").read_text().startswith("sweep_id,run_id,dataset,")
    assert main(["sweep", "new", "--datasets", str(tiny), "--fractions", "2", "--store", db]) == 2
    assert "fractions must lie in (0, 1]" in capsys.readouterr().err
    assert main(["sweep", "cancel", "99", "--store", db]) == 2
