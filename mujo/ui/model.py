"""The checkpoint and embedding store the model pages use: cached loaders, and guards that say what is missing.

Caching (style.md point 11): the model and the opened store are shared read-only resources (`st.cache_resource`),
keyed by their folder and the modification times of their files; a text query's vector is a pure function of the
checkpoint and the text (`st.cache_data`). torch is imported only inside the loaders, so importing this module
(and the pages) stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from mujo import jobs
from mujo import models_registry as registry
from mujo.ui import background
from mujo.ui import dataset as uds
from mujo.ui.nav import home_link
from mujo.ui.state import StateKeys
from mujo.ui.text import LABEL_CHARS, label_text, md_escape, short


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _load_model(path: str, stamp: tuple[float, ...]) -> tuple[Any, dict[str, Any]]:
    from mujo.models.checkpoint_io import load_checkpoint  # noqa: PLC0415  (keeps torch off Home and the model pages)

    return load_checkpoint(path)


def load_model(info: registry.CheckpointInfo) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, extra) of a checkpoint, loaded once per server process and file version."""
    return _load_model(str(info.path), info.stamp)


def store_stamp(folder: str | Path) -> float:
    """meta.json's modification time: a store is rewritten as a whole, meta.json last."""
    try:
        return (Path(folder) / "meta.json").stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=4, show_spinner="Opening the embeddings…")
def _open_store(folder: str, stamp: float) -> Any:
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415  (keeps torch off Home and the model pages)

    store = EmbeddingStore.open(folder)
    _ = store.index  # read the parquet index once, here, not in a page run
    return store


def open_store(folder: str | Path) -> Any:
    """The opened EmbeddingStore (shared by all sessions; its search indexes are kept with it)."""
    return _open_store(str(folder), store_stamp(folder))


@st.cache_data(max_entries=128, show_spinner=False)
def text_query_vector(path: str, stamp: tuple[float, ...], text: str) -> np.ndarray:
    """(1, D) query vector of free text (MiniLM, then the checkpoint's text encoder)."""
    from mujo.eval.queries import embed_text_query  # noqa: PLC0415  (keeps torch off Home and the model pages)

    model, extra = _load_model(path, stamp)
    return embed_text_query(model, text, extra)


def demo_model_status() -> jobs.JobStatus | None:
    """Status of the first-start pipeline that pre-trains the demo model (None when it cannot be read)."""
    try:
        return uds.demo_status()
    except Exception:  # noqa: BLE001 - a status that cannot be read must not break a page
        return None


def demo_training(folder: Path) -> jobs.JobStatus | None:
    """The first-start job's status while it is still pre-training the demo model that `folder` would be (its
    `best/` so far, not yet published), else None: pages wait for the finished model instead of using it."""
    if folder != registry.models_dir() / registry.DEMO_MODEL / "best":
        return None
    status = demo_model_status()
    return status if status is not None and status.state == jobs.RUNNING else None


def require_checkpoint() -> registry.CheckpointInfo:
    """The checkpoint in use, or an explanation with a link to Home and `st.stop()`."""
    folder = registry.model_dir()
    status = demo_training(folder)
    info = registry.current_checkpoint() if status is None else None
    if info is not None:
        return info
    if status is not None:
        st.info(f"The demo model is being trained ({status.fraction:.0%}). This page works once it is ready; "
                "Home shows the progress.", icon=":material/model_training:")
    else:
        st.info(md_escape(f"No model checkpoint yet (looked in {folder}). Home shows how to get one: the demo "
                          "model is pre-trained there, or choose another checkpoint folder."),
                icon=":material/model_training:")
    home_link()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def require_store(ref: uds.DatasetRef, info: registry.CheckpointInfo) -> Any:
    """The embedding store of this checkpoint and dataset; without one, a button that computes it as a registry job
    (`mujo embed`, in its own process) and its progress, and st.stop()."""
    folder = registry.find_store(info.path, ref.root)
    if folder is not None:
        return open_store(folder)
    st.info("This dataset has not been embedded with the loaded model yet: every window goes through every "
            "encoder once (about a minute for the demo dataset on 2 cores); the pages then read the stored "
            "vectors.", icon=":material/scatter_plot:")
    inputs = [str(info.path), str(ref.root)]
    job = jobs.latest("embed", inputs)
    if job is not None and job.active:
        background.follow(job.id, "Embedding every window")
    else:
        if job is not None and job.state == jobs.FAILED:
            st.error(md_escape(f"Computing the embeddings failed: {job.error}"), icon=":material/error:")
        if st.button("Compute the embeddings", key=StateKeys.EMBED_RUN, type="primary",
                     icon=":material/play_arrow:"):
            background.wait(background.submit("embed", ["embed", *inputs], key_inputs=inputs), 2.0)
            st.rerun()
    st.caption(md_escape(f"Or from a shell: mujo embed {info.path} {ref.root}"))
    st.stop()
    raise AssertionError("unreachable")


def model_sidebar(info: registry.CheckpointInfo, store: Any | None = None) -> None:
    """A short description of the loaded model (and its store) in the sidebar."""
    with st.sidebar:
        st.caption("Model")
        name = info.path.name if info.path.name not in ("best", "last") else f"{info.path.parent.name}/{info.path.name}"
        st.text(short(name, LABEL_CHARS, one_line=True))
        # The preset and the modality names come from the checkpoint's files: text, never Markdown.
        facts = (info.preset and f"preset {info.preset}", ", ".join(info.modalities),
                 f"{info.total_parameters / 1e6:.2f} M parameters")
        st.caption(label_text(" · ".join(x for x in facts if x), 200))
        if store is not None:
            st.caption(f"{len(store):,} windows embedded")
