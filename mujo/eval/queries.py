"""Query vectors for search: free text through MiniLM and the text encoder, or one window through its encoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mujo import features
from mujo.features.text import DIM as MINILM_DIM
from mujo.modality import Modality

if TYPE_CHECKING:
    from mujo.banks.bank import WindowBank


def renormalise(batch: dict[Modality, torch.Tensor], bank_stats: dict[str, Any] | None,
                model_stats: dict[str, Any] | None) -> dict[Modality, torch.Tensor]:
    """Re-express a bank batch (normalised with the bank's train-split stats) in the model's normalisation.

    A checkpoint's encoders saw inputs z-scored with the stats of *its* training data; a bank of another dataset
    z-scores with its own. x_model = (x_bank * std_bank + mean_bank - mean_model) / std_model, per channel.

    Args:
        batch: {modality: tensor} from `WindowBank.batch` (changed in place and returned).
        bank_stats: `WindowBank.stats`; model_stats: the checkpoint's `extra["stats"]` (None: leave as is).
    Returns:
        The batch.
    """
    if not model_stats or not bank_stats:
        return batch
    for m in (Modality.IMU, Modality.VIDEO):
        mine, theirs = (bank_stats or {}).get(m.value), (model_stats or {}).get(m.value)
        if m not in batch or not mine or not theirs or (mine["mean"], mine["std"]) == (theirs["mean"], theirs["std"]):
            continue
        mb, sb = torch.tensor(mine["mean"]), torch.tensor(mine["std"])
        mm, sm = torch.tensor(theirs["mean"]), torch.tensor(theirs["std"])
        if mb.shape != mm.shape:
            raise ValueError(f"{m.value} normalisation stats have shape {tuple(mm.shape)} in the checkpoint and "
                             f"{tuple(mb.shape)} in the window bank")
        x = batch[m]
        x.mul_(sb / sm).add_((mb - mm) / sm)  # broadcasts over (B, T, S, C) or (B, Dv)
    return batch


def embed_text_query(model: torch.nn.Module, text: str | list[str], extra: dict[str, Any] | None = None) -> np.ndarray:
    """Free text (a query or zero-shot prompts) in the joint space: MiniLM, then the model's text encoder.

    Args:
        model: a loaded MuJo model with a text encoder taking 384-d MiniLM features.
        text: one query or a list of them.
        extra: the checkpoint's `extra` (only used to name its text features in errors).
    Returns:
        (Q, embed_dim) float32 unit-norm rows.
    Raises:
        ValueError: no text encoder, or one trained on other text features (e.g. precomputed 1536-d ada).
    """
    texts = [text] if isinstance(text, str) else list(text)
    config = model.config
    if Modality.TEXT not in config.modalities:
        has = ", ".join(m.value for m in config.modalities)
        raise ValueError(f"this checkpoint has no text encoder (it has {has})")
    if config.text_dim != MINILM_DIM:
        source = ((extra or {}).get("bank_spec") or {}).get("text_field", "")
        raise ValueError(f"the checkpoint's text encoder takes {config.text_dim}-d text features "
                         f"(precomputed{f' for {source}' if source else ''}); free-text queries are embedded with "
                         f"all-MiniLM-L6-v2 ({MINILM_DIM}-d), so they need a checkpoint trained on MiniLM features")
    feats = torch.from_numpy(features.embed_texts(texts))  # (Q, 384); looked up at call time: tests replace it
    with torch.no_grad():
        return model.eval().encode(Modality.TEXT, feats).numpy().astype(np.float32)


def embed_window(model: torch.nn.Module, bank: WindowBank, row: int, modality: Modality | str, *,
                 stats: dict[str, Any] | None = None) -> np.ndarray:
    """One window of the bank through the model's encoder for `modality` (query by example).

    A window that an EmbeddingStore holds already is cheaper to take from `store.vectors(modality)[row]`.

    Args:
        model: a loaded MuJo model; bank: the window bank the row refers to; row: window row number.
        modality: which of the window's modalities to embed.
        stats: the checkpoint's normalisation stats (`extra["stats"]`) when the bank is of another dataset.
    Returns:
        (1, embed_dim) float32 unit-norm.
    """
    m = Modality(modality)
    if m not in bank.modalities:
        raise ValueError(f"the window bank has no {m.value} (it has {', '.join(x.value for x in bank.modalities)})")
    batch = renormalise(bank.batch([int(row)], [m]), bank.stats, stats)
    with torch.no_grad():
        return model.eval().encode(m, batch[m]).numpy().astype(np.float32)
