"""Per-pair validation diagnostics of the joint model: contrastive loss and in-batch top-1 per modality pair.

The total validation loss averages six pairs; these say which pairs learn (pose-IMU can improve while text pairs
overfit). In-batch top-1: how often a window's own partner is the most similar of the batch (chance about 1/B).
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from mujo.modality import Modality
from mujo.models.losses import contrastive_loss, loss_pairs


def _top1(sim: torch.Tensor, drop: torch.Tensor | None) -> float:
    """Mean over both directions of argmax == own index, ignoring masked columns."""
    if drop is not None:
        sim = sim.masked_fill(drop, float("-inf"))
    target = torch.arange(len(sim))
    rows = (sim.argmax(1) == target).float().mean()
    cols = (sim.T.masked_fill(drop.T, float("-inf")) if drop is not None else sim.T).argmax(1) == target
    return float((rows + cols.float().mean()) / 2)


def pair_names(modalities: Iterable[Modality]) -> list[str]:
    """"<a>_<b>" for every pair of the modalities, in the loss's order."""
    return [f"{a.value}_{b.value}" for a, b in loss_pairs(list(modalities), "all_pairs")]


def pair_metrics(model: nn.Module, batches: Iterable[dict]) -> tuple[dict[str, float], int]:
    """Per-pair contrastive loss and in-batch top-1 of a joint model over some batches.

    Args:
        model: a joint model (forward: {Modality: x} -> unit-norm embeddings; `temperature()`; `config`).
        batches: batches as pre-training builds them (Modality keys, optional "same_clip" mask).
    Returns:
        ({"loss_<a>_<b>": ..., "top1_<a>_<b>": ...} averaged over windows (0 without windows), windows seen).
    """
    was_training = model.training
    model.eval()
    names = pair_names(model.config.modalities)
    sums: dict[str, float] = {f"{kind}_{name}": 0.0 for name in names for kind in ("loss", "top1")}
    n = 0
    with torch.no_grad():
        temperature = model.temperature()
        for batch in batches:
            emb = model({m: x for m, x in batch.items() if isinstance(m, Modality)})
            mask = batch.get("same_clip")
            k = len(next(iter(emb.values())))
            drop = mask & ~torch.eye(k, dtype=torch.bool) if mask is not None else None
            for a, b in loss_pairs(list(emb), "all_pairs"):
                name = f"{a.value}_{b.value}"
                sums[f"loss_{name}"] += float(contrastive_loss({a: emb[a], b: emb[b]}, temperature, mask=mask)) * k
                sums[f"top1_{name}"] += _top1(emb[a] @ emb[b].T, drop) * k
            n += k
    model.train(was_training)
    return {key: value / n if n else 0.0 for key, value in sums.items()}, n
