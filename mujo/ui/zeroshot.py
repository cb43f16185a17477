"""The Zero-shot page: checkpoint, dataset, modality and editable prompts; run; top-k, per-class F1, confusion matrix.

A run takes seconds to a minute (prepare the windows once, embed the prompts and windows), so it runs as a registry
job (`mujo zeroshot` in its own process, mujo.jobs) that saves the run in the store; the same settings asked for
again join the running job. The page follows its progress and then shows the stored run. Earlier runs are read
back from the store for comparison.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mujo import jobs
from mujo import models_registry as registry
from mujo.curation.feedback import null_rows_of, target_spec
from mujo.datasets.inputs import INPUTS
from mujo.eval.prompts import PromptError, class_phrases, parse_templates
from mujo.eval.zeroshot_settings import ZeroShotSettings, zeroshot_runs
from mujo.fimad.layout import MANIFEST
from mujo.settings import dataset_dir
from mujo.store import Store
from mujo.ui import background
from mujo.ui import targets as tg
from mujo.ui.nav import home_link
from mujo.ui.state import StateKeys
from mujo.ui.text import md_escape
from mujo.ui.zeroshot_view import compare_runs, show_run

OTHER_FOLDER = "__folder__"  # dataset choice: a folder typed by the user
CURRENT_FIMAD = "__fimad__"  # dataset choice: the FiMAD folder the app has open (its ground-truth labels)
NULL_HELP = {"mean": "the normalised mean of the class embeddings (the paper's)",
             "learned": "the checkpoint's NULL anchor through its text encoder (pre-trained with NULL chapters)",
             "centroid": "the mean embedding of the checkpoint's NULL training windows"}
NULL_NAMES = {"mean": "mean of the classes", "learned": "learned NULL", "centroid": "NULL windows' centroid"}


def _store() -> Store:
    return Store()


def _choose_checkpoint(ckpts: list[registry.CheckpointInfo]) -> registry.CheckpointInfo:
    options = [str(c.path) for c in ckpts]
    if st.session_state.get(StateKeys.ZS_CHECKPOINT) not in options:
        current = str(registry.model_dir())
        st.session_state[StateKeys.ZS_CHECKPOINT] = current if current in options else options[0]
    chosen = st.selectbox("Checkpoint (with a text encoder)", options, key=StateKeys.ZS_CHECKPOINT,
                          format_func=tg.checkpoint_label)
    return ckpts[options.index(chosen)]


def _current_fimad() -> tuple[str, str] | None:
    """(spec, label) of the FiMAD folder the app has open, as a zero-shot dataset; None when it has none."""
    root = dataset_dir()
    if not (root / MANIFEST).is_file():
        return None
    return target_spec(root), f"The open FiMAD dataset ({root.name}; its own splits, ground-truth labels)"


def _choose_dataset() -> str | None:
    present = tg.present_targets()
    names = [d["name"] for d in present]
    desc = {d["name"]: d.get("description") or d["name"] for d in present}
    fimad = _current_fimad()
    if fimad:
        names.append(CURRENT_FIMAD)
        desc[CURRENT_FIMAD] = fimad[1]
    names.append(OTHER_FOLDER)
    if st.session_state.get(StateKeys.ZS_DATASET) not in names:
        st.session_state[StateKeys.ZS_DATASET] = names[0]
    name = st.selectbox("Dataset", names, key=StateKeys.ZS_DATASET,
                        format_func=lambda n: "Another folder…" if n == OTHER_FOLDER else desc.get(n, n))
    if name == CURRENT_FIMAD and fimad:
        return fimad[0]
    if name != OTHER_FOLDER:
        return name
    st.text_input("Dataset folder (generic format or an original release)", key=StateKeys.ZS_FOLDER)
    return tg.folder_spec(st.session_state.get(StateKeys.ZS_FOLDER, ""))


def _null_choice(info: Any, ckpt: registry.CheckpointInfo) -> tuple[bool, str]:
    """The NULL toggle and, when it is on, which NULL row (the mean, or what the checkpoint learned)."""
    if not info.has_null:
        st.session_state[StateKeys.ZS_NULL] = False
    null = st.toggle("Keep NULL windows as a class", key=StateKeys.ZS_NULL, disabled=not info.has_null,
                     help="NULL windows are then a class of their own." if info.has_null
                     else "This dataset has no NULL windows.")
    if not null:
        return False, "mean"
    offered = null_rows_of(ckpt.extra)
    if st.session_state.get(StateKeys.ZS_NULL_EMBEDDING) not in offered:
        st.session_state[StateKeys.ZS_NULL_EMBEDDING] = "learned" if "learned" in offered else "mean"
    how = st.radio("NULL's embedding", offered, key=StateKeys.ZS_NULL_EMBEDDING, horizontal=True,
                   format_func=NULL_NAMES.get, help="; ".join(f"{NULL_NAMES[k]}: {NULL_HELP[k]}" for k in offered))
    if "learned" not in offered:
        st.caption("This checkpoint was pre-trained without a NULL anchor, so NULL's embedding is the mean of the "
                   "classes (or its NULL windows' centroid). The Curation page pre-trains one with the curated NULL "
                   "chapters.")
    return True, str(how)


def _phrases(spec: str, info: Any) -> dict[str, str] | None:
    """The per-class phrase editor; returns the user's overrides (None: the dataset's phrases unchanged)."""
    if st.session_state.get(StateKeys.ZS_PHRASES_FOR) != spec:  # another dataset: its rows, not the old edits
        st.session_state.pop(StateKeys.ZS_PHRASES, None)
        st.session_state[StateKeys.ZS_PHRASES_FOR] = spec
    default = class_phrases(list(info.classes), info.prompts)
    table = pd.DataFrame({"class": list(default), "phrase": list(default.values())})
    edited = st.data_editor(table, key=StateKeys.ZS_PHRASES, hide_index=True, num_rows="fixed", disabled=["class"],
                            width="stretch", column_config={"phrase": st.column_config.TextColumn(
                                "phrase", help="what stands for the class in the templates' {}")})
    given = {str(c): " ".join(str(p or "").split()) for c, p in zip(edited["class"], edited["phrase"])}
    changed = {c: p for c, p in given.items() if p and p != default.get(c)}
    return changed or None


def _form() -> Any | None:
    """The run's settings (a ZeroShotSettings), or None when something is missing or does not fit."""
    ckpt = _choose_checkpoint(tg.checkpoint_infos(need="text"))
    spec = _choose_dataset()
    if not spec:
        st.caption("Give the folder of a dataset.")
        return None
    info, problem = tg.dataset_info(spec)
    if info is None:
        st.warning(md_escape(f"Cannot open the dataset: {problem}"), icon=":material/warning:")
        return None
    options = [m for m in INPUTS if m in ckpt.modalities and (m == "imu" or info.has_pose)]
    if not options:
        st.warning("This checkpoint has no IMU encoder, and no pose encoder for this dataset's pose.",
                   icon=":material/warning:")
        return None
    if st.session_state.get(StateKeys.ZS_INPUTS) not in options:
        st.session_state[StateKeys.ZS_INPUTS] = options[0]
    inputs = st.radio("Input modality", options, key=StateKeys.ZS_INPUTS, horizontal=True,
                      format_func={"imu": "IMU", "pose": "Pose"}.get)
    if inputs == "imu" and not set(ckpt.imu_sites) & set(tg.dataset_sites(info)):
        st.warning(md_escape(f"The checkpoint's IMU sites {', '.join(ckpt.imu_sites)} include none of this "
                             f"dataset's sites ({', '.join(tg.dataset_sites(info))})."), icon=":material/warning:")
        tg.pretrain_panel(tg.dataset_sites(info), key=f"{StateKeys.ZS_PRETRAIN}")
        return None
    fit = tg.fit_problem(info, ckpt, [inputs])
    if fit:
        st.caption(md_escape(f"Note: {fit}. The run uses the placements the checkpoint has."))
    text = st.text_area("Prompt templates, one per line ({} is the class phrase)", key=StateKeys.ZS_TEMPLATES,
                        height=150)
    try:
        templates = parse_templates(text)
    except PromptError as e:
        st.warning(md_escape(str(e)), icon=":material/warning:")
        return None
    st.caption("Class phrases (edit a phrase to change the class's prompts)")
    class_text = _phrases(spec, info)
    null, null_embedding = _null_choice(info, ckpt)
    part = st.radio("Windows", ["all", "val", "test"], key=StateKeys.ZS_PART, horizontal=True,
                    format_func={"all": "all", "val": "validation part", "test": "test part"}.get,
                    help="The validation or test part of the dataset's first split (its fixed split where it "
                         "has one, e.g. a FiMAD folder's own train/val/test).")
    return ZeroShotSettings(dataset=spec, checkpoint=str(ckpt.path), inputs=inputs, templates=templates,
                            class_text=class_text, null=bool(null), null_embedding=null_embedding, part=part)


