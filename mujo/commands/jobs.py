"""`mujo jobs list|cancel|sleep`, `mujo project`, `mujo null-compare`: the registry from a shell, and the commands
the app runs as jobs instead of in its own threads."""

from __future__ import annotations

import argparse
import json
import time

from mujo import jobs
from mujo.access import PermissionDenied, local_user
from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE, Progress, run_job
from mujo.store import Store


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def cmd_jobs_list(args: argparse.Namespace) -> int:
    shown = jobs.list_jobs(active=True) + jobs.list_jobs(active=False, limit=1000 if args.all else 10)
    print(f"{'id':>5}  {'state':<9} {'kind':<12} {'owner':<12} {'age':>7}  progress")
    for j in shown:
        print(f"{j.id:>5}  {j.state:<9} {j.kind:<12} {j.owner[:12]:<12} {_age(j.age_s()):>7}  "
              f"{j.fraction:4.0%} {j.error.splitlines()[0] if j.error else j.message}")
    print(f"\nat most {jobs.max_jobs()} heavy jobs run at once ($MUJO_MAX_JOBS)")
    return EXIT_OK


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    try:
        job = jobs.cancel(args.id, local_user())
    except PermissionDenied as e:
        print(f"mujo jobs cancel: {e}")
        return EXIT_USAGE
    if job is None:
        print(f"mujo jobs cancel: no job {args.id}")
        return EXIT_USAGE
    print(f"job {job.id} ({job.kind}): {job.state}")
    return EXIT_OK


def cmd_jobs_sleep(args: argparse.Namespace) -> int:
    def work(progress: Progress) -> float:
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < args.seconds:
            progress(elapsed / args.seconds, f"{elapsed:.1f} of {args.seconds:g} s")
            time.sleep(min(0.05, args.seconds))
        return args.seconds

    return run_job("jobs sleep", work, lambda s: f"slept {s:g} s")


def cmd_project(args: argparse.Namespace) -> int:
    from mujo.eval import embedding_view as ev  # noqa: PLC0415  (keeps torch off `mujo jobs list` and --help)
    from mujo.eval import projection  # noqa: PLC0415  (keeps umap's import off the light commands)
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415  (keeps torch off the light commands)

    def work(progress: Progress) -> int:
        view, params = json.loads(args.view), json.loads(args.params)
        spec = ev.ViewSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in view.items()})
        store = EmbeddingStore.open(args.store)
        points = ev.build_points(store, spec)
        coords = projection.cached_projection(ev.key_parts(store, points, spec),
                                              lambda: ev.point_vectors(store, points), params, progress=progress)
        return len(coords)

    return run_job("project", work, lambda n: f"projection of {n:,} points cached", bar=None if args.quiet
                   else "project", errors=(((FileNotFoundError, OSError), EXIT_UNUSABLE),
                                           ((ValueError, TypeError), EXIT_USAGE)))


def cmd_null_compare(args: argparse.Namespace) -> int:
    from mujo.curation.feedback_runs import compare_null  # noqa: PLC0415  (keeps torch off the light commands)

    def report(table) -> str:
        print(table.to_string(index=False))
        return f"{len(table)} zero-shot runs stored"

    return run_job("null-compare", lambda progress: compare_null(args.dataset, args.checkpoints,
                                                                  store=args.store or Store(), progress=progress),
                   report, errors=((ValueError, EXIT_USAGE), (OSError, EXIT_UNUSABLE)))
