"""Synthetic FiMAD text: uploader-style chapter titles, their normalisation, instructor captions, descriptions."""

from __future__ import annotations

import re

import numpy as np

from mujo.fimad.chapter_norm import normalize_chapter
from mujo.synth.text_cues import ANNOUNCE, ASR_TAGS, CLOSERS, CUES, GENERIC_CUES, OPENERS, SEGMENT_LINES, number_words
from mujo.synth.text_descriptions import description
from mujo.synth.text_titles import TitleStyle, check_args, display_name, draw_title, pick
from mujo.synth.text_vocab import (
    CANONICAL_DISPLAY,
    EXERCISE_KINDS,
    KEYWORDS,
    NON_EXERCISE_KINDS,
    SIDED_KINDS,
    TIMED_NON_EXERCISE,
    TITLE_NAMES,
)

__all__ = ["CANONICAL_DISPLAY", "EXERCISE_KINDS", "KEYWORDS", "NON_EXERCISE_KINDS", "SIDED_KINDS", "SUPPORTED_KINDS",
           "TitleStyle", "caption", "chapter_title", "description", "display_name", "normalize_chapter"]

SUPPORTED_KINDS: tuple[str, ...] = tuple(CANONICAL_DISPLAY)


def chapter_title(rng: np.random.Generator, kind: str, *, side: str | None = None, reps: int | None = None,
                  duration_s: float | None = None, style: TitleStyle | None = None, index: int | None = None) -> str:
    """A chapter title as a YouTube uploader would write it for one clip.

    Args:
        rng: the only source of randomness (same generator state -> same title).
        kind: canonical kind ("squat", "lunge", "rest", ...); an unknown kind gets a title made of its words.
        side: "left" / "right" for one-sided sets (written "L", "(R)", "lft", "- Left", ...), else None.
        reps: repetitions, sometimes shown ("x10", "10x", "10 reps").
        duration_s: length of the set, sometimes shown ("30 sec", "45s", "0:30", "Rest 30s").
        style: the uploader's style; pass one `TitleStyle.sample(rng)` for all chapters of a video so they read
            alike. None samples a fresh style per title.
        index: the chapter's number when the style numbers chapters ("3. Squats"); None draws one.

    Returns:
        The title: any case, possibly with numbering, counts, emoji, a timestamp and a typo.
    """
    return draw_title(rng, kind, side, reps, duration_s, style, index)[0]


def _spoken_name(rng: np.random.Generator, kind: str) -> str:
    """An exercise name as said aloud: a title variant without abbreviations or brackets."""
    names = [n for n in TITLE_NAMES.get(kind, ()) if "(" not in n and not any(
        w.isupper() and len(w) > 1 for w in n.split())]
    name = pick(rng, names) if names else display_name(kind)
    return name.lower().replace("w/", "with").replace("-", " ")


def _spoken_count(rng: np.random.Generator, reps: int | None, duration_s: float | None) -> str:
    if reps is not None:
        return f"{number_words(int(reps))} reps"
    if duration_s is not None:
        sec = int(round(duration_s))
        return "one minute" if sec == 60 else f"{number_words(sec)} seconds"
    return ""


def caption(rng: np.random.Generator, kind: str, *, side: str | None = None, reps: int | None = None,
            duration_s: float | None = None) -> str:
    """What the instructor says during the clip, as YouTube's automatic captions write it.

    Args:
        rng: the only source of randomness.
        kind: canonical kind; exercises get at least one cue specific to them ("knees behind your toes").
        side, reps, duration_s: as for `chapter_title`; spoken as "left side", "ten reps", counting, "ten seconds
            left".

    Returns:
        Lower-case words without punctuation (apostrophes kept), possibly with "[Music]"-style tags.
    """
    side = check_args(kind, side, reps, duration_s)
    parts: list[str] = []
    if rng.random() < 0.15:
        parts.append(pick(rng, ASR_TAGS))
    if kind in NON_EXERCISE_KINDS:
        lines = SEGMENT_LINES[kind]
        order = rng.permutation(len(lines))[: int(rng.integers(3, min(6, len(lines)) + 1))]
        parts += [lines[i] for i in sorted(order)]  # bank order is speaking order (greeting before goodbye)
        if kind in TIMED_NON_EXERCISE and duration_s is not None and rng.random() < 0.6:
            parts.insert(len(parts) - 1, "take " + _spoken_count(rng, None, duration_s))
        return _clean(" ".join(parts))
    if rng.random() < 0.7:
        parts.append(pick(rng, OPENERS))
    extra = []
    if side is not None:
        extra.append(pick(rng, (f"{side} side", f"on the {side}", f"{side} leg", f"starting {side}")))
    if rng.random() < 0.6:
        extra.append(_spoken_count(rng, reps, duration_s))
    parts.append(pick(rng, ANNOUNCE).format(name=_spoken_name(rng, kind), extra=" ".join(extra)))
    specific = CUES.get(kind, GENERIC_CUES)
    body = [specific[i] for i in rng.permutation(len(specific))[: int(rng.integers(1, 4))]]
    body += [GENERIC_CUES[i] for i in rng.permutation(len(GENERIC_CUES))[: int(rng.integers(0, 3))]]
    body = [body[0]] + [body[i] for i in 1 + rng.permutation(len(body) - 1)]  # one specific cue comes first
    if reps is not None:
        counted = " ".join(number_words(i) for i in range(1, min(int(reps), 12) + 1))
        body.insert(int(rng.integers(1, len(body) + 1)), counted)
    elif duration_s is not None:
        body.append(pick(rng, ("ten seconds left", "five more seconds", "five four three two one",
                                "halfway there", "last few seconds")))
    parts += body
    if rng.random() < 0.7:
        parts.append(pick(rng, CLOSERS))
    return _clean(" ".join(parts))


def _clean(text: str) -> str:
    """Lower case, no punctuation, single spaces; "[Music]"-style tags keep their spelling."""
    tokens = re.split(r"(\[[A-Za-z]+\])", text)
    out = [t if t.startswith("[") else re.sub(r"[^\w' ]+", " ", t.lower()) for t in tokens]
    return " ".join(" ".join(out).split())