def zeroshot_argv(settings: Any) -> list[str]:
    """The `mujo zeroshot` command that evaluates `settings` and stores the run (what the page's job runs)."""
    argv = ["zeroshot", settings.dataset, "--checkpoint", settings.checkpoint, "--inputs", settings.inputs,
            *(f"--template={t}" for t in settings.templates), "--null-embedding", str(settings.null_embedding),
            "--part", settings.part, "--normalize", settings.normalize, "--quiet"]
    argv += ["--class-text", *(f"{c}={p}" for c, p in settings.class_text.items())] if settings.class_text else []
    argv += ["--null"] if settings.null else []
    argv += ["--split", settings.split] if settings.split else []
    return argv


def _run(settings: Any | None) -> None:
    """The Run button and the progress of the job it submitted (`mujo zeroshot`, in its own process)."""
    if st.button("Run", key=StateKeys.ZS_RUN, type="primary", icon=":material/play_arrow:",
                 disabled=settings is None):
        job = background.submit("zeroshot", zeroshot_argv(settings), key_inputs=settings.to_dict())
        st.session_state[StateKeys.ZS_TASK] = job.id
        background.wait(job, 1.0)  # a small run is shown at once
    job_id = st.session_state.get(StateKeys.ZS_TASK)
    job = jobs.get(job_id) if isinstance(job_id, int) else None
    if job is None:
        return
    if job.state == jobs.FAILED:
        st.error(md_escape(f"The zero-shot run failed: {job.error}"), icon=":material/error:")
    elif job.state == jobs.CANCELLED:
        st.warning(md_escape(f"The zero-shot run was {job.message or 'cancelled'}."), icon=":material/cancel:")
    elif job.state == jobs.DONE:
        st.session_state[StateKeys.ZS_SELECTED_RUN] = job.result.get("run_id")
    else:
        background.follow(job.id, "Zero-shot")
        return
    st.session_state[StateKeys.ZS_TASK] = None


