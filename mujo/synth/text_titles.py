"""Uploader-style chapter titles: per-video styles, synonyms, side and count decorations, typos, emoji."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mujo.synth.text_vocab import (
    CANONICAL_DISPLAY,
    EXERCISE_EMOJI,
    MISSPELLINGS,
    NON_EXERCISE_EMOJI,
    NON_EXERCISE_KINDS,
    NON_EXERCISE_TITLES,
    TIMED_NON_EXERCISE,
    TITLE_NAMES,
)

_CASES = ("natural", "title", "upper", "lower")
_NUMBERINGS = (None, "dot", "hash", "exercise", "paren", "ex", "zero", "move")
_SEPARATORS = (" - ", " | ", " – ", ": ", " ")
_SIDE_FORMATS = ("word", "paren_letter", "letter", "abbr", "prefix", "leg", "side_word")
_REP_FORMATS = ("x_n", "n_x", "n_reps", "paren")
_TIME_FORMATS = ("sec", "s", "seconds", "colon", "paren_s")


def pick(rng: np.random.Generator, items, p=None):
    """One element of a sequence (rng.choice would turn strings into numpy scalars and None into an object)."""
    return items[int(rng.choice(len(items), p=p))]


@dataclass(frozen=True)
class TitleStyle:
    """How one uploader writes all chapter titles of a video (sample once per video for consistent titles)."""

    case: str = "natural"            # natural (as in the phrase bank), title, upper, lower
    numbering: str | None = None     # None or a prefix format: dot "3. ", hash "#3 ", exercise "Exercise 3 - ", ...
    number_all: bool = False         # number intro/rest chapters too
    separator: str = " - "           # between the name and a side or count
    side_format: str = "word"        # word "- Left", paren_letter "(L)", letter "L", abbr "lft", prefix, leg, ...
    rep_format: str = "x_n"          # x_n "x10", n_x "10x", n_reps "10 reps", paren "(10)"
    time_format: str = "sec"         # sec "30 sec", s "30s", seconds, colon "0:30", paren_s "(30s)"
    count_rate: float = 0.5          # chance a title shows its reps or duration when they are known
    emoji_rate: float = 0.0          # chance a title gets emoji
    typo_rate: float = 0.1           # chance an exercise name gets a typo
    timestamp_rate: float = 0.0      # chance of a pasted "1:45" decoration

    def __post_init__(self) -> None:
        for field, value, allowed in (("case", self.case, _CASES), ("numbering", self.numbering, _NUMBERINGS),
                                      ("side_format", self.side_format, _SIDE_FORMATS),
                                      ("rep_format", self.rep_format, _REP_FORMATS),
                                      ("time_format", self.time_format, _TIME_FORMATS)):
            if value not in allowed:
                raise ValueError(f"TitleStyle.{field} must be one of {allowed}, got {value!r}")
        for field in ("count_rate", "emoji_rate", "typo_rate", "timestamp_rate"):
            if not 0.0 <= getattr(self, field) <= 1.0:
                raise ValueError(f"TitleStyle.{field} must be in [0, 1], got {getattr(self, field)!r}")

    @classmethod
    def sample(cls, rng: np.random.Generator) -> TitleStyle:
        """A random uploader style; overall about 12 % of exercise titles get a typo and 25 % emoji."""
        return cls(
            case=pick(rng, _CASES, p=[0.45, 0.25, 0.15, 0.15]),
            numbering=pick(rng, _NUMBERINGS, p=[0.55, 0.12, 0.08, 0.08, 0.06, 0.04, 0.04, 0.03]),
            number_all=bool(rng.random() < 0.3),
            separator=pick(rng, _SEPARATORS, p=[0.45, 0.15, 0.15, 0.1, 0.15]),
            side_format=pick(rng, _SIDE_FORMATS),
            rep_format=pick(rng, _REP_FORMATS),
            time_format=pick(rng, _TIME_FORMATS),
            count_rate=0.0 if rng.random() < 0.4 else float(rng.uniform(0.5, 1.0)),
            emoji_rate=0.0 if rng.random() < 0.6 else float(rng.uniform(0.3, 0.9)),
            typo_rate=float(rng.uniform(0.0, 0.25)),
            timestamp_rate=0.0 if rng.random() < 0.85 else 0.5,
        )


def display_name(kind: str) -> str:
    """The clean display name of a kind; an unknown kind reads as its words ("box_jump" -> "box jump")."""
    return CANONICAL_DISPLAY.get(kind) or " ".join(kind.replace("_", " ").split()).lower()


def check_args(kind: str, side: str | None, reps: int | None, duration_s: float | None) -> str | None:
    """Validate the common arguments; returns the side in lower case."""
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")
    if side is not None:
        if not isinstance(side, str) or side.lower() not in ("left", "right"):
            raise ValueError(f"side must be 'left', 'right' or None, got {side!r} (kind {kind!r})")
        side = side.lower()
    if reps is not None and (isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1):
        raise ValueError(f"reps must be a positive integer or None, got {reps!r} (kind {kind!r})")
    if duration_s is not None and not (isinstance(duration_s, (int, float, np.number))
                                       and math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number or None, got {duration_s!r} (kind {kind!r})")
    return side


def _recase(text: str, case: str) -> str:
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    if case == "title":  # str.title() would write "Push-Up" fine but also "X10" and "Let'S"
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    return text


def _typo(rng: np.random.Generator, name: str) -> tuple[str, bool]:
    """Misspell one word of `name`: a known misspelling, or a swapped, dropped or doubled letter, or two words run
    together. Returns the name and whether it changed."""
    words = name.split(" ")
    idx = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 4]
    if not idx:
        return name, False
    i = pick(rng, idx)
    word = words[i]
    known = MISSPELLINGS.get(word.lower())
    if known and rng.random() < 0.6:
        new = pick(rng, known)
        new = new[0].upper() + new[1:] if word[0].isupper() else new
    else:
        op = pick(rng, ("swap", "drop", "double", "merge"), p=[0.35, 0.3, 0.2, 0.15])
        j = int(rng.integers(1, len(word) - 1))  # keep the first letter: people rarely get that wrong
        if op == "merge" and i + 1 < len(words) and words[i + 1].isalpha():
            words[i: i + 2] = [word + words[i + 1].lower()]
            return " ".join(words), True
        if op == "swap" and word[j] != word[j + 1]:
            new = word[:j] + word[j + 1] + word[j] + word[j + 2:]
        elif op == "double":
            new = word[:j] + word[j] + word[j:]
        else:
            new = word[:j] + word[j + 1:]
    words[i] = new
    return " ".join(words), new != word


def _side_text(rng: np.random.Generator, name: str, side: str, style: TitleStyle) -> str:
    left = side == "left"
    fmt = style.side_format
    if fmt == "prefix":  # "Left lunges", "Left Lunges", "LEFT LUNGES"
        if style.case == "natural" and name[1:2].islower():
            name = name[:1].lower() + name[1:]
        return _recase(side.capitalize(), style.case) + " " + name
    if fmt == "paren_letter":
        tail = "(L)" if left else "(R)"
    elif fmt == "letter":
        tail = pick(rng, ("L", "l")) if left else pick(rng, ("R", "r"))
    elif fmt == "abbr":
        tail = pick(rng, ("lft", "lt")) if left else pick(rng, ("rt", "rgt"))
    elif fmt == "leg":
        return name + style.separator + _recase(f"{side} leg", style.case)
    elif fmt == "side_word":
        return name + " (" + _recase(f"{side} side", style.case) + ")"
    else:
        return name + style.separator + _recase(side.capitalize(), style.case)
    return name + " " + (tail.upper() if style.case == "upper" else tail)


def _count_text(rng: np.random.Generator, style: TitleStyle, reps: int | None,
                duration_s: float | None) -> tuple[str, bool]:
    """The count decoration and whether it goes before the name ("10x Squats")."""
    if reps is not None and (duration_s is None or rng.random() < 0.5):
        fmt = style.rep_format
        if fmt == "n_x":
            return f"{reps}x", True
        if fmt == "n_reps":
            return f"{reps} reps", False
        if fmt == "paren":
            return f"({reps})", False
        return pick(rng, (f"x{reps}", f"x {reps}")), False
    sec = max(1, int(round(duration_s)))
    fmt = style.time_format
    if sec >= 60 and sec % 60 == 0 and fmt != "colon":
        minutes = sec // 60
        return (f"{minutes} min" if rng.random() < 0.6 else f"{minutes} minute{'s' * (minutes > 1)}"), False
    if fmt == "s":
        return f"{sec}s", False
    if fmt == "seconds":
        return f"{sec} seconds", False
    if fmt == "colon":
        return f"{sec // 60}:{sec % 60:02d}", False
    if fmt == "paren_s":
        return f"({sec}s)", False
    return f"{sec} sec", False


def _prefix(style: TitleStyle, index: int) -> str:
    formats = {"dot": f"{index}. ", "hash": f"#{index} ", "exercise": f"Exercise {index} - ", "paren": f"{index}) ",
               "ex": f"Ex {index}: ", "zero": f"{index:02d} - ", "move": f"Move {index}: "}
    return _recase(formats[style.numbering], style.case)


def draw_title(rng: np.random.Generator, kind: str, side: str | None, reps: int | None, duration_s: float | None,
                style: TitleStyle | None, index: int | None) -> tuple[str, bool]:
    """A title and whether it carries a typo (tests measure typo rates through this)."""
    side = check_args(kind, side, reps, duration_s)
    style = style if style is not None else TitleStyle.sample(rng)
    exercise = kind not in NON_EXERCISE_KINDS
    if not exercise:
        name = pick(rng, NON_EXERCISE_TITLES[kind])
    elif kind in TITLE_NAMES:
        name = pick(rng, TITLE_NAMES[kind])
    else:  # unknown kind: its own words, the way an uploader would write them
        words = display_name(kind)
        name = words[:1].upper() + words[1:]
    typo = False
    if exercise and rng.random() < style.typo_rate:
        name, typo = _typo(rng, name)
    name = _recase(name, style.case)
    if exercise and side is not None:
        name = _side_text(rng, name, side, style)
    # Rest-like segments show a duration ("Rest 30s"), never reps.
    countable = (reps is not None or duration_s is not None) if exercise else (
        kind in TIMED_NON_EXERCISE and duration_s is not None)
    if countable and rng.random() < style.count_rate:
        count, before = _count_text(rng, style, reps if exercise else None, duration_s)
        count = count.upper() if style.case == "upper" else count
        if before:
            name = f"{count} {name}"
        else:
            name = name + (" " if count.startswith(("x", "X", "(")) else style.separator) + count
    if style.numbering is not None and (exercise or style.number_all):
        name = _prefix(style, index if index is not None else int(rng.integers(1, 13))) + name
    if rng.random() < style.timestamp_rate:
        stamp = f"{int(rng.integers(0, 40))}:{int(rng.integers(0, 60)):02d}"
        name = f"{stamp} {name}" if rng.random() < 0.6 else f"{name} [{stamp}]"
    if rng.random() < style.emoji_rate:
        bank = EXERCISE_EMOJI if exercise else NON_EXERCISE_EMOJI[kind]
        n = pick(rng, (1, 2, 3), p=[0.7, 0.2, 0.1])
        emoji = pick(rng, bank) * n if rng.random() < 0.5 else "".join(pick(rng, bank) for _ in range(n))
        name = f"{name} {emoji}" if rng.random() < 0.8 else f"{emoji} {name}"
    return name, typo
