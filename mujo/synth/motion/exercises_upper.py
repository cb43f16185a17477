"""Upper-body exercises: push-ups, dumbbell work, arm circles, boxing."""

from __future__ import annotations

import numpy as np

from mujo.synth.motion.angles import IDX, pose
from mujo.synth.motion.moves import alternate
from mujo.synth.motion.poses import STAND, angle_for_height, incline_table, plant_hands
from mujo.synth.motion.spec import ExerciseSpec
from mujo.synth.motion.track import Ctx, Track


def plank_base(c: Ctx, knees: bool = False, forearms: bool = False) -> tuple[np.ndarray, tuple, str]:
    """Straight-body pose on toes (or knees), its incline table and pivot name."""
    r = c.rng
    if knees:
        base = pose(root_pitch=72, neck_flex=-12, both_hip_flex=r.uniform(0, 8), both_knee=r.uniform(80, 110),
                    both_hip_abd=r.uniform(2, 6), both_sh_flex=70, both_sh_abd=20)
        pivot = "knees"
    else:
        base = pose(root_pitch=70, neck_flex=-12, both_hip_abd=r.uniform(2, 6), both_knee=3, both_sh_flex=70,
                    both_sh_abd=20)
        pivot = "feet"
    base = pose(base, both_sh_rot=r.uniform(0, 25) if not forearms else 0.0)  # elbows flared .. tucked
    return base, incline_table(c.body, base, pivot), pivot


def push_up_motion(c: Ctx, depth: np.ndarray, knees: bool = False) -> np.ndarray:
    """(n, D) push-up for a depth signal (n,) 0 (arms straight) .. 1 (chest near the floor), hands planted."""
    b, r = c.body, c.rng
    base, table, pivot = plank_base(c, knees)
    ang = np.tile(base, (c.n, 1))
    h_top = 0.99 * (b.upper_arm + b.forearm)  # arms nearly straight (the elbow angle is steep near full reach)
    h_bot = r.uniform(0.17, 0.25)
    ang[:, IDX["root_pitch"]] = angle_for_height(table, h_top + depth * (h_bot - h_top))
    ang[:, IDX["spine_flex"]] += c.noise(3.0, np.radians(2.5))[:, 0]
    ang[:, IDX["neck_flex"]] += np.radians(8) * depth
    width = r.uniform(0.1, 0.22)
    fwd = r.uniform(-0.02, 0.06)
    plant_hands(b, ang, pivot, np.array([[width, 0, fwd], [-width, 0, fwd]]), ref=int(np.argmin(depth)))
    return ang


def push_up(c: Ctx) -> Track:
    depth = c.wave([(0.0, 0.0), (0.45, 1.0), (0.52, 1.0)])
    return Track(push_up_motion(c, depth), posture=("prone", "prone"))


def knee_push_up(c: Ctx) -> Track:
    depth = c.wave([(0.0, 0.0), (0.45, 1.0), (0.52, 1.0)])
    return Track(push_up_motion(c, depth, knees=True), posture=("prone", "prone"))


def _dumbbell_stand(r: np.random.Generator) -> np.ndarray:
    return pose(STAND, both_hip_abd=r.uniform(3, 7), both_knee=r.uniform(3, 10), root_pitch=r.uniform(0, 4))


def _both_or_alternating(c: Ctx, rest: np.ndarray, top: np.ndarray, keys: list[float], p_alt: float) -> Track:
    """Both arms together, or alternating (right arm, then left) with probability p_alt."""
    t_up, t_hold = keys

    def one_arm(h: Ctx) -> Track:
        right = rest.copy()
        cols = [IDX[k] for k in ("r_clav", "r_sh_flex", "r_sh_abd", "r_sh_rot", "r_elbow")]
        right[cols] = top[cols]
        return Track(h.cycle([(0.0, rest), (t_up, right), (t_hold, right)]))

    if c.rng.uniform() < p_alt:
        return alternate(c, one_arm)
    return Track(c.cycle([(0.0, rest), (t_up, top), (t_hold, top)]))


def bicep_curl(c: Ctx) -> Track:
    r = c.rng
    rest = pose(_dumbbell_stand(r), both_sh_abd=r.uniform(6, 12), both_sh_rot=r.uniform(15, 30), both_elbow=8)
    top = pose(rest, both_elbow=r.uniform(130, 145), both_sh_flex=r.uniform(8, 22))
    return _both_or_alternating(c, rest, top, [0.42, 0.52], 0.35)


def shoulder_press(c: Ctx) -> Track:
    r = c.rng
    rest = pose(_dumbbell_stand(r), both_sh_abd=r.uniform(75, 88), both_sh_rot=r.uniform(75, 90),
                both_elbow=r.uniform(85, 100), both_sh_flex=r.uniform(5, 20))
    top = pose(rest, both_sh_abd=r.uniform(155, 170), both_elbow=r.uniform(5, 20), both_clav=12,
               both_sh_rot=r.uniform(40, 60))
    return _both_or_alternating(c, rest, top, [0.4, 0.5], 0.2)


def lateral_raise(c: Ctx) -> Track:
    r = c.rng
    rest = pose(_dumbbell_stand(r), both_sh_abd=10, both_elbow=r.uniform(10, 20), both_sh_flex=8, both_sh_rot=-5)
    top = pose(rest, both_sh_abd=r.uniform(80, 92), both_sh_flex=r.uniform(10, 25), both_sh_rot=-15, both_clav=6)
    return _both_or_alternating(c, rest, top, [0.4, 0.5], 0.1)


