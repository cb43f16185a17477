"""`mujo pretrain` under torch.distributed.run with 2 processes (gloo): both ranks train, rank 0 writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from train_fixtures import SITES, train_data, write_preset  # noqa: F401 (train_data: a fixture)

from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import Store
from mujo.train.batches import one_per_clip_plan, random_plan, shard
from mujo.train.distributed import LOCAL, init_from_env


def test_shards_are_disjoint_and_equal_in_size() -> None:
    batches = random_plan(np.arange(103), 10, np.random.default_rng(0))
    assert len(batches) == 10 and all(len(b) == 10 for b in batches)
    a, b = shard(batches, 0, 3), shard(batches, 1, 3)
    assert len(a) == len(b) == 3
    assert not set(np.concatenate(a)) & set(np.concatenate(b))
    rows, clips = np.arange(200), np.repeat(np.arange(20), 10)
    plan = one_per_clip_plan(rows, clips, 8, np.random.default_rng(1))
    assert len(plan) >= 20 and all(len(set(clips[p])) == len(p) == 8 for p in plan)
    assert len(set(np.concatenate(plan))) == sum(len(p) for p in plan)  # no window twice in an epoch


def test_single_process_context() -> None:
    ctx = init_from_env()
    assert ctx is LOCAL and ctx.is_main and ctx.all_sum([1.5, 2]) == [1.5, 2.0] and not ctx.any(False)
    assert ctx.params_in_sync(torch.nn.Linear(2, 2))


@pytest.mark.slow
def test_ddp_interrupted_and_resumed(train_data, tmp_path: Path) -> None:
    """Two processes under torchrun: a stop request seen by rank 0 alone stops both ranks (no deadlock); `mujo
    pretrain --resume` then finishes the run in two processes, their parameters in sync, one run in the store
    written by rank 0 alone, each rank training on its half of the batches."""
    ds, preset = train_data[0], write_preset(tmp_path, batch_size=4)
    script = tmp_path / "stop_after_one_epoch.py"
    script.write_text(
        "import os, sys\n"
        "from mujo.train.pretrain import PretrainSettings, pretrain\n"
        "polls = {'n': 0}\n"
        "def stop():\n"
        "    polls['n'] += 1\n"
        "    return os.environ['RANK'] == '0' and polls['n'] > 4\n"
        f"s = PretrainSettings(dataset={str(ds)!r}, out={str(tmp_path / 'out')!r}, preset={str(preset)!r},\n"
        f"                     sites={SITES!r}, text_field='chapter', epochs=3)\n"
        f"r = pretrain(s, store={str(tmp_path / 's.sqlite')!r}, should_stop=stop)\n"
        "print(f'rank {r.rank}: interrupted={r.interrupted} epochs={r.epochs}', flush=True)\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(run + [str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rank 0: interrupted=True epochs=1" in proc.stdout and "rank 1: interrupted=True epochs=1" in proc.stdout
    resume = ["-m", "mujo.cli", "pretrain", str(ds), "--out", str(tmp_path / "out"), "--resume", "--quiet",
              "--store", str(tmp_path / "s.sqlite")]
    proc = subprocess.run(run + resume, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rank 0/2: mujo, 3 epochs" in proc.stdout and "rank 1/2: mujo, 3 epochs" in proc.stdout
    model, extra = load_checkpoint(tmp_path / "out")
    summary = extra["summary"]
    assert summary["world_size"] == 2 and summary["ddp_params_in_sync"] is True
    runs = Store(tmp_path / "s.sqlite").runs()
    assert len(runs) == 1 and runs.loc[0, "status"] == "done"  # one run, written by rank 0 alone
    metrics = Store(tmp_path / "s.sqlite").metrics(int(runs.loc[0, "id"]), wide=True)
    assert len(metrics) == 3 and metrics["train_windows_per_s"].gt(0).all()  # the epoch before the stop and after
    assert np.isfinite(metrics["train_loss"]).all()
    assert model.config.imu_sites == SITES
