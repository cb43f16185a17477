"""`mujo embed`, `mujo retrieval-eval`, `mujo search`: embed a dataset with a checkpoint, score and search it."""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np

from mujo.checkpoint import CheckpointError
from mujo.commands.common import EXIT_UNUSABLE, EXIT_USAGE, Progress, run_job, with_bar
from mujo.eval import embed as emb
from mujo.eval.embed import EmbeddingStore
from mujo.eval.queries import embed_text_query
from mujo.eval.retrieval import format_matrix, retrieval_eval, save_retrieval
from mujo.eval.search import search
from mujo.fimad.dataset import FimadError
from mujo.jobs import tee
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint

METRICS = ("R@1", "R@5", "R@10", "MRR")


def _run(name: str, args: argparse.Namespace, body: Callable[[Progress], None]) -> int:
    """Run body(progress) as a job; bad input becomes a message and an exit code."""
    return run_job(name, body, lambda _: f"mujo {name}: done", progress_file=args.progress_file,
                   errors=(((CheckpointError, FimadError, FileNotFoundError), EXIT_UNUSABLE),
                           ((ValueError, KeyError), EXIT_USAGE)))


def _embed(args: argparse.Namespace, progress: Progress, desc: str = "embed") -> EmbeddingStore:
    return with_bar(desc, lambda bar: emb.embed_dataset(args.checkpoint, args.dataset, out=getattr(args, "out", None),
                                                    batch_size=args.batch_size, progress=tee(bar, progress)))


def cmd_embed(args: argparse.Namespace) -> int:
    def body(progress: Progress) -> None:
        store = _embed(args, progress)
        print(f"{store!r}")

    return _run("embed", args, body)


def cmd_retrieval_eval(args: argparse.Namespace) -> int:
    def body(progress: Progress) -> None:
        store = _embed(args, progress)
        df = retrieval_eval(store, args.split)
        if not args.no_save:
            save_retrieval(df, store, args.split, checkpoint_dir=args.checkpoint)
        if args.json:
            print(df.to_json(orient="records", indent=1))
            return
        print(f"retrieval on split {args.split!r} of {store.meta['dataset_name']} ({int(df['n_queries'].max())} "
              "queries at most); percent, chance in brackets; rows: query, columns: target")
        for metric in METRICS:
            print(f"\n{metric}")
            print(format_matrix(df, metric).to_string())
        print("\n" + df[["query", "target", "n_queries", "n_targets"]].to_string(index=False))
        if not args.no_save:
            print(f"\nsaved to {args.checkpoint}/retrieval.json and the project store")

    return _run("retrieval-eval", args, body)


def cmd_search(args: argparse.Namespace) -> int:
    def body(progress: Progress) -> None:
        if (args.text is None) == (args.window is None):
            raise ValueError("give exactly one query: --text \"...\" or --window ROW (with --query-modality)")
        store = _embed(args, progress)
        target = Modality(args.target)
        rows = store.rows(args.split) if args.split else None
        exclude = None
        if args.text is not None:
            model, extra = load_checkpoint(args.checkpoint)
            query = embed_text_query(model, args.text, extra)
            what = f"text {args.text!r}"
        else:
            qm = Modality(args.query_modality)
            if not 0 <= args.window < len(store):
                raise ValueError(f"--window must be a row in [0, {len(store)})")
            query = np.asarray(store.vectors(qm)[args.window], np.float32)
            exclude = [args.window] if qm is target else None
            what = f"{qm.value} window {args.window}"
        if target is Modality.TEXT:  # one text per clip: search the clips, not their repeated windows
            rows = store.clip_rows(rows)
        idx, scores = search(store, query, target, k=args.k, rows=rows, exclude=exclude)
        hits = store.index.iloc[idx[0]].assign(similarity=scores[0], row=idx[0])
        if args.json:
            print(hits.to_json(orient="records", indent=1, force_ascii=False))
            return
        unit = "clip texts" if target is Modality.TEXT else f"{target.value} windows"
        print(f"top {len(hits)} {unit} for {what}:")
        shown = hits[["row", "clip_id", "start", "t0_s", "chapter", "similarity"]].rename(columns={"clip_id": "clip"})
        print(shown.to_string(index=False, formatters={"similarity": "{:.4f}".format, "t0_s": "{:.1f}".format},
                              max_colwidth=60))

    return _run("search", args, body)
