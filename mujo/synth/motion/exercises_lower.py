"""Lower-body exercises: squats, lunges, bridges, kneeling leg work, calf raises."""

from __future__ import annotations

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.motion.angles import IDX, pose
from mujo.synth.motion.body import forward_kinematics, limb_ik
from mujo.synth.motion.moves import arm_style, feet_ik, lock_feet, sided, stance_feet, swing_path, with_arms
from mujo.synth.motion.poses import KNEEL, STAND, SUPINE_KNEES, plant_hands
from mujo.synth.motion.spec import ExerciseSpec
from mujo.synth.motion.track import Ctx, Track

J = JOINT_INDEX


def squat_pose(top: np.ndarray, depth: float, lean: float) -> np.ndarray:
    """Bottom of a squat from a standing pose: thighs near parallel at depth 1, trunk leaning with the hips."""
    thigh = 88.0 * depth      # thigh angle from vertical, degrees
    pitch = 34.0 * lean * depth
    shank = 32.0 * depth      # forward tilt of the shin
    return pose(top, root_pitch=pitch, spine_flex=6 * lean, chest_flex=4, neck_flex=-18 * depth,
                both_hip_flex=thigh + pitch, both_knee=thigh + shank)


def squat(c: Ctx) -> Track:
    r = c.rng
    style = arm_style(r, {"forward": 3, "chest": 3, "head": 2, "hips": 1, "swing": 2})
    top = pose(STAND, both_hip_abd=r.uniform(8, 16), both_hip_rot=r.uniform(12, 28))
    top = with_arms(top, "hang" if style == "swing" else style)
    bottom = squat_pose(top, r.uniform(0.8, 1.05), r.uniform(0.7, 1.25))
    if style == "swing":  # arms rise forward as the hips go down
        bottom = with_arms(bottom, "forward")
    down, hold = r.uniform(0.38, 0.5), r.uniform(0.0, 0.12)
    ang = c.cycle([(0.0, top), (down, bottom), (down + hold, bottom)])
    lock_feet(c, ang)
    return Track(ang)


def sumo_squat(c: Ctx) -> Track:
    r = c.rng
    style = arm_style(r, {"dumbbell": 3, "chest": 3, "hips": 1})
    top = pose(STAND, both_hip_abd=r.uniform(24, 32), both_hip_rot=r.uniform(35, 45))
    top = pose(top, both_sh_flex=5, both_sh_abd=-4, both_sh_rot=-30, both_elbow=10) if style == "dumbbell" \
        else with_arms(top, style)
    depth = r.uniform(0.75, 0.95)
    bottom = pose(top, root_pitch=12 * depth, spine_flex=4, neck_flex=-8, both_hip_flex=85 * depth,
                  both_knee=100 * depth, both_hip_rot=r.uniform(40, 50))
    ang = c.cycle([(0.0, top), (0.45, bottom), (0.55, bottom)])
    lock_feet(c, ang)
    return Track(ang)


def _lunge_right(c: Ctx, sideways: bool, reverse: bool) -> Track:
    """One right-leg lunge per cycle, legs solved by IK so the stance foot never slides."""
    b, r = c.body, c.rng
    style = arm_style(r, {"hips": 3, "hang": 2, "chest": 1, "head": 1})
    base = with_arms(pose(STAND, both_hip_abd=2), style)
    lf, rf = stance_feet(b, base)
    leg = b.thigh + b.shank
    f = c.timing()
    a = np.clip(c.amp, 0.0, None)[:, None]
    ang = np.tile(base, (c.n, 1))
    if sideways:  # step right (-x), sit back onto the right leg, left leg straight
        width = r.uniform(0.45, 0.6) * leg
        step = rf + np.array([-width, 0.0, 0.0])
        moving = swing_path(f, rf, step, 0.06, 0.05, 0.3)
        moving = np.where((f > 0.7)[:, None], swing_path(f, step, rf, 0.06, 0.72, 0.95), moving)
        bottom = np.array([-0.55 * width, -r.uniform(0.25, 0.33) * leg, -0.12 * leg])
        keys = [(0.0, 0.0), (0.3, 0.35), (0.48, 1.0), (0.58, 1.0), (0.72, 0.35)]
        w = c.wave(keys, scale=np.ones(c.n))
        pelvis = a * (w[:, None] * bottom)
        ang[:, IDX["root_pitch"]] = np.radians(32) * w * a[:, 0]
        ang[:, IDX["spine_flex"]] += np.radians(8) * w * a[:, 0]
        ang[:, IDX["r_hip_rot"]] = ang[:, IDX["l_hip_rot"]] = np.radians(18)
        feet_ik(c, ang, pelvis, lf, rf + a * (moving - rf))
        return Track(ang)
    length = r.uniform(0.85, 1.05) * leg
    direction = -1.0 if reverse else 1.0
    step = rf + np.array([-0.02, 0.0, direction * length])
    moving = swing_path(f, rf, step, 0.07, 0.04, 0.3)
    moving = np.where((f > 0.7)[:, None], swing_path(f, step, rf, 0.07, 0.72, 0.96), moving)
    keys = [(0.0, 0.0), (0.3, 0.3), (0.5, 1.0), (0.6, 1.0), (0.72, 0.3)]
    w = c.wave(keys, scale=np.ones(c.n))
    drop = r.uniform(0.32, 0.4) * leg
    pelvis = a * (w[:, None] * np.array([0.0, -drop, direction * 0.48 * length]))
    heel = (0.09 * w * a[:, 0])[:, None] * np.array([0.0, 1.0, 0.0])  # the back foot rolls onto its toes
    ang[:, IDX["root_pitch"]] = np.radians(r.uniform(3, 12)) * w * a[:, 0]
    ang[:, IDX["neck_flex"]] -= np.radians(5) * w
    moving = rf + a * (moving - rf)
    if reverse:  # the stepping (right) leg goes back and onto its toes; the left stays flat in front
        feet_ik(c, ang, pelvis, np.tile(lf, (c.n, 1)), moving + heel)
    else:
        feet_ik(c, ang, pelvis, lf + heel, moving)
    return Track(ang)


