"""Core exercises on the mat: sit-ups, crunches, twists, leg raises, planks, supermans, dead bugs."""

from __future__ import annotations

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.motion.angles import IDX, pose
from mujo.synth.motion.body import forward_kinematics, limb_ik
from mujo.synth.motion.exercises_upper import plank_base
from mujo.synth.motion.moves import alternate, arm_style
from mujo.synth.motion.poses import PRONE_FLAT, SUPINE_FLAT, SUPINE_KNEES, angle_for_height, incline_table, plant_hands
from mujo.synth.motion.spec import ExerciseSpec
from mujo.synth.motion.track import Ctx, Track

J = JOINT_INDEX
SUPINE = ("supine", "supine")
PRONE = ("prone", "prone")

# Arm placements while lying on the back.
_LYING_ARMS = {
    "head": dict(both_sh_flex=10, both_sh_abd=140, both_sh_rot=90, both_elbow=130),
    "chest": dict(both_sh_flex=30, both_sh_abd=-5, both_sh_rot=-60, both_elbow=130),
    "reach": dict(both_sh_flex=60, both_sh_abd=8, both_sh_rot=0, both_elbow=5),
    "floor": dict(both_sh_flex=0, both_sh_abd=15, both_sh_rot=0, both_elbow=5),
}


def _lying(base: np.ndarray, style: str) -> np.ndarray:
    return pose(base, **_LYING_ARMS[style])


def sit_up(c: Ctx) -> Track:
    r = c.rng
    rest = _lying(pose(SUPINE_KNEES, both_hip_flex=r.uniform(45, 55)), arm_style(r, {"chest": 2, "head": 2,
                                                                                       "reach": 2}))
    rise = r.uniform(40, 50)
    top = pose(rest, root_pitch=-90 + rise, spine_flex=r.uniform(15, 25), chest_flex=r.uniform(20, 30),
               neck_flex=15, both_hip_flex=np.degrees(rest[IDX["l_hip_flex"]]) + rise)
    return Track(c.cycle([(0.0, rest), (0.42, top), (0.5, top)]), posture=SUPINE)


def crunch(c: Ctx) -> Track:
    r = c.rng
    legs_up = r.uniform() < 0.3
    base = pose(SUPINE_KNEES, both_hip_flex=90, both_knee=90) if legs_up else SUPINE_KNEES
    rest = _lying(base, arm_style(r, {"head": 3, "chest": 1, "reach": 1}))
    top = pose(rest, chest_flex=r.uniform(25, 35), spine_flex=r.uniform(5, 12), neck_flex=18)
    return Track(c.cycle([(0.0, rest), (0.4, top), (0.5, top)]), posture=SUPINE)


def bicycle_crunch(c: Ctx) -> Track:
    r = c.rng
    base = _lying(pose(SUPINE_FLAT, chest_flex=r.uniform(20, 30), neck_flex=15), "head")
    mid = pose(base, both_hip_flex=70, both_knee=70)
    right = pose(base, r_hip_flex=110, r_knee=115, l_hip_flex=r.uniform(25, 40), l_knee=8,
                 chest_twist=-r.uniform(18, 28), spine_twist=-6)
    ang = c.cycle([(0.0, mid), (0.25, right), (0.5, mid), (0.75, pose(right, **_mirror_legs(right)))])
    return Track(ang, posture=SUPINE)


def _mirror_legs(p: np.ndarray) -> dict[str, float]:
    d = np.degrees(p)
    return dict(l_hip_flex=d[IDX["r_hip_flex"]], l_knee=d[IDX["r_knee"]], r_hip_flex=d[IDX["l_hip_flex"]],
                r_knee=d[IDX["l_knee"]], chest_twist=-d[IDX["chest_twist"]], spine_twist=-d[IDX["spine_twist"]])


def russian_twist(c: Ctx) -> Track:
    r = c.rng
    lean = r.uniform(35, 50)
    feet_up = r.uniform() < 0.4
    center = pose(root_pitch=-lean, spine_flex=8, chest_flex=8, neck_flex=5, both_hip_flex=85 + 5 * feet_up,
                  both_knee=r.uniform(80, 100), both_hip_abd=6, both_sh_flex=55, both_sh_abd=-4, both_sh_rot=-45,
                  both_elbow=80)
    twist = r.uniform(25, 40)
    left = pose(center, chest_twist=twist, spine_twist=twist * 0.4, neck_twist=twist * 0.3, both_sh_flex=45)
    right = pose(center, chest_twist=-twist, spine_twist=-twist * 0.4, neck_twist=-twist * 0.3, both_sh_flex=45)
    return Track(c.cycle([(0.0, center), (0.25, left), (0.5, center), (0.75, right)]), posture=SUPINE)


def leg_raise(c: Ctx) -> Track:
    r = c.rng
    rest = _lying(pose(SUPINE_FLAT, both_hip_flex=r.uniform(5, 15), both_knee=r.uniform(0, 10)), "floor")
    top = pose(rest, both_hip_flex=r.uniform(75, 95), spine_flex=-3)
    return Track(c.cycle([(0.0, rest), (0.35, top), (0.45, top)]), posture=SUPINE)


def flutter_kicks(c: Ctx) -> Track:
    r = c.rng
    base = _lying(pose(SUPINE_FLAT, chest_flex=r.uniform(10, 20), neck_flex=15, both_knee=3), "floor")
    ang = np.tile(base, (c.n, 1))
    lift = np.radians(r.uniform(20, 35))
    kick = np.radians(r.uniform(8, 14)) * np.sin(2 * np.pi * c.phase) * c.amp
    ang[:, IDX["l_hip_flex"]] += lift * np.clip(c.env * 1.5, 0, 1) + kick
    ang[:, IDX["r_hip_flex"]] += lift * np.clip(c.env * 1.5, 0, 1) - kick
    return Track(ang, posture=SUPINE)


