"""NULL-class suggestions: each signal on hand-made inputs, the combined ranking, filters, status and evaluation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mujo.curation import quality as nq
from mujo.curation import signals as ns
from mujo.curation import suggest as nsg
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.writer import FimadWriter

APP_TESTS = Path(__file__).resolve().parent / "app"
if str(APP_TESTS) not in sys.path:
    sys.path.insert(0, str(APP_TESTS))

FPS = 50
SITES = ("RWrist", "LWrist")
# (chapter, label, active?) per clip of a video; the NULL clips are quiet and named like breaks.
PLAN = (("Squats x10", "squat", True), ("Rest 30 s", "null_class", False), ("Lunges - Left", "lunge", True),
        ("Water break 💧", "null_class", False))


def _acc(rng: np.random.Generator, t: int, active: bool) -> np.ndarray:
    """(T, S, 3) m/s²: gravity plus noise, plus a 1 Hz swing when active."""
    acc = np.zeros((t, len(SITES), 3), np.float32)
    acc[..., 1] = 9.81
    acc += rng.normal(0, 0.05, acc.shape).astype(np.float32)
    if active:
        acc[..., 1] += (6.0 * np.sin(2 * np.pi * np.arange(t) / FPS))[:, None].astype(np.float32)
    return acc


def write_dataset(root: Path, n_videos: int = 3, *, with_imu: bool = True) -> Path:
    """n_videos x PLAN clips of 600 samples (7 windows each); video v is in split "val" when v == 1."""
    rng = np.random.default_rng(0)
    w = FimadWriter(root, name="null-test", fps=FPS, imu_sites=SITES)
    rows = []
    for v in range(n_videos):
        for i, (chapter, label, active) in enumerate(PLAN):
            cid = f"v{v}_{i}"
            if with_imu:
                w.write_imu(cid, _acc(rng, 600, active), None)
            rows.append({"clip_id": cid, "n_frames": 600, "video_id": f"v{v}", "chapter": chapter, "label": label,
                         "split": "val" if v == 1 else "train"})
    w.finish(rows)
    return root


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("null") / "hand")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tiny` synthetic preset without rendered video (pose, IMU and text are the same as tiny_synth's, which
    renders video and takes much longer): 12 clips, 8 of them NULL."""
    import torch

    from mujo.demo.presets import preset_config
    from mujo.synth.generate import generate_dataset

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("null_synth") / "tiny"
    generate_dataset(root, preset_config("tiny", with_video=False), workers=1)
    return root


# --- signals on hand-made inputs -----------------------------------------------------------------------------------
def test_text_cues_rank_breaks_above_exercises():
    chapters = ["Rest 30 s", "Jump squats", "REST", "how to do it", "Cool-down!", "Squats x10", "Tabata", "", None]
    s, reasons = ns.text_signal({"chapter": chapters})
    assert s[0] > 0.9 and s[2] > 0.9 and s[3] > 0.9 and s[4] > 0.9  # case and punctuation do not matter
    assert s[1] < 0.1 and s[5] < 0.1
    assert np.isnan(s[7]) and np.isnan(s[8])
    assert reasons[0] == "chapter mentions 'rest'"
    assert "exercise" in reasons[1] and "squat" in reasons[1]
    assert reasons[8].startswith("not available")
    assert all(isinstance(r, str) and r for r in reasons)
    # a chapter without cues gives no opinion; the caption then decides, at its smaller weight
    s2, r2 = ns.text_signal({"chapter": ["Dead lift", "Arnold"], "caption": ["", "grab your water"]})
    assert s2[0] < 0.5 and 0.5 < s2[1] < 1.0
    assert r2[1] == "no cue in chapter; caption mentions 'water'"


