"""Retrieval metrics against naive loops, tie handling against enumeration, retrieval_eval on constructed stores."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mujo.eval.embed import STORE_VERSION, EmbeddingStore
from mujo.eval.metrics import FirstRelevant, chance, first_relevant, mrr, ranks_to_outcome, recall_at_k
from mujo.eval.retrieval import format_matrix, load_retrieval, retrieval_eval, save_retrieval
from mujo.modality import Modality

# --- metrics ---------------------------------------------------------------------------------------------------

def naive_first_rank(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based rank of the first relevant target, by sorting each row (no ties in the data)."""
    out = []
    for s, r in zip(scores, relevant):
        order = np.argsort(-s)
        out.append(next(pos for pos, j in enumerate(order, start=1) if r[j]))
    return np.array(out)


def test_first_relevant_matches_naive_loop_without_ties() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((40, 30))
    relevant = rng.random((40, 30)) < 0.1
    relevant[np.arange(40), rng.integers(0, 30, 40)] = True
    o = first_relevant(scores, relevant)
    ranks = naive_first_rank(scores, relevant)
    np.testing.assert_array_equal(o.best_rank, ranks)
    np.testing.assert_array_equal(o.worst_rank, ranks)
    for k in (1, 5, 10):
        assert recall_at_k(o, k) == pytest.approx(np.mean([r <= k for r in ranks]))
        assert recall_at_k(ranks, k) == pytest.approx(np.mean([r <= k for r in ranks]))
    assert mrr(o) == pytest.approx(np.mean([1 / r for r in ranks]))
    assert mrr(ranks) == pytest.approx(mrr(o))


def enumerate_ties(g: int, t: int, m: int, k: int) -> tuple[float, float]:
    """Exact (R@k, reciprocal rank) expectation by listing every order of the tied group."""
    items = [0] * t + [1] * m
    hits, rr, n = 0.0, 0.0, 0
    for perm in set(itertools.permutations(items)):
        first = g + perm.index(1) + 1
        hits += first <= k
        rr += 1 / first
        n += 1
    return hits / n, rr / n


@pytest.mark.parametrize("g, t, m", [(0, 0, 1), (0, 3, 1), (2, 3, 2), (0, 4, 3), (5, 2, 1), (1, 5, 2), (9, 0, 1)])
def test_tie_expectations_equal_enumeration(g: int, t: int, m: int) -> None:
    o = FirstRelevant(np.array([g]), np.array([t]), np.array([m]))
    for k in (1, 2, 3, 5, 10):
        want_r, want_rr = enumerate_ties(g, t, m, k)
        assert recall_at_k(o, k) == pytest.approx(want_r)
        assert mrr(o) == pytest.approx(want_rr)


def test_ties_counted_from_scores() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]])
    relevant = np.array([[True, False, False, True, False]])
    o = first_relevant(scores, relevant)
    assert (o.above[0], o.tied[0], o.tied_relevant[0]) == (1, 1, 2)


def test_chance_levels() -> None:
    n, m = 100, np.array([1, 4])
    c = chance(n, m)
    # One relevant among n: R@k = k / n and MRR = H(n) / n.
    assert recall_at_k(c, 10, reduce=False)[0] == pytest.approx(0.1)
    assert mrr(c, reduce=False)[0] == pytest.approx(sum(1 / i for i in range(1, n + 1)) / n)
    # m relevant: R@k = 1 - C(n - m, k) / C(n, k).
    assert recall_at_k(c, 5, reduce=False)[1] == pytest.approx(1 - math.comb(96, 5) / math.comb(100, 5))
    rng = np.random.default_rng(1)  # and a simulation of random rankings agrees
    sims = [naive_first_rank(rng.random((1, n)), (np.arange(n) < 4)[None])[0] for _ in range(4000)]
    assert mrr(c, reduce=False)[1] == pytest.approx(np.mean(1 / np.array(sims)), abs=0.01)


def test_metric_input_checks() -> None:
    with pytest.raises(ValueError, match="no relevant"):
        first_relevant(np.zeros((2, 3)), np.array([[True, False, False], [False] * 3]))
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(np.array([1]), 0)
    with pytest.raises(ValueError, match="1-based"):
        ranks_to_outcome(np.array([0]))
    assert math.isnan(mrr(np.zeros(0, np.int64)))


# --- retrieval_eval on constructed stores -----------------------------------------------------------------------

def make_store(folder: Path, vectors: dict[str, np.ndarray], clip_ids: list[str], splits: list[str]) -> EmbeddingStore:
    """An embedding store folder written by hand (the layout embed_dataset writes)."""
    folder.mkdir(parents=True)
    n = len(clip_ids)
    index = pd.DataFrame({"clip_id": clip_ids, "start": np.arange(n) * 50, "t0_s": np.arange(n) * 1.0,
                          "split": splits, "video_id": "v", "label": None, "chapter": "c"})
    index.to_parquet(folder / "index.parquet", index=False)
    for m, v in vectors.items():
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        np.save(folder / f"{m}.npy", v.astype(np.float16))
    meta = {"version": STORE_VERSION, "modalities": list(vectors), "n_windows": n,
            "dims": {m: v.shape[1] for m, v in vectors.items()}, "checkpoint": str(folder / "ckpt"),
            "checkpoint_id": "abc", "dataset": "/data/x", "dataset_name": "x", "dataset_id": "x-123"}
    (folder / "meta.json").write_text(json.dumps(meta))
    return EmbeddingStore.open(folder)


