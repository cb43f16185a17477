"""Home's model panel: the checkpoint in use (path, preset, modalities, size, training, R@k), or why there is none,
and the choice of another checkpoint. Reads JSON and file headers only: no torch on Home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from mujo import actions
from mujo import models_registry as registry
from mujo.access import Action
from mujo.checkpoint import CheckpointError
from mujo.ui.access import can, current_user
from mujo.ui.model import demo_training
from mujo.ui.nav import EMBEDDING_PAGE, FINETUNE_PAGE, RETRIEVAL_PAGE, ZEROSHOT_PAGE
from mujo.ui.state import StateKeys
from mujo.ui.text import label_text, md_escape

# (query, target, metric) pairs worth a headline: the quality bar (pose <-> IMU R@1, text -> IMU R@10)
HIGHLIGHTS = (("pose", "imu", "R@1"), ("imu", "pose", "R@1"), ("text", "imu", "R@10"))
NAMES = {"text": "Text", "imu": "IMU", "pose": "Pose", "video": "Video"}


def _short(path: Path) -> str:
    """A checkpoint's name: its folder (with the parent for best/ and last/)."""
    return f"{path.parent.name}/{path.name}" if path.name in ("best", "last") else path.name


def _highlights(info: registry.CheckpointInfo) -> tuple[list[dict[str, Any]], str]:
    """Headline retrieval metrics of the latest saved evaluation, and where they were measured."""
    doc = registry.saved_retrieval(info.path)
    if not doc:
        return [], ""
    entry = (doc.get("results") or {}).get(doc.get("latest") or "") or {}
    rows = {(r.get("query"), r.get("target")): r for r in entry.get("metrics") or [] if isinstance(r, dict)}
    out = []
    for q, t, metric in HIGHLIGHTS:
        r = rows.get((q, t))
        if r and metric in r:
            out.append({"label": label_text(f"{NAMES.get(q, q)}\u00a0→\u00a0{NAMES.get(t, t)}"),
                        "metric": md_escape(metric),
                        "value": float(r[metric]),
                        "chance": float(r.get(f"chance_{metric}", 0.0)), "n": int(r.get("n_queries", 0))})
    where = f"{entry.get('dataset_name', '?')}, {entry.get('split', '?')} split"
    return out, where


def _describe(info: registry.CheckpointInfo) -> None:
    preset = f" · preset {label_text(info.preset)}" if info.preset else ""
    st.markdown(f"**{label_text(_short(info.path))}**{preset}")
    st.text(str(info.path))  # not st.code: Home's first paint loads no syntax highlighter (1.5 MB of script)
    sites = ", ".join(info.imu_sites) if "imu" in info.modalities else "—"
    channels = "+".join(info.model.get("imu_channels", []) or [])
    facts = [("Parameters", f"{info.total_parameters / 1e6:.2f} M"),
             ("Joint space", f"{info.model.get('embed_dim', '?')}-d"),
             ("Modalities", ", ".join(NAMES.get(m, m) for m in info.modalities)),
             ("IMU sites", sites + (f" ({channels})" if channels and "imu" in info.modalities else "")),
             ("Method", info.method)]
    st.markdown("  \n".join(f"**{k}** {md_escape(v)}" for k, v in facts),
                help=md_escape("Parameters per part: " + ", ".join(f"{k} {v:,}"
                                                                   for k, v in sorted(info.parameters.items()))))
    s = info.summary
    if s:
        parts = []
        if "epochs" in s:
            parts.append(f"{s['epochs']} epochs" + (f" (best {s['best_epoch']})" if "best_epoch" in s else ""))
        if s.get("best_loss") is not None:
            parts.append(f"best validation loss {float(s['best_loss']):.3f}")
        if "train_windows" in s:
            parts.append(f"{int(s['train_windows']):,} training / {int(s.get('val_windows', 0)):,} validation windows")
        if "seconds" in s:
            parts.append(f"{float(s['seconds']) / 60:.1f} min")
        if s.get("stopped_early"):
            parts.append("stopped early")
        st.caption("Training: " + md_escape(" · ".join(parts)))
    highlights, where = _highlights(info)
    if highlights:
        rows = [f"| {h['label']} | {h['metric']} | **{100 * h['value']:.1f}** | {100 * h['chance']:.1f} |"
                for h in highlights]
        st.markdown("\n".join(["| Retrieval | | % | chance |", "|---|---|--:|--:|"] + rows))
        st.caption(md_escape(f"On {where} ({max(h['n'] for h in highlights):,} queries at most per pair)."))
        st.page_link(RETRIEVAL_PAGE, label="All retrieval metrics and search", icon=":material/manage_search:")
    else:
        st.caption("No retrieval metrics saved with this checkpoint yet (the Retrieval page computes them).")
    st.page_link(EMBEDDING_PAGE, label="Explore the embedding space", icon=":material/scatter_plot:")
    st.page_link(FINETUNE_PAGE, label="Fine-tune on real sensor datasets", icon=":material/model_training:")
    st.page_link(ZEROSHOT_PAGE, label="Zero-shot recognition on real data", icon=":material/text_fields:")


