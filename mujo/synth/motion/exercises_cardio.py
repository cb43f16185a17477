"""Cardio and full-body exercises: jumps, running in place, burpees, mountain climbers, skaters, jump rope."""

from __future__ import annotations

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.motion.angles import IDX, pose
from mujo.synth.motion.body import forward_kinematics, limb_ik
from mujo.synth.motion.exercises_lower import squat_pose
from mujo.synth.motion.exercises_upper import plank_base
from mujo.synth.motion.moves import alternate, flight, lock_feet
from mujo.synth.motion.poses import STAND, angle_for_height, incline_table, plant_hands
from mujo.synth.motion.spec import ExerciseSpec
from mujo.synth.motion.track import Ctx, Track

J = JOINT_INDEX
_ARM_COLS = [IDX[f"{s}_{d}"] for s in "lr" for d in ("clav", "sh_flex", "sh_abd", "sh_rot", "elbow")]


def jumping_jack(c: Ctx) -> Track:
    r = c.rng
    closed = pose(STAND, both_hip_abd=1, both_sh_abd=8)
    land = pose(closed, both_knee=15, both_hip_flex=8, root_pitch=3)
    wide = pose(closed, both_hip_abd=r.uniform(17, 24), both_hip_rot=5, both_knee=6,
                both_sh_abd=r.uniform(160, 175), both_sh_rot=70, both_elbow=15, both_clav=14)
    wide_land = pose(wide, both_knee=16, both_hip_flex=8)
    keys = [(0.0, closed), (0.1, land), (0.3, wide), (0.42, wide_land), (0.6, wide), (0.8, land)]
    ang = c.cycle(keys)
    # the arms sweep over most of the rep (up while the legs open, down while they close), not just the flight
    arms = c.cycle([(0.0, closed), (0.42, wide), (0.52, wide)])
    ang[:, _ARM_COLS] = arms[:, _ARM_COLS]
    # feet keep their spacing while on the floor and spread or close only in the air
    feet = forward_kinematics(c.body, np.stack([closed, wide]))[:, [J["LFoot"], J["RFoot"]]]
    half = 0.5 * (feet[:, 0] - feet[:, 1])
    half[:, 1:] = 0.0
    opened = c.wave([(0.0, 0.0), (0.12, 0.0), (0.32, 1.0), (0.6, 1.0), (0.82, 0.0)])
    lock_feet(c, ang, half=half[0] + opened[:, None] * (half[1] - half[0]))
    h = r.uniform(0.04, 0.09) * (0.5 + c.energy)
    lift = flight(c, 0.12, 0.32, h) + flight(c, 0.62, 0.82, h)
    return Track(ang, flight=lift)


def _run_in_place(c: Ctx, knees_up: bool) -> Track:
    r = c.rng
    neutral = pose(STAND, both_knee=12, both_hip_flex=6, both_sh_flex=10, both_elbow=85, both_sh_rot=-10,
                   root_pitch=-3 if knees_up else 4)
    if knees_up:
        up = pose(neutral, r_hip_flex=r.uniform(75, 100), r_knee=r.uniform(90, 110), l_sh_flex=45, r_sh_flex=-30)
    else:
        up = pose(neutral, r_hip_flex=r.uniform(-5, 12), r_knee=r.uniform(115, 135), l_sh_flex=35, r_sh_flex=-25)
    hop = r.uniform(0.02, 0.05) * (0.5 + c.energy)

    def right(h: Ctx) -> Track:
        return Track(h.cycle([(0.0, neutral), (0.45, up)]), flight=flight(h, 0.75, 1.0, hop))

    return alternate(c, right)


def high_knees(c: Ctx) -> Track:
    return _run_in_place(c, knees_up=True)


def butt_kicks(c: Ctx) -> Track:
    return _run_in_place(c, knees_up=False)


def jump_squat(c: Ctx) -> Track:
    r = c.rng
    top = pose(STAND, both_hip_abd=r.uniform(8, 14), both_hip_rot=15)
    bottom = pose(squat_pose(top, r.uniform(0.65, 0.9), r.uniform(0.9, 1.3)), both_sh_flex=-25, both_elbow=15)
    take_off = pose(top, both_sh_flex=r.uniform(60, 120), both_elbow=20, root_pitch=-2)
    land = pose(squat_pose(top, 0.3, 1.0), both_sh_flex=30)
    ang = c.cycle([(0.0, top), (0.33, bottom), (0.52, take_off), (0.62, take_off), (0.8, land)])
    lock_feet(c, ang)
    return Track(ang, flight=flight(c, 0.52, 0.76, r.uniform(0.12, 0.25) * (0.5 + c.energy)))


