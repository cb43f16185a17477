"""The Fine-tuning page: the new-sweep form (datasets, checkpoints and whether they fit, grid) and the sweeps list.

A sweep runs as a background job (`mujo sweep run ID`, mujo.jobs), so the app stays usable and the sweep goes on
when the tab is closed; the list reads each sweep's progress from the store, so it survives a page reload. The
results section lives in `mujo.ui.finetune_results`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mujo import actions, jobs
from mujo import models_registry as registry
from mujo.access import Action
from mujo.store import Store
from mujo.train import sweep
from mujo.ui import targets as tg
from mujo.ui.access import can, current_user
from mujo.ui.finetune_results import results_section
from mujo.ui.state import DEFAULTS, StateKeys
from mujo.ui.text import md_escape

FRACTIONS = (1, 2, 5, 10, 20, 50, 100)  # percent, the paper's Figure 2 grid
SCENARIOS = {"baseline": "baseline (random init)", "frozen": "pre-trained, frozen encoder",
             "finetuned": "pre-trained, fine-tuned encoder"}
INPUTS = {"imu": "IMU", "pose": "pose", "imu+pose": "IMU + pose"}
NULL = {"without": "without NULL", "with": "with NULL"}
TABS = ("New sweep", "Sweeps", "Results")
SHOWN_SWEEPS = 10  # newest sweeps in the list; older ones are in `mujo sweep status`


def _store() -> Store:
    return Store()


def _specs() -> list[str]:
    """The chosen dataset specs: registered names, then the typed folder."""
    chosen = list(st.session_state.get(StateKeys.FT_DATASETS) or [])
    folder = tg.folder_spec(st.session_state.get(StateKeys.FT_FOLDER, ""))
    return chosen + ([folder] if folder and folder not in chosen else [])


def _sweep_spec() -> Any:
    """A SweepSpec from the form's session state."""
    s = st.session_state
    return sweep.SweepSpec(datasets=tuple(_specs()), checkpoints=tuple(s.get(StateKeys.FT_CHECKPOINTS) or ()),
                     scenarios=tuple(s.get(StateKeys.FT_SCENARIOS) or ()),
                     fractions=tuple(sorted(float(f) / 100 for f in s.get(StateKeys.FT_FRACTIONS) or ())),
                     repeats=int(s.get(StateKeys.FT_REPEATS) or 1),
                     null=tuple(n == "with" for n in s.get(StateKeys.FT_NULL) or ()),
                     inputs=tuple(tuple(i.split("+")) for i in s.get(StateKeys.FT_INPUTS) or ()),
                     epochs=int(s.get(StateKeys.FT_EPOCHS) or 200), patience=int(s.get(StateKeys.FT_PATIENCE) or 25),
                     name=str(s.get(StateKeys.FT_NAME) or "").strip(),
                     split=str(s.get(StateKeys.FT_SPLIT) or "") or None)


def _start() -> None:
    # A button callback: runs before the page, so the Sweeps tab it switches to already lists the new sweep.
    try:
        sweep_id = actions.create_sweep(current_user(), _sweep_spec(), _store())
        with jobs.acting_as(current_user().name):  # the sweep's coordinator job is theirs on the Jobs page
            actions.start_sweep(current_user(), sweep_id)
    except (ValueError, OSError, ImportError, PermissionError) as e:  # DatasetError and CheckpointError are ValueErrors
        st.session_state[StateKeys.FT_FEEDBACK] = ("error", f"Cannot start the sweep: {e}")
        return
    st.session_state[StateKeys.FT_FEEDBACK] = ("success", f"Sweep {sweep_id} started in the background.")
    st.session_state[StateKeys.FT_RESULT_SWEEPS] = [sweep_id]
    st.session_state[StateKeys.FT_TAB] = TABS[1]


def _missing(specs: list[str]) -> str | None:
    """Why the form cannot start a sweep yet, or None."""
    s = st.session_state
    scen = list(s.get(StateKeys.FT_SCENARIOS) or [])
    for key, what in ((specs, "a dataset"), (scen, "a scenario"), (s.get(StateKeys.FT_FRACTIONS), "a fraction"),
                      (s.get(StateKeys.FT_NULL), "NULL with or without"), (s.get(StateKeys.FT_INPUTS), "inputs")):
        if not key:
            return f"Choose {what}."
    if set(scen) - {"baseline"} and not s.get(StateKeys.FT_CHECKPOINTS):
        return "The frozen and fine-tuned scenarios need a pre-trained checkpoint."
    return None