def test_motion_energy_quiet_below_active_and_nan_safe():
    rng = np.random.default_rng(1)
    quiet, active = _acc(rng, 500, False), _acc(rng, 500, True)
    eq, jq = ns.motion_energy(quiet, FPS)
    ea, ja = ns.motion_energy(active, FPS)
    assert eq < 0.05 < ea and jq < ja
    gappy = active.copy()
    gappy[100:200] = np.nan
    gappy[:, 1] = np.nan  # a site that never reports
    assert np.isfinite(ns.motion_energy(gappy, FPS)).all()
    assert np.isnan(ns.motion_energy(np.full((50, 2, 3), np.nan, np.float32), FPS)).all()
    with pytest.raises(ValueError, match=r"\(T, S, 3\)"):
        ns.motion_energy(np.zeros((10, 3)), FPS)
    score, reasons = ns.energy_signal(np.array([eq, ea, np.nan]), ["", "", "no IMU file"])
    assert score[0] > score[1] and np.isnan(score[2])
    assert reasons[0].startswith("IMU energy 0.0") and "percentile" in reasons[0]
    assert reasons[2] == "not available (no IMU file)"


def test_rank_score_ties_single_and_nan():
    s, pct = ns.rank_score(np.array([3.0, 1.0, 1.0, np.nan, 2.0]), low_is_null=True)
    assert np.isnan(s[3]) and s[1] == s[2] > s[4] > s[0]
    assert ((s[np.isfinite(s)] > 0) & (s[np.isfinite(s)] < 1)).all()
    assert ns.rank_score(np.array([7.0]), low_is_null=False)[0][0] == 0.5
    assert ns.ordinal(1) == "1st" and ns.ordinal(12) == "12th" and ns.ordinal(22.4) == "22nd"


def test_prompt_and_uncertainty_signals():
    prompts = np.eye(3)[:2]  # two activity prompts along x and y
    clips = np.array([[1.0, 0, 0], [0, 0, 1.0], [0.7071, 0.7071, 0], [0.9, 0.1, 0.42]])  # on x, far, between
    sims = clips @ prompts.T
    sims = np.vstack([sims, [np.nan, np.nan]])  # a clip without an embedding
    score, reasons, best = ns.prompt_signal(sims, ["squat", "lunge"])
    assert score[1] == np.nanmax(score) and score[0] < score[1]
    assert "nearest 'squat'" in reasons[0] and reasons[4].startswith("not available")
    u, ureasons, ent = ns.uncertainty_signal(sims, temperature=0.1)
    assert ent[2] == pytest.approx(1.0) and ent[1] == pytest.approx(1.0)  # equal similarities: flat
    assert ent[0] < 0.1 and u[0] < u[2]
    assert np.isnan(u[4]) and "entropy" in ureasons[0]
    one, r1, _ = ns.uncertainty_signal(sims[:, :1])
    assert np.isnan(one).all() and "two activity prompts" in r1[0]


def test_clip_means_match_a_naive_mean():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(23, 5)).astype(np.float16)
    ids = np.array(list("abcab") * 4 + ["c", "c", "a"])  # windows of a clip need not be contiguous
    got_ids, got = ns.clip_means(v, ids, chunk=4)
    for cid, row in zip(got_ids, got):
        m = v[ids == cid].astype(np.float32).mean(0)
        np.testing.assert_allclose(row, m / np.linalg.norm(m), atol=1e-5)


# --- combining, ranking, filters -----------------------------------------------------------------------------------
def test_combine_skips_missing_signals():
    df = pd.DataFrame({"text": [1.0, np.nan, 0.0, np.nan], "prompt": [0.0, 0.5, np.nan, np.nan],
                       "energy": [1.0, np.nan, np.nan, np.nan], "uncertainty": [np.nan] * 4})
    comb, n = nsg.combine(df, nsg.NullWeights(text=1, prompt=1, energy=2, uncertainty=1))
    np.testing.assert_allclose(comb[:3], [0.75, 0.5, 0.0])
    assert np.isnan(comb[3]) and n.tolist() == [3, 1, 1, 0]
    comb0, n0 = nsg.combine(df, nsg.NullWeights(text=0, prompt=1, energy=0, uncertainty=0))
    assert comb0[0] == 0.0 and np.isnan(comb0[2]) and n0[0] == 1
    with pytest.raises(ValueError, match="energy"):
        nsg.NullWeights(energy=-1)