def skater(c: Ctx) -> Track:
    r = c.rng
    width = r.uniform(0.7, 1.1) * (c.body.thigh + c.body.shank)
    hang = pose(STAND, root_pitch=25, both_hip_flex=40, both_knee=35, spine_flex=10, both_sh_flex=20)
    stance = pose(STAND, root_pitch=r.uniform(30, 45), spine_flex=10, neck_flex=-15,
                  r_hip_flex=r.uniform(70, 85), r_knee=r.uniform(55, 70), r_hip_abd=6,
                  l_hip_flex=r.uniform(5, 20), l_hip_abd=-r.uniform(12, 22), l_knee=r.uniform(35, 55),
                  l_sh_flex=55, l_sh_abd=-15, l_elbow=25, r_sh_flex=-35, r_sh_abd=10, r_elbow=20, chest_twist=-12)

    def bound_right(h: Ctx) -> Track:
        f = h.timing()
        ang = h.cycle([(0.0, hang), (0.22, pose(stance, r_knee=45)), (0.45, stance), (0.7, stance)])
        side = np.where(f < 0.2, f / 0.2, np.where(f > 0.8, (1.0 - f) / 0.2, 1.0))
        off = np.zeros((h.n, 3))
        off[:, 0] = -0.5 * width * side * side * (3 - 2 * side) * np.clip(h.amp, 0, None)
        u = np.where(f >= 0.8, (f - 0.8) / 0.4, np.where(f < 0.2, (f + 0.2) / 0.4, 0.0))
        lift = 0.12 * (0.5 + h.energy) * 4 * u * (1 - u) * np.clip(h.amp, 0, None)
        contact = np.zeros((h.n, len(J)))
        contact[(f > 0.2) & (f < 0.8), J["RFoot"]] = 1.0  # the landing leg carries the body; the other hovers
        return Track(ang, offset=off, flight=lift, contact=contact)

    return alternate(c, bound_right)


def jump_rope(c: Ctx) -> Track:
    r = c.rng
    base = pose(STAND, both_hip_abd=2, both_knee=8, both_sh_abd=r.uniform(20, 30), both_sh_flex=12,
                both_sh_rot=10, both_elbow=r.uniform(60, 80))
    land = pose(base, both_knee=18, both_hip_flex=8)
    ang = c.cycle([(0.0, base), (0.15, land), (0.35, base)])
    ph = 2 * np.pi * c.phase
    for side in ("l", "r"):
        ang[:, IDX[f"{side}_sh_flex"]] += np.radians(7) * np.sin(ph) * c.amp
        ang[:, IDX[f"{side}_sh_abd"]] += np.radians(5) * np.cos(ph) * c.amp
    on_toes = 0.03 * np.clip(c.env, 0, 1)
    return Track(ang, flight=on_toes + flight(c, 0.35, 0.95, r.uniform(0.03, 0.06)))


def _floor_hands(c: Ctx, p: np.ndarray, fwd: float, width: float) -> None:
    """Solve the arms of one pose (D,) in place so the wrists reach the floor (the feet's height) ahead of the feet."""
    a = p[None].copy()
    q = forward_kinematics(c.body, a)[0]
    floor = q[[J["LFoot"], J["RFoot"]], 1].min()
    toe = q[[J["LFoot"], J["RFoot"]], 2].mean()
    for limb, s in (("l_arm", 1.0), ("r_arm", -1.0)):
        limb_ik(c.body, a, limb, np.array([s * width, floor, toe + fwd]))
    p[:] = a[0]


