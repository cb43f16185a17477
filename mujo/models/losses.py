"""The contrastive loss of the joint space: symmetric InfoNCE over every pair of present modalities (paper eq. 3)."""

from __future__ import annotations

from itertools import combinations

import torch
import torch.nn.functional as F

from mujo.modality import Modality

LOSS_MODES = ("all_pairs", "text_anchor")


def loss_pairs(modalities: list[Modality] | tuple[Modality, ...], mode: str = "all_pairs"
               ) -> list[tuple[Modality, Modality]]:
    """The unordered modality pairs a loss mode uses, in a fixed order.

    Args:
        modalities: the modalities present in the batch.
        mode: "all_pairs" (every unordered pair, the paper's choice) or "text_anchor" (only text-x pairs).
    Returns:
        List of (a, b) pairs.
    """
    if mode not in LOSS_MODES:
        raise ValueError(f"loss mode must be one of {LOSS_MODES}, got {mode!r}")
    present = [Modality(m) for m in modalities]
    if len(present) < 2:
        raise ValueError(f"a contrastive loss needs at least two modalities, got {[m.value for m in present]}")
    if mode == "all_pairs":
        return list(combinations(present, 2))
    if Modality.TEXT not in present:
        raise ValueError(f"text_anchor loss needs text among the modalities, got {[m.value for m in present]}")
    return [(Modality.TEXT, m) for m in present if m != Modality.TEXT]


def contrastive_loss(embeddings: dict[Modality, torch.Tensor], temperature: float | torch.Tensor,
                     mode: str = "all_pairs", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE, L(a, b) + L(b, a), averaged over the modality pairs of `mode`.

    L(a, b) is the cross-entropy of row i of sim(a, b) / temperature against column i, where sim is the cosine
    similarity (embeddings are normalised here, so any scale works). Unlike the paper's eq. 2 the sum over the
    batch is a mean, so the loss does not grow with the batch size; as in eq. 3 the two directions add up and the
    pairs are averaged.

    Args:
        embeddings: {modality: (B, D)} with row i of every modality from the same window.
        temperature: tau, a float or a scalar tensor (a learnable one receives gradients).
        mode: "all_pairs" or "text_anchor".
        mask: optional (B, B) bool, True where window j must not count as a negative for window i (e.g. windows
            of the same clip, which share one text embedding and would otherwise be pushed apart from a text that
            describes them). The diagonal (the positive) is always kept, whatever the mask says.
    Returns:
        Scalar loss tensor.
    """
    pairs = loss_pairs(list(embeddings), mode)
    sizes = {tuple(e.shape[:1]) for e in embeddings.values()}
    if len(sizes) != 1:
        shapes = [tuple(e.shape) for e in embeddings.values()]
        raise ValueError(f"all modalities need the same batch size, got shapes {shapes}")
    z = {m: F.normalize(e, dim=-1) for m, e in embeddings.items()}
    n = next(iter(z.values())).shape[0]
    target = torch.arange(n, device=next(iter(z.values())).device)
    drop = None
    if mask is not None:
        if mask.shape != (n, n) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a ({n}, {n}) bool tensor, got {tuple(mask.shape)} {mask.dtype}")
        drop = mask & ~torch.eye(n, dtype=torch.bool, device=mask.device)
    total = 0.0
    for a, b in pairs:
        logits = z[Modality(a)] @ z[Modality(b)].T / temperature  # (B, B): rows a, columns b
        logits_t = logits.T  # (B, B): rows b, columns a
        if drop is not None:  # row i is always the query window i, in both directions
            logits, logits_t = logits.masked_fill(drop, float("-inf")), logits_t.masked_fill(drop, float("-inf"))
        total = total + F.cross_entropy(logits, target) + F.cross_entropy(logits_t, target)
    return total / len(pairs)
