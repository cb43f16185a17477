"""embed_dataset end to end on a tiny dataset with a tiny random checkpoint; query embedding; the three commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fimad_factory import make_fimad

from mujo import paths
from mujo.banks.bank import BankSpec, build_bank
from mujo.checkpoint import CheckpointError
from mujo.cli import main
from mujo.eval.embed import EmbeddingStore, embed_dataset, embeddings_dir
from mujo.eval.queries import embed_text_query, embed_window, renormalise
from mujo.eval.retrieval import load_retrieval
from mujo.eval.search import search
from mujo.modality import Modality
from mujo.models import create_model
from mujo.models.checkpoint_io import save_checkpoint

SITES = ("LWrist", "RWrist")
TINY = {"model_type": "mujo", "modalities": ["text", "pose", "imu"], "text_dim": 384, "window": 100,
        "imu_sites": list(SITES), "imu_channels": ["acc", "gyro"], "text": {"hidden": [16]},
        "pose": {"channels": [3, 6, 6], "kernel": [3, 3], "fc": [16]},
        "imu": {"channels": [3, 6, 6], "kernel": 3, "fc": [16]}, "projection": {"hidden": 16}, "embed_dim": 8}
SPEC = BankSpec(modalities=("text", "pose", "imu"), imu_sites=SITES, text_field="chapter")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 8 clips x 4 windows; clips 0, 1, 6, 7 are val. Sites beyond the checkpoint's are left out by the bank.
    return make_fimad(tmp_path_factory.mktemp("embed") / "ds", n_clips=8, n_frames=400,
                      imu_sites=("LWrist", "RWrist", "LFoot"))


def make_checkpoint(folder: Path, dataset: Path, seed: int = 0, **overrides) -> Path:
    bank = build_bank(dataset, SPEC)
    torch.manual_seed(seed)
    model = create_model(TINY, **overrides)
    return save_checkpoint(folder, model, extra={"bank_spec": SPEC.to_dict(), "stats": bank.stats,
                                                 "dataset": str(dataset)})


def test_embed_dataset_end_to_end(dataset: Path, tmp_path: Path) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt", dataset)
    seen: list[float] = []
    store = embed_dataset(ckpt, dataset, batch_size=5, progress=lambda f, m: seen.append(f))
    bank = build_bank(dataset, SPEC)
    assert store.folder.parent == embeddings_dir() and embeddings_dir().parent == paths.data_dir()
    assert store.folder.name == f"{store.meta['checkpoint_id']}__{store.meta['dataset_id']}"
    assert store.modalities == (Modality.TEXT, Modality.POSE, Modality.IMU) and len(store) == len(bank) == 32
    assert seen[-1] == 1.0 and seen == sorted(seen)
    # The index is the bank's, row for row.
    cols = ["clip_id", "start", "t0_s", "split", "video_id", "chapter"]
    assert store.index[cols].equals(bank.index[cols].reset_index(drop=True))
    np.testing.assert_array_equal(store.rows("val"), bank.rows("val"))
    model = __import__("mujo.models.checkpoint_io", fromlist=["x"]).load_checkpoint(ckpt)[0]
    for m in store.modalities:
        v = store.vectors(m)
        assert isinstance(v, np.memmap) and v.dtype == np.float16 and v.shape == (32, 8)
        np.testing.assert_allclose(np.linalg.norm(v.astype(np.float32), axis=1), 1.0, atol=2e-3)
        with torch.no_grad():  # the stored vectors are the model's embeddings of the bank's windows
            want = model.encode(m, bank.batch(np.arange(32), [m])[m]).numpy()
        np.testing.assert_allclose(v.astype(np.float32), want, atol=3e-3)
    text = store.vectors(Modality.TEXT).astype(np.float32)
    for clip, rows in store.index.groupby("clip_id").indices.items():
        assert (text[rows] == text[rows[0]]).all(), clip  # one text per clip, repeated per window
    assert len(store.clip_rows()) == 8 and len(store.clip_rows(store.rows("val"))) == 4
    meta = json.loads((store.folder / "meta.json").read_text())
    assert meta["dims"] == {"text": 8, "pose": 8, "imu": 8} and meta["checkpoint"] == str(ckpt.resolve())
    assert len(meta["checkpoint_sha256"]) == 64 and meta["created"]


def test_up_to_date_store_is_reused(dataset: Path, tmp_path: Path) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt", dataset)
    first = embed_dataset(ckpt, dataset)
    stamp = (first.folder / "imu.npy").stat().st_mtime_ns
    messages: list[str] = []
    again = embed_dataset(ckpt, dataset, progress=lambda f, m: messages.append(m))
    assert again.folder == first.folder and (again.folder / "imu.npy").stat().st_mtime_ns == stamp
    assert "up to date" in messages[-1]
    # New weights in the same folder: another checkpoint id, another store.
    make_checkpoint(ckpt, dataset, seed=1)
    other = embed_dataset(ckpt, dataset)
    assert other.folder != first.folder
    # A given --out folder holding an outdated store is rewritten.
    out = tmp_path / "out"
    embed_dataset(ckpt, dataset, out=out)
    make_checkpoint(ckpt, dataset, seed=2)
    rewritten = embed_dataset(ckpt, dataset, out=out)
    assert rewritten.meta["checkpoint_sha256"] != other.meta["checkpoint_sha256"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]  # no temporary folders left


@pytest.mark.parametrize("overrides, message", [
    ({"imu_sites": ["RKnee", "LKnee"]}, "sites RKnee, LKnee; the data has LWrist, RWrist, LFoot"),
    ({"text_dim": 16}, "expects 16-d text features; the data has 384-d"),
    ({"modalities": ["video"]}, "encoders for video; dataset .* has none of them"),
])
def test_mismatching_checkpoint_is_refused(dataset: Path, tmp_path: Path, overrides: dict, message: str) -> None:
    ckpt = tmp_path / "ckpt"
    torch.manual_seed(0)
    save_checkpoint(ckpt, create_model(TINY, **overrides), extra={"bank_spec": SPEC.to_dict()})
    with pytest.raises(CheckpointError, match=message):
        embed_dataset(ckpt, dataset)
    assert not embeddings_dir().exists() or not any(p.name.startswith(ckpt.name) for p in embeddings_dir().iterdir())


def test_not_a_checkpoint(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"\x80\x04pickle")
    with pytest.raises(CheckpointError, match="pickle"):
        embed_dataset(tmp_path / "model.pt", dataset)


def test_dataset_without_a_modality_embeds_the_rest(tmp_path: Path) -> None:
    ds = make_fimad(tmp_path / "noimu", n_clips=4, n_frames=400, with_imu=False, imu_sites=SITES)
    ckpt = tmp_path / "ckpt"
    torch.manual_seed(0)
    save_checkpoint(ckpt, create_model(TINY), extra={"bank_spec": SPEC.to_dict()})
    store = embed_dataset(ckpt, ds)
    assert store.modalities == (Modality.TEXT, Modality.POSE)


def test_query_embeddings_and_search(dataset: Path, tmp_path: Path) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt", dataset)
    store = embed_dataset(ckpt, dataset)
    from mujo.models.checkpoint_io import load_checkpoint

    model, extra = load_checkpoint(ckpt)
    q = embed_text_query(model, "jump squats", extra)
    assert q.shape == (1, 8) and q.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(q), 1.0, atol=1e-5)
    idx, scores = search(store, q, "imu", k=5)
    assert idx.shape == (1, 5) and (np.diff(scores[0]) <= 0).all()
    # The stored text of a clip is the text query of its chapter.
    row = int(store.index.index[store.index["chapter"] == "007"][0])
    np.testing.assert_allclose(embed_text_query(model, ["007"])[0], store.vectors("text")[row], atol=3e-3)
    bank = build_bank(dataset, SPEC)
    w = embed_window(model, bank, 7, "imu", stats=extra["stats"])
    np.testing.assert_allclose(w[0], store.vectors("imu")[7], atol=3e-3)
    _, scores = search(store, w, "imu", k=1)
    assert scores[0, 0] >= 0.99  # itself, or a window the untrained model cannot tell from it
    with pytest.raises(ValueError, match="384-d"):
        embed_text_query(create_model(TINY, text_dim=16), "squats")


def test_renormalise_to_the_checkpoint_stats() -> None:
    raw = torch.randn(2, 100, 2, 6)
    bank_stats = {"imu": {"mean": [[1.0] * 6] * 2, "std": [[2.0] * 6] * 2}}
    model_stats = {"imu": {"mean": [[0.0] * 6] * 2, "std": [[1.0] * 6] * 2}}
    batch = renormalise({Modality.IMU: (raw - 1) / 2}, bank_stats, model_stats)
    torch.testing.assert_close(batch[Modality.IMU], raw)


def test_commands(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt", dataset)
    progress = tmp_path / "job.json"
    assert main(["embed", str(ckpt), str(dataset), "--progress-file", str(progress)]) == 0
    assert json.loads(progress.read_text())["state"] == "done"
    assert main(["retrieval-eval", str(ckpt), str(dataset), "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "R@10" in out and "MRR" in out and "(" in out  # values with chance in brackets
    assert set(load_retrieval(ckpt)["query"]) == {"text", "pose", "imu"}
    assert main(["search", str(ckpt), str(dataset), "--text", "jump squats", "--target", "imu", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "clip" in out and "similarity" in out and len(out.strip().splitlines()) == 5
    assert main(["search", str(ckpt), str(dataset), "--window", "3", "--query-modality", "pose", "--target", "text",
                 "-k", "2"]) == 0
    assert main(["search", str(ckpt), str(dataset), "--target", "imu"]) == 2  # no query given
    assert main(["embed", str(tmp_path / "nothing"), str(dataset)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not an embedding store"):
        EmbeddingStore.open(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        EmbeddingStore.open(tmp_path)
    shutil.rmtree(tmp_path)