def _use(folder: str | None) -> None:
    # A button callback: runs before the page, so the panel below already shows the new model.
    if folder is not None:
        try:
            registry.read_checkpoint(folder)
        except CheckpointError as e:
            st.session_state[StateKeys.MODEL_FEEDBACK] = str(e)
            return
    try:
        actions.choose_model(current_user(), folder)
    except PermissionError as e:
        st.session_state[StateKeys.MODEL_FEEDBACK] = str(e)
        return
    st.session_state[StateKeys.MODEL_FEEDBACK] = None


def _chooser(current: Path) -> None:
    with st.expander("Use another checkpoint", key=StateKeys.HOME_MODELS_OPEN, on_change="rerun") as box:
        if not box.open:  # the checkpoints are listed (a walk of the models folder) only while it is open
            return
        found = registry.list_checkpoints()
        demo = registry.default_model_dir()
        options = [str(p) for p in found]
        if str(current) not in options and registry.is_checkpoint(current):
            options.insert(0, str(current))
        if options:
            if st.session_state.get(StateKeys.MODEL_CHOICE) not in options:
                st.session_state[StateKeys.MODEL_CHOICE] = str(current) if str(current) in options else options[0]
            root = registry.models_dir()
            st.selectbox("Checkpoints under " + str(root), options, key=StateKeys.MODEL_CHOICE,
                         format_func=lambda p: str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p)
            c1, c2 = st.columns(2)
            c1.button("Use it", key="home.model_use", on_click=lambda: _use(st.session_state[StateKeys.MODEL_CHOICE]),
                      type="primary", width="stretch")
            c2.button("Use the demo model", key="home.model_demo", on_click=_use, args=(None,), width="stretch",
                      disabled=current == demo)
        else:
            st.caption(md_escape(f"No checkpoint under {registry.models_dir()} yet."))
        problem = st.session_state.get(StateKeys.MODEL_FEEDBACK)
        if problem:
            st.error(md_escape(problem), icon=":material/error:")
        st.caption(md_escape("Pre-train one from a shell: mujo pretrain DATASET --out "
                             f"{registry.models_dir() / 'NAME'} --preset small"))


def model_panel() -> None:
    """The model panel of Home."""
    st.subheader("Model", anchor=False)
    folder = registry.model_dir()
    training = demo_training(folder)
    info = registry.current_checkpoint() if training is None else None
    if training is not None:
        st.info("The demo model is being pre-trained in the background (progress above); this panel shows it "
                "when it is ready.", icon=":material/model_training:")
    elif info is not None:
        _describe(info)
    elif folder == registry.default_model_dir():
        st.info("No model trained yet.", icon=":material/model_training:")
        st.caption("The demo model is pre-trained on the embedded demo dataset at first start; for another "
                   "dataset, pre-train with `mujo pretrain` and choose the checkpoint below.")
    else:
        st.warning(md_escape(f"The chosen checkpoint {folder} cannot be read: "
                             + _problem(folder)), icon=":material/warning:")
    if can(Action.CHOOSE_SERVER_DATASET):  # the model is every session's: an admin chooses it
        _chooser(info.path if info is not None else folder)


def _problem(folder: Path) -> str:
    try:
        registry.read_checkpoint(folder)
    except CheckpointError as e:
        return str(e)
    return "unknown problem"
