"""Non-exercise chapters (the NULL candidates): intro, rest, water break, explanation, cool-down, outro."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mujo.synth.motion import activities as act
from mujo.synth.motion import idle
from mujo.synth.motion.angles import clip_to_limits
from mujo.synth.motion.body import Body
from mujo.synth.motion.exercises import EXERCISES, run_exercise
from mujo.synth.motion.stretches import STRETCHES, hold
from mujo.synth.motion.track import Ctx, Track, piecewise


@dataclass(frozen=True)
class NonExerciseSpec:
    """A kind of chapter in which the trainer does not exercise."""

    name: str          # canonical label, e.g. "water_break"
    display: str       # e.g. "Water break"
    description: str   # what the trainer does
    generate: Callable[[Ctx], Track] = field(repr=False, compare=False)


def _talk_parts(c: Ctx, dur: float, extras: list[tuple[float, act.Activity]]) -> list[tuple[float, act.Activity]]:
    """Talking interleaved with the given short activities, in random order."""
    parts: list[tuple[float, act.Activity]] = []
    for e in extras:
        parts.append((c.rng.uniform(3.0, 9.0), act.talking))
        parts.append(e)
    parts.append((max(dur - sum(d for d, _ in parts), 3.0), act.talking))
    return parts


def _step(c: Ctx) -> tuple[float, act.Activity]:
    """A few steps to reposition: turn a little, walk, turn back."""
    turn = c.rng.uniform(-60, 60)
    return c.rng.uniform(2.0, 3.0), lambda sc: act.walk(sc, turn, -turn)


def intro(c: Ctx) -> Track:
    dur = c.n / c.fps
    extras: list[tuple[float, act.Activity]] = []
    if c.rng.uniform() < 0.5:
        extras.append((c.rng.uniform(1.5, 3.0), act.wave))
    if dur > 20 and c.rng.uniform() < 0.5:
        extras.append(_step(c))
    if dur > 25 and c.rng.uniform() < 0.3:
        extras.append((c.rng.uniform(2.0, 4.0), act.shake_out))
    return Track(act.sequence(c, _talk_parts(c, dur, extras)))


def rest(c: Ctx) -> Track:
    dur = c.n / c.fps
    pool: list[tuple[float, act.Activity]] = [
        (c.rng.uniform(4, 10), act.hands_on_hips),
        (c.rng.uniform(3, 7), act.bent_over),
        (c.rng.uniform(2, 4), act.shake_out),
        (c.rng.uniform(3, 8), act.talking),
    ]
    parts = [pool[i] for i in c.rng.permutation(len(pool))][: int(np.clip(dur // 6, 2, 4))]
    walked = dur > 25 and c.rng.uniform() < 0.5
    if walked:  # a few steps away, turn round, come back and turn to the camera again
        steps = min(c.rng.uniform(3.0, 4.0), 0.12 * dur)
        turn = float(c.rng.choice([-1.0, 1.0]) * c.rng.uniform(60, 120))
        k = int(c.rng.integers(0, len(parts) + 1))
        parts[k:k] = [(steps, lambda sc: act.walk(sc, turn, 180.0, pace=0.55)),
                      (steps, lambda sc: act.walk(sc, 0.0, -180.0 - turn, pace=0.55))]
    return Track(act.sequence(c, parts, blend_s=0.7), travel=walked)


def water_break(c: Ctx) -> Track:
    dur = c.n / c.fps
    turn = float(c.rng.choice([-1.0, 1.0]) * c.rng.uniform(70, 110))
    if dur < 30:  # the bottle is at hand
        parts = [(2.0, act.talking), (3.5, act.pick_up), (max(dur - 5.5, 3.0), act.drink)]
        return Track(act.sequence(c, parts))
    walk_s = c.rng.uniform(3.5, 4.5)
    parts = [
        (c.rng.uniform(1.0, 3.0), act.talking),
        (walk_s, lambda sc: act.walk(sc, turn, 0.0)),
        (c.rng.uniform(2.5, 3.5), act.pick_up),
        (max(dur * 0.45, 5.0), act.drink),
        (c.rng.uniform(2.5, 3.5), act.pick_up),
        (walk_s, lambda sc: act.walk(sc, 180.0, 180.0 - turn)),
        (c.rng.uniform(3.0, 6.0), act.talking),
    ]
    return Track(act.sequence(c, parts), travel=True)


def explanation(c: Ctx) -> Track:
    """Slow partial reps of an exercise (the next one, when known) with pauses, gestures and talking between."""
    name = c.info.get("next_exercise")
    if name not in EXERCISES or c.rng.uniform() < 0.2:
        name = str(c.rng.choice([k for k, s in EXERCISES.items() if s.posture == "stand"]))
    spec = EXERCISES[name]
    c.info["demonstrates"] = name
    dur, pts, t = c.n / c.fps, [(0.0, 0.0)], 0.0
    while t < dur:
        talk = c.rng.uniform(2.0, 7.0)
        demo = spec.typical_tempo_s * c.rng.uniform(2.0, 3.0) * c.rng.integers(1, 3)
        pts += [(t + talk, 0.0), (t + talk + 0.6, 1.0), (t + talk + demo, 1.0), (t + talk + demo + 0.6, 0.0)]
        t += talk + demo + 0.6
    env = piecewise(c.n, c.fps, pts)
    # pauses mid-rep: the phase stops for a moment while the trainer points at the form
    pause = (c.noise(1.5, 1.0)[:, 0] > 1.0) & (env > 0.9)
    slow = np.where(pause, 1e6, 1.0)
    track, params = run_exercise(spec, c.rng, c.body, c.fps, c.n, side=c.info.get("side"),
                                 tempo_s=spec.typical_tempo_s * c.rng.uniform(1.8, 2.8),
                                 rom=float(c.rng.uniform(0.4, 0.8)), energy=0.3, env=env, slow=slow)
    c.info.update(side=params.side, tempo_s=params.tempo_s, rom=params.rom)
    track.posture = (spec.posture, spec.posture)
    return track


def cooldown_stretch(c: Ctx) -> Track:
    dur = c.n / c.fps
    names = list(c.rng.permutation(list(STRETCHES)))[: int(np.clip(dur // 12, 2, 6))]
    parts: list[tuple[float, act.Activity]] = []
    for name in names:
        sides = ("right", "left") if STRETCHES[name][1] else ("both",)
        for side in sides:
            parts.append((c.rng.uniform(8.0, 18.0), lambda sc, n=name, s=side: hold(sc, n, s)))
    if c.rng.uniform() < 0.5:
        parts.insert(0, (c.rng.uniform(2.0, 5.0), act.talking))
    c.info["stretches"] = [str(n) for n in names]
    return Track(act.sequence(c, parts, blend_s=1.2))


def outro(c: Ctx) -> Track:
    dur = c.n / c.fps
    extras: list[tuple[float, act.Activity]] = [(c.rng.uniform(1.5, 3.0), act.wave)]
    if c.rng.uniform() < 0.4:
        extras.insert(0, (c.rng.uniform(2.0, 4.0), act.hands_on_hips))
    parts = _talk_parts(c, dur, extras)
    if c.rng.uniform() < 0.5:
        parts.append((c.rng.uniform(1.5, 3.0), act.wave))
    return Track(act.sequence(c, parts))


NON_EXERCISES: dict[str, NonExerciseSpec] = {s.name: s for s in [
    NonExerciseSpec("intro", "Intro", "the trainer talks to the camera: standing, weight shifts, gestures", intro),
    NonExerciseSpec("rest", "Rest", "catching breath: hands on hips, bent over, walking around, shaking out", rest),
    NonExerciseSpec("water_break", "Water break", "walks off, picks up a bottle and drinks, comes back",
                    water_break),
    NonExerciseSpec("explanation", "Explanation", "slow partial demo reps of an exercise with pauses and talking",
                    explanation),
    NonExerciseSpec("cooldown_stretch", "Cool down", "static stretches held for several breaths", cooldown_stretch),
    NonExerciseSpec("outro", "Outro", "talking and waving goodbye", outro),
]}


def run_nonexercise(spec: NonExerciseSpec, rng: np.random.Generator, body: Body, fps: float, n: int, *,
                    energy: float = 0.5, asym: np.ndarray | None = None,
                    info: dict | None = None) -> tuple[Track, dict]:
    """Generate n frames of a non-exercise chapter (chapter frame, root at the origin).

    Args:
        spec: the kind of chapter.
        rng: the only source of randomness.
        body: segment lengths.
        fps: frames per second.
        n: number of frames.
        energy: 0..1, how out of breath the trainer is.
        asym: (D,) per-person asymmetry multipliers.
        info: context from the workout ("next_exercise", "side"); details are added to it and returned.

    Returns:
        (track, details): details holds e.g. "demonstrates" for an explanation or "stretches" for a cool-down.
    """
    t = np.arange(n) / fps
    c = Ctx(rng=rng, body=body, fps=fps, n=n, side=None, tempo_s=1.0, rom=1.0, energy=energy, t=t, phase=t,
            env=np.zeros(n), amp=np.zeros(n), info=dict(info or {}))
    track = spec.generate(c)
    if spec.name != "explanation":
        track.angles += idle.breathing(c, float(rng.uniform(2.5, 4.5)), 1.0 + 1.5 * energy)
    if asym is not None:
        mean = track.angles.mean(axis=0)
        track.angles[:] = mean + (track.angles - mean) * asym
    clip_to_limits(track.angles)
    return track, c.info