def plank(c: Ctx) -> Track:
    forearms = c.rng.uniform() < 0.6
    base, table, pivot = plank_base(c, forearms=forearms)
    ang = np.tile(base, (c.n, 1))
    b = c.body
    h = (0.98 * b.upper_arm if forearms else 0.99 * (b.upper_arm + b.forearm)) - np.abs(c.noise(4.0, 0.006)[:, 0])
    ang[:, IDX["root_pitch"]] = angle_for_height(table, h)
    ang[:, IDX["spine_flex"]] += c.noise(5.0, np.radians(3))[:, 0] + c.noise(0.12, np.radians(0.4))[:, 0]
    fwd = 0.95 * b.forearm if forearms else 0.02
    plant_hands(b, ang, pivot, np.array([[0.02, 0, fwd], [-0.02, 0, fwd]]))
    return Track(ang, posture=PRONE)


def side_plank(c: Ctx) -> Track:
    """Right forearm on the floor (the runner mirrors it for the left); hip dips in some chapters."""
    r, b = c.rng, c.body
    top_arm = arm_style(r, {"hip": 2, "up": 2})
    base = pose(root_roll=-72, neck_lat=8, both_hip_abd=-5, both_knee=3, r_sh_abd=72, r_elbow=90,
                l_sh_abd=175 if top_arm == "up" else 10, l_elbow=5 if top_arm == "up" else 60,
                l_sh_rot=0 if top_arm == "up" else -40)
    table = incline_table(b, base, "feet", top=("RShoulder",), col="root_roll")
    ang = np.tile(base, (c.n, 1))
    dips = r.uniform() < 0.4
    drop = c.wave([(0.0, 0.0), (0.45, 1.0), (0.55, 1.0)]) if dips else np.zeros(c.n)
    h = 0.97 * b.upper_arm + c.noise(4.0, 0.008)[:, 0]
    ang[:, IDX["root_roll"]] = -angle_for_height(table, h)
    ang[:, IDX["spine_lat"]] = np.radians(-12) * drop  # hips sink toward the floor and rise
    ang[:, IDX["l_hip_abd"]] -= np.radians(12) * drop
    ang[:, IDX["r_hip_abd"]] += np.radians(12) * drop
    p = forward_kinematics(b, ang)
    fwd = np.cross(p[0, J["LHip"]] - p[0, J["RHip"]], p[0, J["Thorax"]] - p[0, J["Hip"]])  # the body's front
    fwd[1] = 0.0
    fwd /= max(np.linalg.norm(fwd), 1e-6)
    foot = p[:, [J["LFoot"], J["RFoot"]], :].mean(1)
    foot[:, 1] = p[:, [J["LFoot"], J["RFoot"]], 1].min(1)
    spot = p[0, J["RShoulder"]] + fwd * 0.9 * b.forearm
    spot[1] = foot[0, 1]
    limb_ik(b, ang, "r_arm", foot + (spot - foot[0]))
    return Track(ang, posture=SUPINE)


def superman(c: Ctx) -> Track:
    r = c.rng
    rest = pose(PRONE_FLAT, both_sh_flex=r.uniform(165, 175))
    top = pose(rest, spine_flex=-r.uniform(8, 14), chest_flex=-r.uniform(10, 16), neck_flex=-22,
               both_hip_flex=-r.uniform(10, 18), both_sh_flex=182)
    return Track(c.cycle([(0.0, rest), (0.35, top), (0.6, top)]), posture=PRONE)


def dead_bug(c: Ctx) -> Track:
    base = pose(SUPINE_FLAT, both_sh_flex=90, both_sh_abd=5, both_elbow=5, both_hip_flex=90, both_knee=90)

    def right_arm_left_leg(h: Ctx) -> Track:
        out = pose(base, r_sh_flex=170, l_hip_flex=h.rng.uniform(15, 30), l_knee=h.rng.uniform(5, 20))
        return Track(h.cycle([(0.0, base), (0.45, out), (0.55, out)]), posture=SUPINE)

    return alternate(c, right_arm_left_leg)


SPECS = [
    ExerciseSpec("sit_up", "Sit-ups", "core", "mat", False, 3.0, sit_up, posture="supine", arms_free=False),
    ExerciseSpec("crunch", "Crunches", "core", "mat", False, 2.2, crunch, posture="supine", arms_free=False),
    ExerciseSpec("bicycle_crunch", "Bicycle crunches", "core", "mat", False, 1.6, bicycle_crunch, posture="supine",
                 arms_free=False),
    ExerciseSpec("russian_twist", "Russian twists", "core", "mat", False, 2.0, russian_twist, posture="supine",
                 arms_free=False),
    ExerciseSpec("leg_raise", "Leg raises", "core", "mat", False, 3.2, leg_raise, posture="supine",
                 arms_free=False),
    ExerciseSpec("flutter_kicks", "Flutter kicks", "core", "mat", False, 0.8, flutter_kicks, posture="supine",
                 arms_free=False),
    ExerciseSpec("plank", "Plank", "core", "mat", False, 4.0, plank, posture="prone", static=True,
                 arms_free=False),
    ExerciseSpec("side_plank", "Side plank", "core", "mat", True, 3.0, side_plank, posture="supine",
                 static=True, alternates=False, arms_free=False),
    ExerciseSpec("superman", "Supermans", "core", "mat", False, 2.6, superman, posture="prone", arms_free=False),
    ExerciseSpec("dead_bug", "Dead bugs", "core", "mat", False, 3.4, dead_bug, posture="supine", arms_free=False),
]