def lunge(c: Ctx) -> Track:
    reverse = c.rng.uniform() < 0.35
    return sided(c, lambda h: _lunge_right(h, sideways=False, reverse=reverse))


def side_lunge(c: Ctx) -> Track:
    return sided(c, lambda h: _lunge_right(h, sideways=True, reverse=False))


def glute_bridge(c: Ctx) -> Track:
    r = c.rng
    rest = pose(SUPINE_KNEES, both_hip_flex=r.uniform(45, 55), both_knee=r.uniform(95, 110), both_sh_abd=15)
    lift = np.radians(r.uniform(30, 38)) * c.wave([(0.0, 0.0), (0.35, 1.0), (0.55, 1.0)])
    ang = np.tile(rest, (c.n, 1))
    # the pelvis rises about the shoulders: tip the head end down (the floor contact lifts the rest), curl the
    # upper back and neck so the shoulders and head stay on the mat, and keep the arms flat on the floor
    ang[:, IDX["root_pitch"]] -= lift
    ang[:, IDX["chest_flex"]] += 0.3 * lift
    ang[:, IDX["neck_flex"]] += 0.7 * lift
    ang[:, IDX["l_sh_flex"]] -= 0.7 * lift
    ang[:, IDX["r_sh_flex"]] -= 0.7 * lift
    p0 = forward_kinematics(c.body, rest[None])[0]
    p = forward_kinematics(c.body, ang)
    for limb, foot in (("l_leg", "LFoot"), ("r_leg", "RFoot")):
        limb_ik(c.body, ang, limb, p[:, J["Thorax"]] + (p0[J[foot]] - p0[J["Thorax"]]))
    return Track(ang, posture=("supine", "supine"))


def _all_fours(c: Ctx) -> np.ndarray:
    """A table-top pose with the hands planted under the shoulders, as (n, D) angles."""
    ang = np.tile(pose(KNEEL, neck_flex=-15), (c.n, 1))
    plant_hands(c.body, ang, "knees", np.array([[0.03, 0, 0.02], [-0.03, 0, 0.02]]))
    return ang


def _kick_right(c: Ctx, hydrant: bool) -> Track:
    ang = _all_fours(c)
    rest = ang[0].copy()
    if hydrant:
        up = pose(rest, r_hip_abd=c.rng.uniform(50, 65), r_hip_rot=-10, r_hip_flex=80)
    else:
        up = pose(rest, r_hip_flex=c.rng.uniform(-20, -5), r_knee=c.rng.uniform(70, 95), spine_flex=-8)
    ang[:] = c.cycle([(0.0, rest), (0.4, up), (0.55, up)])
    return Track(ang, posture=("prone", "prone"))


def donkey_kick(c: Ctx) -> Track:
    return sided(c, lambda h: _kick_right(h, hydrant=False))


def fire_hydrant(c: Ctx) -> Track:
    return sided(c, lambda h: _kick_right(h, hydrant=True))


def calf_raise(c: Ctx) -> Track:
    r = c.rng
    base = with_arms(pose(STAND, both_hip_abd=5), arm_style(r, {"hips": 2, "hang": 2, "chest": 1}))
    up = pose(base, root_pitch=2.5)
    w = c.wave([(0.0, 0.0), (0.3, 1.0), (0.5, 1.0), (0.8, 0.0)])
    ang = c.cycle([(0.0, base), (0.3, up), (0.5, up), (0.8, base)])
    return Track(ang, flight=r.uniform(0.05, 0.08) * np.clip(w, 0, None))


SPECS = [
    ExerciseSpec("squat", "Squats", "lower", "none", False, 2.6, squat),
    ExerciseSpec("sumo_squat", "Sumo squats", "lower", "none", False, 2.8, sumo_squat),
    ExerciseSpec("lunge", "Lunges", "lower", "none", True, 2.8, lunge),
    ExerciseSpec("side_lunge", "Side lunges", "lower", "none", True, 2.8, side_lunge),
    ExerciseSpec("glute_bridge", "Glute bridges", "lower", "mat", False, 2.6, glute_bridge, posture="supine",
                 arms_free=False),
    ExerciseSpec("donkey_kick", "Donkey kicks", "lower", "mat", True, 1.8, donkey_kick, posture="prone",
                 arms_free=False),
    ExerciseSpec("fire_hydrant", "Fire hydrants", "lower", "mat", True, 1.8, fire_hydrant, posture="prone",
                 arms_free=False),
    ExerciseSpec("calf_raise", "Calf raises", "lower", "none", False, 1.8, calf_raise),
]
