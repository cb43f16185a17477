"""What the Fine-tuning and Zero-shot pages share: choosing target datasets and checkpoints, and whether they fit.

Reads dataset indexes and checkpoint JSON only (no weights, no torch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import streamlit as st

from mujo import actions, datasets, jobs
from mujo import models_registry as registry
from mujo.checkpoint import CheckpointError
from mujo.config import ConfigError, ModelConfig, from_dict
from mujo.datasets.base import DatasetError
from mujo.datasets.inputs import checkpoint_problem
from mujo.ui.access import current_user
from mujo.ui.nav import home_link
from mujo.ui.sidebar import current_folder
from mujo.ui.state import StateKeys
from mujo.ui.text import label_text, md_escape


def present_targets() -> list[dict[str, Any]]:
    """The registered target datasets whose default copy exists (name, description, root)."""
    try:
        return [d for d in datasets.describe_targets() if d.get("exists")]
    except Exception:  # noqa: BLE001 - a broken registry entry must not take the page down
        return []


def known_targets() -> list[dict[str, Any]]:
    """Every registered target dataset (present or not), for the "where do I put it" explanation."""
    try:
        return list(datasets.describe_targets())
    except Exception:  # noqa: BLE001
        return []


@st.cache_resource(max_entries=16, ttl=600, show_spinner="Reading the dataset index…")
def _info(spec: str) -> Any:
    return datasets.open_target(spec).info


def dataset_info(spec: str) -> tuple[Any | None, str | None]:
    """(DatasetInfo, None) of a dataset spec, or (None, why it cannot be opened); cached for ten minutes."""
    try:
        return _info(str(spec)), None
    except (DatasetError, OSError, ValueError) as e:
        return None, str(e)


def folder_spec(text: str) -> str | None:
    """A user's folder (or file) as a dataset spec, or None when the field is empty."""
    text = str(text or "").strip()
    return str(Path(text).expanduser()) if text else None


def no_dataset_guard(folder_key: StateKeys, *, stop: bool = True, other: bool = False) -> bool:
    """When no registered dataset is present, no folder is given and `other` (another dataset the page offers) is
    False: explain where datasets go, offer the folder field and a link to Home, then st.stop() (or, with
    stop=False, return False). True when there is a dataset."""
    if other or present_targets() or folder_spec(st.session_state.get(folder_key, "")):
        return True
    roots = ", ".join(sorted({str(Path(d["root"]).parent) for d in known_targets() if d.get("root")}))
    st.info(md_escape("No target dataset found. Put MotionSense, UTD-MHAD, MM-Fit, MHEALTH or MyoGym in their "
                      f"original formats under {roots or 'the shared datasets folder'}, or give the folder of "
                      "a dataset in the generic format (mujo-dataset.json, see docs/generic-format.md) below."),
            icon=":material/dataset:")
    st.text_input("Dataset folder (generic format or an original release)", key=folder_key)
    home_link()
    if stop:
        st.stop()
    return False


def checkpoint_infos(need: str | None = None) -> list[registry.CheckpointInfo]:
    """Readable checkpoints under models_dir() (and the one in use), optionally only those with modality `need`."""
    paths = list(registry.list_checkpoints())
    current = registry.model_dir()
    if registry.is_checkpoint(current) and current not in paths:
        paths.insert(0, current)
    out = []
    for p in paths:
        try:
            info = registry.read_checkpoint(p)
        except CheckpointError:
            continue
        if need is None or need in info.modalities:
            out.append(info)
    return out


def checkpoint_label(path: str | Path) -> str:
    """A checkpoint's folder relative to models_dir() when it lies there, else its path."""
    p, root = Path(path), registry.models_dir()
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(p)


def fit_problem(info: Any, ckpt: registry.CheckpointInfo, inputs: Sequence[str]) -> str | None:
    """Why checkpoint `ckpt` cannot run on the dataset described by `info` with `inputs`, or None."""
    try:
        config = from_dict(ModelConfig, dict(ckpt.model))
    except (ConfigError, TypeError, ValueError) as e:
        return f"its config cannot be read: {e}"
    return checkpoint_problem(info, config, list(inputs))


def dataset_sites(info: Any) -> list[str]:
    """The virtual IMU sites a dataset's sensors map to (what a matching checkpoint must be pre-trained for)."""
    return sorted(set(info.placements.values()))


def pretrain_job_name(sites: Sequence[str]) -> str:
    """The background job that pre-trains a checkpoint for these sites ("pretrain-LWrist-RWrist")."""
    return "pretrain-" + "-".join(sites)


def pretrain_out(sites: Sequence[str]) -> Path:
    """Where that job writes its checkpoint: models_dir()/small-<sites>."""
    return registry.models_dir() / ("small-" + "-".join(sites))


def start_pretrain(sites: Sequence[str]) -> jobs.JobStatus:
    """Pre-train a small MuJo model for `sites` (accelerometer only) on the current FiMAD dataset, in the background.

    Accelerometer only because every target dataset has it; the job appears under models_dir() when done.
    """
    argv = ["pretrain", str(current_folder()), "--out", str(pretrain_out(sites)), "--preset", "small",
            "--sites", *sites, "--no-gyro", "--threads", "1"]
    return actions.start_pretrain(current_user(), pretrain_job_name(sites), argv)


def pretrain_panel(sites: Sequence[str], key: str) -> None:
    """A button that pre-trains a checkpoint for `sites`, or the progress / outcome of that job."""
    name = pretrain_job_name(sites)
    status = jobs.status(name)
    where = checkpoint_label(pretrain_out(sites))
    if status.state == jobs.RUNNING:
        st.progress(min(max(status.fraction, 0.0), 1.0),
                    text=md_escape(f"Pre-training {where}: {status.fraction:.0%} {status.message}"))
        return
    if status.state == jobs.DONE and registry.is_checkpoint(pretrain_out(sites)):
        st.caption(md_escape(f"{where} was pre-trained for these sites; choose it above."))
        return
    if status.state == jobs.FAILED:
        st.caption(md_escape(f"Pre-training {where} failed: {status.error or status.message}"))
    if st.button(f"Pre-train a small model for {label_text(', '.join(sites))} on the current FiMAD dataset", key=key,
                 icon=":material/model_training:",
                 help=md_escape(f"Runs mujo pretrain {current_folder()} --sites {' '.join(sites)} --preset "
                                f"small in the background (minutes); the checkpoint goes to {pretrain_out(sites)}.")):
        start_pretrain(sites)
        st.rerun()
