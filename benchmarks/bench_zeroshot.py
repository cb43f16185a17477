"""Zero-shot on real sensor data (issue 4): top-1/3/5 accuracy and macro F1 per dataset and input modality.

Uses checkpoints pre-trained on the embedded synthetic data with each dataset's site (see bench_finetune.py for the
commands that make them); every row is a fresh evaluation, stored in the project's store like the page's runs.

    python benchmarks/bench_zeroshot.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mujo import paths  # noqa: E402
from mujo.eval.zeroshot import ZeroShotSettings, zeroshot  # noqa: E402
from mujo.store import Store  # noqa: E402

PAPER = {"motionsense": "paper Table 3, MotionSense sensor row (four groups of top-1/3/5 accuracy and macro F1 "
                          "as printed): .143 .428 .765 | .146 .481 .867 | .076 .353 .745 | .104 .453 .850"}


def cases() -> list[tuple[str, str, str]]:
    m = paths.data_dir() / "models"
    return [("motionsense", str(m / "pre-rhip-acc"), "imu"),
            ("utd-mhad", str(m / "pre-rwrist-gyro"), "imu"),
            ("utd-mhad", str(m / "pre-rwrist-gyro"), "pose"),
            ("utd-mhad-wrist", str(m / "pre-rwrist-gyro"), "imu")]


def main() -> int:
    store = Store()
    print(f"{'dataset':<16}{'input':<6}{'windows':>8}{'classes':>8}{'chance':>8}{'top1':>7}{'top3':>7}{'top5':>7}"
          f"{'macroF1':>8}{'s':>6}")
    for dataset, ckpt, inputs in cases():
        if not (Path(ckpt) / "config.json").exists():
            print(f"{dataset}: skipped, no checkpoint {ckpt}")
            continue
        t0 = time.perf_counter()
        r = zeroshot(ZeroShotSettings(dataset=dataset, checkpoint=ckpt, inputs=inputs), store=store)
        k = len(r.classes)
        print(f"{dataset:<16}{inputs:<6}{r.n_windows:>8}{k:>8}{1 / k:>8.3f}{r.top1:>7.3f}{r.top3:>7.3f}{r.top5:>7.3f}"
              f"{r.macro_f1:>8.3f}{time.perf_counter() - t0:>6.1f}")
    for line in PAPER.values():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