def _cell_estimate(n_datasets: int, n_ckpts: int) -> int:
    """Cells of the grid (baselines of one architecture share a cell, so this is an upper bound)."""
    s = st.session_state
    scen = list(s.get(StateKeys.FT_SCENARIOS) or [])
    per = ("baseline" in scen) * max(1, n_ckpts) + len(set(scen) - {"baseline"}) * n_ckpts
    return (n_datasets * per * len(s.get(StateKeys.FT_FRACTIONS) or []) * int(s.get(StateKeys.FT_REPEATS) or 1)
            * len(s.get(StateKeys.FT_NULL) or []) * len(s.get(StateKeys.FT_INPUTS) or []))


def _inputs() -> list[tuple[str, ...]]:
    return [tuple(i.split("+")) for i in st.session_state.get(StateKeys.FT_INPUTS) or []]


def _fitting(specs: list[str], ckpts: list[Any]) -> list[str]:
    """The checkpoints (paths) that fit every chosen dataset that opens, with every chosen input."""
    infos = [info for info, _ in map(tg.dataset_info, specs) if info is not None]
    if not infos:
        return []
    return [str(c.path) for c in ckpts
            if all(tg.fit_problem(info, c, i) is None for info in infos for i in _inputs())]


def _default_choice(options: list[str], fitting: list[str]) -> None:
    """Checkpoints and scenarios chosen for the user, kept in step with the datasets until the user changes them:
    the checkpoint in use when it fits the chosen datasets, else the first that fits; without a fitting one, no
    checkpoint and the baseline alone (a checkpoint that does not fit would only add failed cells)."""
    s = st.session_state
    chosen, auto = s.get(StateKeys.FT_CHECKPOINTS), s.get(StateKeys.FT_AUTO)
    untouched = auto is not None and (list(chosen or []), list(s.get(StateKeys.FT_SCENARIOS) or [])) == auto
    if chosen is not None and not untouched:
        s[StateKeys.FT_CHECKPOINTS] = [c for c in chosen if c in options]
        return
    in_use = str(registry.model_dir())
    ckpts = [in_use] if in_use in fitting else fitting[:1]
    scenarios = list(DEFAULTS[StateKeys.FT_SCENARIOS]) if ckpts else ["baseline"]
    s[StateKeys.FT_CHECKPOINTS], s[StateKeys.FT_SCENARIOS] = ckpts, scenarios
    s[StateKeys.FT_AUTO] = (ckpts, scenarios)


def _fit(specs: list[str], ckpts: list[Any]) -> None:
    """Per dataset: does each chosen checkpoint fit (sites, channels, pose)? Offers to pre-train a matching one where
    a chosen checkpoint is for other sites or none fits."""
    rows, need_sites = [], {}
    for spec in specs:
        info, problem = tg.dataset_info(spec)
        if info is None:
            st.warning(md_escape(f"Cannot open the dataset {spec}: {problem}"), icon=":material/warning:")
            continue
        rows.append({"dataset": spec, "checkpoint": "(classes, sites)",
                     "fit": f"{len(info.classes)} classes; sites {', '.join(tg.dataset_sites(info))}"
                            + ("; pose" if info.has_pose else "") + ("; NULL" if info.has_null else "")})
        fits = False
        for ckpt in ckpts:
            problems = {"+".join(i): tg.fit_problem(info, ckpt, i) for i in _inputs()}
            bad = {i: p for i, p in problems.items() if p}
            fits = fits or not bad
            rows.append({"dataset": spec, "checkpoint": tg.checkpoint_label(ckpt.path),
                         "fit": "fits" if not bad else "; ".join(f"{i}: {p}" for i, p in bad.items())})
            if "imu" in ckpt.modalities and sorted(ckpt.imu_sites) != tg.dataset_sites(info):
                need_sites[tuple(tg.dataset_sites(info))] = spec
        if not fits:
            need_sites[tuple(tg.dataset_sites(info))] = spec
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for sites in need_sites if can(Action.PRETRAIN) else ():
        tg.pretrain_panel(list(sites), key=f"{StateKeys.FT_PRETRAIN}.{'-'.join(sites)}")


