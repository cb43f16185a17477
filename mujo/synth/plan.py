"""Plans of synthetic workout videos: which chapters, how long, who performs them, which split.

A plan is a pure function of (seed, video index): `plan_video` draws everything from generators seeded by those two
numbers alone, so any video can be planned (and so regenerated) on its own, in any process, in any order.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

import numpy as np

from mujo.synth.motion import EXERCISES, NON_EXERCISES, ChapterPlan

# Seed-sequence keys of the independent random streams of one video. Each part of the generator draws from its own
# stream, so that e.g. turning video rendering off does not change a single byte of pose or IMU.
STREAM_PLAN, STREAM_MOTION, STREAM_NOISE, STREAM_TEXT, STREAM_RENDER = range(5)

# Duration ranges (seconds) per non-exercise kind; exercises use SynthConfig.exercise_s.
NULL_DURATION_S: dict[str, tuple[float, float]] = {
    "intro": (15.0, 45.0),
    "rest": (10.0, 30.0),
    "water_break": (15.0, 40.0),
    "explanation": (15.0, 40.0),
    "cooldown_stretch": (30.0, 75.0),
    "outro": (10.0, 30.0),
}

# Workout themes: the categories of exercise a video draws from, with weights.
THEMES: dict[str, dict[str, float]] = {
    "full body HIIT": {"lower": 1.0, "upper": 1.0, "core": 1.0, "cardio": 1.5, "full": 1.5},
    "leg day": {"lower": 3.0, "cardio": 1.0, "full": 0.5, "core": 0.3},
    "upper body dumbbells": {"upper": 3.0, "core": 0.7, "full": 0.3},
    "abs and core": {"core": 3.0, "cardio": 0.7, "lower": 0.3},
    "cardio blast": {"cardio": 3.0, "full": 1.5, "lower": 0.7},
}


@dataclass(frozen=True)
class SynthConfig:
    """Settings of a synthetic FiMAD; every video is a pure function of (seed, video index) and these."""

    seed: int = 0  # the dataset seed
    n_videos: int = 24  # workout videos; each is cut into chapters (clips)
    chapters: tuple[int, int] = (5, 15)  # min and max chapters per video, inclusive
    exercise_s: tuple[float, float] = (20.0, 60.0)  # duration range of one exercise chapter
    null_scale: float = 1.0  # NULL chapters last NULL_DURATION_S times this
    fps: int = 50  # pose and IMU rate
    val_every: int = 5  # every n-th video (by index) goes to the validation split
    n_trainers: int = 0  # distinct people; 0 = one per ~3 videos
    with_video: bool = True  # render and encode mp4 video per clip
    video_fps: int = 25  # rate of the rendered video
    video_size: tuple[int, int] = (320, 240)  # width, height of the rendered video
    name: str = "fimad-demo"  # fimad.json name

    @property
    def trainers(self) -> int:
        return self.n_trainers or max(1, (self.n_videos + 2) // 3)


@dataclass
class VideoPlan:
    """What one synthetic workout video holds."""

    index: int
    video_id: str
    trainer: int
    theme: str
    split: str
    chapters: list[ChapterPlan] = field(default_factory=list)


def streams(seed: int, index: int) -> list[np.random.Generator]:
    """The independent generators of video `index` of dataset `seed` (see STREAM_*)."""
    children = np.random.SeedSequence([seed, index]).spawn(5)
    return [np.random.default_rng(c) for c in children]


def trainer_rng(seed: int, trainer: int) -> np.random.Generator:
    """The generator of one trainer's body: the same person keeps the same proportions across videos."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1_000_003, trainer]))


def video_id(seed: int, index: int) -> str:
    """A YouTube-like 11-character id, deterministic in (seed, index)."""
    digest = hashlib.blake2b(f"mujo-synth:{seed}:{index}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:11]


def _pick_exercise(rng: np.random.Generator, theme: str, recent: list[str]) -> str:
    weights = THEMES[theme]
    names = sorted(EXERCISES)
    w = np.array([weights.get(EXERCISES[n].category, 0.15) for n in names], dtype=float)
    w[[names.index(r) for r in recent if r in names]] *= 0.05  # avoid repeating the last few exercises
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def plan_video(seed: int, index: int, cfg: SynthConfig) -> VideoPlan:
    """Plan video `index`: intro, exercises with rests and explanations, cool-down and outro.

    Args:
        seed: dataset seed.
        index: video index (0-based).
        cfg: dataset settings.
    Returns:
        The plan, identical whenever it is called with the same arguments.
    """
    rng = streams(seed, index)[STREAM_PLAN]
    theme = sorted(THEMES)[int(rng.integers(len(THEMES)))]
    plan = VideoPlan(index=index, video_id=video_id(seed, index), trainer=int(rng.integers(cfg.trainers)),
                     theme=theme, split="val" if index % cfg.val_every == cfg.val_every - 1 else "train")
    n = int(rng.integers(cfg.chapters[0], cfg.chapters[1] + 1))

    def null(kind: str) -> ChapterPlan:
        lo, hi = NULL_DURATION_S[kind]
        return ChapterPlan(kind, float(rng.uniform(lo, hi)) * cfg.null_scale)

    head = [null("intro")] if rng.random() < 0.85 else []
    tail = ([null("cooldown_stretch")] if rng.random() < 0.5 else []) + ([null("outro")] if rng.random() < 0.7 else [])
    body: list[ChapterPlan] = []
    recent: list[str] = []
    n_body = max(1, n - len(head) - len(tail))
    while len(body) < n_body:
        if body and body[-1].kind in EXERCISES and len(body) < n_body - 1:
            r = rng.random()
            if r < 0.2:
                body.append(null("rest"))
                continue
            if r < 0.27:
                body.append(null("water_break"))
                continue
        if rng.random() < 0.12 and len(body) < n_body - 1:
            body.append(null("explanation"))
        kind = _pick_exercise(rng, theme, recent)
        recent = (recent + [kind])[-3:]
        dur = float(rng.uniform(*cfg.exercise_s))
        if EXERCISES[kind].sided:
            first = "left" if rng.random() < 0.5 else "right"
            if rng.random() < 0.6 and len(body) < n_body - 1:  # left then right, as two chapters
                body.append(ChapterPlan(kind, dur, side=first))
                body.append(ChapterPlan(kind, float(dur * rng.uniform(0.9, 1.1)),
                                        side="right" if first == "left" else "left"))
                continue
            body.append(ChapterPlan(kind, dur, side=first if rng.random() < 0.5 else "alternating"))
        else:
            body.append(ChapterPlan(kind, dur))
    plan.chapters = head + body[:n_body] + tail
    assert all(c.kind in EXERCISES or c.kind in NON_EXERCISES for c in plan.chapters)
    return plan
