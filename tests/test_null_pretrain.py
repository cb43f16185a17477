"""Pre-training with NULL chapters (a NULL anchor text, truth or curated labels) and zero-shot with its NULL vectors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from train_fixtures import one_thread, write_preset  # noqa: F401 (fixture)

from mujo.banks.bank import BankSpec, build_bank
from mujo.checkpoint import CheckpointError
from mujo.cli import main
from mujo.eval.prompts import class_phrases
from mujo.eval.zeroshot import ZeroShotSettings, class_embeddings, zeroshot
from mujo.features.text import embed_texts
from mujo.fimad.layout import NULL_LABEL
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import Store, dataset_key
from mujo.train.batches import BankBatches
from mujo.train.pretrain import PretrainSettings, pretrain

ANCHOR = "no exercise: the trainer talks, rests or explains"
SITES = ("LWrist", "RWrist")


def settings(ds: Path, out: Path, preset: Path, **kw) -> PretrainSettings:
    return PretrainSettings(dataset=str(ds), out=str(out), preset=str(preset), sites=SITES, threads=1,
                            **({"epochs": 2} | kw))


@pytest.fixture(scope="module")
def runs(tiny_synth_imu: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two 2-epoch runs on the tiny synthetic FiMAD: with the NULL anchor (CLI) and without any NULL option."""
    root = tmp_path_factory.mktemp("null_runs")
    preset = write_preset(root)
    torch.set_num_threads(1)
    store = str(root / "s.sqlite")
    assert main(["pretrain", str(tiny_synth_imu), "--out", str(root / "anchor"), "--preset", str(preset), "--sites",
                 *SITES, "--epochs", "2", "--threads", "1", "--null-anchor", ANCHOR, "--store", store,
                 "--quiet"]) == 0
    pretrain(settings(tiny_synth_imu, root / "plain", preset), store=store)
    return {"anchor": root / "anchor", "plain": root / "plain", "preset": preset}


def test_anchor_run_stores_null_vectors(runs: dict[str, Path], tiny_synth_imu: Path) -> None:
    model, extra = load_checkpoint(runs["anchor"])
    d = model.config.embed_dim
    emb, cen = np.asarray(extra["null_embedding"]), np.asarray(extra["null_centroid"])
    assert emb.shape == cen.shape == (d,)
    assert np.linalg.norm(emb) == pytest.approx(1, abs=1e-5) and np.linalg.norm(cen) == pytest.approx(1, abs=1e-5)
    # the anchor through the saved model's own text encoder
    with torch.no_grad():
        want = model.encode(Modality.TEXT, torch.from_numpy(embed_texts([ANCHOR])))[0].numpy()
    np.testing.assert_allclose(emb, want, atol=1e-5)
    clips = pd.read_csv(tiny_synth_imu / "clips.csv", keep_default_na=False)
    assert extra["null"] == {"labels": "truth", "anchor": ANCHOR, "clips": int((clips["label"] == NULL_LABEL).sum()),
                             "train_windows": extra["null"]["train_windows"]}
    assert extra["null"]["train_windows"] > 0 and extra["settings"]["null_anchor"] == ANCHOR
    _, best = load_checkpoint(runs["anchor"] / "best")  # the published model keeps the best weights' vectors
    assert best["null_embedding"] == extra["null_embedding"] and best["null_centroid"] == extra["null_centroid"]


def test_plain_run_is_unchanged(runs: dict[str, Path]) -> None:
    _, extra = load_checkpoint(runs["plain"])
    assert not {"null", "null_embedding", "null_centroid"} & set(extra)
    assert extra["settings"]["null_anchor"] is None and extra["settings"]["null_labels"] is None


def test_shared_text_view_and_batch_mask(tiny_synth_imu: Path) -> None:
    bank = build_bank(tiny_synth_imu, BankSpec(modalities=(Modality.TEXT, Modality.IMU), imu_sites=SITES))
    null_ids = bank.clips.loc[bank.clips["label"] == NULL_LABEL, "clip_id"].tolist()
    vec = embed_texts([ANCHOR])[0]
    view = bank.with_shared_text(null_ids, vec)
    shared = view.shared_text_windows
    assert bank.shared_text_windows is None and shared.any() and not shared.all()
    rows = np.arange(len(view))
    text = view.batch(rows, [Modality.TEXT])[Modality.TEXT].numpy()
    np.testing.assert_allclose(text[shared], np.broadcast_to(vec, text[shared].shape))
    plain = bank.batch(rows, [Modality.TEXT])[Modality.TEXT].numpy()
    np.testing.assert_array_equal(text[~shared], plain[~shared])  # other clips keep their chapter
    assert not np.allclose(plain[shared], vec)  # and the bank itself is untouched
    again = pickle.loads(pickle.dumps(view))
    np.testing.assert_array_equal(again.batch(rows, [Modality.TEXT])[Modality.TEXT].numpy(), text)

    batches = BankBatches(view, [Modality.TEXT, Modality.IMU], 8, "mask", seed=0)
    clip = batches.clips
    two = [np.flatnonzero(shared & (clip == c))[0] for c in np.unique(clip[shared])[:2]]  # NULL, two clips
    other = np.flatnonzero(~shared)[:2]
    mask = batches.load(np.array([*two, *other]))["same_clip"].numpy()
    assert mask[0, 1] and mask[1, 0]  # NULL windows of different clips: not each other's negatives
    assert not mask[0, 2] and not mask[2, 0]
    assert mask[2, 3] == (clip[other[0]] == clip[other[1]])