def _runs_table(runs: pd.DataFrame) -> list[int]:
    """Earlier runs with multi-row selection; returns the selected run ids."""
    shown = runs.assign(checkpoint=runs["checkpoint"].map(lambda p: tg.checkpoint_label(p) if p else ""),
                        dataset=runs["dataset"].map(_short_dataset),
                        started=runs["started"].astype(str).str.slice(0, 16).str.replace("T", " "))
    cols = ["run_id", "dataset", "inputs", "null", "null_embedding", "macro_f1", "top1", "top3", "top5",
            "checkpoint", "method", "templates", "part", "n_windows", "started"]
    event = st.dataframe(shown, key=StateKeys.ZS_RUNS_TABLE, on_select="rerun", selection_mode="multi-row",
                         hide_index=True, width="stretch", column_order=[c for c in cols if c in shown.columns],
                         column_config={
                             "run_id": st.column_config.NumberColumn("run", format="%d"),
                             **{k: st.column_config.NumberColumn(k, format="%.3f")
                                for k in ("top1", "top3", "top5", "macro_f1", "accuracy")}})
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    return [int(runs["run_id"].iloc[r]) for r in rows if 0 <= r < len(runs)]


def _short_dataset(spec: Any) -> str:
    """A registry name as it is, a folder as its last part."""
    text = str(spec or "")
    return text.rstrip("/").rsplit("/", 1)[-1] if "/" in text else text


def zeroshot_page() -> None:
    """The page below its title (guards, form, run, result, earlier runs)."""
    if not tg.checkpoint_infos(need="text"):
        st.info(md_escape(f"No checkpoint with a text encoder under {registry.models_dir()} yet. Zero-shot needs a "
                          "MuJo checkpoint (proxy-task checkpoints have no text encoder); Home shows how to get "
                          "one."), icon=":material/model_training:")
        home_link()
        st.stop()
    tg.no_dataset_guard(StateKeys.ZS_FOLDER, other=_current_fimad() is not None)
    left, right = st.columns([1, 2], gap="large")
    with left:
        settings = _form()
        _run(settings)
    store = _store()
    runs = zeroshot_runs(store)
    with right:
        result = st.container()
        st.subheader("Earlier runs", anchor=False)
        if runs.empty:
            st.caption("No zero-shot run yet: choose the settings on the left and press Run.")
            return
        selected = _runs_table(runs)
        st.caption("Select a run to see it, several to compare them.")
    ids = set(runs["run_id"].astype(int))
    shown = selected[0] if len(selected) == 1 else st.session_state.get(StateKeys.ZS_SELECTED_RUN)
    if shown is None or int(shown) not in ids:
        shown = int(runs["run_id"].iloc[0])  # the newest run
    with result:
        if len(selected) > 1:
            compare_runs(store, selected)
        else:
            show_run(store, int(shown))
