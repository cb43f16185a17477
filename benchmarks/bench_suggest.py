"""NULL suggestions (issue 5): how well each signal ranks the NULL clips first, and how long ranking takes.

1. Quality on the embedded dataset (data/fimad-demo; ground truth = clips.csv's null_class): average precision and
   precision@k of the combined score and of each signal, with the demo model's embeddings when they exist (all four
   signals, as the Curation page has them) and without (text + IMU energy, a dataset before any model), and the
   combined score without the text signal (titles of a synthetic dataset name their breaks more plainly than real
   uploads do, so text-free figures are the cautious ones). The base rate (NULL share) is the AP of a random order.
2. Time: `compute_signals` + `rank_signals` on the demo (all signals), and on a FiMAD-size dataset of 10,000 clips
   x 300 frames (pose + IMU noise, as bench_fimad_io writes it) with the text and energy signals.

    python benchmarks/bench_suggest.py [--clips 10000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_fimad_io import write_dataset  # noqa: E402

from mujo import paths  # noqa: E402
from mujo.curation import quality as nq  # noqa: E402
from mujo.curation import suggest as nsg  # noqa: E402
from mujo.fimad.dataset import FimadDataset  # noqa: E402

KS = (10, 25, 50)


def demo_model() -> tuple[Path | None, Path | None]:
    """(the demo checkpoint, its embedding store of the demo dataset), each None when absent."""
    from mujo.models_registry import find_store, is_checkpoint  # noqa: PLC0415

    ckpt = paths.data_dir() / "models" / "demo"
    if not is_checkpoint(ckpt):
        return None, None
    return ckpt, find_store(ckpt, paths.data_dir() / "fimad-demo")


def quality_table(signals, truth, title: str) -> str:
    rows = {"with text": nq.ranking_quality(nsg.rank_signals(signals), truth, KS),
            "without text": nq.ranking_quality(nsg.rank_signals(signals, weights=nsg.NullWeights(text=0.0)),
                                               truth, KS)}
    lines = [title, f"{'score':<24}{'n':>6}{'NULL':>6}{'base':>7}{'AP':>7}" + "".join(f"{f'p@{k}':>7}" for k in KS)]
    for variant, q in rows.items():
        for name, r in q.iterrows():
            if variant == "without text" and name != "combined":
                continue  # the single signals do not depend on the weights
            label = f"{name} ({variant})" if name == "combined" else name
            lines.append(f"{label:<24}{int(r['n']):>6}{int(r['positives']):>6}{r['base_rate']:>7.3f}{r['ap']:>7.3f}"
                         + "".join(f"{r[f'p@{k}']:>7.3f}" for k in KS))
    return "\n".join(lines)


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10_000, help="clips of the FiMAD-size timing dataset")
    args = ap.parse_args()

    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    root = paths.data_dir() / "fimad-demo"
    if (root / "fimad.json").is_file():
        ds = FimadDataset(root)
        truth = nq.null_truth(ds.clips)
        t_plain, plain = timed(lambda: nsg.compute_signals(ds))
        print(quality_table(plain, truth, f"\n{root.name}: {len(ds.clips)} clips, text + IMU energy (no model)"))
        ckpt, emb = demo_model()
        if emb is not None:
            t_full, full = timed(lambda: nsg.compute_signals(ds, embeddings=emb, checkpoint=ckpt))
            print(quality_table(full, truth, f"\n{root.name}: all four signals (demo model, embeddings {emb.name})"))
            print(f"\ncompute_signals on {len(ds.clips)} clips: {t_plain:.2f} s text + energy, {t_full:.2f} s all "
                  "four signals (prompts through the text encoder, window embeddings from the store)")
        else:
            print(f"\n(no embeddings of the demo model yet: open Embedding Space once, or `mujo embed`); "
                  f"compute_signals text + energy {t_plain:.2f} s")
    else:
        print(f"{root} is absent (`python -m mujo.cli demo` builds it): quality not measured")

    tmp = Path(tempfile.mkdtemp(prefix="bench_suggest_"))
    try:
        t_write = write_dataset(tmp / "ds", args.clips, 300, np.random.default_rng(0))
        big = FimadDataset(tmp / "ds")
        t_sig, sig = timed(lambda: nsg.compute_signals(big), repeats=1)
        t_rank, ranked = timed(lambda: nsg.rank_signals(sig, min_score=0.2, splits="train"))
        print(f"\n{args.clips:,} clips x 300 frames (written in {t_write:.1f} s): compute_signals (text + energy) "
              f"{t_sig:.2f} s = {args.clips / t_sig:,.0f} clips/s; rank_signals with filters {t_rank * 1e3:.0f} ms "
              f"({len(ranked):,} clips kept)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