def _split_choice(specs: list[str]) -> None:
    """Which subject split the repeats use: the dataset's default (five random subject splits, MM-Fit's fixed
    workouts) or a named fixed split that every chosen dataset has (UTD-MHAD's odd-even)."""
    names: set[str] | None = None
    for spec in specs:
        info, _ = tg.dataset_info(spec)
        fixed = {f.name for f in info.fixed_splits} if info is not None else set()
        names = fixed if names is None else names & fixed
    options = [""] + sorted(names or ())
    if st.session_state.get(StateKeys.FT_SPLIT) not in options:
        st.session_state[StateKeys.FT_SPLIT] = ""
    st.selectbox("Subject split", options, key=StateKeys.FT_SPLIT,
                 format_func=lambda n: n or "the dataset's default (random subject splits, or its fixed split)",
                 help="Repeats cycle through five random subject splits; a named split (UTD-MHAD's odd-even "
                      "cross-subject protocol) keeps the same subjects in every repeat and varies the seed.")


def new_sweep() -> None:
    """The form that creates a sweep and starts it in the background (admins only)."""
    if not can(Action.SWEEP):
        st.info("Starting sweeps needs the admin role; the Sweeps and Results tabs show what has run.",
                icon=":material/lock:")
        return
    if not tg.no_dataset_guard(StateKeys.FT_FOLDER, stop=False):
        return
    present = tg.present_targets()
    names, desc = [d["name"] for d in present], {d["name"]: d.get("description") or d["name"] for d in present}
    chosen = st.session_state.get(StateKeys.FT_DATASETS)
    st.session_state[StateKeys.FT_DATASETS] = names[:1] if chosen is None else [n for n in chosen if n in names]
    st.multiselect("Datasets", names, key=StateKeys.FT_DATASETS, format_func=lambda n: desc.get(n, n))
    st.text_input("Another dataset folder (generic format or an original release; optional)",
                  key=StateKeys.FT_FOLDER)
    absent = [d for d in tg.known_targets() if not d.get("exists")]
    if absent:
        with st.expander(f"{len(absent)} registered datasets not found"):
            st.dataframe(pd.DataFrame({"dataset": [d["name"] for d in absent],
                                       "expected at": [d.get("root", "") for d in absent]}),
                         hide_index=True, width="stretch")
    ckpts = tg.checkpoint_infos()
    options = [str(c.path) for c in ckpts]
    fitting = _fitting(_specs(), ckpts)
    _default_choice(options, fitting)
    st.multiselect("Pre-trained checkpoints", options, key=StateKeys.FT_CHECKPOINTS,
                   format_func=tg.checkpoint_label,
                   help="MuJo or proxy-task checkpoints; the baseline uses the same architecture, randomly "
                        "initialised (the paper preset, built for the dataset's sensors, when no chosen "
                        "checkpoint fits).")
    if not options:
        st.caption("No checkpoint under the models folder: only the baseline scenario can run.")
    elif not fitting and _specs():
        st.info(md_escape(f"No pre-trained checkpoint fits {', '.join(_specs())} with these inputs (see the fit "
                          "table below): the sweep runs the baseline alone. Pre-train a checkpoint for the "
                          "dataset's sensors below, then choose it here."), icon=":material/info:")
    scenarios = list(SCENARIOS) if options else ["baseline"]  # pre-trained scenarios need a checkpoint
    chosen = list(st.session_state.get(StateKeys.FT_SCENARIOS) or [])
    st.session_state[StateKeys.FT_SCENARIOS] = [s for s in chosen if s in scenarios] or scenarios[:1] * bool(chosen)
    c1, c2 = st.columns(2)
    c1.multiselect("Scenarios", scenarios, key=StateKeys.FT_SCENARIOS, format_func=SCENARIOS.get)
    c2.multiselect("Training data per class", FRACTIONS, key=StateKeys.FT_FRACTIONS, format_func=lambda f: f"{f}%")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Repeats", min_value=1, max_value=50, step=1, key=StateKeys.FT_REPEATS,
                    help="Each repeat has its own seed and subject split; scenarios share them, so they pair up.")
    c2.multiselect("NULL class", list(NULL), key=StateKeys.FT_NULL, format_func=NULL.get)
    c3.multiselect("Inputs", list(INPUTS), key=StateKeys.FT_INPUTS, format_func=INPUTS.get)
    _split_choice(_specs())
    with st.expander("Training and name"):
        c1, c2 = st.columns(2)
        c1.number_input("Max epochs", min_value=1, max_value=1000, step=1, key=StateKeys.FT_EPOCHS)
        c2.number_input("Early stopping patience (epochs)", min_value=1, max_value=1000, step=1,
                        key=StateKeys.FT_PATIENCE)
        st.text_input("Sweep name (optional)", key=StateKeys.FT_NAME)
    specs = _specs()
    chosen_ckpts = [c for c in ckpts if str(c.path) in (st.session_state.get(StateKeys.FT_CHECKPOINTS) or [])]
    _fit(specs, chosen_ckpts)
    missing = _missing(specs)
    if not missing:
        st.caption(f"Up to {_cell_estimate(len(specs), len(chosen_ckpts)):,} fine-tuning runs; cells that cannot "
                   "run are recorded as failed with the reason.")
    st.button("Start sweep", key=StateKeys.FT_START, type="primary", icon=":material/play_arrow:", on_click=_start,
              disabled=missing is not None, help=missing)
    feedback = st.session_state.get(StateKeys.FT_FEEDBACK)
    if feedback and feedback[0] == "error":
        st.session_state[StateKeys.FT_FEEDBACK] = None  # shown once, right after the click
        st.error(md_escape(feedback[1]), icon=":material/error:")


