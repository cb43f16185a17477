"""The exercise library: one ExerciseSpec per canonical exercise, and the runner that turns a spec into a chapter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujo.synth.motion import exercises_cardio, exercises_core, exercises_lower, exercises_upper, idle
from mujo.synth.motion.angles import IDX, clip_to_limits, mirror
from mujo.synth.motion.body import Body
from mujo.synth.motion.moves import MIRROR_JOINTS
from mujo.synth.motion.poses import STAND
from mujo.synth.motion.spec import ExerciseSpec
from mujo.synth.motion.track import Ctx, Track, exercise_envelope, phase_from_tempo


@dataclass
class ExerciseParams:
    """What a chapter's motion actually used."""

    side: str | None     # "left", "right", "alternating" or None
    tempo_s: float       # mean seconds per rep
    reps: int | None     # full cycles at working intensity (None for held positions)
    rom: float           # range of motion, 1 = full


def resolve_side(spec: ExerciseSpec, side: str | None, rng: np.random.Generator) -> str | None:
    """The side a chapter uses: as planned, or (for sided exercises planned without one) alternating or random."""
    if side not in (None, "left", "right", "alternating"):
        raise ValueError(f"exercise {spec.name!r}: side must be left, right, alternating or None, got {side!r}")
    draw = rng.uniform()
    if not spec.sided:
        return None
    if side == "alternating" and not spec.alternates:
        side = None
    if side is None:
        if spec.alternates and draw < 0.5:
            return "alternating"
        return "left" if draw < 0.75 else "right"
    return side


def run_exercise(spec: ExerciseSpec, rng: np.random.Generator, body: Body, fps: float, n: int, *,
                 side: str | None = None, tempo_s: float | None = None, rom: float | None = None,
                 energy: float = 0.7, env: np.ndarray | None = None, slow: np.ndarray | None = None,
                 asym: np.ndarray | None = None, talkative: float = 1.0) -> tuple[Track, ExerciseParams]:
    """Generate n frames of one exercise (chapter frame: facing +z, root at the origin).

    Args:
        spec: the exercise.
        rng: the only source of randomness; the same draws happen for left and right, so the left variant is the
            exact mirror image of the right one when asym is None.
        body: segment lengths.
        fps: frames per second.
        n: number of frames.
        side: "left"/"right"/"alternating"/None (see resolve_side).
        tempo_s, rom: override the sampled tempo (s per rep) and range of motion.
        energy: 0..1 intensity of the trainer.
        env, slow: override the intensity envelope (n,) and tempo slow-down factor (n,).
        asym: (D,) per-person asymmetry multipliers (idle.asymmetry), None for a symmetric body.
        talkative: how much the trainer gestures while not working (0..1).

    Returns:
        (track, params).
    """
    side = resolve_side(spec, side, rng)
    if tempo_s is None:
        tempo_s = spec.typical_tempo_s * float(np.exp(rng.normal(0.0, 0.13)))
    if rom is None:
        rom = float(np.clip(rng.normal(0.93, 0.07), 0.7, 1.05))
    env_d, slow_d = exercise_envelope(rng, n, fps)
    env = env_d if env is None else env
    slow = slow_d if slow is None else slow
    phase = phase_from_tempo(rng, n, fps, tempo_s, slow, drift=float(rng.normal(0.06, 0.08)))
    c = Ctx(rng=rng, body=body, fps=fps, n=n, side="right" if side == "left" else side, tempo_s=tempo_s, rom=rom,
            energy=energy, t=np.arange(n) / fps, phase=phase, env=env)
    c.amp = env * rom * np.clip(c.rep_values(1.0, 0.06), 0.8, 1.15)
    track = spec.generate(c)
    ang = track.angles
    ang += idle.breathing(c, period_s=float(rng.uniform(2.5, 4.0)), depth=1.0 + energy)
    quiet = 1.0 - env
    if spec.posture == "stand":
        # while talking, the trainer stands at ease rather than holding the exercise's start position
        at_ease = (quiet ** 2)[:, None]
        yaw = ang[:, IDX["root_yaw"]].copy()
        ang[:] = (1 - at_ease) * ang + at_ease * STAND
        ang[:, IDX["root_yaw"]] = yaw
        ang += idle.sway(c, 0.4 + 0.8 * float(quiet.mean()))
    idle.talk(c, ang, quiet * talkative, arms_free=spec.arms_free and spec.posture == "stand")
    if side == "left":  # generators make the right-side version
        ang[:] = mirror(ang)
        track.offset[:, 0] *= -1
        if track.contact is not None:
            track.contact[:] = track.contact[:, MIRROR_JOINTS]
    if asym is not None:
        mean = ang.mean(axis=0)
        ang[:] = mean + (ang - mean) * asym
    clip_to_limits(ang)
    reps = None if spec.static else count_reps(phase, env)
    return track, ExerciseParams(side=side, tempo_s=float(tempo_s), reps=reps, rom=float(rom))


def count_reps(phase: np.ndarray, env: np.ndarray) -> int:
    """Full cycles done at working intensity (env > 0.5)."""
    dphase = np.diff(phase, prepend=phase[0])
    return int(np.floor(float((dphase * (env > 0.5)).sum()) + 0.25))


def _registry() -> dict[str, ExerciseSpec]:
    out: dict[str, ExerciseSpec] = {}
    for mod in (exercises_lower, exercises_upper, exercises_core, exercises_cardio):
        for spec in mod.SPECS:
            if spec.name in out:
                raise ValueError(f"exercise {spec.name!r} defined twice")
            out[spec.name] = spec
    return out


EXERCISES: dict[str, ExerciseSpec] = _registry()
