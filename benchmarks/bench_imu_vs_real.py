"""Virtual vs real IMU on UTD-MHAD: Kinect skeleton -> mujo.sim.imu_sim -> right-wrist |acc|, |gyro| correlations.

For actions 1-21 (sensor on the right wrist) each clip's skeleton is mapped to the 17-joint skeleton, resampled
to the IMU's samples over the clip's duration, simulated at RWrist, and the Pearson correlation of |acc| and of
|gyro| with the real sensor's is taken (magnitudes: the real sensor's axes are unknown). No lag, no per-clip
fitting. Also times simulate() on a 1500-frame, 16-site clip.

    python benchmarks/bench_imu_vs_real.py [--smooth 0.4] [--sweep 0.2,0.3,0.4,0.5] [--per-action]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from mujo.datasets.utd_mhad import ACTIONS, IMU_FPS, UtdMhad, default_root
from mujo.sim.imu_sim import DEFAULT_SMOOTH_S, simulate


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def load_clips(ds: UtdMhad) -> list[tuple]:
    """(key, real acc, real gyro, pose resampled to the IMU samples) for every right-wrist clip."""
    out = []
    for key in ds.clips:
        if key.action > 21:
            continue
        acc, gyro = ds.inertial(key)
        out.append((key, acc, gyro, ds.pose(key, n=len(acc))))
    return out


def correlations(clips: list[tuple], smooth_s: float) -> tuple[np.ndarray, np.ndarray]:
    ca, cg = [], []
    for _, acc, gyro, pose in clips:
        va, vg = simulate(pose, IMU_FPS, ["RWrist"], smooth_s=smooth_s)
        ca.append(pearson(np.linalg.norm(va[:, 0], axis=1), np.linalg.norm(acc, axis=1)))
        cg.append(pearson(np.linalg.norm(vg[:, 0], axis=1), np.linalg.norm(gyro, axis=1)))
    return np.array(ca), np.array(cg)


def summary(c: np.ndarray) -> str:
    ok = c[np.isfinite(c)]
    q1, med, q3 = np.percentile(ok, [25, 50, 75])
    return f"median {med:.3f}  IQR [{q1:.3f}, {q3:.3f}]  n={ok.size}"


def time_simulate(n_frames: int = 1500, repeats: int = 200) -> tuple[float, float]:
    """Median and best wall time (ms) of simulate() on a noisy moving 16-site clip."""
    rng = np.random.default_rng(0)
    t = np.arange(n_frames) / 50.0
    pose = rng.normal(0.0, 0.3, (1, 17, 3)) + 0.01 * rng.standard_normal((n_frames, 17, 3))
    pose = pose + 0.2 * np.sin(2 * np.pi * 0.5 * t)[:, None, None]
    simulate(pose, 50.0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        simulate(pose, 50.0)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * float(np.min(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(default_root()), help="UTD-MHAD folder (Inertial/, Skeleton/)")
    parser.add_argument("--smooth", type=float, default=DEFAULT_SMOOTH_S, help="simulate(smooth_s=...)")
    parser.add_argument("--sweep", default="", help="comma-separated smooth_s values to compare")
    parser.add_argument("--per-action", action="store_true", help="also print medians per action")
    args = parser.parse_args(argv)

    try:
        ds = UtdMhad(args.root)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    start = time.perf_counter()
    clips = load_clips(ds)
    print(f"UTD-MHAD right-wrist clips (actions 1-21): {len(clips)} (loaded in {time.perf_counter() - start:.1f} s)")

    for s in [float(v) for v in args.sweep.split(",") if v]:
        ca, cg = correlations(clips, s)
        print(f"  smooth_s={s:.2f}  |acc| {summary(ca)}   |gyro| {summary(cg)}")

    ca, cg = correlations(clips, args.smooth)
    print(f"smooth_s={args.smooth:.2f} (Pearson r of magnitudes, virtual vs real, per clip)")
    print(f"  |acc|  {summary(ca)}")
    print(f"  |gyro| {summary(cg)}")
    if args.per_action:
        actions = np.array([key.action for key, *_ in clips])
        print("  per action: median r(|acc|)  median r(|gyro|)  clips")
        for a in sorted(set(actions)):
            m = actions == a
            name = ACTIONS[a][:38]
            print(f"    {a:2d} {name:38s} {np.nanmedian(ca[m]):6.3f} {np.nanmedian(cg[m]):6.3f} {m.sum():4d}")

    med, best = time_simulate()
    print(f"simulate(): 1500 frames x 16 sites at 50 Hz: median {med:.2f} ms, best {best:.2f} ms "
          f"({1500 * 1000 / med / 3600 / 50:.1f} h of 50 Hz pose per second of one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