def _resume(sweep_id: int) -> None:
    with jobs.acting_as(current_user().name):
        actions.start_sweep(current_user(), sweep_id)


def _cancel(sweep_id: int) -> None:
    actions.cancel_sweep(current_user(), sweep_id, _store())


def _sweep_card(status: dict[str, Any]) -> None:
    sid, counts = int(status["id"]), status["counts"]
    job = jobs.status(f"sweep-{sid}")
    running = status["state"] == "running" or job.state == jobs.RUNNING
    with st.container(border=True):
        head, act = st.columns([5, 1])
        head.markdown(f"**Sweep {sid}** · {md_escape(status['name'])} · {md_escape(status['state'])}"
                      + (" (cancel requested)" if status.get("cancel_requested") and running else ""))
        head.progress(min(max(float(status["fraction"]), 0.0), 1.0),
                      text=md_escape(f"{status['message']} · created {str(status['created'])[:16]}"))
        if not can(Action.SWEEP):
            pass  # who may not start sweeps does not stop or resume them either
        elif running:
            act.button("Cancel", key=f"{StateKeys.FT_CANCEL}.{sid}", on_click=_cancel, args=(sid,),
                       icon=":material/stop:", disabled=bool(status.get("cancel_requested")))
        elif counts.get("pending", 0) + counts.get("cancelled", 0) + counts.get("running", 0):
            act.button("Resume", key=f"{StateKeys.FT_RESUME}.{sid}", on_click=_resume, args=(sid,),
                       icon=":material/play_arrow:")
        if job.state == jobs.FAILED and job.error and not running:
            head.caption(md_escape(f"The sweep's process ended with an error: {job.error[-300:]}"))
        errors = status.get("errors") or {}
        if errors:
            with head.expander(f"{len(errors)} failed cells"):
                st.dataframe(pd.DataFrame({"cell": list(errors), "error": list(errors.values())}),
                             hide_index=True, width="stretch")


def sweeps_panel() -> None:
    """The newest sweeps with their progress; refreshes itself while one runs."""
    store = _store()
    listed = sweep.list_sweeps(store)
    if listed.empty:
        st.caption("No sweep yet: start one in the New sweep tab.")
        return
    statuses = [sweep.sweep_status(int(i), store) for i in listed["id"].head(SHOWN_SWEEPS)]
    running = any(s["state"] == "running" or jobs.status(f"sweep-{s['id']}").state == jobs.RUNNING
                  for s in statuses)

    def cards() -> None:
        fresh = [sweep.sweep_status(int(s["id"]), store) for s in statuses]
        for s in fresh:
            _sweep_card(s)
        if running and not any(s["state"] == "running" for s in fresh) and not any(
                jobs.status(f"sweep-{s['id']}").state == jobs.RUNNING for s in fresh):
            st.rerun()  # every sweep stopped: the whole page (results, buttons) shows the new state

    st.fragment(cards, run_every=2.0 if running else None)()
    if len(listed) > SHOWN_SWEEPS:
        st.caption(f"{len(listed) - SHOWN_SWEEPS} older sweeps: `mujo sweep status`.")


def finetune_page() -> None:
    """The page below its title: New sweep, Sweeps and Results tabs.

    The tabs are keyed so "Start sweep" can switch to Sweeps; every tab still runs on each rerun, because a widget
    that is not drawn in a run loses its state (the form would forget its choices while Results is open).
    """
    feedback = st.session_state.get(StateKeys.FT_FEEDBACK)
    if feedback and feedback[0] == "success":
        st.session_state[StateKeys.FT_FEEDBACK] = None
        st.success(md_escape(feedback[1]), icon=":material/check_circle:")
    tabs = st.tabs(list(TABS), key=StateKeys.FT_TAB, on_change="rerun")
    for tab, body in zip(tabs, (new_sweep, sweeps_panel, results_section)):
        with tab:
            body()
