"""The four NULL-class signals of a clip, each in [0, 1] (1 = looks like NULL) with a short reason.

Pure numpy over arrays and strings, so each signal can be tested on hand-made inputs; `mujo.curation.suggest`
gathers the inputs from a dataset, an embedding store and a checkpoint.

1. text cues: keywords of NULL chapters (intro, rest, water, how to ...) against exercise vocabulary.
2. prompt distance: a clip far from every activity prompt in the joint space is NULL-like.
3. motion energy: a quiet IMU is NULL-like.
4. uncertainty: a flat softmax over the activity prompts is NULL-like.
Signals 2-4 are rank-normalised over the clips they are computed on (their raw scales depend on the model and the
sensor); the raw values stay in the reasons.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from typing import Sequence

import numpy as np

G = 9.80665  # m/s² per g

# --- 1. text cues -----------------------------------------------------------------------------------------------
# Phrases of NULL chapters -> how sure a match makes us (1 = such a chapter is never an exercise). Matched as whole
# words on lower-cased text with punctuation removed ("Cool-down!" reads "cool down"); a trailing "*" matches any
# ending ("stretch*": stretching, stretches). Written for real uploads, not taken from the synthetic generator.
NULL_CUES: dict[str, float] = {
    # intro / outro
    "intro*": 1.0, "welcome": 1.0, "overview": 0.8, "before we start": 1.0, "get started": 0.7, "start": 0.5,
    "hey guys": 0.9, "hello": 0.8, "outro": 1.0, "ending": 0.9, "the end": 1.0, "end": 0.7, "final words": 1.0,
    "wrap": 0.8, "thanks": 1.0, "thank you": 1.0, "subscrib*": 1.0, "see you": 0.9, "bye": 0.9, "conclusion": 1.0,
    "recap": 0.8, "summary": 0.8, "credits": 1.0, "sponsor*": 1.0, "giveaway": 1.0, "announcement*": 0.9,
    # rest and breaks
    "rest": 1.0, "break": 0.9, "pause": 0.9, "recover*": 0.8, "breather": 0.9, "catch your breath": 1.0,
    "breathe": 0.5, "transition": 0.7, "get ready": 0.6,
    # water
    "water": 1.0, "hydrat*": 1.0, "drink*": 1.0, "sip": 0.8,
    # explanation
    "explanation*": 1.0, "explain*": 1.0, "how to": 1.0, "tutorial": 1.0, "demo": 0.7, "demonstration": 0.7,
    "technique": 0.7, "form tips": 1.0, "tips": 0.7, "instruction*": 0.9, "talk": 0.8, "equipment": 0.6,
    # cool-down (stretches are exercises in some datasets: a hint, not proof)
    "cool down": 0.9, "cooldown": 0.9, "stretch*": 0.6, "relax*": 0.6, "meditat*": 0.7, "warm up": 0.3,
}

# Exercise vocabulary -> weight: a match argues against NULL. Counts ("x10", "12 reps") mark exercise sets; a
# duration ("30 s") does not, rest periods carry one too.
EXERCISE_CUES: dict[str, float] = {
    **dict.fromkeys((
        "squat*", "lunge*", "push up*", "pushup*", "press up*", "sit up*", "situp*", "crunch*", "plank*",
        "burpee*", "jumping jack*", "jacks", "star jump*", "high knee*", "kick*", "kickback*", "curl*", "deadlift*",
        "thrust*", "bridge*", "twist*", "climber*", "skater*", "punch*", "boxing", "jab*", "sprint*", "jog*",
        "step up*", "dip*", "pull up*", "pullup*", "chin up*", "extension*", "shrug*", "superm*", "inchworm*",
        "walkout*", "flutter*", "scissor*", "bicycle*", "calf", "calves", "wall sit*", "row", "rows", "rowing",
        "press", "presses", "ohp", "raise*", "lift*", "swing*", "snatch*", "thruster*", "fly", "flyes", "flies",
        "mountain climber*", "russian twist*", "burpies", "dead bug*", "bird dog*", "crawl*", "toe touch*",
        "v up*", "windmill*", "good morning*", "hydrant*", "sumo", "wood chop*", "clamshell*", "jump rope"), 1.0),
    **dict.fromkeys(("jump*", "hop*", "skip*", "run", "running", "march*", "circle*", "rotation*", "reps", "rep",
                     "repetitions", "kettlebell*", "barbell*", "dumbbell*", "tabata", "hiit", "amrap", "emom",
                     "glute*", "tricep*", "bicep*"), 0.8),
    **dict.fromkeys(("leg*", "arm*", "hip*", "heel*", "knee*", "shoulder*", "abs", "cardio", "left", "right",
                     "hold", "circuit"), 0.5),
    **dict.fromkeys(("exercise", "core", "chest", "set", "sets", "round", "rounds", "band", "workout"), 0.3),
}
# "x10", "x 10", "10x", "3x12": a set's count.
_COUNT = re.compile(r"(?:^| )(?:x ?\d+|\d+ ?x|\d+x\d+)(?= |$)")
COUNT_WEIGHT = 0.8

# How much each text field counts; a chapter title is short and deliberate, captions and descriptions are long
# and mention "rest" or "breathe" inside exercise chapters too.
FIELD_WEIGHTS: dict[str, float] = {"chapter": 1.0, "caption": 0.25, "description": 0.25}


def _compile(cues: dict[str, float]) -> list[tuple[str, float, re.Pattern[str]]]:
    out = []
    for cue, w in cues.items():
        stem = cue.rstrip("*")
        tail = r"\w*" if cue.endswith("*") else ""
        out.append((stem, w, re.compile(rf"(?:^| ){re.escape(stem)}{tail}(?= |$)")))
    return out


_NULL_PATTERNS = _compile(NULL_CUES)
_EXERCISE_PATTERNS = _compile(EXERCISE_CUES)


def clean_text(text: object) -> str:
    """Lower-case words separated by single spaces: NFKC, apostrophes dropped, every other symbol a space."""
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"['’‘`´]", "", s)
    s = re.sub(r"[^\w]+|_", " ", s)
    return " ".join(s.split())


def _noisy_or(weights: list[float]) -> float:
    return float(1.0 - np.prod([1.0 - w for w in weights])) if weights else 0.0


def text_evidence(text: object) -> tuple[float, list[str], list[str]]:
    """A field's score 0.5 + (NULL evidence - exercise evidence) / 2, and the NULL and exercise cues it matched.

    Evidence is the noisy-or of the matched cues' weights, so several weak cues add up but never pass 1; a text
    with no cue scores 0.5 (no opinion).
    """
    s = clean_text(text)
    if not s:
        return 0.5, [], []
    nulls = [(stem, w) for stem, w, p in _NULL_PATTERNS if p.search(s)]
    # A longer phrase that matched ("cool down") makes its parts' weaker cues redundant.
    nulls = [(c, w) for c, w in nulls if not any(c != o and c in o for o, _ in nulls)]
    ex = [(stem, w) for stem, w, p in _EXERCISE_PATTERNS if p.search(s)]
    ex = [(c, w) for c, w in ex if not any(c != o and c in o for o, _ in ex)]
    if _COUNT.search(s):
        ex.append(("x N", COUNT_WEIGHT))
    n, e = _noisy_or([w for _, w in nulls]), _noisy_or([w for _, w in ex])
    by_weight = lambda cues: [c for c, _ in sorted(cues, key=lambda cw: -cw[1])]  # noqa: E731
    return 0.5 + 0.5 * (n - e), by_weight(nulls), by_weight(ex)


def _quote(cues: list[str], n: int = 2) -> str:
    return ", ".join(f"'{c}'" for c in cues[:n])


def text_signal(fields: dict[str, Sequence[object]], field_weights: dict[str, float] | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """Text-cue scores of N clips from their text fields.

    Args:
        fields: {"chapter": (N,) titles, "caption": ..., "description": ...}; any subset, None/NaN/"" = empty.
        field_weights: how much each field counts (default FIELD_WEIGHTS; unknown fields count 0.25).
    Returns:
        ((N,) scores in [0, 1], NaN where every field is empty; (N,) reasons).
    """
    fw = FIELD_WEIGHTS if field_weights is None else field_weights
    names = [f for f in fields if fw.get(f, 0.25) > 0]
    n = len(next(iter(fields.values()))) if fields else 0
    scores, reasons = np.full(n, np.nan), []
    for i in range(n):
        total = weight = 0.0
        parts: list[str] = []  # the first non-empty field's evidence; later fields' only while none had a cue
        cued = False
        for f in names:
            text = fields[f][i]
            if not clean_text(text):
                continue
            score, nulls, ex = text_evidence(text)
            w = fw.get(f, 0.25)
            total, weight = total + w * score, weight + w
            if cued:
                continue
            if nulls and ex:
                parts.append(f"{f} mentions {_quote(nulls)} but also {_quote(ex)}")
            elif nulls:
                parts.append(f"{f} mentions {_quote(nulls)}")
            elif ex:
                parts.append(f"{f} names an exercise ({_quote(ex)})")
            elif not parts:
                parts.append(f"no cue in {f}")
            cued = bool(nulls or ex)
        if weight > 0:
            scores[i] = total / weight
            reasons.append("; ".join(parts))
        else:
            reasons.append("not available (no text)")
    return scores, reasons


# --- shared: rank normalisation --------------------------------------------------------------------------------
def rank_score(values: np.ndarray, *, low_is_null: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normalise finite values into (0, 1): (score, percentile of the raw value in 0..100); NaN stays NaN.

    Ties share their mean rank; a single value scores 0.5.
    """
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    pct = np.full(v.shape, np.nan)
    n = int(ok.sum())
    if n:
        x = v[ok]
        order = np.argsort(x, kind="stable")
        ranks = np.empty(n)
        ranks[order] = np.arange(n, dtype=np.float64)
        _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
        sums = np.bincount(inv.ravel(), weights=ranks)
        ranks = sums[inv.ravel()] / counts[inv.ravel()]  # mean rank of each tie group
        pct[ok] = (ranks + 0.5) / n  # (0, 1)
    score = 1.0 - pct if low_is_null else pct
    return score, pct * 100.0