def front_raise(c: Ctx) -> Track:
    r = c.rng
    rest = pose(_dumbbell_stand(r), both_sh_abd=6, both_elbow=r.uniform(5, 15), both_sh_rot=-25)
    top = pose(rest, both_sh_flex=r.uniform(85, 100), both_sh_abd=r.uniform(5, 15), both_clav=5)
    return _both_or_alternating(c, rest, top, [0.4, 0.5], 0.4)


def tricep_extension(c: Ctx) -> Track:
    r = c.rng
    top = pose(_dumbbell_stand(r), both_sh_flex=r.uniform(158, 172), both_sh_abd=r.uniform(8, 16),
               both_sh_rot=r.uniform(15, 35), both_elbow=r.uniform(8, 20), both_clav=10, neck_flex=6)
    bottom = pose(top, both_elbow=r.uniform(125, 145), both_sh_flex=r.uniform(150, 165))
    return Track(c.cycle([(0.0, top), (0.45, bottom), (0.52, bottom)]))


def bent_over_row(c: Ctx) -> Track:
    r = c.rng
    lean = r.uniform(40, 60)
    rest = pose(STAND, root_pitch=lean, both_hip_flex=lean + r.uniform(10, 22), both_knee=r.uniform(18, 30),
                both_hip_abd=5, spine_flex=r.uniform(-4, 4), neck_flex=-22, both_sh_flex=lean + 5,
                both_sh_abd=r.uniform(5, 12), both_sh_rot=-10, both_elbow=10)
    wide = r.uniform(0, 35)
    top = pose(rest, both_sh_flex=lean - r.uniform(55, 75), both_sh_abd=10 + wide, both_elbow=r.uniform(90, 110),
               both_clav=6)
    return _both_or_alternating(c, rest, top, [0.4, 0.5], 0.25)


def arm_circles(c: Ctx) -> Track:
    r = c.rng
    size = r.choice([np.radians(r.uniform(8, 15)), np.radians(r.uniform(25, 45))])
    direction = r.choice([-1.0, 1.0])
    base = pose(STAND, both_hip_abd=6)
    ang = np.tile(base, (c.n, 1))
    up = np.clip(c.env * 1.1, 0, 1)  # arms go up when the work starts
    ph = 2 * np.pi * c.phase * direction
    for side in ("l", "r"):
        ang[:, IDX[f"{side}_sh_abd"]] += up * (np.radians(78) + size * np.sin(ph))
        ang[:, IDX[f"{side}_sh_flex"]] += up * (np.radians(8) + size * np.cos(ph))
        ang[:, IDX[f"{side}_elbow"]] = np.radians(6)
    return Track(ang)


def boxing_punches(c: Ctx) -> Track:
    r = c.rng
    squared = r.uniform() < 0.35  # facing forward with alternating straight punches vs a bladed jab-cross stance
    yaw = 0.0 if squared else -r.uniform(20, 35)
    guard = pose(STAND, root_yaw=yaw, spine_twist=-yaw * 0.3, both_knee=r.uniform(12, 22), both_hip_abd=9,
                 l_hip_flex=0 if squared else 14, r_hip_flex=0 if squared else -8, root_pitch=4, neck_flex=-4,
                 both_sh_flex=50, both_sh_abd=8, both_sh_rot=-25, both_elbow=130)
    reach = dict(sh_flex=r.uniform(80, 92), sh_abd=4, sh_rot=-45, elbow=r.uniform(3, 12))
    left = pose(guard, chest_twist=-12, **{f"l_{k}": v for k, v in reach.items()})
    right = pose(guard, chest_twist=22, spine_twist=-yaw * 0.3 + 10, **{f"r_{k}": v for k, v in reach.items()})
    ang = c.cycle([(0.0, guard), (0.13, left), (0.25, guard), (0.5, guard), (0.63, right), (0.75, guard)])
    bounce = np.radians(6) * np.sin(4 * np.pi * c.phase) * np.clip(c.env, 0, 1)
    ang[:, IDX["l_knee"]] += bounce
    ang[:, IDX["r_knee"]] += bounce
    return Track(ang)


SPECS = [
    ExerciseSpec("push_up", "Push-ups", "upper", "none", False, 2.2, push_up, posture="prone", arms_free=False),
    ExerciseSpec("knee_push_up", "Knee push-ups", "upper", "mat", False, 2.0, knee_push_up, posture="prone",
                 arms_free=False),
    ExerciseSpec("bicep_curl", "Bicep curls", "upper", "dumbbells", False, 2.6, bicep_curl),
    ExerciseSpec("shoulder_press", "Shoulder press", "upper", "dumbbells", False, 2.4, shoulder_press),
    ExerciseSpec("lateral_raise", "Lateral raises", "upper", "dumbbells", False, 2.6, lateral_raise),
    ExerciseSpec("front_raise", "Front raises", "upper", "dumbbells", False, 2.6, front_raise),
    ExerciseSpec("tricep_extension", "Overhead tricep extensions", "upper", "dumbbells", False, 2.6,
                 tricep_extension),
    ExerciseSpec("bent_over_row", "Bent-over rows", "upper", "dumbbells", False, 2.6, bent_over_row),
    ExerciseSpec("arm_circles", "Arm circles", "upper", "none", False, 1.0, arm_circles, arms_free=False),
    ExerciseSpec("boxing_punches", "Boxing punches", "cardio", "none", False, 1.1, boxing_punches),
]
