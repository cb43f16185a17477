"""A whole workout video's motion: chapters generated in turn, joined by transitions, placed in the world."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mujo.fimad.skeleton import N_JOINTS
from mujo.synth.motion import idle
from mujo.synth.motion.angles import IDX, N_DOFS, clip_to_limits, mirror, pose
from mujo.synth.motion.body import Body
from mujo.synth.motion.exercises import EXERCISES, run_exercise
from mujo.synth.motion.nonexercise import NON_EXERCISES, run_nonexercise
from mujo.synth.motion.placement import place
from mujo.synth.motion.poses import CROUCH, KNEEL, SIT
from mujo.synth.motion.track import Track, smoothstep

SIDES = (None, "left", "right", "alternating")
MAX_TURN_DEG_S = 200.0  # fastest joint rotation in a transition
MAX_YAW_DEG_S = 100.0   # fastest turn (or roll, or tilt) of the whole body in a transition

# Poses passed through when the posture changes between chapters (getting down to the floor, standing up).
_VIA: dict[tuple[str, str], tuple[np.ndarray, ...]] = {
    ("stand", "prone"): (CROUCH,), ("prone", "stand"): (CROUCH,),
    ("stand", "supine"): (CROUCH, SIT), ("supine", "stand"): (SIT, CROUCH),
    ("prone", "supine"): (KNEEL, SIT), ("supine", "prone"): (SIT, KNEEL),
}


@dataclass(frozen=True)
class ChapterPlan:
    """One chapter to generate: a key of EXERCISES or NON_EXERCISES, its length, and optionally a side."""

    kind: str
    duration_s: float
    side: str | None = None


@dataclass
class ChapterMotion:
    """What was generated for one chapter."""

    kind: str
    start: int                 # first frame (inclusive)
    end: int                   # last frame (exclusive)
    side: str | None           # "left", "right", "alternating" or None
    tempo_s: float | None      # mean seconds per rep (exercises and demonstrations)
    reps: int | None           # full cycles at working intensity (None: held positions, non-exercise chapters)
    rom: float | None          # range of motion, 1 = full
    facing: float              # radians: the trainer faces (sin f, 0, cos f) in world axes; 0 = toward +z
    posture: tuple[str, str]   # stand / prone / supine at the start and end
    details: dict = field(default_factory=dict)  # e.g. {"demonstrates": "squat"}, {"stretches": [...]}


@dataclass
class WorkoutMotion:
    """One continuous clean motion of a whole video.

    World conventions: metres, right-handed, +y up; y = 0 is the height of the lowest joint centre (the ankles when
    standing), so the floor surface is a few centimetres below it. The trainer starts with the pelvis above x = z = 0
    and stays within ~2 m of it (walks in rest and water breaks come back). Facing f means the trainer's front points
    along (sin f, 0, cos f): with f = 0 a camera on +z looking toward -z sees the trainer from the front.
    """

    pose: np.ndarray           # (T, 17, 3) float64 metres, +y up, H36M joint order
    angles: np.ndarray         # (T, D) radians the pose was made from (angles.DOFS)
    fps: float
    body: Body
    chapters: list[ChapterMotion]
    facing: float              # the video's base facing (radians), chapters vary around it


@dataclass(frozen=True)
class _Style:
    """What stays the same for one trainer through one video."""

    facing: float
    energy: float
    tempo: float
    talkative: float
    asym: np.ndarray

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "_Style":
        return cls(facing=float(np.clip(rng.normal(0.0, 0.3), -0.7, 0.7)), energy=float(rng.uniform(0.35, 1.0)),
                   tempo=float(np.exp(rng.normal(0.0, 0.12))), talkative=float(rng.uniform(0.4, 1.0)),
                   asym=idle.asymmetry(rng))


def _check(chapters: list[ChapterPlan], fps: float) -> None:
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not chapters:
        raise ValueError("a workout needs at least one chapter")
    for i, ch in enumerate(chapters):
        if ch.kind not in EXERCISES and ch.kind not in NON_EXERCISES:
            raise ValueError(f"chapter {i}: unknown kind {ch.kind!r}; expected a key of EXERCISES or NON_EXERCISES")
        if not np.isfinite(ch.duration_s) or ch.duration_s * fps < 2:
            raise ValueError(f"chapter {i} ({ch.kind}): duration_s must be at least 2 frames, got {ch.duration_s}")
        if ch.side not in SIDES:
            raise ValueError(f"chapter {i} ({ch.kind}): side must be one of {SIDES}, got {ch.side!r}")


def _facing(rng: np.random.Generator, style: _Style, kind: str, posture: str, prev: ChapterMotion | None) -> float:
    """Yaw of a chapter: mostly toward the camera when standing, often sideways for floor work."""
    if prev is not None and posture != "stand" and prev.posture[1] == posture and rng.uniform() < 0.75:
        return prev.facing
    u = rng.uniform()
    if kind in NON_EXERCISES:  # talking, resting, stretching: toward the camera
        return style.facing + float(rng.normal(0.0, 0.1))
    if posture == "stand":
        turn = 0.0 if u < 0.8 else (np.pi / 4 if u < 0.92 else np.pi / 2)
        return style.facing + float(rng.normal(0.0, 0.08)) + turn * rng.choice([-1.0, 1.0])
    turn = np.pi / 2 if u < 0.6 else (np.pi / 4 if u < 0.9 else 0.0)
    return style.facing + float(rng.normal(0.0, 0.1)) + turn * rng.choice([-1.0, 1.0])


def _chapter(rng: np.random.Generator, body: Body, fps: float, plan: ChapterPlan, n: int, style: _Style,
             next_exercise: str | None) -> tuple[Track, dict]:
    if plan.kind in EXERCISES:
        spec = EXERCISES[plan.kind]
        tempo = spec.typical_tempo_s * style.tempo * float(np.exp(rng.normal(0.0, 0.08)))
        track, p = run_exercise(spec, rng, body, fps, n, side=plan.side, tempo_s=tempo, energy=style.energy,
                                asym=style.asym, talkative=style.talkative)
        track.posture = (spec.posture, spec.posture) if track.posture == ("stand", "stand") else track.posture
        return track, dict(side=p.side, tempo_s=p.tempo_s, reps=p.reps, rom=p.rom)
    spec_n = NON_EXERCISES[plan.kind]
    energy = style.energy * (1.0 if plan.kind == "rest" else 0.5)
    track, details = run_nonexercise(spec_n, rng, body, fps, n, energy=energy, asym=style.asym,
                                     info={"next_exercise": next_exercise, "side": plan.side})
    out = dict(side=details.pop("side", None), tempo_s=details.pop("tempo_s", None), reps=None,
               rom=details.pop("rom", None))
    details.pop("next_exercise", None)
    out["details"] = details
    return track, out


def _side_lying(sign: float) -> np.ndarray:
    """Lying on one side (sign of the root roll: + = the left side down), knees bent, head on the lower arm."""
    p = pose(root_roll=85, neck_lat=10, both_hip_flex=45, both_knee=70, l_sh_flex=150, l_sh_abd=20, l_elbow=60,
             r_sh_flex=20, r_sh_abd=10, r_elbow=30)
    return p if sign > 0 else mirror(p)


def _blend_in(track: Track, prev_last: np.ndarray, prev_posture: str, fps: float, rng: np.random.Generator) -> None:
    """Replace the start of a chapter by a transition from the previous chapter's last pose, in place."""
    ang, n = track.angles, len(track.angles)
    via = _VIA.get((prev_posture, track.posture[0]), ())
    yaw0, yaw1 = prev_last[IDX["root_yaw"]], ang[0, IDX["root_yaw"]]
    if not via and prev_posture != "stand" and abs(yaw1 - yaw0) > np.radians(45):
        via = (SIT,) if prev_posture == "supine" else (KNEEL,)  # nobody spins round lying down: sit up first
    # out of (into) a side plank: first lie down on that side, knees bent, so the hips come down to the mat
    roll0, roll1 = prev_last[IDX["root_roll"]], ang[0, IDX["root_roll"]]
    if abs(roll0) > np.radians(45):
        via = (_side_lying(np.sign(roll0)),) + tuple(via)
    if abs(roll1) > np.radians(45):
        via = tuple(via) + (_side_lying(np.sign(roll1)),)
    keys = [prev_last]
    for k, v in enumerate(via):
        key = v.copy()
        key[IDX["root_yaw"]] = yaw0 + (yaw1 - yaw0) * (k + 1) / (len(via) + 1)
        keys.append(key)
    # each stage takes long enough that no joint turns faster than ~MAX_TURN_DEG_S (a brisk, not a jerky, move)
    turn_w = np.ones(N_DOFS)
    for col in ("root_yaw", "root_pitch", "root_roll"):  # the whole body turns slower than a limb swings
        turn_w[IDX[col]] = MAX_TURN_DEG_S / MAX_YAW_DEG_S
    need = [float((np.degrees(np.abs(b - a)) * turn_w).max()) / MAX_TURN_DEG_S
            for a, b in zip(keys, keys[1:] + [ang[0]])]
    stage_s = [max(float(rng.uniform(0.45, 0.75)), d) for d in need[:-1]]
    blend_s = max(float(rng.uniform(0.5, 1.2)) if not via else float(rng.uniform(0.5, 0.8)), need[-1])
    total = sum(stage_s) + blend_s
    scale = min(1.0, 0.6 * n / fps / total)  # a short chapter gets a quicker transition
    times = np.cumsum([0.0] + [s * scale for s in stage_s] + [blend_s * scale])
    frames = np.round(times * fps).astype(int)
    for k in range(len(via)):
        a, b = frames[k], frames[k + 1]
        u = smoothstep((np.arange(a, b) - a) / max(b - a, 1))[:, None]
        ang[a:b] = (1 - u) * keys[k] + u * keys[k + 1]
    a, b = frames[-2], min(frames[-1], n)
    w = smoothstep((np.arange(a, b) - a) / max(frames[-1] - a, 1))[:, None]
    ang[a:b] = (1 - w) * keys[-1] + w * ang[a:b]


