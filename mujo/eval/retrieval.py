"""Cross-modal retrieval on one split of an embedding store: R@k and MRR per ordered pair, with chance levels.

Relevance: between pose, IMU and video the relevant target is the query's own window. Text is per clip: as a
target there is one text per clip (the query window's clip is relevant); as a query there is one per clip and
every window of that clip is relevant. Targets are the split's windows (or clips) only.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from itertools import permutations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
import torch

from mujo.checkpoint import RETRIEVAL, read_checkpoint_config
from mujo.eval.metrics import FirstRelevant, chance, first_relevant, mrr, recall_at_k
from mujo.modality import Modality
from mujo.store import open_store

if TYPE_CHECKING:
    from mujo.eval.embed import EmbeddingStore

KS = (1, 5, 10)
RESULTS_FILE = RETRIEVAL  # saved beside the checkpoint; mujo.checkpoint names its files
_BLOCK_ELEMENTS = 4 << 20  # scores per (queries, targets) block


def pair_outcome(queries: np.ndarray, q_group: np.ndarray, targets: np.ndarray, t_group: np.ndarray
                 ) -> FirstRelevant:
    """FirstRelevant of each query, target j relevant to query i when t_group[j] == q_group[i].

    Args:
        queries: (Q, D) float32; targets: (N, D) float32 (unit-norm rows: scores are dot products).
        q_group: (Q,) int; t_group: (N,) int.
    Returns:
        FirstRelevant counts per query.
    """
    tq, tt = torch.from_numpy(np.ascontiguousarray(queries)), torch.from_numpy(np.ascontiguousarray(targets))
    step = max(1, _BLOCK_ELEMENTS // max(1, len(targets)))
    parts = []
    for lo in range(0, len(queries), step):
        scores = torch.mm(tq[lo:lo + step], tt.T).numpy()  # (Qb, N)
        parts.append(first_relevant(scores, q_group[lo:lo + step, None] == t_group[None, :]))
    return FirstRelevant.concat(parts)


def retrieval_eval(store: EmbeddingStore, split: str = "val", *, modalities: list[Modality | str] | None = None,
                   ks: tuple[int, ...] = KS, progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """R@k and MRR of every ordered pair of the store's modalities on one split, beside their chance levels.

    Args:
        store: an EmbeddingStore.
        split: which windows ("val", "test", "train").
        modalities: restrict to these (default all of the store's).
        ks: the cut-offs of R@k.
        progress: called with (fraction, message).
    Returns:
        One row per (query, target): query, target, n_queries, n_targets, R@k..., MRR, chance_R@k..., chance_MRR
        (metrics as fractions in [0, 1]).
    Raises:
        ValueError: the split has no windows, or fewer than two modalities.
    """
    mods = [Modality(m) for m in (modalities or store.modalities)]
    if len(mods) < 2:
        raise ValueError(f"retrieval needs two modalities; the store has {', '.join(m.value for m in mods)}")
    rows = store.rows(split)
    if len(rows) == 0:
        raise ValueError(f"the store has no windows in split {split!r} "
                         f"(splits: {', '.join(sorted(store.index['split'].astype(str).unique()))})")
    codes = np.unique(store.index["clip_id"].to_numpy()[rows], return_inverse=True)[1].ravel()  # (R,) clip code
    clip_first = np.unique(codes, return_index=True)[1]  # position in `rows` of each clip's first window
    vectors: dict[tuple[Modality, bool], np.ndarray] = {}

    def side(m: Modality, per_clip: bool) -> np.ndarray:
        key = (m, per_clip)
        if key not in vectors:
            sel = rows[clip_first] if per_clip else rows
            vectors[key] = np.asarray(store.vectors(m)[sel], np.float32)
        return vectors[key]

    out = []
    pairs = list(permutations(mods, 2))
    for i, (qm, tm) in enumerate(pairs):
        if progress:
            progress(i / len(pairs), f"retrieval {qm.value} -> {tm.value}")
        text_q, text_t = qm is Modality.TEXT, tm is Modality.TEXT
        if text_q or text_t:  # relevance by clip
            q_group = codes[clip_first] if text_q else codes
            t_group = codes[clip_first] if text_t else codes
        else:  # relevance by window
            q_group = t_group = np.arange(len(rows))
        outcome = pair_outcome(side(qm, text_q), q_group, side(tm, text_t), t_group)
        n_rel = np.bincount(t_group, minlength=int(q_group.max()) + 1)[q_group]
        rand = chance(len(t_group), n_rel)
        row: dict[str, Any] = {"query": qm.value, "target": tm.value, "n_queries": len(q_group),
                               "n_targets": len(t_group)}
        row |= {f"R@{k}": recall_at_k(outcome, k) for k in ks} | {"MRR": mrr(outcome)}
        row |= {f"chance_R@{k}": recall_at_k(rand, k) for k in ks} | {"chance_MRR": mrr(rand)}
        out.append(row)
    if progress:
        progress(1.0, "retrieval: done")
    return pd.DataFrame(out)


def format_matrix(df: pd.DataFrame, metric: str = "R@1") -> pd.DataFrame:
    """A query x target table of one metric, each cell "value (chance)" in percent."""
    cells = df.assign(cell=[f"{100 * v:.1f} ({100 * c:.1f})" for v, c in zip(df[metric], df[f"chance_{metric}"])])
    return cells.pivot(index="query", columns="target", values="cell").fillna("-")


def save_retrieval(df: pd.DataFrame, store: EmbeddingStore, split: str, *, checkpoint_dir: str | Path | None = None,
                   db: Any = None) -> dict[str, Any]:
    """Keep the results with the checkpoint (`<checkpoint>/retrieval.json`) and in the project's SQLite store.

    The checkpoint's training run (its `extra["run_id"]`, when the store has that run for this checkpoint) gets
    the result; otherwise a "retrieval" run is recorded for it.

    Args:
        df: `retrieval_eval`'s frame; store: the EmbeddingStore it came from; split: its split.
        checkpoint_dir: default the store's checkpoint.
        db: a mujo.store.Store or path (default the project's store).
    Returns:
        The saved payload.
    """
    ckpt = Path(checkpoint_dir or store.meta["checkpoint"])
    meta = store.meta
    key = f"{meta['dataset_id']}/{split}"
    payload = {"checkpoint_id": meta["checkpoint_id"], "dataset": meta["dataset"], "dataset_name": meta["dataset_name"],
               "dataset_id": meta["dataset_id"], "split": split,
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "metrics": json.loads(df.to_json(orient="records"))}
    path = ckpt / RESULTS_FILE
    doc: dict[str, Any] = {"format": "mujo-retrieval", "version": 1, "results": {}}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(old, dict) and isinstance(old.get("results"), dict):
            doc["results"] = old["results"]
    except (OSError, ValueError):
        pass
    doc["results"][key] = payload
    doc["latest"] = key
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    _save_to_db(payload, key, ckpt, db)
    return payload


def _save_to_db(payload: dict[str, Any], key: str, ckpt: Path, db: Any) -> None:
    store = open_store(db)
    run_id = read_checkpoint_config(ckpt)[1].get("run_id")
    run = store.get_run(run_id) if isinstance(run_id, int) else None
    if run is None or not run.get("checkpoint") or Path(run["checkpoint"]).resolve() != ckpt.resolve():
        run_id = store.start_run("retrieval", name=f"retrieval {payload['dataset_name']} {payload['split']}",
                                 dataset=payload["dataset"], config={"split": payload["split"]},
                                 checkpoint=str(ckpt))
        store.put_result(run_id, f"retrieval/{key}", payload)
        store.finish_run(run_id)
    else:
        store.put_result(run_id, f"retrieval/{key}", payload)


def load_retrieval(checkpoint_dir: str | Path, key: str | None = None) -> pd.DataFrame | None:
    """Saved results of a checkpoint as retrieval_eval's frame: `key` "<dataset-id>/<split>", default the latest.

    Returns None when the checkpoint has none (or not for that key).
    """
    try:
        doc = json.loads((Path(checkpoint_dir) / RESULTS_FILE).read_text(encoding="utf-8"))
        entry = doc["results"][key or doc["latest"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pd.DataFrame(entry["metrics"])
