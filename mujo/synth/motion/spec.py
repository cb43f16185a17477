"""ExerciseSpec: what the library knows about one exercise (names, category, tempo, posture, generator)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from mujo.synth.motion.track import POSTURES, Ctx, Track

CATEGORIES = ("lower", "upper", "core", "cardio", "full")
EQUIPMENT = ("none", "dumbbells", "mat")


@dataclass(frozen=True)
class ExerciseSpec:
    """One canonical exercise of the library."""

    name: str                 # canonical snake_case label, e.g. "jump_squat"
    display: str              # how a title shows it, e.g. "Jump squats"
    category: str             # lower / upper / core / cardio / full
    equipment: str            # none / dumbbells / mat
    sided: bool               # has left/right variants (ChapterPlan.side)
    typical_tempo_s: float    # seconds per rep (one full cycle; alternating exercises: both sides)
    generate: Callable[[Ctx], Track] = field(repr=False, compare=False)
    posture: str = "stand"    # one of POSTURES: where the chapter starts and ends (prone: face down or on all
                              # fours; supine: on the back, sitting or on the side)
    static: bool = False      # a held position (plank): reps are not counted
    alternates: bool = True   # a sided exercise may be done alternating sides within one chapter
    arms_free: bool = True    # the arms may gesture while the trainer talks during setup

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"exercise {self.name!r}: category must be one of {CATEGORIES}, got {self.category!r}")
        if self.posture not in POSTURES:
            raise ValueError(f"exercise {self.name!r}: posture must be one of {POSTURES}, got {self.posture!r}")
        if self.equipment not in EQUIPMENT:
            raise ValueError(f"exercise {self.name!r}: equipment must be one of {EQUIPMENT}, got {self.equipment!r}")
