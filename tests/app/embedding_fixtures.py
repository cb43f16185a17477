"""Test material for the model pages: a real (tiny) checkpoint and an embedding store of random clustered vectors.

The store is written in `mujo.eval.embed`'s on-disk format (meta.json, index.parquet, <modality>.npy float16
unit rows), so the pages find and open it through the real code; only the vectors are made up: window i of label
L has, in every modality, the vector of cluster L plus noise, and its pose and IMU vectors are nearly the same
(so pose -> IMU query by example finds the window itself first). A fast stand-in for UMAP keeps page tests quick.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODALITIES = ("text", "pose", "imu")
SITES = ("RWrist", "LWrist")


def make_checkpoint(folder: Path, modalities: tuple[str, ...] = MODALITIES, embed_dim: int = 32,
                    summary: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """A real MuJo checkpoint of a tiny model (random weights) in `folder`; `extra` adds to its extra."""
    from mujo.models import create_model  # noqa: PLC0415
    from mujo.models.checkpoint_io import save_checkpoint  # noqa: PLC0415

    model = create_model("small", modalities=tuple(modalities), imu_sites=SITES, imu_channels=("acc",),
                         embed_dim=embed_dim)
    extra = {"method": "mujo", "settings": {"preset": "small"},
             "summary": summary or {"epochs": 12, "best_epoch": 9, "best_loss": 4.2, "train_windows": 60,
                                    "val_windows": 24, "seconds": 31.5}} | (extra or {})
    return save_checkpoint(folder, model, extra)


def window_index(data: Path) -> pd.DataFrame:
    """The store index of a dataset: one row per 100-sample window (hop 50, 15 % trimmed)."""
    from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415

    ds = FimadDataset(data)
    w = ds.windows(100, 50, 0.15).to_frame()
    clips = ds.clips
    idx = pd.DataFrame({"clip_id": w["clip_id"].astype(str), "start": w["start"].astype(np.int64)})
    idx["t0_s"] = idx["start"] / ds.fps
    for col in ("split", "video_id", "label", "chapter"):
        idx[col] = clips[col].reindex(idx["clip_id"]).to_numpy() if col in clips.columns else ""
    return idx.reset_index(drop=True)


def clustered_vectors(labels: np.ndarray, dim: int, modalities: tuple[str, ...], seed: int = 0
                      ) -> dict[str, np.ndarray]:
    """{modality: (N, dim) float16 unit rows}: a cluster per label, the same window close across modalities."""
    rng = np.random.default_rng(seed)
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    centers = rng.normal(size=(len(names), dim)) * 2.0
    base = centers[codes] + rng.normal(size=(len(labels), dim))  # (N, dim): per window
    out = {}
    for k, m in enumerate(modalities):
        v = base + 0.05 * rng.normal(size=base.shape) + 0.3 * k  # a small modality offset
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[m] = v.astype(np.float16)
    return out


def make_store(home: Path, checkpoint: Path, data: Path, modalities: tuple[str, ...] = MODALITIES,
               dim: int = 32, seed: int = 0) -> Path:
    """Write an embedding store of `checkpoint` x `data` under `home`/embeddings (the default place)."""
    from mujo import models_registry as registry  # noqa: PLC0415
    from mujo.eval.embed import STORE_VERSION  # noqa: PLC0415

    idx = window_index(data)
    sha = registry.weights_sha256(checkpoint)
    folder = home / "embeddings" / f"{sha[:16]}__test-fimad-fake"
    folder.mkdir(parents=True, exist_ok=True)
    idx.to_parquet(folder / "index.parquet", index=False)
    for m, v in clustered_vectors(idx["label"].to_numpy(), dim, modalities, seed).items():
        np.save(folder / f"{m}.npy", v, allow_pickle=False)
    meta = {"version": STORE_VERSION, "checkpoint": str(checkpoint.resolve()), "checkpoint_id": sha[:16],
            "checkpoint_sha256": sha, "dataset": str(data.resolve()), "dataset_name": "test-fimad",
            "dataset_id": "test-fimad-fake", "bank_key": "test-fimad-fake",
            "bank_spec": {"modalities": list(modalities), "window": 100, "hop": 50, "trim": 0.15},
            "modalities": list(modalities), "dims": {m: dim for m in modalities}, "n_windows": len(idx),
            "embed_dim": dim, "dtype": "float16",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def fast_project(vectors: np.ndarray, **_: Any) -> np.ndarray:
    """A stand-in for UMAP in page tests: the first two principal axes (deterministic, instant)."""
    x = np.asarray(vectors, np.float32)
    c = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    return (c @ vt[:2].T).astype(np.float32)


def model_env(tmp_path: Path, monkeypatch: Any, *, n_clips: int = 12, n_frames: int = 600, store: bool = True,
              checkpoint: bool = True, modalities: tuple[str, ...] = MODALITIES) -> dict[str, Path]:
    """MUJO_HOME with the demo-model checkpoint (and its store), MUJO_DATA at a small dataset; UMAP made fast.

    12 clips of 600 samples give 7 windows each (84 windows); labels come from app_helpers.make_dataset.
    """
    from app_helpers import REPO, make_dataset  # noqa: PLC0415

    import mujo.eval.projection as projection  # noqa: PLC0415

    home = tmp_path / "home"
    home.mkdir()
    data = make_dataset(tmp_path / "fimad", n_clips=n_clips, n_frames=n_frames)
    monkeypatch.setenv("MUJO_HOME", str(home))
    monkeypatch.setenv("MUJO_DATA", str(data))
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(projection, "project", fast_project)
    env = {"home": home, "data": data}
    if checkpoint:
        env["checkpoint"] = make_checkpoint(home / "models" / "demo", modalities)
        if store:
            env["store"] = make_store(home, env["checkpoint"], data, modalities)
    return env
