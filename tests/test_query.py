"""Tests for clip search and filtering (mujo.fimad.query)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mujo.fimad.query import (
    ClipFilter,
    coverage_options,
    facet_values,
    filter_clips,
    parse_coverage,
    search_mask,
)


@pytest.fixture()
def clips() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "clip_id": ["a", "b", "c", "d", "e"],
            "chapter": ["Jump Squats", "L Lunges x10", "<script>alert(1)</script>", None, "Rest"],
            "chapter_norm": ["jump squat", "left lunge", "script alert script", "push up", "rest"],
            "caption": ["Keep your chest up", "Step forward", "", "Lower slowly", np.nan],
            "description": ["A plyometric squat.", "Lunge on the left leg.", "Odd", "Chest press", "Break"],
            "split": ["train", "train", "val", "test", None],
            "label": ["jump_squat", "lunge", None, "push_up", "rest"],
            "video_id": ["v1", "v1", "v2", "v3", "v3"],
            "has_pose": [True, True, False, True, True],
            "has_imu": [True, False, True, True, True],
            "has_video": [True, True, True, False, False],
        }
    ).set_index("clip_id")
    return df


def ids(df: pd.DataFrame) -> list[str]:
    return list(df.index)


def test_empty_search_matches_all(clips: pd.DataFrame) -> None:
    assert search_mask(clips, "").all()
    assert search_mask(clips, "   \t ").all()


def test_search_is_case_insensitive_substring(clips: pd.DataFrame) -> None:
    assert ids(filter_clips(clips, ClipFilter(text="SQUAT"))) == ["a"]
    assert ids(filter_clips(clips, ClipFilter(text="lung"))) == ["b"]


def test_search_all_words_must_match_in_any_column(clips: pd.DataFrame) -> None:
    # "jump" matches chapter, "plyometric" matches description: both words present in row a.
    assert ids(filter_clips(clips, ClipFilter(text="jump plyometric"))) == ["a"]
    assert ids(filter_clips(clips, ClipFilter(text="jump lunge"))) == []
    # "chest" occurs in a's caption and d's description.
    assert ids(filter_clips(clips, ClipFilter(text="chest"))) == ["a", "d"]


def test_search_is_literal_not_regex(clips: pd.DataFrame) -> None:
    assert ids(filter_clips(clips, ClipFilter(text="<script>"))) == ["c"]
    assert ids(filter_clips(clips, ClipFilter(text="x10"))) == ["b"]
    assert ids(filter_clips(clips, ClipFilter(text=".*"))) == []
    assert ids(filter_clips(clips, ClipFilter(text="(1)"))) == ["c"]


def test_search_does_not_match_across_columns(clips: pd.DataFrame) -> None:
    # "squats" ends chapter a and "jump" starts chapter_norm a; the joined text must not glue them.
    assert search_mask(clips, "squatsjump").sum() == 0


def test_search_with_missing_columns() -> None:
    df = pd.DataFrame({"chapter": ["Plank"]}, index=pd.Index(["x"], name="clip_id"))
    assert search_mask(df, "plank").tolist() == [True]
    no_text = pd.DataFrame({"n_frames": [3]}, index=pd.Index(["x"], name="clip_id"))
    assert search_mask(no_text, "plank").tolist() == [False]
    assert search_mask(no_text, "").tolist() == [True]


def test_search_unicode_casefold() -> None:
    df = pd.DataFrame({"chapter": ["STRASSE Übung"]}, index=pd.Index(["x"], name="clip_id"))
    assert search_mask(df, "straße übung").tolist() == [True]


def test_split_label_video_filters(clips: pd.DataFrame) -> None:
    assert ids(filter_clips(clips, ClipFilter(splits=("train",)))) == ["a", "b"]
    assert ids(filter_clips(clips, ClipFilter(splits=("val", "test")))) == ["c", "d"]
    assert ids(filter_clips(clips, ClipFilter(labels=("lunge", "rest")))) == ["b", "e"]
    assert ids(filter_clips(clips, ClipFilter(video_ids=("v3",)))) == ["d", "e"]
    assert ids(filter_clips(clips, ClipFilter(text="l", splits=("train",), labels=("lunge",)))) == ["b"]


def test_filter_on_absent_column_matches_nothing() -> None:
    df = pd.DataFrame({"chapter": ["Plank"]}, index=pd.Index(["x"], name="clip_id"))
    assert filter_clips(df, ClipFilter(labels=("plank",))).empty


def test_only_problems(clips: pd.DataFrame) -> None:
    assert ids(filter_clips(clips, ClipFilter(only_problems=True), problem_ids={"c", "e", "zz"})) == ["c", "e"]
    assert filter_clips(clips, ClipFilter(only_problems=True), problem_ids=None).empty
    # Without the flag the problem ids are ignored.
    assert len(filter_clips(clips, ClipFilter(), problem_ids={"c"})) == 5


def test_coverage(clips: pd.DataFrame) -> None:
    assert ids(filter_clips(clips, ClipFilter(coverage=parse_coverage(["without video"])))) == ["d", "e"]
    assert ids(filter_clips(clips, ClipFilter(coverage=parse_coverage(["with video", "with IMU"])))) == ["a", "c"]
    assert ids(filter_clips(clips, ClipFilter(coverage=parse_coverage(["without pose"])))) == ["c"]
    # Asking for both is legitimate UI input and simply matches nothing.
    assert filter_clips(clips, ClipFilter(coverage=parse_coverage(["with pose", "without pose"]))).empty


def test_coverage_options_round_trip() -> None:
    opts = coverage_options()
    assert "with video" in opts and "without IMU" in opts
    assert len(parse_coverage(opts)) == len(opts)
    with pytest.raises(ValueError, match="unknown coverage option"):
        parse_coverage(["with smell"])


def test_facet_values(clips: pd.DataFrame) -> None:
    assert facet_values(clips, "split") == ["test", "train", "val"]
    assert facet_values(clips, "label") == ["jump_squat", "lunge", "push_up", "rest"]
    assert facet_values(clips, "nope") == []


def test_filter_keeps_order_and_returns_copy(clips: pd.DataFrame) -> None:
    out = filter_clips(clips, ClipFilter())
    assert ids(out) == ids(clips)
    out.loc["a", "chapter"] = "changed"
    assert clips.loc["a", "chapter"] == "Jump Squats"


def test_search_10k_clips_matches_a_plain_scan() -> None:
    """FiMAD's size: the vectorised search gives exactly what a per-row scan gives (its speed is measured by
    benchmarks/bench_browse.py; no wall-clock bound here)."""
    rng = np.random.default_rng(0)
    words = np.array(["squat", "lunge", "plank", "burpee", "rest", "left", "right", "jump", "push", "up"])
    n = 10_000
    df = pd.DataFrame(
        {
            "chapter": [" ".join(rng.choice(words, 3)) for _ in range(n)],
            "chapter_norm": [" ".join(rng.choice(words, 2)) for _ in range(n)],
            "caption": [" ".join(rng.choice(words, 8)) for _ in range(n)],
            "description": [" ".join(rng.choice(words, 12)) for _ in range(n)],
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="clip_id"),
    )
    mask = search_mask(df, "squat LEFT jump")
    rows = zip(*(df[c].str.casefold() for c in df.columns))
    expected = [all(any(w in t for t in row) for w in ("squat", "left", "jump")) for row in rows]
    assert mask.index.equals(df.index) and mask.tolist() == expected
    assert 0 < mask.sum() < n
