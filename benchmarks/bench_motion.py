"""Speed of the synthetic motion generator: a 10-minute workout's clean motion and its estimator noise."""

from __future__ import annotations

import time

import numpy as np

from mujo.synth.motion import EXERCISES, NON_EXERCISES, Body, ChapterPlan, estimator_noise, workout_motion

FPS = 50
FIMAD_HOURS = 78.0


def ten_minute_plan(rng: np.random.Generator) -> list[ChapterPlan]:
    """Intro, then exercises (30-60 s) with rests and the odd non-exercise chapter, then a cool-down and outro."""
    names = sorted(EXERCISES)
    extra = [k for k in NON_EXERCISES if k not in ("intro", "outro")]
    plan = [ChapterPlan("intro", float(rng.uniform(15, 40)))]
    while sum(c.duration_s for c in plan) < 540:
        plan.append(ChapterPlan(names[int(rng.integers(len(names)))], float(rng.uniform(30, 60))))
        kind = "rest" if rng.uniform() < 0.7 else extra[int(rng.integers(len(extra)))]
        plan.append(ChapterPlan(kind, float(rng.uniform(10, 30))))
    plan += [ChapterPlan("cooldown_stretch", 40.0), ChapterPlan("outro", 15.0)]
    return plan


def main() -> None:
    motion_s = noise_s = seconds = 0.0
    runs = 5
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        plan = ten_minute_plan(rng)
        body = Body.sample(rng)
        t0 = time.perf_counter()
        wm = workout_motion(rng, body, plan, FPS)
        t1 = time.perf_counter()
        estimator_noise(wm.pose, rng, FPS)
        t2 = time.perf_counter()
        motion_s += t1 - t0
        noise_s += t2 - t1
        seconds += len(wm.pose) / FPS
    per_s = 1000 * motion_s / seconds
    per_s_noise = 1000 * noise_s / seconds
    print(f"{runs} workouts, {seconds / 60:.1f} min of motion at {FPS} Hz ({int(seconds * FPS)} frames), one core")
    print(f"workout_motion:  {motion_s:.2f} s = {per_s:.3f} ms per second of motion "
          f"({1e6 * motion_s / (seconds * FPS):.1f} us per frame)")
    print(f"estimator_noise: {noise_s:.2f} s = {per_s_noise:.3f} ms per second of motion")
    full = FIMAD_HOURS * 3600
    print(f"FiMAD scale ({FIMAD_HOURS:.0f} h): motion + noise {full * (per_s + per_s_noise) / 1000 / 60:.1f} "
          f"core-minutes (budget for everything: 10 min on 2 cores = 20 core-minutes)")


if __name__ == "__main__":
    main()