def clips_layout(n_clips: int, per_clip: int) -> tuple[list[str], list[str]]:
    clip_ids = [f"c{i:03d}" for i in range(n_clips) for _ in range(per_clip)]
    splits = ["val" if i % 2 else "train" for i in range(n_clips) for _ in range(per_clip)]
    return clip_ids, splits


def test_identical_embeddings_give_perfect_retrieval(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clip_ids, splits = clips_layout(30, 4)
    n = len(clip_ids)
    window = rng.standard_normal((n, 16))
    clip_vec = rng.standard_normal((30, 16))[np.repeat(np.arange(30), 4)]
    # Windows of a clip lie near their clip's text, so text queries find their own clip's windows first.
    imu = clip_vec + 0.05 * window
    store = make_store(tmp_path / "s", {"imu": imu, "pose": imu.copy(), "text": clip_vec}, clip_ids, splits)
    df = retrieval_eval(store, "val").set_index(["query", "target"])
    assert len(df) == 6
    assert df.loc[("pose", "imu"), "R@1"] == 1.0 and df.loc[("imu", "pose"), "MRR"] == 1.0
    assert df.loc[("pose", "imu"), "n_queries"] == 60 and df.loc[("pose", "imu"), "n_targets"] == 60
    assert df.loc[("text", "imu"), "n_queries"] == 15 and df.loc[("imu", "text"), "n_targets"] == 15
    assert df.loc[("text", "imu"), "R@1"] == 1.0 and df.loc[("imu", "text"), "R@1"] == 1.0
    assert df.loc[("pose", "imu"), "chance_R@1"] == pytest.approx(1 / 60)
    assert df.loc[("text", "imu"), "chance_R@1"] == pytest.approx(4 / 60)  # 4 relevant windows of 60
    assert df.loc[("imu", "text"), "chance_R@5"] == pytest.approx(5 / 15)
    table = format_matrix(df.reset_index())
    assert table.loc["pose", "imu"].startswith("100.0 (1.7)")


def test_random_embeddings_score_near_chance(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clip_ids, splits = clips_layout(400, 3)
    n = len(clip_ids)
    store = make_store(tmp_path / "s", {m: rng.standard_normal((n, 32)) for m in ("imu", "pose", "text")},
                       clip_ids, splits)
    df = retrieval_eval(store, "val")
    for _, r in df.iterrows():
        assert abs(r["R@10"] - r["chance_R@10"]) < 0.05 + r["chance_R@10"], (r["query"], r["target"])
        assert abs(r["MRR"] - r["chance_MRR"]) < 0.03, (r["query"], r["target"])


def test_duplicate_texts_count_as_ties(tmp_path: Path) -> None:
    # Every clip has the same text: a window cannot tell its clip's text from the others, so it scores chance.
    rng = np.random.default_rng(2)
    clip_ids, splits = clips_layout(20, 2)
    n = len(clip_ids)
    store = make_store(tmp_path / "s", {"imu": rng.standard_normal((n, 8)), "text": np.ones((n, 8))},
                       clip_ids, splits)
    r = retrieval_eval(store, "val").set_index(["query", "target"]).loc[("imu", "text")]
    assert r["R@1"] == pytest.approx(r["chance_R@1"]) and r["MRR"] == pytest.approx(r["chance_MRR"])


def test_bad_split_and_single_modality(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    clip_ids, splits = clips_layout(4, 2)
    store = make_store(tmp_path / "s", {"imu": rng.standard_normal((8, 4)), "pose": rng.standard_normal((8, 4))},
                       clip_ids, splits)
    with pytest.raises(ValueError, match="no windows in split 'test'"):
        retrieval_eval(store, "test")
    with pytest.raises(ValueError, match="two modalities"):
        retrieval_eval(store, "val", modalities=[Modality.IMU])


def test_save_and_load_results(tmp_path: Path) -> None:
    import torch

    from mujo.models import create_model
    from mujo.models.checkpoint_io import save_checkpoint
    from mujo.store import Store

    rng = np.random.default_rng(4)
    clip_ids, splits = clips_layout(6, 2)
    store = make_store(tmp_path / "s", {"imu": rng.standard_normal((12, 4)), "pose": rng.standard_normal((12, 4))},
                       clip_ids, splits)
    ckpt = tmp_path / "ckpt"
    torch.manual_seed(0)
    save_checkpoint(ckpt, create_model("small", modalities=["pose", "imu"]), extra={})
    df = retrieval_eval(store, "val")
    db = Store(tmp_path / "db.sqlite")
    save_retrieval(df, store, "val", checkpoint_dir=ckpt, db=db)
    back = load_retrieval(ckpt)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    runs = db.runs("retrieval")
    assert len(runs) == 1 and runs.iloc[0]["checkpoint"] == str(ckpt)
    assert db.results(int(runs.iloc[0]["id"]))["retrieval/x-123/val"]["metrics"][0]["query"] in ("imu", "pose")
    assert load_retrieval(tmp_path) is None
