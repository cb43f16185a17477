"""Test material for the Fine-tuning and Zero-shot pages: a tiny generic-format dataset and seeded store runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

TRICKY_CLASS = "<b>lunge</b>"  # an HTML-like class name: must be shown as text everywhere
CLASSES = ("squat", TRICKY_CLASS)


def make_target(root: Path, *, placements: dict[str, str] | None = None, subjects: int = 3,
                splits: Sequence[Any] = ()) -> Path:
    """A generic-format dataset: `subjects` subjects x one 12 s recording at 50 Hz, two classes and NULL."""
    from mujo.datasets.base import NULL_INDEX, Recording  # noqa: PLC0415
    from mujo.datasets.generic import write_generic  # noqa: PLC0415

    placements = placements or {"wrist": "RWrist"}
    recs = []
    for s in range(subjects):
        rng = np.random.default_rng(s)
        labels = np.repeat(np.array([0, 1, NULL_INDEX]), 200)
        imu = {p: rng.normal(0, 1, (600, 3)).astype(np.float32) for p in placements}
        recs.append(Recording(f"sub{s}", f"s{s}", 50.0, imu, labels.astype(np.int64)))
    return write_generic(root, recs, name="tiny-gym", classes=CLASSES, placements=placements,
                         prompts={"squat": "doing squats"}, splits=splits)


def make_run(folder: Path, sites: Sequence[str] = ("RWrist",), modalities: Sequence[str] = ("imu",)) -> Path:
    """A finished pre-training run of a tiny model for `sites` (accelerometer): the best model at the root, `best/`
    and `last/` inside, as mujo.train.checkpoints leaves it; returns the root."""
    import torch  # noqa: PLC0415

    from mujo.models import create_model  # noqa: PLC0415
    from mujo.models.checkpoint_io import save_checkpoint  # noqa: PLC0415

    torch.manual_seed(0)
    model = create_model("small", modalities=list(modalities), imu_sites=list(sites), imu_channels=["acc"])
    extra = {"method": "mujo", "settings": {"preset": "small"}}
    for sub in ("best", "last", ""):
        save_checkpoint(folder / sub if sub else folder, model, extra)
    return folder


def seed_sweep(store: Any, *, dataset: str = "tiny-gym", repeats: int = 6, fractions: Sequence[float] = (0.02, 1.0),
               checkpoint: str = "/models/mujo-a", pending: int = 0) -> int:
    """A sweep in the store with done baseline and fine-tuned cells (fine-tuned better), one failed cell that could
    not run, and `pending` cells not run yet; returns its id."""
    from mujo.store.sweeps import mark_cell_saved  # noqa: PLC0415

    cells, runs = [], []
    rng = np.random.default_rng(0)
    for r in range(repeats):
        for frac in fractions:
            base = 0.4 + 0.4 * frac + 0.02 * rng.normal()
            for scenario, gain in (("baseline", 0.0), ("finetuned", 0.1)):
                key = f"{dataset}|{scenario}|f={frac:g}|r={r}"
                settings = {"dataset": dataset, "scenario": scenario, "checkpoint": checkpoint, "fraction": frac,
                            "repeat": r, "null": False, "inputs": ["imu"], "split": None}
                cells.append({"key": key, "settings": settings,
                              "meta": {"method": "" if scenario == "baseline" else "mujo", "architecture": "arch-a"}})
                runs.append((key, settings, base + gain + 0.005 * rng.normal()))
    cells.append({"key": f"{dataset}|frozen|/models/other", "settings": {"dataset": dataset}, "status": "failed",
                  "error": "the checkpoint's IMU sites ['LWrist'] differ", "meta": {"unrunnable": "sites"}})
    cells += [{"key": f"later{i}", "settings": {"dataset": dataset}, "meta": {}} for i in range(pending)]
    sweep_id = store.add_sweep("seeded", {"datasets": [dataset]}, cells)
    for key, settings, f1 in runs:
        def hook(conn, rid, key=key):
            mark_cell_saved(conn, rid, sweep_id=sweep_id, key=key)

        warnings = ["class 'squat': 2% of 10 windows is 0.2; took 1"] if settings["fraction"] < 0.05 else []
        store.save_run("finetune", results={"metrics": {"macro_f1": f1, "accuracy": f1 + 0.05},
                                            "summary": {"seconds": 2.0, "n_train": 10}, "warnings": warnings},
                       name=key, dataset=dataset, config=settings, checkpoint=settings["checkpoint"], on_saved=hook)
    return sweep_id


def zeroshot_result(classes: Sequence[str], *, top1: float = 0.5, seed: int = 0) -> Any:
    """A ZeroShotResult with a made-up confusion matrix over `classes`."""
    from mujo.eval.classification import macro_f1, per_class_f1  # noqa: PLC0415
    from mujo.eval.zeroshot import ZeroShotResult  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    k = len(classes)
    conf = rng.integers(0, 5, (k, k)) + np.eye(k, dtype=np.int64) * 10
    f1 = per_class_f1(conf)
    return ZeroShotResult(top1=top1, top3=min(1.0, top1 + 0.3), top5=1.0, macro_f1=float(macro_f1(conf)),
                          accuracy=top1, per_class_f1={c: float(v) for c, v in zip(classes, f1)},
                          confusion=conf.tolist(), classes=list(classes),
                          prompts={c: [f"a person {c}"] for c in classes}, n_windows=int(conf.sum()), seconds=0.1)


def save_zeroshot(store: Any, settings: Any, result: Any) -> int:
    """Store a zero-shot run the way mujo.eval.zeroshot does (same kind, result keys and config keys)."""
    config = settings.to_dict() | {"templates": list(settings.templates), "resolved_split": None, "method": "mujo"}
    result.run_id = store.save_run("zeroshot", results=result.results(), name=f"{settings.dataset} {settings.inputs}",
                                   dataset=settings.dataset, config=config, checkpoint=str(settings.checkpoint))
    return result.run_id