def burpee(c: Ctx) -> Track:
    r = c.rng
    stand = pose(STAND, both_hip_abd=6)
    crouch = pose(STAND, root_pitch=48, spine_flex=18, chest_flex=8, neck_flex=-25, both_hip_flex=125,
                  both_hip_abd=14, both_knee=125, both_sh_flex=70, both_sh_abd=12)
    _floor_hands(c, crouch, r.uniform(0.2, 0.3), r.uniform(0.2, 0.26))
    plank, table, _ = plank_base(c)
    plank[IDX["root_pitch"]] = angle_for_height(table, 0.99 * (c.body.upper_arm + c.body.forearm))
    hands = np.array([[0.08, 0, 0.02], [-0.08, 0, 0.02]])
    a = plank[None].copy()
    plant_hands(c.body, a, "feet", hands)
    plank = a[0]
    a = pose(plank, root_pitch=np.degrees(angle_for_height(table, 0.2)))[None].copy()
    plant_hands(c.body, a, "feet", hands)
    bottom = a[0]
    jump = pose(stand, both_sh_flex=r.uniform(150, 175), both_sh_abd=15, both_elbow=10, both_clav=12)
    land = pose(squat_pose(stand, 0.3, 1.0), both_sh_flex=50)
    if r.uniform() < 0.4:  # with a push-up at the bottom
        keys = [(0.0, stand), (0.12, crouch), (0.24, plank), (0.34, bottom), (0.44, plank), (0.56, crouch),
                (0.7, jump), (0.78, jump), (0.9, land)]
        lift = flight(c, 0.71, 0.85, 0.15 * (0.5 + c.energy))
    else:
        keys = [(0.0, stand), (0.15, crouch), (0.3, plank), (0.38, plank), (0.52, crouch), (0.66, jump),
                (0.74, jump), (0.88, land)]
        lift = flight(c, 0.67, 0.82, 0.15 * (0.5 + c.energy))
    ang = c.cycle(keys)
    lock_feet(c, ang)
    # From the first crouch to the second the hands stay planted while the feet jump back and forth: the wrists
    # follow their keyframed place relative to the pelvis, dropped by a hop (the hips rise so the feet clear the
    # floor), and the placement anchors them.
    t_down, t_up = keys[1][0], keys[-4][0]
    wrists = forward_kinematics(c.body, np.stack([k[1] for k in keys]))[:, [J["LWrist"], J["RWrist"]]]
    rel = c.cycle([(k[0], w.ravel()) for k, w in zip(keys, wrists)]).reshape(c.n, 2, 3)
    f = c.timing()
    t_back, t_fwd = keys[2][0], keys[-5][0]
    hop = r.uniform(0.12, 0.2) * (np.sin(np.pi * np.clip((f - t_down) / (t_back - t_down), 0, 1)) ** 2
                                  + np.sin(np.pi * np.clip((f - t_fwd) / (t_up - t_fwd), 0, 1)) ** 2)
    rel[:, :, 1] -= (hop * np.clip(c.amp, 0, 1))[:, None]
    down = (f > t_down) & (f < t_up) & (c.amp > 0.3)
    solved = ang.copy()
    limb_ik(c.body, solved, "l_arm", rel[:, 0])
    limb_ik(c.body, solved, "r_arm", rel[:, 1])
    ang[down] = solved[down]
    contact = np.zeros((c.n, len(J)))
    contact[down, J["LWrist"]] = contact[down, J["RWrist"]] = 1.0
    return Track(ang, flight=lift, contact=contact)


def mountain_climber(c: Ctx) -> Track:
    b, r = c.body, c.rng
    plank, _, _ = plank_base(c)
    reach = 0.985 * (b.upper_arm + b.forearm)

    def piked(deg: float) -> np.ndarray:
        """The plank with the hips flexed `deg`: the hips rise so a knee can pass under them."""
        p = pose(plank, both_hip_flex=deg)
        p[IDX["root_pitch"]] = angle_for_height(incline_table(b, p, "feet"), reach)
        return p

    base, mid, high = piked(r.uniform(10, 18)), piked(25), piked(r.uniform(32, 38))
    lift = pose(mid, r_hip_flex=35, r_knee=100)  # the foot leaves the floor before the knee drives
    drive = pose(high, r_hip_flex=r.uniform(112, 128), r_knee=r.uniform(118, 132))  # knee to the chest
    hands = np.array([[0.06, 0, 0.03], [-0.06, 0, 0.03]])

    def right(h: Ctx) -> Track:
        ang = h.cycle([(0.0, base), (0.22, lift), (0.48, drive), (0.56, drive), (0.8, lift)])
        plant_hands(b, ang, "l_foot", hands, ref=0)
        return Track(ang, posture=("prone", "prone"))

    return alternate(c, right)


SPECS = [
    ExerciseSpec("jumping_jack", "Jumping jacks", "cardio", "none", False, 1.1, jumping_jack),
    ExerciseSpec("high_knees", "High knees", "cardio", "none", False, 0.8, high_knees),
    ExerciseSpec("butt_kicks", "Butt kicks", "cardio", "none", False, 0.8, butt_kicks),
    ExerciseSpec("jump_squat", "Jump squats", "cardio", "none", False, 1.8, jump_squat),
    ExerciseSpec("skater", "Skaters", "cardio", "none", False, 1.8, skater),
    ExerciseSpec("jump_rope", "Jump rope", "cardio", "none", False, 0.45, jump_rope),
    ExerciseSpec("burpee", "Burpees", "full", "none", False, 3.6, burpee),
    ExerciseSpec("mountain_climber", "Mountain climbers", "cardio", "none", False, 1.1, mountain_climber,
                 posture="prone", arms_free=False),
]
