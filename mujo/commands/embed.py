"""`mujo embed`, `mujo retrieval-eval`, `mujo search`: embed a dataset with a checkpoint, score and search it."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, with_bar
from mujo.jobs import ProgressFile, tee

METRICS = ("R@1", "R@5", "R@10", "MRR")


def _run(name: str, args: argparse.Namespace, body: Callable[[Any], int]) -> int:
    """Run body(progress) with a bar (and the job's progress file); bad input becomes a message and an exit code."""
    from mujo.checkpoint import CheckpointError
    from mujo.fimad.dataset import FimadError

    job = ProgressFile(args.progress_file) if getattr(args, "progress_file", None) else None
    try:
        code = body(job)
    except KeyboardInterrupt:
        if job:
            job.fail("interrupted")
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (CheckpointError, FimadError, FileNotFoundError) as e:
        if job:
            job.fail(str(e))
        print(f"mujo {name}: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (ValueError, KeyError) as e:
        if job:
            job.fail(str(e))
        print(f"mujo {name}: {e}", file=sys.stderr)
        return EXIT_USAGE
    if job:
        job.done(f"mujo {name}: done")
    return code


def _embed(args: argparse.Namespace, job: Any, desc: str = "embed") -> Any:
    from mujo.eval.embed import embed_dataset

    return with_bar(desc, lambda bar: embed_dataset(args.checkpoint, args.dataset, out=getattr(args, "out", None),
                                                    batch_size=args.batch_size, progress=tee(bar, job)))


def cmd_embed(args: argparse.Namespace) -> int:
    def body(job: Any) -> int:
        store = _embed(args, job)
        print(f"{store!r}")
        return EXIT_OK

    return _run("embed", args, body)


def cmd_retrieval_eval(args: argparse.Namespace) -> int:
    from mujo.eval.retrieval import format_matrix, retrieval_eval, save_retrieval

    def body(job: Any) -> int:
        store = _embed(args, job)
        df = retrieval_eval(store, args.split)
        if not args.no_save:
            save_retrieval(df, store, args.split, checkpoint_dir=args.checkpoint)
        if args.json:
            print(df.to_json(orient="records", indent=1))
            return EXIT_OK
        print(f"retrieval on split {args.split!r} of {store.meta['dataset_name']} ({int(df['n_queries'].max())} "
              "queries at most); percent, chance in brackets; rows: query, columns: target")
        for metric in METRICS:
            print(f"\n{metric}")
            print(format_matrix(df, metric).to_string())
        print("\n" + df[["query", "target", "n_queries", "n_targets"]].to_string(index=False))
        if not args.no_save:
            print(f"\nsaved to {args.checkpoint}/retrieval.json and the project store")
        return EXIT_OK

    return _run("retrieval-eval", args, body)


def cmd_search(args: argparse.Namespace) -> int:
    import numpy as np

    from mujo.models.checkpoint_io import load_checkpoint
    from mujo.eval.queries import embed_text_query
    from mujo.eval.search import search
    from mujo.modality import Modality

    def body(job: Any) -> int:
        if (args.text is None) == (args.window is None):
            raise ValueError("give exactly one query: --text \"...\" or --window ROW (with --query-modality)")
        store = _embed(args, job)
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
            return EXIT_OK
        unit = "clip texts" if target is Modality.TEXT else f"{target.value} windows"
        print(f"top {len(hits)} {unit} for {what}:")
        shown = hits[["row", "clip_id", "start", "t0_s", "chapter", "similarity"]].rename(columns={"clip_id": "clip"})
        print(shown.to_string(index=False, formatters={"similarity": "{:.4f}".format, "t0_s": "{:.1f}".format},
                              max_colwidth=60))
        return EXIT_OK

    return _run("search", args, body)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint folder (model.safetensors + config.json)")
    p.add_argument("dataset", help="FiMAD dataset folder")
    p.add_argument("--batch-size", type=int, default=1024, help="windows per forward pass when embedding")
    p.add_argument("--progress-file", default=None, help="also write progress as JSON here (for the app)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `mujo` parser."""
    e = sub.add_parser("embed", help="embed every window of a dataset with a checkpoint (float16 memmaps + index)")
    _common(e)
    e.add_argument("--out", default=None, help="store folder (default data/embeddings/<checkpoint>__<dataset>)")
    e.set_defaults(func=cmd_embed)

    r = sub.add_parser("retrieval-eval", help="R@1/5/10 and MRR for every ordered pair of modalities, with chance")
    _common(r)
    r.add_argument("--split", default="val", help="split to evaluate (default val)")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
    r.add_argument("--no-save", action="store_true", help="do not write retrieval.json or the store")
    r.set_defaults(func=cmd_retrieval_eval)

    s = sub.add_parser("search", help="top-k windows for a free-text query (or a window) in a target modality")
    _common(s)
    s.add_argument("--text", default=None, help="free-text query, e.g. \"jump squats\"")
    s.add_argument("--window", type=int, default=None, help="query by example: a window row of the store")
    s.add_argument("--query-modality", default="imu", help="modality of --window (default imu)")
    s.add_argument("--target", default="imu", help="modality searched: imu (default), pose, video or text")
    s.add_argument("-k", type=int, default=10, help="results (default 10)")
    s.add_argument("--split", default=None, help="search only this split's windows")
    s.add_argument("--json", action="store_true", help="print the hits as JSON")
    s.set_defaults(func=cmd_search)