def test_rank_clips_without_model_puts_null_first(handmade: Path):
    ds = FimadDataset(handmade)
    df = nsg.rank_clips(ds)
    assert len(df) == 12 and df["combined"].is_monotonic_decreasing
    assert ds.clips.loc[df["clip_id"], "label"].tolist()[:6] == ["null_class"] * 6
    assert df[["prompt", "uncertainty"]].isna().all().all()
    assert df["prompt_reason"].str.startswith("not available (no embedding store").all()
    assert (df["n_signals"] == 2).all() and (df["status"] == "unlabelled").all()
    for s in nsg.SIGNALS:
        assert df[f"{s}_reason"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
        vals = df[s].dropna()
        assert ((vals >= 0) & (vals <= 1)).all()
    q = nq.ranking_quality(df, nq.null_truth(ds.clips), ks=(3, 6))
    assert q.loc["combined", "ap"] == 1.0 and q.loc["energy", "ap"] == 1.0 and q.loc["combined", "p@6"] == 1.0
    assert np.isnan(q.loc["prompt", "ap"]) and q.loc["prompt", "n"] == 0


def test_no_imu_and_broken_imu_are_not_available(tmp_path: Path):
    ds = FimadDataset(write_dataset(tmp_path / "noimu", n_videos=1, with_imu=False))
    df = nsg.rank_clips(ds)
    assert df["energy"].isna().all() and (df["energy_reason"] == "not available (no IMU file)").all()
    assert df["combined"].notna().all()  # text alone still ranks
    root = write_dataset(tmp_path / "broken", n_videos=1)
    (root / "imu" / "v0_0.npz").write_bytes(b"not an npz")
    df = nsg.compute_signals(FimadDataset(root))
    assert np.isnan(df.loc[0, "energy"]) and df.loc[0, "energy_reason"].startswith("not available (IMU unreadable")


def test_filters_and_status(handmade: Path, tmp_path: Path):
    from mujo.store import Store

    ds = FimadDataset(handmade)
    store = Store(tmp_path / "s.sqlite")
    key = str(handmade.resolve())
    store.add_label_event(key, "v0_1", "null")
    store.add_label_event(key, "v0_0", "activity", activity="squat")
    store.add_label_event(key, "v2_3", "unsure")
    store.add_label_event(key, "v2_1", "bad", t0_s=1.0, t1_s=3.0)
    signals = nsg.compute_signals(ds)
    df = nsg.rank_clips(ds, store=store)
    status = dict(zip(df["clip_id"], df["status"]))
    assert status["v0_1"] == "null" and status["v0_0"] == "activity" and status["v2_3"] == "unsure"
    assert status["v2_1"] == "partly labelled" and status["v1_1"] == "unlabelled"
    labels = store.current_labels(key)
    only = nsg.rank_signals(signals, labels=labels, status="unlabelled")
    assert len(only) == 8 and (only["status"] == "unlabelled").all()
    assert set(nsg.rank_signals(signals, labels=labels, status=["null", "bad", "partly labelled"])["clip_id"]) == {
        "v0_1", "v2_1"}
    assert set(nsg.rank_signals(signals, videos="v1")["video_id"]) == {"v1"}
    assert set(nsg.rank_signals(signals, splits=["val"])["split"]) == {"val"}
    high = nsg.rank_signals(signals, min_score=0.6)
    assert len(high) == 6 and (high["combined"] >= 0.6).all()
    assert len(signals) == 12 and "combined" not in signals  # the signals table is not changed
    with pytest.raises(ValueError, match="unknown status"):
        nsg.rank_signals(signals, status="labelled")


def test_ranking_quality_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, 40).astype(float)  # many ties
    y = rng.random(40) < 0.4
    metrics = pytest.importorskip("sklearn.metrics")
    assert nq.average_precision(s, y) == pytest.approx(metrics.average_precision_score(y, s))
    assert nq.precision_at_k(np.array([3.0, 2, 2, 1]), np.array([1, 1, 0, 0], bool), 2) == pytest.approx(0.75)
    assert np.isnan(nq.average_precision(s, np.zeros(40, bool)))
    df = pd.DataFrame({"clip_id": list("abcd"), "combined": [0.9, 0.8, 0.1, np.nan], "text": [1.0, 0, 0.5, 0.2]})
    q = nq.ranking_quality(df, pd.Series({"a": True, "b": False, "c": False}), ks=(1,))
    assert q.loc["combined", "n"] == 3 and q.loc["combined", "ap"] == 1.0 and q.loc["combined", "p@1"] == 1.0
    assert q.loc["text", "base_rate"] == pytest.approx(1 / 3)
    clips = pd.DataFrame({"label": ["NULL", "squat", "", ""], "segment_kind": ["", "", "rest", ""]},
                         index=pd.Index(list("abcd"), name="clip_id"))
    assert nq.null_truth(clips).to_dict() == {"a": True, "b": False, "c": True}  # d: unknown, left out


