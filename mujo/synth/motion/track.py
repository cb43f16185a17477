"""The per-chapter motion context (tempo, phase, intensity) and the keyframe/noise signals motions are built from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mujo.synth.motion.body import Body

# Postures a chapter starts or ends in; a transition between different ones passes through intermediate poses.
POSTURES = ("stand", "prone", "supine")


@dataclass
class Track:
    """The motion of one chapter before it is placed in the world."""

    angles: np.ndarray                 # (n, D) radians; root_yaw relative to the chapter's facing
    offset: np.ndarray | None = None   # (n, 3) deliberate root travel in the chapter frame (x left, z forward)
    flight: np.ndarray | None = None   # (n,) metres the body is lifted off the floor (jumps, heel raises)
    travel: bool = False               # True: the chapter walks around, so it is not pulled back to its spot
    posture: tuple[str, str] = ("stand", "stand")  # posture at the start and at the end
    contact: np.ndarray | None = None  # (n, 17) which joints are planted, overriding the lowest-joint rule where
                                       # a row is non-zero (hands during a burpee's jump back)

    def __post_init__(self) -> None:
        n = len(self.angles)
        if self.offset is None:
            self.offset = np.zeros((n, 3))
        if self.flight is None:
            self.flight = np.zeros(n)


@dataclass
class Ctx:
    """Everything a motion generator may use; all randomness comes from `rng`."""

    rng: np.random.Generator
    body: Body
    fps: float
    n: int                 # frames in the chapter
    side: str | None       # "left", "right", "alternating" or None (the generator picks)
    tempo_s: float         # mean seconds per rep
    rom: float             # range of motion (1 = full)
    energy: float          # 0..1, how hard this trainer works (jump heights, speed of arm swings)
    t: np.ndarray          # (n,) seconds since the chapter start
    phase: np.ndarray      # (n,) reps elapsed, monotone
    env: np.ndarray        # (n,) 0..1: 0 = talking/setting up, 1 = working
    amp: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) env x per-rep amplitude
    info: dict = field(default_factory=dict)  # chapter context in, details out (e.g. which exercise is demonstrated)
    _frac: np.ndarray | None = field(default=None, repr=False)

    def rep_values(self, mean: float, sd: float, sub: int = 1) -> np.ndarray:
        """A value drawn per rep (or per half rep with sub=2), as an (n,) array."""
        k = np.floor(self.phase * sub).astype(np.int64)
        draws = self.rng.normal(mean, sd, int(k.max()) + 2)
        return draws[k]

    def timing(self, warp: float = 0.08) -> np.ndarray:
        """Position within the current rep (n,) in [0, 1), with a per-rep random timing warp shared by all cycles."""
        if self._frac is None:
            gamma = np.exp(self.rep_values(0.0, warp))
            self._frac = (self.phase % 1.0) ** gamma
        return self._frac

    def cycle(self, keys: list[tuple[float, np.ndarray]], *, scale: np.ndarray | None = None) -> np.ndarray:
        """Angles (n, D) of a repeated keyframed movement, scaled per rep around the first keyframe.

        Args:
            keys: (time in the rep 0..1, pose (D,)) pairs, times ascending from 0; the rep returns to the first.
            scale: (n,) amplitude of the deviation from the first pose; default `self.amp`.

        Returns:
            (n, D) radians.
        """
        times = np.array([k[0] for k in keys] + [1.0])
        poses = np.stack([np.atleast_1d(k[1]) for k in keys] + [np.atleast_1d(keys[0][1])])
        vals = hermite_keys(self.timing(), times, poses, cyclic=True)
        amp = self.amp if scale is None else scale
        return poses[0] + amp[:, None] * (vals - poses[0])

    def wave(self, keys: list[tuple[float, float]], *, scale: np.ndarray | None = None) -> np.ndarray:
        """A scalar (n,) keyframed cycle, e.g. a depth 0..1, scaled like `cycle`."""
        return self.cycle([(t, np.array([v], dtype=np.float64)) for t, v in keys], scale=scale)[:, 0]

    def halves(self) -> "Ctx":
        """A context whose reps are half reps (for alternating movements: each side is one cycle)."""
        c = replace(self, phase=self.phase * 2.0, tempo_s=self.tempo_s / 2.0, _frac=None)
        c.amp = self.env * self.rom * np.clip(c.rep_values(1.0, 0.06), 0.8, 1.15)
        return c

    def noise(self, tau_s: float, scale: float, dims: int = 1) -> np.ndarray:
        """Smooth random signal (n, dims) with correlation time ~tau_s and standard deviation ~scale."""
        return smooth_noise(self.rng, self.n, self.fps, tau_s, dims) * scale


def smoothstep(u: np.ndarray) -> np.ndarray:
    """3u^2 - 2u^3 on [0, 1] (clipped): an ease-in-out ramp."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def bump(x: np.ndarray, start: float, end: float) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 hump (sin^2) over [start, end] of x, zero elsewhere."""
    u = np.clip((x - start) / (end - start), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def hermite_keys(frac: np.ndarray, times: np.ndarray, poses: np.ndarray, cyclic: bool = True) -> np.ndarray:
    """Monotone cubic interpolation of keyframes: passes through each key, never overshoots, stops at extrema.

    Args:
        frac: (n,) position in [0, 1].
        times: (m,) ascending key times, times[0] = 0, times[-1] = 1.
        poses: (m, D) key values.
        cyclic: the motion repeats (tangents at the ends wrap around).

    Returns:
        (n, D) interpolated values.
    """
    dt = np.diff(times)  # (m-1,)
    slope = np.diff(poses, axis=0) / np.maximum(dt, 1e-9)[:, None]  # (m-1, D)
    prev = np.vstack([slope[-1:] if cyclic else slope[:1], slope])
    nxt = np.vstack([slope, slope[:1] if cyclic else slope[-1:]])
    same = prev * nxt > 0
    tang = np.where(same, 2 * prev * nxt / np.where(same, prev + nxt, 1.0), 0.0)  # harmonic mean, 0 at extrema
    i = np.clip(np.searchsorted(times, frac, side="right") - 1, 0, len(times) - 2)
    h = dt[i][:, None]
    u = ((frac - times[i]) / dt[i])[:, None]
    u2, u3 = u * u, u * u * u
    return ((2 * u3 - 3 * u2 + 1) * poses[i] + (u3 - 2 * u2 + u) * h * tang[i]
            + (-2 * u3 + 3 * u2) * poses[i + 1] + (u3 - u2) * h * tang[i + 1])


def smooth_noise(rng: np.random.Generator, n: int, fps: float, tau_s: float, dims: int = 1) -> np.ndarray:
    """Unit-variance smooth noise (n, dims): random knots every tau_s, joined by smoothstep segments."""
    step = max(tau_s * fps, 1.0)
    n_knots = int(np.ceil(n / step)) + 2
    knots = rng.normal(0.0, 1.0, (n_knots, dims))
    x = np.arange(n) / step + rng.uniform(0.0, 1.0)
    i = x.astype(np.int64)
    u = smoothstep(x - i)[:, None]
    return knots[i] * (1 - u) + knots[i + 1] * u


def piecewise(n: int, fps: float, points: list[tuple[float, float]]) -> np.ndarray:
    """(n,) signal through (time s, value) points with smoothstep segments, held flat outside them."""
    t = np.arange(n) / fps
    out = np.full(n, points[0][1], dtype=np.float64)
    for (t0, v0), (t1, v1) in zip(points[:-1], points[1:]):
        if t1 <= t0:
            continue
        m = t >= t0
        out[m] = v0 + (v1 - v0) * smoothstep((t[m] - t0) / (t1 - t0))
    return out


def exercise_envelope(rng: np.random.Generator, n: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Intensity (n,) 0..1 and tempo slow-down factor (n,) >= 1 of an exercise chapter.

    Trainers talk or set up at the start (talk first, do a slow demo rep, or ramp up) and slow down or stop at the
    end, over roughly the first 5-15 % and last 3-12 % of the chapter.
    """
    dur = n / fps
    t_in = min(max(dur * rng.uniform(0.05, 0.15), 1.5), 0.3 * dur)
    t_out = min(max(dur * rng.uniform(0.03, 0.12), 1.5), 0.3 * dur)
    style = rng.choice(["talk", "demo", "ramp", "straight"], p=[0.35, 0.25, 0.25, 0.15])
    ramp = min(max(1.5, 0.5 * t_in), t_in)  # nobody starts or stops a set abruptly
    if style == "talk":
        pts = [(0.0, 0.0), (max(t_in - ramp, 0.0), 0.0), (t_in, 1.0)]
        slow = 0.6
    elif style == "demo":
        level = rng.uniform(0.6, 0.85)
        pts = [(0.0, level), (max(t_in - ramp, 0.0), level), (t_in, 1.0)]
        slow = rng.uniform(1.5, 3.0)  # a slow rep shows the form
    elif style == "ramp":
        pts = [(0.0, rng.uniform(0.2, 0.5)), (t_in, 1.0)]
        slow = 0.5
    else:
        pts = [(0.0, rng.uniform(0.8, 1.0)), (min(1.0, t_in), 1.0)]
        slow = 0.2
    end_level = rng.choice([0.0, rng.uniform(0.3, 0.7)])
    pts += [(dur - t_out, 1.0), (dur - 0.2 * t_out, end_level), (dur, end_level)]
    env = piecewise(n, fps, pts)
    slow_factor = 1.0 + slow * (1.0 - env) * (env > 0.05)
    return env, slow_factor


def phase_from_tempo(rng: np.random.Generator, n: int, fps: float, tempo_s: float, slow: np.ndarray | None = None,
                     drift: float = 0.0) -> np.ndarray:
    """Reps elapsed (n,) for a tempo that drifts linearly by `drift` (fraction) over the chapter and wanders 4 %."""
    x = np.linspace(-0.5, 0.5, n)
    tempo = tempo_s * np.exp(drift * x + 0.04 * smooth_noise(rng, n, fps, 3.0)[:, 0])
    if slow is not None:
        tempo = tempo * slow
    return np.concatenate([[0.0], np.cumsum(1.0 / (tempo[:-1] * fps))])