def ordinal(p: float) -> str:
    """'5th', '21st', '42nd' ... of a percentile in 0..100."""
    k = int(round(p))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


# --- 3. motion energy ------------------------------------------------------------------------------------------
def motion_energy(acc: np.ndarray, fps: float, trim: float = 0.15) -> tuple[float, float]:
    """(energy, jerk) of one clip's accelerometer, averaged over sites, NaN samples ignored.

    energy: the std over time of the acceleration magnitude, in g (gravity cancels: a still sensor reads 0).
    jerk: the mean magnitude of d(acc)/dt, in g/s.
    Args:
        acc: (T, S, 3) m/s²; trim: fraction cut from each end (the trainer talks there), skipped for short clips.
    Returns:
        (energy, jerk); NaN when fewer than 3 finite samples remain.
    """
    a = np.asarray(acc, np.float32)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"acc must be (T, S, 3), got {a.shape}")
    cut = int(len(a) * trim)
    if len(a) - 2 * cut >= 10:
        a = a[cut: len(a) - cut]
    mag = np.linalg.norm(a, axis=-1)  # (T, S), NaN where a sample is missing
    if np.isfinite(mag).sum(axis=0).max(initial=0) < 3:
        return float("nan"), float("nan")
    with warnings.catch_warnings():  # an all-NaN site ("mean of empty slice") is expected and ignored
        warnings.simplefilter("ignore", RuntimeWarning)
        energy = np.nanmean(np.nanstd(mag, axis=0)) / G
        jerk = np.nanmean(np.linalg.norm(np.diff(a, axis=0), axis=-1)) * fps / G  # (T-1, S) -> scalar
    return float(energy), float(jerk)


