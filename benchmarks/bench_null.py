"""NULL in pre-training and zero-shot (issue 5): mean-embedding NULL against a learned NULL anchor and a centroid.

On the embedded dataset (data/fimad-demo; built with `python -m mujo.cli demo` when absent), models are pre-trained
per seed with the demo model's settings (preset small, sites LWrist RWrist LKnee RKnee Spine, gyro, one thread),
differing only in how NULL chapters take part:
- "plain": the chapters as they are (null_labels "truth" only measures the NULL training windows' centroid into the
  checkpoint; the training itself is that of a run without any NULL option);
- "anchor": every NULL chapter's windows (the generator's ground truth, label "null_class") train against one
  anchor text instead of their own chapter title;
- "curN": the same with the NULL clips of a curation: a simulated annotator works through the Curation page's
  queue of train clips (most NULL-like first, text and IMU signals) and labels the first N clips as they truly are;
  only those labelled NULL take the anchor (`mujo pretrain --null-anchor TEXT --null-labels curated`).
Then zero-shot on the dataset's validation split (the FiMAD target's fixed split "fimad", part val, ground-truth
labels: the 36 activity classes + NULL), with the NULL row from
- mean: the normalised mean of the class embeddings (the paper's);
- learned: the anchor through the text encoder (anchor models only);
- centroid: the normalised mean IMU embedding of the NULL training windows;
and, for reference, without the NULL class (NULL windows dropped). Printed per seed and as mean ± std over seeds.

    python benchmarks/bench_null.py [--seeds 0 1 2] [--curated 20 60] [--epochs 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from mujo import paths  # noqa: E402
from mujo.curation.feedback import DEFAULT_ANCHOR  # noqa: E402
from mujo.demo.pipeline import DEMO_SITES  # noqa: E402
from mujo.fimad.layout import NULL_LABEL  # noqa: E402

COLUMNS = ("macro_f1", "top1", "null_f1", "null_recall", "null_precision", "act_f1")


def dataset() -> Path:
    root = paths.data_dir() / "fimad-demo"
    if not (root / "fimad.json").is_file():
        print(f"{root} is absent: building it with `python -m mujo.cli demo`", flush=True)
        subprocess.run([sys.executable, "-m", "mujo.cli", "demo"], check=True)
    return root


def simulate_curation(root: Path, store: Path, budget: int) -> tuple[int, int]:
    """An annotator who follows the Curation page's queue (train clips, most NULL-like first; signals from the
    chapter text and the IMU, as on a dataset without a model yet) and labels the first `budget` clips as they
    truly are (null / activity) into `store`. Returns (clips labelled, of them NULL)."""
    from mujo.curation.suggest import rank_clips  # noqa: PLC0415
    from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415
    from mujo.store import (
        Store,  # noqa: PLC0415
        dataset_key,  # noqa: PLC0415
    )

    ds = FimadDataset(root)
    queue = rank_clips(ds, splits="train")["clip_id"].head(budget).tolist()
    truth = ds.clips.loc[queue, "label"] == NULL_LABEL
    rows = [{"clip_id": c, "label": "null" if t else "activity"} for c, t in zip(queue, truth)]
    Store(store).add_label_events(dataset_key(root), rows, annotator="simulated annotator")
    return len(rows), int(truth.sum())


def plan(budgets: list[int]) -> dict[str, tuple[str | None, str, int | None]]:
    """Model name -> (NULL anchor, NULL clips, curation budget)."""
    models = {"plain": (None, "truth", None), "anchor": (DEFAULT_ANCHOR, "truth", None)}
    return models | {f"cur{b}": (DEFAULT_ANCHOR, "curated", b) for b in budgets}


def pretrain_all(root: Path, out: Path, seed: int, epochs: int | None, budgets: list[int], reuse: bool = False
                 ) -> dict[str, Path]:
    from mujo.models_registry import is_checkpoint  # noqa: PLC0415
    from mujo.train.pretrain import PretrainSettings, pretrain  # noqa: PLC0415

    models = {}
    for name, (anchor, labels, budget) in plan(budgets).items():
        folder = out / f"{name}-seed{seed}"
        if reuse and is_checkpoint(folder):  # the root model is written when a run ends
            print(f"seed {seed} {name:<6}: reusing {folder}", flush=True)
            models[name] = folder
            continue
        store = out / (f"curated-{budget}.sqlite" if budget else "bench_null.sqlite")  # runs stay out of the project's
        if budget and not store.exists():
            n, n_null = simulate_curation(root, store, budget)
            print(f"curation of the first {n} queued train clips: {n_null} NULL, {n - n_null} activity", flush=True)
        s = PretrainSettings(dataset=str(root), out=str(folder), preset="small", sites=DEMO_SITES, gyro=True,
                             threads=1, seed=seed, epochs=epochs, null_labels=labels, null_anchor=anchor,
                             name=f"bench_null {name} seed {seed}", overwrite=True)
        t0 = time.perf_counter()
        r = pretrain(s, store=store)
        print(f"seed {seed} {name:<6}: {r.epochs} epochs, best {r.monitor} {r.best_value:.3f} at epoch "
              f"{r.best_epoch + 1}, {time.perf_counter() - t0:.0f} s", flush=True)
        models[name] = folder
    return models


def evaluate(root: Path, models: dict[str, Path]) -> dict[tuple[str, str], dict[str, float]]:
    from mujo.curation.feedback import PART, SPLIT, null_rows_of, null_scores, target_spec  # noqa: PLC0415
    from mujo.eval.zeroshot import ZeroShotSettings, zeroshot  # noqa: PLC0415
    from mujo.models.checkpoint_io import load_checkpoint  # noqa: PLC0415

    rows = {}
    for name, folder in models.items():
        loaded = load_checkpoint(folder)
        for how in (*null_rows_of(loaded[1]), "no NULL"):
            s = ZeroShotSettings(dataset=target_spec(root), checkpoint=str(folder), null=how != "no NULL",
                                 null_embedding="mean" if how == "no NULL" else how, split=SPLIT, part=PART)
            r = zeroshot(s, loaded=loaded)
            rows[(name, how)] = null_scores(r) | {"windows": r.n_windows, "classes": len(r.classes)}
    return rows


def table(rows: dict[tuple[str, str], dict[str, float]], title: str) -> str:
    lines = [title, f"{'model':<8}{'NULL row':<10}{'windows':>8}{'classes':>8}"
             + "".join(f"{c:>15}" for c in COLUMNS)]
    for (name, how), m in rows.items():
        lines.append(f"{name:<8}{how:<10}{m['windows']:>8}{m['classes']:>8}"
                     + "".join(f"{m[c]:>15.3f}" for c in COLUMNS))
    return "\n".join(lines)


def summary(per_seed: list[dict[tuple[str, str], dict[str, float]]]) -> str:
    lines = [f"mean ± std over {len(per_seed)} seed(s)", f"{'model':<8}{'NULL row':<10}"
             + "".join(f"{c:>15}" for c in COLUMNS)]
    for key in per_seed[0]:
        cells = []
        for c in COLUMNS:
            v = [r[key][c] for r in per_seed]
            if np.isnan(v).any():
                cells.append(f"{'-':>15}")
            else:
                sd = statistics.stdev(v) if len(v) > 1 else 0.0
                cells.append(f"{statistics.mean(v):>8.3f} ±{sd:.3f}")
        lines.append(f"{key[0]:<8}{key[1]:<10}" + "".join(cells))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="pre-training seeds (default 0 1 2)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default: the small preset's 60)")
    ap.add_argument("--curated", type=int, nargs="*", default=[20, 60], metavar="N",
                    help="also pre-train with the NULL clips a simulated annotator curates among the first N queued "
                         "train clips, one model per N (default 20 60; none: leave out)")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: evaluate models a previous run finished there instead of training them again")
    ap.add_argument("--keep", type=Path, default=None, help="keep the models here (default: a temporary folder)")
    args = ap.parse_args()

    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    root = dataset()
    out = args.keep or Path(tempfile.mkdtemp(prefix="bench-null-"))
    print(f"dataset {root}; models and stores in {out}; anchor {DEFAULT_ANCHOR!r}; epochs "
          f"{args.epochs or 'preset (60)'}; seeds {args.seeds}; curation budgets {args.curated}", flush=True)
    per_seed = []
    t0 = time.perf_counter()
    for seed in args.seeds:
        rows = evaluate(root, pretrain_all(root, out, seed, args.epochs, args.curated, args.reuse))
        print(table(rows, f"\nzero-shot, validation split, seed {seed}"), flush=True)
        per_seed.append(rows)
    print("\n" + summary(per_seed))
    print(f"\nnull_f1/recall/precision: the NULL class; act_f1: macro F1 over the activity classes present; "
          f"{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