def test_curated_null_labels(tiny_synth_imu: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    preset = write_preset(tmp_path)
    s = settings(tiny_synth_imu, tmp_path / "out", preset, epochs=1, null_labels="curated")
    with pytest.raises(ValueError, match="no whole-clip 'null' label"):
        pretrain(s, store=store)
    clips = pd.read_csv(tiny_synth_imu / "clips.csv", keep_default_na=False)
    train_null = clips.loc[(clips["label"] == NULL_LABEL) & (clips["split"] == "train"), "clip_id"].tolist()
    store.add_label_events(dataset_key(tiny_synth_imu), [{"clip_id": c, "label": "null"} for c in train_null[:2]]
                           + [{"clip_id": train_null[2], "label": "unsure"}])
    pretrain(s, store=store)
    _, extra = load_checkpoint(tmp_path / "out")
    assert extra["null"]["labels"] == "curated" and extra["null"]["clips"] == 2 and extra["null"]["anchor"] is None
    assert "null_centroid" in extra and "null_embedding" not in extra  # no anchor: the centroid only


@pytest.mark.parametrize("kw, match", [
    ({"null_labels": "maybe"}, "null_labels must be"),
    ({"null_anchor": "  "}, "non-empty"),
    ({"null_anchor": ANCHOR, "method": "simclr"}, "method simclr has no text"),
    ({"null_anchor": ANCHOR, "modalities": ("pose", "imu")}, "needs the text modality"),
])
def test_bad_null_settings(tiny_synth_imu: Path, tmp_path: Path, kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pretrain(settings(tiny_synth_imu, tmp_path / "out", write_preset(tmp_path), **kw), store=tmp_path / "s.db")


def test_zeroshot_learned_and_centroid(runs: dict[str, Path], tiny_synth_imu: Path, capsys) -> None:
    model, extra = load_checkpoint(runs["anchor"])
    classes = ("tricep_extension", "burpee", "NULL")
    phrases = class_phrases(classes)
    for how, key in (("learned", "null_embedding"), ("centroid", "null_centroid")):
        rows = class_embeddings(model, classes, phrases, ("{}",), null_embedding=how, extra=extra)
        np.testing.assert_allclose(rows[-1], np.asarray(extra[key]), atol=1e-5)

    base = dict(dataset=str(tiny_synth_imu), null=True, split="fimad", part="val")
    res = {how: zeroshot(ZeroShotSettings(checkpoint=str(runs["anchor"]), null_embedding=how, **base))
           for how in ("mean", "learned", "centroid")}
    assert all(r.classes[-1] == "NULL" and r.n_windows == res["mean"].n_windows for r in res.values())
    assert res["learned"].support["NULL"] > 0

    with pytest.raises(CheckpointError, match="extra.null_embedding.*--null-anchor"):
        zeroshot(ZeroShotSettings(checkpoint=str(runs["plain"]), null_embedding="learned", **base))
    with pytest.raises(CheckpointError, match="extra.null_centroid"):
        class_embeddings(model, classes, phrases, ("{}",), null_embedding="centroid", extra={})
    assert main(["zeroshot", str(tiny_synth_imu), "--checkpoint", str(runs["plain"]), "--null", "--null-embedding",
                 "learned", "--no-store", "--quiet"]) != 0
    assert "null_embedding 'learned'" in capsys.readouterr().err
    assert main(["zeroshot", str(tiny_synth_imu), "--checkpoint", str(runs["anchor"]), "--null", "--null-embedding",
                 "learned", "--split", "fimad", "--part", "val", "--no-store", "--quiet"]) == 0
    assert "learned NULL anchor" in capsys.readouterr().out


def test_feedback_settings_follow_the_base_checkpoint(runs: dict[str, Path], tiny_synth_imu: Path,
                                                      tmp_path: Path) -> None:
    import argparse  # noqa: PLC0415
    import dataclasses  # noqa: PLC0415

    from mujo.cli import pretrain as cli  # noqa: PLC0415
    from mujo.commands import pretrain as cmd  # noqa: PLC0415
    from mujo.curation import feedback as nf  # noqa: PLC0415
    from mujo.curation import feedback_runs as fr  # noqa: PLC0415

    out = nf.feedback_out(runs["plain"])
    assert out == runs["plain"].parent / "plain-curated-null" and nf.feedback_out(out) == out
    s = fr.feedback_settings(runs["plain"], tiny_synth_imu, out, anchor="just talking")
    assert (s.preset, tuple(s.sites), s.epochs) == (str(runs["preset"]), SITES, 2)  # the base run's settings
    assert (s.null_anchor, s.null_labels, s.overwrite, s.resume, s.threads) == ("just talking", "curated", True,
                                                                                False, 1)
    argv = fr.pretrain_argv(s)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    again = cmd._settings(parser.parse_args(argv))  # what `mujo pretrain` makes of the argv: the same settings
    assert dataclasses.asdict(again) == dataclasses.asdict(s)
    with pytest.raises(ValueError, match="no `mujo pretrain` option"):
        fr.pretrain_argv(dataclasses.replace(s, weight_decay=0.5))
    with pytest.raises(ValueError, match="config.json"):
        fr.feedback_settings(tmp_path, tiny_synth_imu, out)


def test_feedback_refuses_a_proxy_checkpoint(tiny_synth_imu: Path, tmp_path: Path) -> None:
    from mujo.curation import feedback_runs as fr  # noqa: PLC0415

    preset = write_preset(tmp_path)
    pretrain(settings(tiny_synth_imu, tmp_path / "simclr", preset, epochs=1, method="simclr", modalities=("imu",)),
             store=tmp_path / "s.sqlite")
    with pytest.raises(ValueError, match="proxy task 'simclr'"):
        fr.feedback_settings(tmp_path / "simclr", tiny_synth_imu, tmp_path / "out")


def test_compare_null_stores_every_null_row(runs: dict[str, Path], tiny_synth_imu: Path, tmp_path: Path) -> None:
    from mujo.curation import feedback as nf  # noqa: PLC0415
    from mujo.curation import feedback_runs as fr  # noqa: PLC0415

    store = Store(tmp_path / "s.sqlite")
    seen = []
    df = fr.compare_null(tiny_synth_imu, [runs["plain"], runs["anchor"]], store=store,
                         progress=lambda f, m: seen.append(f))
    assert list(zip(df["checkpoint"].map(lambda p: Path(p).name), df["null_row"])) == [
        ("plain", "mean"), ("anchor", "mean"), ("anchor", "learned"), ("anchor", "centroid")]
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert (df["windows"] == df["windows"].iloc[0]).all() and df["run_id"].notna().all()
    assert df[["macro_f1", "null_f1", "null_recall", "null_precision"]].apply(lambda c: c.between(0, 1)).all().all()
    back = nf.null_comparison(tiny_synth_imu, store)
    assert sorted(back["run_id"]) == sorted(df["run_id"])
    merged = back.merge(df, on="run_id", suffixes=("", "_run"))
    np.testing.assert_allclose(merged["macro_f1"], merged["macro_f1_run"])
    np.testing.assert_allclose(merged["null_f1"], merged["null_f1_run"])
    again = fr.compare_null(tiny_synth_imu, [runs["anchor"]], store=store)
    latest = nf.null_comparison(tiny_synth_imu, store)
    assert len(latest) == 4 and set(again["run_id"]) <= set(latest["run_id"])  # the newest run of each pair


def test_curated_counts(tiny_synth_imu: Path, tmp_path: Path) -> None:
    from mujo.curation import feedback as nf  # noqa: PLC0415

    store = Store(tmp_path / "s.sqlite")
    key = dataset_key(tiny_synth_imu)
    clips = pd.read_csv(tiny_synth_imu / "clips.csv", keep_default_na=False)["clip_id"].tolist()
    assert nf.curated_counts(tiny_synth_imu, store) == {"null": 0, "activity": 0, "labelled": 0,
                                                         "clips": len(clips)}
    store.add_label_events(key, [{"clip_id": clips[0], "label": "null"}, {"clip_id": clips[1], "label": "null"},
                                 {"clip_id": clips[2], "label": "activity"},
                                 {"clip_id": clips[3], "label": "null", "t0_s": 1.0, "t1_s": 2.0}])
    assert nf.curated_counts(tiny_synth_imu, store, clips) == {"null": 2, "activity": 1, "labelled": 3,
                                                                "clips": len(clips)}