def energy_signal(energy: np.ndarray, missing: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Low motion energy = NULL-like, rank-normalised. `missing[i]` explains a NaN energy (default: no IMU)."""
    score, pct = rank_score(energy, low_is_null=True)
    reasons = []
    for i, (e, p) in enumerate(zip(np.asarray(energy, float), pct)):
        if np.isfinite(e):
            reasons.append(f"IMU energy {e:.2f} g ({ordinal(p)} percentile)")
        else:
            why = missing[i] if missing is not None and missing[i] else "no IMU"
            reasons.append(f"not available ({why})")
    return score, reasons


# --- 2. prompt distance and 4. uncertainty ---------------------------------------------------------------------
def clip_means(vectors: np.ndarray, clip_ids: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm mean embedding per clip: (N, D) window rows -> (clip ids sorted, (C, D) float32).

    Reads `vectors` (may be a float16 memmap) in chunks; a clip's windows need not be contiguous.
    """
    ids, codes = np.unique(np.asarray(clip_ids).astype(str), return_inverse=True)
    codes = codes.ravel()
    sums = np.zeros((len(ids), vectors.shape[1]), np.float64)
    for lo in range(0, len(codes), chunk):
        c = codes[lo: lo + chunk]
        v = np.asarray(vectors[lo: lo + chunk], np.float32)  # (n, D)
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # runs of one clip
        np.add.at(sums, c[starts], np.add.reduceat(v, starts, axis=0))
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return ids, sums.astype(np.float32)


def prompt_signal(sims: np.ndarray, prompt_names: Sequence[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Far from every activity prompt = NULL-like: 1 - rank of the max cosine similarity.

    Args:
        sims: (C, K) cosine similarities of clips to activity prompts, NaN rows for clips without an embedding.
        prompt_names: (K,) what each prompt says.
    Returns:
        ((C,) scores, (C,) reasons, (C,) max similarity).
    """
    sims = np.asarray(sims, np.float64)
    ok = np.isfinite(sims).all(axis=1) & (sims.shape[1] > 0)
    best = np.full(len(sims), np.nan)
    arg = np.zeros(len(sims), np.int64)
    if ok.any():
        best[ok] = sims[ok].max(axis=1)
        arg[ok] = sims[ok].argmax(axis=1)
    score, pct = rank_score(best, low_is_null=True)
    reasons = []
    for i in range(len(sims)):
        if not ok[i]:
            reasons.append("not available (no embedding of this clip)")
            continue
        level = "low" if pct[i] < 33.4 else "high" if pct[i] > 66.6 else "medium"
        reasons.append(f"max similarity to any activity prompt {best[i]:.2f} ({level}; "
                       f"{ordinal(pct[i])} percentile), nearest '{prompt_names[arg[i]]}'")
    return score, reasons, best


def uncertainty_signal(sims: np.ndarray, temperature: float = 0.1) -> tuple[np.ndarray, list[str], np.ndarray]:
    """A flat prediction = NULL-like: rank of the normalised entropy of softmax(sims / temperature).

    Returns:
        ((C,) scores, (C,) reasons, (C,) entropy / log K in [0, 1]); NaN for clips without similarities or K < 2.
    """
    sims = np.asarray(sims, np.float64)
    k = sims.shape[1] if sims.ndim == 2 else 0
    ok = np.isfinite(sims).all(axis=1) if k else np.zeros(len(sims), bool)
    ent = np.full(len(sims), np.nan)
    if k >= 2 and ok.any():
        z = sims[ok] / max(float(temperature), 1e-6)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)  # (C, K)
        ent[ok] = -(p * np.log(np.maximum(p, 1e-300))).sum(axis=1) / np.log(k)
    score, pct = rank_score(ent, low_is_null=False)
    reasons = []
    for i in range(len(sims)):
        if k < 2:
            reasons.append("not available (needs at least two activity prompts)")
        elif not ok[i]:
            reasons.append("not available (no embedding of this clip)")
        else:
            reasons.append(f"prediction entropy {ent[i]:.2f} of max ({ordinal(pct[i])} percentile, "
                           f"T={temperature:g})")
    return score, reasons, ent
