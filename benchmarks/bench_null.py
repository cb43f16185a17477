"""NULL in pre-training and zero-shot (issue 5): mean-embedding NULL against a learned NULL anchor and a centroid.

On the embedded dataset (data/fimad-demo; built with `python -m mujo.cli demo` when absent), two models per seed are
pre-trained with the demo model's settings (preset small, sites LWrist RWrist LKnee RKnee Spine, gyro, one thread)
and nothing else different but the NULL anchor:
- "plain": the chapters as they are (null_labels "truth" only measures the NULL training windows' centroid into the
  checkpoint; the training itself is that of a run without any NULL option);
- "anchor": every NULL chapter's windows train against one anchor text instead of their own chapter title.
NULL clips are the generator's ground truth (label "null_class"). Then zero-shot on the dataset's validation split
(the FiMAD target's fixed split "fimad", part val, the 36 activity classes + NULL), with the NULL row from
- mean: the normalised mean of the class embeddings (the paper's);
- learned: the anchor through the text encoder (anchor model only);
- centroid: the normalised mean IMU embedding of the NULL training windows;
and, for reference, without the NULL class (NULL windows dropped). Printed per seed and as mean ± std over seeds.

    python benchmarks/bench_null.py [--seeds 0 1 2] [--epochs 60] [--keep DIR]
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
from mujo.demo import DEMO_SITES  # noqa: E402

ANCHOR = "no exercise: the trainer talks, rests or explains"
EMBEDDINGS = {"plain": ("mean", "centroid"), "anchor": ("mean", "learned", "centroid")}
COLUMNS = ("macro_f1", "top1", "null_f1", "null_recall", "null_precision", "act_f1")


def dataset() -> Path:
    root = paths.data_dir() / "fimad-demo"
    if not (root / "fimad.json").is_file():
        print(f"{root} is absent: building it with `python -m mujo.cli demo`", flush=True)
        subprocess.run([sys.executable, "-m", "mujo.cli", "demo"], check=True)
    return root


def pretrain_pair(root: Path, out: Path, store: Path, seed: int, epochs: int | None) -> dict[str, Path]:
    from mujo.train.pretrain import PretrainSettings, pretrain  # noqa: PLC0415

    models = {}
    for name, anchor in (("plain", None), ("anchor", ANCHOR)):
        folder = out / f"{name}-seed{seed}"
        s = PretrainSettings(dataset=str(root), out=str(folder), preset="small", sites=DEMO_SITES, gyro=True,
                             threads=1, seed=seed, epochs=epochs, null_labels="truth", null_anchor=anchor,
                             name=f"bench_null {name} seed {seed}", overwrite=True)
        t0 = time.perf_counter()
        r = pretrain(s, store=store)
        print(f"seed {seed} {name:<6}: {r.epochs} epochs, best {r.monitor} {r.best_value:.3f} at epoch "
              f"{r.best_epoch + 1}, {time.perf_counter() - t0:.0f} s", flush=True)
        models[name] = folder
    return models


def scores(result) -> dict[str, float]:
    """Macro F1, top-1, the NULL class's F1 / recall / precision and the activities' macro F1 of a result."""
    out = {"macro_f1": result.macro_f1, "top1": result.top1}
    conf = np.asarray(result.confusion)
    if "NULL" in result.classes:
        k = result.classes.index("NULL")
        tp = conf[k, k]
        out["null_f1"] = result.per_class_f1["NULL"] or 0.0
        out["null_recall"] = tp / max(conf[k].sum(), 1)
        out["null_precision"] = tp / max(conf[:, k].sum(), 1)
        acts = [v for c, v in result.per_class_f1.items() if c != "NULL" and result.support.get(c, 0) > 0]
        out["act_f1"] = float(np.mean([v or 0.0 for v in acts]))
    else:
        out |= {"null_f1": float("nan"), "null_recall": float("nan"), "null_precision": float("nan"),
                "act_f1": result.macro_f1}
    return out


def evaluate(root: Path, models: dict[str, Path]) -> dict[tuple[str, str], dict[str, float]]:
    from mujo.checkpoint import load_checkpoint  # noqa: PLC0415
    from mujo.eval.zeroshot import ZeroShotSettings, zeroshot  # noqa: PLC0415

    rows = {}
    for name, folder in models.items():
        loaded = load_checkpoint(folder)
        for how in (*EMBEDDINGS[name], "no NULL"):
            s = ZeroShotSettings(dataset=str(root), checkpoint=str(folder), null=how != "no NULL",
                                 null_embedding="mean" if how == "no NULL" else how, split="fimad", part="val")
            r = zeroshot(s, loaded=loaded)
            rows[(name, how)] = scores(r) | {"windows": r.n_windows, "classes": len(r.classes)}
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
    ap.add_argument("--keep", type=Path, default=None, help="keep the models here (default: a temporary folder)")
    args = ap.parse_args()

    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    root = dataset()
    out = args.keep or Path(tempfile.mkdtemp(prefix="bench-null-"))
    store = out / "bench_null.sqlite"  # the runs stay out of the project's store
    print(f"dataset {root}; models and store in {out}; anchor {ANCHOR!r}; epochs "
          f"{args.epochs or 'preset (60)'}; seeds {args.seeds}", flush=True)
    per_seed = []
    t0 = time.perf_counter()
    for seed in args.seeds:
        rows = evaluate(root, pretrain_pair(root, out, store, seed, args.epochs))
        print(table(rows, f"\nzero-shot, validation split, seed {seed}"), flush=True)
        per_seed.append(rows)
    print("\n" + summary(per_seed))
    print(f"\nnull_f1/recall/precision: the NULL class; act_f1: macro F1 over the activity classes present; "
          f"{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
