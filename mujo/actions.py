"""What a user does that their role may forbid: each function checks the role (`mujo.access.require`) and then
calls the library, so a control that a page forgot to hide is still refused (PermissionDenied).

The pages call these, not the unguarded functions. `actor=None` is the local admin of an install without logins and
an anonymous viewer on a server with them (fail closed). The `mujo` command calls the library directly: a shell on
the server is its administrator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pandas as pd

from mujo import jobs, models_registry
from mujo.access import Action, User, local_user, require
from mujo.curation.label_import import ImportReport, import_bytes
from mujo.curation.label_windows import WriteClipsReport, write_clip_labels
from mujo.jobs import JobStatus
from mujo.settings import Settings
from mujo.store import Store, open_store
from mujo.train import sweep


def _owner(actor: User | None) -> str:
    """Who a job started for `actor` belongs to (the local user on an install without logins)."""
    return (actor or local_user()).name


def start_pretrain(actor: User | None, name: str, argv: list[str]) -> JobStatus:
    """Start (or join) the pre-training job `name` running `mujo <argv>` (admins); the job is the actor's."""
    require(actor, Action.PRETRAIN)
    return jobs.start(name, argv, owner=_owner(actor))


def create_sweep(actor: User | None, spec: sweep.SweepSpec, store: Store | str | Path | None = None) -> int:
    """Store a new sweep (admins); its id."""
    require(actor, Action.SWEEP)
    return sweep.create_sweep(spec, store)


def start_sweep(actor: User | None, sweep_id: int, **kw: Any) -> JobStatus:
    """Run (or resume) a sweep in the background (admins); the job is the actor's."""
    require(actor, Action.SWEEP)
    with jobs.acting_as(_owner(actor)):
        return sweep.start_sweep_job(sweep_id, **kw)


def cancel_sweep(actor: User | None, sweep_id: int, store: Store | str | Path | None = None) -> None:
    """Ask a sweep to stop (admins: who may start it)."""
    require(actor, Action.SWEEP)
    sweep.cancel_sweep(sweep_id, store)


def import_labels(actor: User | None, store: Store, dataset: str, name: str, data: bytes | IO[bytes],
                  **kw: Any) -> ImportReport:
    """Import (or with dry_run=True, check) an uploaded label file (admins); see `import_bytes`."""
    require(actor, Action.IMPORT_LABELS)
    return import_bytes(store, dataset, name, data, **kw)


def write_clips_csv(actor: User | None, labels: pd.DataFrame, root: str | Path, *,
                    backup: bool = False) -> WriteClipsReport:
    """Write whole-clip labels into a dataset's clips.csv (admins); see `write_clip_labels`."""
    require(actor, Action.WRITE_CLIPS_CSV)
    return write_clip_labels(labels, root, backup=backup)


def label_store(actor: User | None, store: Store | str | Path | None = None) -> Store:
    """The store to write curation labels to, for a user who may label (annotators and admins)."""
    require(actor, Action.LABEL)
    return open_store(store)


def choose_model(actor: User | None, folder: str | Path | None) -> Settings:
    """The checkpoint every session uses (None: the demo model); admins, as for the server's default dataset."""
    require(actor, Action.CHOOSE_SERVER_DATASET)
    return models_registry.choose_model_dir(folder)
