"""Tests of the synthetic motion library: kinematics, exercises, non-exercise chapters, workouts, estimator noise."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mujo.fimad.skeleton import BONES, JOINT_INDEX, JOINTS
from mujo.synth.motion import (
    EXERCISES,
    NON_EXERCISES,
    Body,
    ChapterPlan,
    estimator_noise,
    forward_kinematics,
    run_exercise,
    run_nonexercise,
    workout_motion,
)
from mujo.synth.motion.angles import DOFS, LIMIT_HI, LIMIT_LO, N_DOFS, mirror
from mujo.synth.motion.placement import place

FPS = 50
J = JOINT_INDEX
FEET = [J["LFoot"], J["RFoot"]]
WRISTS = [J["LWrist"], J["RWrist"]]
REQUIRED = ["squat", "jump_squat", "lunge", "side_lunge", "push_up", "knee_push_up", "sit_up", "crunch",
            "jumping_jack", "high_knees", "butt_kicks", "burpee", "mountain_climber", "plank", "glute_bridge",
            "bicep_curl", "shoulder_press", "lateral_raise", "tricep_extension", "bent_over_row", "russian_twist",
            "leg_raise", "skater", "boxing_punches", "arm_circles"]
MIRROR_PERM = [JOINTS.index(n.translate(str.maketrans("LR", "RL"))) if n[0] in "LR" else i
               for i, n in enumerate(JOINTS)]


def _exercise(name: str, seed: int = 0, seconds: float = 12.0, side: str | None = None, working: bool = True):
    """Placed positions (T, 17, 3), track and params of one exercise, fully working (no setup part) by default."""
    n = int(seconds * FPS)
    kw = dict(env=np.ones(n), slow=np.ones(n)) if working else {}
    track, params = run_exercise(EXERCISES[name], np.random.default_rng(seed), Body.average(), FPS, n, side=side,
                                 **kw)
    return place(Body.average(), track.angles, FPS, track.offset, track.flight, contact=track.contact), track, params


def _bone_lengths(p: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(p[:, c] - p[:, a], axis=1) for a, c in BONES], axis=1)  # (T, 16)


def _rigid_and_grounded(p: np.ndarray) -> None:
    assert p.ndim == 3 and p.shape[1:] == (17, 3)
    assert np.isfinite(p).all()
    assert _bone_lengths(p).std(axis=0).max() < 1e-9  # forward kinematics is rigid
    assert p[:, :, 1].min() > -0.03  # nothing goes through the floor


def test_library_contents():
    assert len(EXERCISES) >= 24
    assert set(REQUIRED) <= set(EXERCISES)
    for name, spec in EXERCISES.items():
        assert name == spec.name and re.fullmatch(r"[a-z][a-z_]*[a-z]", name)
        assert spec.display and spec.typical_tempo_s > 0
        assert spec.posture in ("stand", "prone", "supine")
    assert {EXERCISES[k].sided for k in ("lunge", "side_lunge")} == {True}
    assert {"intro", "rest", "water_break", "explanation", "cooldown_stretch", "outro"} <= set(NON_EXERCISES)


def test_body_sample_and_fk_rigid():
    rng = np.random.default_rng(0)
    bodies = [Body.sample(rng) for _ in range(200)]
    heights = np.array([b.height for b in bodies])
    assert heights.min() >= 1.5 and heights.max() <= 1.95 and heights.std() > 0.05
    ratios = np.array([b.thigh / b.height for b in bodies])
    assert 0.005 < ratios.std() < 0.03
    angles = rng.normal(0.0, 0.8, (300, N_DOFS))
    p = forward_kinematics(bodies[0], angles, root_pos=rng.normal(0, 1, (300, 3)))
    assert _bone_lengths(p).std(axis=0).max() < 1e-9
    with pytest.raises(ValueError, match="angles must have shape"):
        forward_kinematics(bodies[0], np.zeros((5, 3)))


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_exercise_is_plausible(name):
    spec = EXERCISES[name]
    p, track, params = _exercise(name, working=False)
    _rigid_and_grounded(p)
    assert (track.angles >= LIMIT_LO - 1e-9).all() and (track.angles <= LIMIT_HI + 1e-9).all()
    assert params.tempo_s > 0 and 0.5 < params.rom <= 1.1
    assert (params.reps is None) == spec.static
    grounded = p[:, :, 1].min(axis=1) < 0.02 + track.flight
    assert grounded.mean() > 0.95
    if spec.posture == "stand" and name != "burpee":  # standing work: a foot carries the body
        feet_low = p[:, FEET, 1].min(axis=1) < 0.02 + track.flight
        assert feet_low.mean() > 0.95


@pytest.mark.parametrize("name", ["push_up", "knee_push_up", "plank", "mountain_climber"])
def test_hands_and_feet_on_floor_body_near_horizontal(name):
    p, _, _ = _exercise(name)
    axis = p[:, J["Thorax"]] - p[:, J["Hip"]]
    tilt = np.degrees(np.arctan2(np.abs(axis[:, 1]), np.linalg.norm(axis[:, [0, 2]], axis=1)))
    assert np.median(tilt) < 30
    assert (p[:, WRISTS, 1] < 0.04).mean() > 0.95
    front = np.cross(p[:, J["LHip"]] - p[:, J["RHip"]], axis)  # the body's front points down: face down
    assert (front[:, 1] < 0).mean() > 0.95


@pytest.mark.parametrize("name", ["sit_up", "crunch", "leg_raise", "glute_bridge", "flutter_kicks"])
def test_lying_on_the_back(name):
    p, _, _ = _exercise(name)
    axis = p[:, J["Thorax"]] - p[:, J["Hip"]]
    front = np.cross(p[:, J["LHip"]] - p[:, J["RHip"]], axis)
    assert (front[:, 1] > 0).mean() > 0.9  # face up
    assert (p[:, J["Thorax"], 1] < 0.15).mean() > 0.15  # the back rests on the floor for part of each rep


@pytest.mark.parametrize("name", sorted(NON_EXERCISES))
def test_non_exercise_is_plausible(name):
    n = 40 * FPS
    track, details = run_nonexercise(NON_EXERCISES[name], np.random.default_rng(1), Body.average(), FPS, n,
                                     info={"next_exercise": "squat"})
    p = place(Body.average(), track.angles, FPS, track.offset, track.flight, track.travel, track.contact)
    _rigid_and_grounded(p)
    speed = np.linalg.norm(np.diff(p - p[:, :1], axis=0), axis=2).mean() * FPS
    assert speed > 0.01  # never a frozen statue
    if name == "explanation":
        assert details["demonstrates"] in EXERCISES


@pytest.mark.parametrize("name", [k for k, s in EXERCISES.items() if s.sided])
def test_left_is_mirror_of_right(name):
    left, lt, lp = _exercise(name, seed=3, side="left")
    right, rt, rp = _exercise(name, seed=3, side="right")
    assert (lp.side, rp.side) == ("left", "right")
    np.testing.assert_allclose(lt.angles, mirror(rt.angles), atol=1e-12)
    np.testing.assert_allclose(left[:, MIRROR_PERM] * [-1.0, 1.0, 1.0], right, atol=1e-9)


def _mixed_plan() -> list[ChapterPlan]:
    return [ChapterPlan("intro", 12), ChapterPlan("squat", 25), ChapterPlan("push_up", 20),
            ChapterPlan("rest", 15), ChapterPlan("sit_up", 20), ChapterPlan("lunge", 25, "left"),
            ChapterPlan("water_break", 14), ChapterPlan("burpee", 20), ChapterPlan("plank", 15),
            ChapterPlan("jumping_jack", 15), ChapterPlan("cooldown_stretch", 30), ChapterPlan("outro", 8)]


def test_workout_composition_contiguous_and_smooth():
    plan = _mixed_plan()
    wm = workout_motion(np.random.default_rng(7), Body.sample(np.random.default_rng(8)), plan, FPS)
    p = wm.pose
    assert p.dtype == np.float64 and len(p) == round(sum(c.duration_s for c in plan) * FPS)
    _rigid_and_grounded(p)
    starts = [c.start for c in wm.chapters]
    assert starts[0] == 0 and wm.chapters[-1].end == len(p)
    assert all(a.end == b.start for a, b in zip(wm.chapters[:-1], wm.chapters[1:]))
    for c, pl in zip(wm.chapters, plan):
        assert c.kind == pl.kind and abs((c.end - c.start) - pl.duration_s * FPS) <= 1
    assert wm.chapters[5].side == "left" and wm.chapters[1].reps > 3 and wm.chapters[8].reps is None
    step = np.linalg.norm(np.diff(p, axis=0), axis=2).max(axis=1) * FPS  # fastest joint, m/s
    for c in wm.chapters[1:]:
        assert step[c.start - FPS:c.start + FPS].max() < 12.0, c.kind  # no jump at a chapter boundary
    assert np.percentile(step, 99.5) < 10.0
    assert np.linalg.norm(p[:, 0, [0, 2]], axis=1).max() < 4.0  # stays in front of the camera


def test_determinism_and_variation():
    plan = [ChapterPlan("intro", 5), ChapterPlan("burpee", 10), ChapterPlan("rest", 6)]
    a = workout_motion(np.random.default_rng(11), Body.average(), plan, FPS)
    b = workout_motion(np.random.default_rng(11), Body.average(), plan, FPS)
    c = workout_motion(np.random.default_rng(12), Body.average(), plan, FPS)
    np.testing.assert_array_equal(a.pose, b.pose)
    assert [x.facing for x in a.chapters] == [x.facing for x in b.chapters]
    assert np.abs(a.pose - c.pose).max() > 0.05
    na = estimator_noise(a.pose, np.random.default_rng(3), FPS)
    nb = estimator_noise(a.pose, np.random.default_rng(3), FPS)
    np.testing.assert_array_equal(na, nb)
    assert Body.sample(np.random.default_rng(1)) != Body.sample(np.random.default_rng(2))


def _features(p: np.ndarray, size: int = 100, hop: int = 50) -> np.ndarray:
    """Yaw-invariant window features of a clean pose: heights, a few distances, speeds (mean and spread)."""
    trim = int(0.15 * len(p))
    p = p[trim:len(p) - trim]
    pairs = [(13, 16), (3, 6), (13, 6), (16, 3), (13, 10), (16, 10), (10, 3), (0, 13)]
    feats = []
    for s in range(0, len(p) - size + 1, hop):
        w = p[s:s + size]
        h = w[:, :, 1] - w[:, :, 1].min(axis=1, keepdims=True)
        d = np.stack([np.linalg.norm(w[:, a] - w[:, b], axis=1) for a, b in pairs], axis=1)
        v = np.linalg.norm(np.diff(w - w[:, :1], axis=0), axis=2) * FPS
        feats.append(np.concatenate([h.mean(0), h.std(0), d.mean(0), d.std(0), v.mean(0)]))
    return np.array(feats)


def test_exercises_are_distinguishable():
    names = sorted(EXERCISES)
    train, test = {}, {}
    for k, name in enumerate(names):
        runs = []
        for seed in range(3):
            rng = np.random.default_rng(1000 * k + seed)
            wm = workout_motion(rng, Body.sample(rng), [ChapterPlan(name, 20.0)], FPS)
            runs.append(_features(wm.pose))
        train[name], test[name] = np.vstack(runs[:2]), runs[2]
    allx = np.vstack(list(train.values()))
    mu, sd = allx.mean(0), allx.std(0) + 1e-6
    cent = np.stack([((train[n] - mu) / sd).mean(0) for n in names])
    correct = total = 0
    for i, name in enumerate(names):
        x = (test[name] - mu) / sd
        pred = np.argmin(((x[:, None, :] - cent[None]) ** 2).sum(-1), axis=1)
        correct += int((pred == i).sum())
        total += len(x)
    acc = correct / total
    print(f"nearest-centroid accuracy over {len(names)} exercises: {acc:.2f} (chance {1 / len(names):.2f})")
    assert acc > 0.6


def test_rest_chapters_have_less_energy_than_exercises():
    def energy(kind: str, seed: int) -> float:
        rng = np.random.default_rng(seed)
        p = workout_motion(rng, Body.average(), [ChapterPlan(kind, 20.0)], FPS).pose
        trim = int(0.15 * len(p))
        p = p[trim:len(p) - trim]
        return float(np.linalg.norm(np.diff(p - p[:, :1], axis=0), axis=2).mean() * FPS)

    ex = {k: np.mean([energy(k, s) for s in range(2)]) for k in EXERCISES}
    median = np.median(list(ex.values()))
    for kind in NON_EXERCISES:
        e = np.mean([energy(kind, s) for s in range(3)])
        assert e < median, (kind, e, median)
        assert e > 0.02, kind


def test_estimator_noise_properties():
    rng = np.random.default_rng(5)
    clean = workout_motion(rng, Body.average(), [ChapterPlan("squat", 600.0)], FPS).pose
    before = clean.copy()
    noisy = estimator_noise(clean, np.random.default_rng(6), FPS, jitter_m=0.01, dropout_rate=0.01)
    np.testing.assert_array_equal(clean, before)
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    nan = np.isnan(noisy)
    frames = nan.any(axis=(1, 2))
    assert (nan.all(axis=(1, 2)) == frames).all()  # whole frames drop out
    assert 0.002 < frames.mean() < 0.04
    err = (noisy - clean)[~frames]
    assert 0.005 < np.median(np.abs(err)) < 0.02
    edges = np.diff(np.concatenate([[0], frames.astype(int), [0]]))
    gaps = (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)) / FPS
    assert (gaps <= 0.3 + 1e-9).mean() > 0.5
    # jitter is temporally correlated: consecutive errors are alike
    e = (noisy - clean)[:, J["Hip"], 0]
    ok = np.isfinite(e[1:]) & np.isfinite(e[:-1])
    assert np.corrcoef(e[1:][ok], e[:-1][ok])[0, 1] > 0.5
    with pytest.raises(ValueError, match="shape"):
        estimator_noise(np.zeros((10, 16, 3)), rng, FPS)


def test_bad_plans_are_rejected():
    body, rng = Body.average(), np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown kind 'yoga_flow'"):
        workout_motion(rng, body, [ChapterPlan("yoga_flow", 10)], FPS)
    with pytest.raises(ValueError, match="side"):
        workout_motion(rng, body, [ChapterPlan("lunge", 10, "up")], FPS)
    with pytest.raises(ValueError, match="duration_s"):
        workout_motion(rng, body, [ChapterPlan("squat", 0.0)], FPS)
    with pytest.raises(ValueError, match="at least one chapter"):
        workout_motion(rng, body, [], FPS)


def test_ten_minute_workout_is_whole():
    """A FiMAD-length video in one call: every chapter in order, back to back, every frame finite.
    (Its speed is measured by benchmarks/bench_motion.py; no wall-clock bound here.)"""
    names = sorted(EXERCISES)
    rng = np.random.default_rng(0)
    plan = [ChapterPlan("intro", 30.0)]
    while sum(c.duration_s for c in plan) < 570:
        plan.append(ChapterPlan(names[int(rng.integers(len(names)))], 40.0))
        plan.append(ChapterPlan("rest", 15.0))
    plan.append(ChapterPlan("outro", 20.0))
    seconds = sum(c.duration_s for c in plan)
    wm = workout_motion(rng, Body.sample(rng), plan, FPS)
    n = int(round(seconds * FPS))
    assert wm.pose.shape == (n, 17, 3) and wm.angles.shape == (n, N_DOFS) and np.isfinite(wm.pose).all()
    assert [c.kind for c in wm.chapters] == [c.kind for c in plan]
    assert [(c.end - c.start) for c in wm.chapters] == [int(round(c.duration_s * FPS)) for c in plan]
    assert wm.chapters[0].start == 0 and wm.chapters[-1].end == n
    assert all(a.end == b.start for a, b in zip(wm.chapters, wm.chapters[1:]))
    assert len(DOFS) == N_DOFS
