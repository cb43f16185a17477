"""Text features: MiniLM embeddings, the per-dataset cache, precomputed text features, missing text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fimad_factory import edit_manifest, make_fimad, set_cell

from mujo.features import cache as feature_cache
from mujo.features import embed_texts, text_features
from mujo.features import text as text_mod
from mujo.fimad.arrays import load_npz
from mujo.fimad.dataset import FimadDataset


def _forbid_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k):
        raise AssertionError("the model was called")

    monkeypatch.setattr(text_mod, "embed_texts", boom)


@pytest.fixture
def ds(tmp_path: Path) -> FimadDataset:
    return FimadDataset(make_fimad(tmp_path / "ds", n_clips=4, with_imu=False))


def test_minilm_unit_norm_and_semantics():
    e = embed_texts(["squats", "squat jumps", "drinking water", ""])
    assert e.shape == (4, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    assert embed_texts([]).shape == (0, 384)
    # duplicates are embedded once and come back in place
    again = embed_texts(["drinking water", "squats", "squats"])
    np.testing.assert_allclose(again, e[[2, 0, 0]], atol=1e-5)


def test_text_features_cached_as_fimad_npz(ds: FimadDataset, monkeypatch: pytest.MonkeyPatch):
    first = text_features(ds, "caption")
    assert first.name == "minilm" and first.field == "caption" and first.vectors.shape == (4, 384)
    assert first.clip_ids == ds.clips.index.tolist() and first.n_missing == 0
    path = ds.root / "text_features" / "minilm.npz"
    assert first.source == path
    with np.load(path, allow_pickle=False) as z:  # FiMAD's format, readable without pickle
        assert z["clip_id"].dtype.kind == "U" and z["caption"].shape == (4, 384)
    ids, arrays = ds.text_features("minilm")  # and the dataset reader accepts it
    assert ids == first.clip_ids and set(arrays) == {"caption"}

    _forbid_model(monkeypatch)
    again = text_features(FimadDataset(ds.root), "caption")
    np.testing.assert_array_equal(again.vectors, first.vectors)


def test_second_field_keeps_the_first_and_edits_invalidate(ds: FimadDataset):
    cap = text_features(ds, "caption")
    chap = text_features(ds, "chapter")
    assert set(load_npz(ds.root / "text_features" / "minilm.npz")) == {"clip_id", "caption", "chapter"}
    assert not np.allclose(cap.vectors, chap.vectors)
    set_cell(ds.root, "clip002", "caption", "jumping jacks")
    edited = text_features(FimadDataset(ds.root), "caption")
    np.testing.assert_allclose(edited.vectors[2], embed_texts(["jumping jacks"])[0], atol=1e-5)
    np.testing.assert_allclose(edited.vectors[[0, 1, 3]], cap.vectors[[0, 1, 3]], atol=1e-5)


def test_missing_text_is_the_empty_string_and_counted(ds: FimadDataset):
    set_cell(ds.root, "clip001", "caption", "")
    feats = text_features(FimadDataset(ds.root), "caption")
    assert feats.n_missing == 1
    np.testing.assert_allclose(feats.vectors[1], embed_texts([""])[0], atol=1e-5)
    with pytest.raises(ValueError, match="no column 'chapter_norm'"):
        text_features(ds, "chapter_norm")


def test_precomputed_ada_is_used(ds: FimadDataset, monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(0)
    ids = ds.clips.index.tolist()[::-1]  # another order than clips.csv, and one clip missing
    ada = rng.normal(size=(3, 1536)).astype(np.float32)
    (ds.root / "text_features").mkdir()
    np.savez(ds.root / "text_features" / "ada.npz", clip_id=np.array(ids[:3]), chapter=ada)
    edit_manifest(ds.root, text_features={"ada": {"dim": 1536, "fields": ["chapter"]}})
    ds = FimadDataset(ds.root)
    with monkeypatch.context() as mp:  # (monkeypatch.undo would also undo conftest's MUJO_HOME)
        mp.setattr(text_mod, "embed_texts", lambda *a, **k: pytest.fail("model called"))
        feats = text_features(ds, "chapter")
    assert feats.name == "ada" and feats.dim == 1536 and feats.n_missing == 1
    np.testing.assert_array_equal(feats.vectors[feats.rows_of(ids[:3])], ada)
    assert np.isnan(feats.vectors[feats.rows_of([ids[3]])]).all()
    assert text_features(ds, "caption").name == "minilm"  # ada lacks this field


def test_read_only_dataset_caches_under_data_dir(ds: FimadDataset, monkeypatch: pytest.MonkeyPatch):
    inside = ds.root.resolve()
    real = feature_cache._usable
    monkeypatch.setattr(feature_cache, "_usable", lambda p: not Path(p).resolve().is_relative_to(inside) and real(p))
    feats = text_features(ds, "caption")
    assert not (ds.root / "text_features").exists()
    assert feats.source == feature_cache.cache_dir(ds) / "text_features" / "minilm.npz"
    monkeypatch.setattr(text_mod, "embed_texts", lambda *a, **k: pytest.fail("model called"))
    np.testing.assert_array_equal(text_features(ds, "caption").vectors, feats.vectors)


def test_cli_features_text(ds: FimadDataset, tmp_path: Path, capsys: pytest.CaptureFixture):
    from mujo.cli import main

    assert main(["features", str(ds.root), "--text-field", "caption",
                 "--progress-file", str(tmp_path / "job.json")]) == 0
    assert "minilm caption: 4 clips, 384-d" in capsys.readouterr().out
    assert '"state": "done"' in (tmp_path / "job.json").read_text()
    assert main(["features", str(ds.root), "--text-field", "nope"]) == 2


def test_embed_texts_from_threads():
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"exercise number {i}" for i in range(12)]
    alone = embed_texts(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: embed_texts(texts[i::4]), range(4)))
    for i, r in enumerate(results):
        np.testing.assert_allclose(r, alone[i::4], atol=1e-5)


def _fake_embed(texts, **k):
    """A stand-in for MiniLM: one vector per text, a function of the text alone."""
    out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.mark.parametrize("crash_in", ["npz", "stamp"])
def test_a_crash_while_the_cache_is_replaced_never_serves_vectors_under_the_wrong_stamp(
        ds: FimadDataset, monkeypatch: pytest.MonkeyPatch, crash_in: str):
    """The cache is an npz and a JSON stamp, replaced one after the other: a crash between the two (or while the npz
    is written) must leave no stamp that vouches for vectors of other texts; the next call recomputes."""
    monkeypatch.setattr(text_mod, "embed_texts", _fake_embed)
    before = text_features(ds, "caption").vectors
    old_caption = ds.clips.loc["clip002", "caption"]
    set_cell(ds.root, "clip002", "caption", "jumping jacks")
    real_npz, real_json = text_mod.save_npz, text_mod.save_json

    def crash_npz(*a, **k):
        raise SystemExit("killed while the npz was written")

    def crash_stamp(path, obj):
        if obj["fields"].get("caption"):  # the new stamp: the npz is already replaced
            raise SystemExit("killed between the npz and its stamp")
        return real_json(path, obj)

    if crash_in == "npz":
        monkeypatch.setattr(text_mod, "save_npz", crash_npz)
    else:
        monkeypatch.setattr(text_mod, "save_json", crash_stamp)
    with pytest.raises(SystemExit):
        text_features(FimadDataset(ds.root), "caption")
    monkeypatch.setattr(text_mod, "save_npz", real_npz)
    monkeypatch.setattr(text_mod, "save_json", real_json)
    set_cell(ds.root, "clip002", "caption", old_caption)  # back to the texts of the old stamp
    calls = []
    monkeypatch.setattr(text_mod, "embed_texts", lambda texts, **k: calls.append(texts) or _fake_embed(texts))
    after = text_features(FimadDataset(ds.root), "caption")
    assert calls, "the cache after a crash was trusted"
    np.testing.assert_allclose(after.vectors, before, atol=1e-6)
