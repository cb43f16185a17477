"""Chapter-title normalisation as in the MuJo paper: expand abbreviations, drop stop words, numbers and symbols."""

from __future__ import annotations

import html
import math
import re
import unicodedata

# Abbreviations uploaders use, expanded token by token (the paper: "l" -> "left", "r" -> "right").
ABBREVIATIONS: dict[str, str] = {
    "l": "left", "lft": "left", "lt": "left", "lef": "left",
    "r": "right", "rt": "right", "rgt": "right", "rght": "right",
    "db": "dumbbell", "dbs": "dumbbells", "kb": "kettlebell", "kbs": "kettlebells", "bb": "barbell",
    "bw": "bodyweight", "alt": "alternating", "ext": "extension", "exts": "extensions",
    "tri": "tricep", "tris": "triceps", "bi": "bicep", "bis": "biceps", "mtn": "mountain",
    "ohp": "overhead press", "oh": "overhead", "jj": "jumping jack", "jjs": "jumping jacks",
    "sl": "single leg", "sa": "single arm", "ea": "each",
}

# English stop words (NLTK's list, apostrophes dropped as this normaliser drops them) minus the words that carry
# meaning in exercise names: "up" (push up), "down", "over" (bent over row), "out", "in", "on", "off", "under",
# "above", "below", "through", "back", "front", "side", and "how" (a "How to do it" chapter is a tutorial, not an
# exercise; without "how" its normalised title would be empty).
STOP_WORDS: frozenset[str] = frozenset("""
i me my myself we our ours ourselves you youre youve youll youd your yours yourself yourselves he him his himself
she shes her hers herself it its itself they them their theirs themselves what which who whom this that thatll
thats these those am is are was were be been being have has had having do does did doing a an the and but if or
because as until while of at by for with about against between into during before after to from again further
then once here there when where why all any both each few more most other some such no nor not only own same
so than too very s t can will just don dont should shouldve now d ll m o re ve y ain aren arent couldn couldnt
didn didnt doesn doesnt hadn hadnt hasn hasnt haven havent isn isnt ma mightn mightnt mustn mustnt needn neednt
shan shant shouldn shouldnt wasn wasnt weren werent won wont wouldn wouldnt lets im ive id x
""".split())

# Count words that never name an exercise ("10 reps", "30 sec"): dropped wherever they stand.
COUNT_WORDS: frozenset[str] = frozenset({"reps", "rep", "repetitions", "repetition", "sec", "secs", "seconds",
                                         "min", "mins", "minutes"})

# An HTML-like tag: "<b>", "</b>", "<script ...>", "<!-- -->"; "<- hard ->" or "<3" are left as text.
_TAG = re.compile(r"<\s*/?\s*[^\W\d_][^<>]{0,200}>|<!--.{0,1000}?-->|<![^<>]{0,200}>", re.DOTALL)
_APOSTROPHES = str.maketrans({c: "'" for c in "’‘ʼ`´′"})
_NUM = r"\d+(?:[.,]\d+)?"
# Applied in order on the lower-cased title, each match replaced by a space.
_COUNT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    r"\b\d{1,2}(?::\d{2}){1,2}\b",                                          # timestamps 0:45, 1:02:30
    rf"\b{_NUM}\s*[x×*]\s*{_NUM}\b",                                         # 3x12, 3 x 12
    rf"(?<![^\W\d_])[x×]\s*{_NUM}\b",                                        # x10, x 10 (not "box 10")
    rf"\b{_NUM}\s*[x×](?![^\W\d_])",                                         # 10x
    rf"\b{_NUM}\s*(?:reps?|repetitions?|secs?|seconds?|mins?|minutes?|sets?|rounds?|times|counts?|each)\b",
    rf"\b{_NUM}(?:s|m|h)\b",                                                 # 45s, 1m
    r"\b\d+(?:st|nd|rd|th)\b",                                               # ordinals
    r"\b(?:exercise|ex|move|round|set|part|no|nr|number|chapter|step|station|block|circuit)\s*\.?\s*#?\s*\d+\b",
    r"#\s*\d+",
    r"\b(?:each|per|every|both|e)\s*(?:/|\s)\s*(?:side|leg|arm)s?\b",       # each side, per leg, e/s
    r"\be/s\b",
))
_WITHOUT = re.compile(r"\bw/o\b")
_WITH = re.compile(r"\bw/")
_LAT_RAISE = re.compile(r"\blat(s?)\s+(raise)")


def _strip_symbols(s: str) -> str:
    """Keep letters and the combining marks that follow them; every other character (digits, emoji, symbols,
    punctuation, control characters) becomes a space. Apostrophes vanish so "let's" reads "lets"."""
    out: list[str] = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            out.append(ch)
        elif cat[0] == "M" and out and out[-1] != " " and not 0xFE00 <= ord(ch) <= 0xFE0F:
            out.append(ch)  # accents and Indic vowel signs belong to their word; emoji variation selectors do not
        elif ch == "'":
            continue
        elif not out or out[-1] != " ":
            out.append(" ")
    return "".join(out)


def normalize_chapter(title: str | None) -> str:
    """Normalise a chapter title the way the paper did before embedding it.

    Unicode is NFKC-folded, HTML entities and tags are removed (a tag's text is kept as text), abbreviations are
    expanded ("L" -> "left", "db" -> "dumbbell", "w/" -> "with"), counts ("x10", "10 reps", "45s"), numbering
    ("3.", "#3", "Exercise 3 -"), timestamps, numbers, emoji and symbols are removed, stop words dropped,
    everything lower-cased and whitespace collapsed. Typos are not corrected (the paper does not).

    Args:
        title: the raw chapter title; None or a float NaN (an empty clips.csv cell) gives "".

    Returns:
        The normalised title: lower-case words separated by single spaces, possibly "".
    """
    if title is None or (isinstance(title, float) and math.isnan(title)):
        return ""
    if not isinstance(title, str):
        raise TypeError(f"normalize_chapter: title must be a string, got {type(title).__name__}: {title!r}")
    s = html.unescape(unicodedata.normalize("NFKC", title))
    s = _TAG.sub(" ", s)
    s = s.lower().translate(_APOSTROPHES)
    s = _WITHOUT.sub(" without ", s)
    s = _WITH.sub(" with ", s)
    for pattern in _COUNT_PATTERNS:
        s = pattern.sub(" ", s)
    s = _LAT_RAISE.sub(r"lateral \2", s)
    words: list[str] = []
    for token in _strip_symbols(s).split():
        for word in ABBREVIATIONS.get(token, token).split():
            if word not in STOP_WORDS and word not in COUNT_WORDS:
                words.append(word)
    return " ".join(words)