def workout_motion(rng: np.random.Generator, body: Body, chapters: list[ChapterPlan], fps: float) -> WorkoutMotion:
    """Generate the clean motion of one workout video.

    Args:
        rng: the only source of randomness (the result is a pure function of its state and the arguments).
        body: the trainer's proportions (Body.sample).
        chapters: the chapters in order; durations are rounded to frames so that chapter i covers
            [round(sum of earlier durations * fps), round(sum including i * fps)).
        fps: pose frames per second.

    Returns:
        WorkoutMotion with pose (T, 17, 3), the angles, and per chapter its frame range and parameters.
    """
    _check(chapters, fps)
    style = _Style.sample(rng)
    bounds = np.round(np.cumsum([0.0] + [c.duration_s for c in chapters]) * fps).astype(int)
    t_all = int(bounds[-1])
    angles = np.zeros((t_all, N_DOFS))
    offset = np.zeros((t_all, 3))
    flight = np.zeros(t_all)
    travel = np.zeros(t_all, dtype=bool)
    contact = np.zeros((t_all, N_JOINTS))
    out: list[ChapterMotion] = []
    for i, plan in enumerate(chapters):
        s, e = int(bounds[i]), int(bounds[i + 1])
        nxt = next((c.kind for c in chapters[i + 1:] if c.kind in EXERCISES), None)
        track, p = _chapter(rng, body, fps, plan, e - s, style, nxt)
        prev = out[-1] if out else None
        facing = _facing(rng, style, plan.kind, track.posture[0], prev)
        ang = track.angles
        ang[:, IDX["root_yaw"]] += facing
        cf, sf = np.cos(facing), np.sin(facing)
        ox, oz = track.offset[:, 0], track.offset[:, 2]
        off = track.offset.copy()  # the chapter frame turned by the facing (a yaw about +y)
        off[:, 0], off[:, 2] = cf * ox + sf * oz, -sf * ox + cf * oz
        fl = track.flight.copy()
        if prev is not None:
            last = angles[s - 1]
            turns = np.round((last[IDX["root_yaw"]] - ang[0, IDX["root_yaw"]]) / (2 * np.pi))
            ang[:, IDX["root_yaw"]] += 2 * np.pi * turns  # turn the short way round
            _blend_in(track, last, prev.posture[1], fps, rng)
            off += offset[s - 1] - off[0]
            m = min(int(fps), e - s)
            w = smoothstep(np.arange(m) / max(m, 1))
            fl[:m] = (1 - w) * flight[s - 1] + w * fl[:m]
        angles[s:e], offset[s:e], flight[s:e] = ang, off, fl
        travel[s:e] = track.travel
        if track.contact is not None:
            contact[s:e] = track.contact
        out.append(ChapterMotion(kind=plan.kind, start=s, end=e, side=p["side"], tempo_s=p["tempo_s"],
                                 reps=p["reps"], rom=p["rom"], facing=float(facing), posture=track.posture,
                                 details=p.get("details", {})))
    clip_to_limits(angles)
    pose = place(body, angles, fps, offset, flight, travel, contact)
    return WorkoutMotion(pose=pose, angles=angles, fps=float(fps), body=body, chapters=out, facing=style.facing)
