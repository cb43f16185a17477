"""Fine-tuning sweeps: the grid dataset x checkpoint x scenario x fraction x repeat x NULL x inputs, kept in the store.

`create_sweep` expands a `SweepSpec` into cells (one `FinetuneSettings` each) and stores them; `run_sweep`
(mujo.train.sweep_exec) runs the pending ones on a local process pool or a Dask cluster and can be interrupted,
cancelled and resumed at any time; `sweep_results` gives one row per finished run for the report and the pages.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from mujo import jobs
from mujo.checkpoint import read_checkpoint_config
from mujo.config import ModelConfig
from mujo.datasets import DATASETS, open_target
from mujo.datasets.base import DatasetInfo
from mujo.datasets.inputs import checkpoint_problem, inputs_text, parse_inputs, valid_inputs
from mujo.jobs import JobStatus
from mujo.store import Store, open_store
from mujo.train.finetune_settings import SCENARIOS, FinetuneSettings
from mujo.train.sweep_exec import SweepSummary, progress_message, run_sweep

__all__ = ["Cell", "SweepSpec", "SweepSummary", "cancel_sweep", "create_sweep", "expand", "list_sweeps",
           "run_sweep", "start_sweep_job", "sweep_results", "sweep_status"]

RESULT_COLUMNS = ["sweep_id", "run_id", "dataset", "checkpoint", "method", "scenario", "fraction", "repeat", "null",
                  "inputs", "split", "macro_f1", "accuracy", "seconds", "architecture", "n_train", "key",
                  "warnings"]


@dataclass
class SweepSpec:
    """A grid of fine-tuning runs."""

    datasets: tuple[str, ...]  # open_target specs
    checkpoints: tuple[str, ...] = ()  # checkpoint folders; () = baseline only, architecture from `preset`
    scenarios: tuple[str, ...] = ("baseline", "finetuned")  # of baseline / frozen / finetuned
    fractions: tuple[float, ...] = (0.02, 1.0)  # share of each class's training windows
    repeats: int = 5  # runs per configuration, each with its own seed and split
    null: tuple[bool, ...] = (False,)  # without / with the NULL class
    inputs: tuple[tuple[str, ...], ...] = (("imu",),)  # input combinations: ("imu",), ("pose",), ("imu", "pose")
    preset: str = "paper"  # baseline architecture where no chosen checkpoint fits a dataset (or none is chosen)
    epochs: int = 200
    patience: int = 25
    seed: int = 0  # repeat r uses seed + r in every scenario, so scenarios are paired
    name: str = ""
    split: str | None = None  # a named split for every repeat (UTD-MHAD's "odd-even"); None: the random splits

    def __post_init__(self) -> None:
        self.datasets, self.checkpoints = tuple(map(str, self.datasets)), tuple(map(str, self.checkpoints))
        self.scenarios, self.fractions = tuple(self.scenarios), tuple(float(f) for f in self.fractions)
        self.null = tuple(bool(n) for n in self.null)
        self.inputs = tuple(parse_inputs(i) for i in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def check(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.datasets:
            raise ValueError("a sweep needs at least one dataset")
        bad = [s for s in self.scenarios if s not in SCENARIOS]
        if bad or not self.scenarios:
            raise ValueError(f"scenarios must be some of {SCENARIOS}, got {list(self.scenarios)}")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError(f"fractions must lie in (0, 1], got {list(self.fractions)}")
        if self.repeats < 1 or self.epochs < 1 or self.patience < 1:
            raise ValueError("repeats, epochs and patience must be at least 1")
        for inp in self.inputs:
            if not valid_inputs(inp):
                raise ValueError(f"inputs must be imu, pose or imu+pose, got {inputs_text(inp)!r}")
        if not self.null or not self.inputs:
            raise ValueError("null and inputs need at least one value each")


@dataclass
class Cell:
    """One fine-tuning run of a sweep; `status` "failed" with `error` for a cell that cannot run."""

    key: str  # stable text id within the sweep
    settings: FinetuneSettings
    meta: dict[str, Any] = field(default_factory=dict)  # method, checkpoints sharing it, architecture
    status: str = "pending"
    error: str | None = None


def _architecture(config: ModelConfig, inputs: Sequence[str]) -> str:
    """A short hash of what a randomly initialised classifier from `config` with `inputs` is built from."""
    d = config.to_dict()
    keep = {"model_type", "window", "embed_dim", "projection"}
    if "imu" in inputs:
        keep |= {"imu", "imu_sites", "imu_channels"}
    if "pose" in inputs:
        keep |= {"pose", "pose_joints"}
    text = json.dumps({k: d[k] for k in sorted(keep)}, sort_keys=True, default=str)
    return "arch-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def _abs(spec: str) -> str:
    """A dataset spec or checkpoint path usable from another working directory (registry names unchanged)."""
    p = Path(spec).expanduser()
    return str(p.resolve()) if spec not in DATASETS and p.exists() else spec


def expand(spec: SweepSpec) -> list[Cell]:
    """The sweep's cells, repeats outermost so a partial sweep already has paired results of every scenario.

    Baseline cells of checkpoints whose classifier would have the same architecture are one cell (listed in
    meta["checkpoints"]); checkpoints that do not fit the dataset share one baseline of `spec.preset`'s architecture
    built for the dataset's own sensors, so the baseline runs whatever the checkpoints. Cells that cannot run (sites
    or channels the dataset lacks, pose without pose, NULL without NULL samples) come back failed with the reason.

    Raises:
        ValueError: a bad spec; DatasetError / CheckpointError: a dataset or checkpoint that cannot be opened.
    """
    spec.check()
    infos = {d: open_target(_abs(d)).info for d in spec.datasets}
    ckpts = {_abs(c): read_checkpoint_config(_abs(c)) for c in spec.checkpoints}  # path -> (config, extra)
    cells: list[Cell] = []
    for r, d, null, inputs, frac in itertools.product(range(spec.repeats), spec.datasets, spec.null, spec.inputs,
                                                      spec.fractions):
        cells += _paired_cells(spec, d, infos[d], ckpts, r, null, inputs, frac)
    return cells


def _paired_cells(spec: SweepSpec, dataset: str, info: DatasetInfo, ckpts: dict[str, tuple[ModelConfig, dict]],
                  repeat: int, null: bool, inputs: tuple[str, ...], fraction: float) -> list[Cell]:
    """The cells of one (dataset, repeat, NULL, inputs, fraction): one seed and split, hence the same training
    windows, in every scenario and checkpoint, so their results are paired."""
    common = dict(dataset=_abs(dataset), preset=spec.preset, inputs=inputs, fraction=fraction, repeat=repeat,
                  null=null, epochs=spec.epochs, patience=spec.patience, seed=spec.seed, threads=1,
                  split=spec.split)
    tail = f"f={fraction:g}|r={repeat}|null={'on' if null else 'off'}|in={inputs_text(inputs)}"
    if spec.split:
        tail += f"|split={spec.split}"
    data_problem = None
    if null and not info.has_null:
        data_problem = f"{info.name} has no NULL samples, so NULL on does not apply"
    elif "pose" in inputs and not info.has_pose:
        data_problem = f"{info.name} has no pose"
    cells: list[Cell] = []

    def add(key: str, scenario: str, checkpoint: str | None, meta: dict, problem: str | None) -> None:
        problem = data_problem or problem
        if problem:
            meta = {**meta, "unrunnable": problem}
        cells.append(Cell(f"{dataset}|{scenario}|{key}|{tail}",
                          FinetuneSettings(scenario=scenario, checkpoint=checkpoint, **common), meta,
                          "failed" if problem else "pending", problem))

    if "baseline" in spec.scenarios:
        groups: dict[str, list[str]] = {}
        for c, (config, _) in ckpts.items():
            groups.setdefault(_architecture(config, inputs), []).append(c)
        unfit: list[str] = []  # checkpoints of architectures that no chosen checkpoint fits to this data
        for arch, members in groups.items():  # one random-init baseline per architecture, not per checkpoint
            rep = next((c for c in members if checkpoint_problem(info, ckpts[c][0], inputs) is None), None)
            if rep is None:
                unfit += members
            else:
                add(arch, "baseline", rep, {"method": "", "checkpoints": members, "architecture": arch}, None)
        if not ckpts or unfit:
            # A random-init baseline never depends on a checkpoint's sites, channels or encoders: without a fitting
            # checkpoint it is the preset's architecture built for this dataset's sensors (shared by all of them).
            arch = f"preset-{spec.preset}"
            add(arch, "baseline", None, {"method": "", "checkpoints": unfit, "architecture": arch}, None)
    for scenario in (s for s in spec.scenarios if s != "baseline"):
        for c, (config, extra) in ckpts.items():
            meta = {"method": str(extra.get("method", "mujo")), "checkpoints": [c],
                    "architecture": _architecture(config, inputs)}
            add(c, scenario, c, meta, checkpoint_problem(info, config, inputs))
    return cells


def create_sweep(spec: SweepSpec, store: Store | str | Path | None = None) -> int:
    """Expand `spec` and store the sweep with all its cells (unrunnable ones already failed); returns its id."""
    cells = expand(spec)
    if not cells:
        raise ValueError("the sweep has no cells")
    name = spec.name or f"{'+'.join(Path(d).name for d in spec.datasets)} x{len(cells)}"
    rows = [{"key": c.key, "settings": c.settings.to_dict(), "meta": c.meta, "status": c.status, "error": c.error}
            for c in cells]
    return open_store(store).add_sweep(name, spec.to_dict(), rows)


def sweep_status(sweep_id: int, store: Store | str | Path | None = None) -> dict[str, Any]:
    """What a sweep is doing.

    Returns:
        dict with id, name, spec (SweepSpec), created, finished, counts (per cell status), total, state
        ("running", "done", "cancelled", "interrupted" or "pending"), fraction (finished cells / total), message,
        cancel_requested, coordinator, errors (key -> error of failed cells).
    Raises:
        ValueError: no such sweep.
    """
    store = open_store(store)
    row = store.get_sweep(sweep_id)
    if row is None:
        raise ValueError(f"no sweep {sweep_id} in {store.path}")
    counts, total = row["counts"], sum(row["counts"].values())
    ended = counts["done"] + counts["failed"] + counts["cancelled"]
    if row["alive"]:
        state = "running"
    elif counts["pending"] + counts["running"] == 0:
        state = "cancelled" if counts["cancelled"] else "done"
    else:
        state = "interrupted" if row["attempted"] else "pending"
    failed = store.sweep_cells(sweep_id, "failed")
    return {"id": int(sweep_id), "name": row["name"], "spec": SweepSpec.from_dict(row["spec"]),
            "created": row["created"], "finished": row["finished"], "counts": counts, "total": total,
            "state": state, "fraction": ended / total if total else 1.0,
            "message": progress_message(counts), "cancel_requested": bool(row["cancel"]),
            "coordinator": row["coordinator"], "errors": dict(zip(failed["key"], failed["error"]))}


def cancel_sweep(sweep_id: int, store: Store | str | Path | None = None) -> None:
    """Ask the sweep to stop: pending cells are cancelled at once, running ones stop at their next check; finished
    results stay. `run_sweep` on the same id resumes it."""
    open_store(store).request_cancel(sweep_id)


def list_sweeps(store: Store | str | Path | None = None) -> pd.DataFrame:
    """All sweeps, newest first: id, name, created, finished, state, total and cells per status."""
    store = open_store(store)
    if not store.path.exists():
        return pd.DataFrame(columns=["id", "name", "created", "finished", "state", "total", "pending", "running",
                                     "done", "failed", "cancelled"])
    df = store.sweeps()
    df["state"] = [sweep_status(int(i), store)["state"] for i in df["id"]]
    return df[["id", "name", "created", "finished", "state", "total", "pending", "running", "done", "failed",
               "cancelled"]]


def start_sweep_job(sweep_id: int, *, workers: int | None = None, scheduler: str | None = None,
                    store: Store | str | Path | None = None) -> JobStatus:
    """Run the sweep in a background `mujo sweep run ID` job named `sweep-ID` (a running one is left alone)."""
    argv = ["sweep", "run", str(int(sweep_id))]
    if scheduler:
        argv += ["--scheduler", scheduler]
    elif workers:
        argv += ["--workers", str(int(workers))]
    if store is not None:
        argv += ["--store", str(Path(open_store(store).path).resolve())]
    return jobs.start(f"sweep-{int(sweep_id)}", argv)


def sweep_results(store: Store | str | Path | None = None, sweep_id: int | None = None) -> pd.DataFrame:
    """One row per done fine-tuning run (of one sweep, or all runs with sweep_id NaN outside sweeps).

    Columns: RESULT_COLUMNS. `method` is the checkpoint's pre-training method ("mujo", "simclr", ...) and "" for
    baseline rows; `architecture` tells baselines of different architectures apart; `inputs` is "imu", "pose" or
    "imu+pose".
    """
    store = open_store(store)
    if not store.path.exists():
        return pd.DataFrame(columns=RESULT_COLUMNS)
    raw = store.sweep_runs(sweep_id)
    rows = []
    for r in raw.itertuples(index=False):
        config, meta = json.loads(r.config), json.loads(r.meta) if isinstance(r.meta, str) else {}
        metrics = json.loads(r.metrics) if isinstance(r.metrics, str) else {}
        summary = json.loads(r.summary) if isinstance(r.summary, str) else {}
        scenario = config.get("scenario", "")
        seconds = summary.get("seconds") if isinstance(summary, dict) else None
        if seconds is None and r.started and r.finished:
            seconds = (pd.Timestamp(r.finished) - pd.Timestamp(r.started)).total_seconds()
        inputs = config.get("inputs") or ["imu"]
        rows.append({
            "sweep_id": r.sweep_id, "run_id": int(r.run_id), "dataset": _dataset_label(config),
            "checkpoint": config.get("checkpoint") or "",
            "method": "" if scenario == "baseline" else meta.get("method") or config.get("method") or "",
            "scenario": scenario, "fraction": float(config.get("fraction", 1.0)),
            "repeat": int(config.get("repeat", 0)), "null": bool(config.get("null", False)),
            "inputs": inputs_text(inputs),
            "split": config.get("split") or "", "macro_f1": metrics.get("macro_f1"),
            "accuracy": metrics.get("accuracy"), "seconds": seconds,
            "architecture": meta.get("architecture", ""),
            "n_train": (summary or {}).get("n_train") if isinstance(summary, dict) else None, "key": r.key,
            "warnings": "\n".join(json.loads(r.warnings)) if isinstance(r.warnings, str) else ""})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _dataset_label(config: dict[str, Any]) -> str:
    """The dataset as the user named it (registry name), or the dataset's own name for a folder."""
    spec = str(config.get("dataset", ""))
    return (config.get("dataset_name") or Path(spec).name) if ("/" in spec or "\\" in spec) else spec
