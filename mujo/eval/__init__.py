"""Embeddings of a dataset, exact cosine search and retrieval metrics; names are imported lazily on first use.

Lazy so that importing a light submodule (e.g. `mujo.eval.projection`) does not import torch. The search function
is `from mujo.eval.search import search`: once the submodule `mujo.eval.search` is imported, the package attribute
`search` is that module, so it is deliberately not re-exported here.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EmbeddingStore": "mujo.eval.embed", "embed_dataset": "mujo.eval.embed", "embeddings_dir": "mujo.eval.embed",
    "VectorIndex": "mujo.eval.vector_index", "brute_force": "mujo.eval.search",
    "embed_text_query": "mujo.eval.queries", "embed_window": "mujo.eval.queries",
    "retrieval_eval": "mujo.eval.retrieval", "save_retrieval": "mujo.eval.retrieval",
    "load_retrieval": "mujo.eval.retrieval", "format_matrix": "mujo.eval.retrieval",
    "recall_at_k": "mujo.eval.metrics", "mrr": "mujo.eval.metrics", "first_relevant": "mujo.eval.metrics",
    "chance": "mujo.eval.metrics", "FirstRelevant": "mujo.eval.metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mujo.eval' has no attribute {name!r}")