# --- synthetic data and a checkpoint ------------------------------------------------------------------------------
def test_combined_ranking_on_tiny_synth(synth: Path):
    ds = FimadDataset(synth)
    truth = nq.null_truth(ds.clips)
    assert truth.sum() == 8 and len(truth) == 12
    df = nsg.rank_clips(ds)
    q = nq.ranking_quality(df, truth)
    base = q.loc["combined", "base_rate"]
    assert q.loc["combined", "ap"] > base + 0.25 and q.loc["text", "ap"] > base + 0.25
    assert q.loc["energy", "ap"] > base  # a hint only: planks and curls are quiet too
    assert truth[df["clip_id"].iloc[:5]].all()
    assert sorted(nsg.activity_prompts(ds)) == nsg.activity_prompts(ds) and "null class" not in nsg.activity_prompts(ds)


def _fake_minilm(texts: list[str], **_: object) -> np.ndarray:
    """Deterministic 384-d stand-ins for MiniLM sentence embeddings."""
    out = np.stack([np.random.default_rng(sum(map(ord, t))).normal(size=384) for t in texts]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_model_signals_with_checkpoint_and_store(handmade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 one_torch_thread: None):
    from embedding_fixtures import make_checkpoint, make_store

    import mujo.features
    from mujo.eval.embed import EmbeddingStore

    monkeypatch.setattr(mujo.features, "embed_texts", _fake_minilm)
    ckpt = make_checkpoint(tmp_path / "ckpt")
    store = EmbeddingStore.open(make_store(tmp_path, ckpt, handmade))  # vectors clustered by label
    ds = FimadDataset(handmade)
    truth = nq.null_truth(ds.clips)

    # through the checkpoint's (random) text encoder: every signal is computed, in range, with reasons
    df = nsg.rank_clips(ds, checkpoint=ckpt, embeddings=store)
    assert (df["n_signals"] == 4).all()
    for s in nsg.SIGNALS:
        assert df[s].between(0, 1).all() and df[f"{s}_reason"].map(type).eq(str).all()
    assert df["prompt_reason"].str.contains("nearest '(?:lunge|squat)'").all()
    assert df["uncertainty_reason"].str.contains(r"T=0\.1\)").all()  # the checkpoint's (small preset: 0.1)

    # prompts at the activity clusters: NULL clips are the far ones, and the uncertain ones
    idx = store.index
    imu = np.asarray(store.vectors("imu"), np.float32)
    centres = np.stack([imu[(idx["label"] == lab).to_numpy()].mean(0) for lab in ("squat", "lunge")])
    df = nsg.rank_clips(ds, embeddings=store, prompt_vectors=centres, prompts=["squat", "lunge"], temperature=0.5)
    q = nq.ranking_quality(df, truth)
    assert q.loc["prompt", "ap"] == 1.0 and q.loc["combined", "ap"] == 1.0
    assert df["uncertainty_reason"].str.contains(r"T=0\.5\)").all()

    # what makes the model signals unavailable, said in the reason
    other = make_checkpoint(tmp_path / "other")
    df = nsg.compute_signals(ds, checkpoint=other, embeddings=store)
    assert df["prompt"].isna().all() and (df["prompt_reason"] == "not available (the embedding store was made with "
                                                                  "another checkpoint)").all()
    df = nsg.compute_signals(ds, checkpoint=ckpt)
    assert df["uncertainty_reason"].str.startswith("not available (no embedding store").all()
    df = nsg.compute_signals(ds, embeddings=store, modality="video")
    assert (df["prompt_reason"] == "not available (the embedding store has no video embeddings)").all()
    with pytest.raises(ValueError, match="prompt_vectors"):
        nsg.compute_signals(ds, embeddings=store, prompt_vectors=centres, prompts=["squat"])
