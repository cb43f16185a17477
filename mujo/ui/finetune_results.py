"""The Fine-tuning page's results: boxplots per fraction and model, mean ± std table, paired tests, failed cells, CSV.

Everything is computed by `mujo.train.sweep_report` from `mujo.train.sweep.sweep_results`; this module only picks
the sweeps and dataset and draws.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mujo.curation.label_export import spreadsheet_frame
from mujo.store import Store
from mujo.train import sweep
from mujo.train import sweep_report as report
from mujo.ui.state import StateKeys
from mujo.ui.text import md_escape

P_FORMAT = "%.4f"


def _store() -> Store:
    return Store()


def _choose_sweeps(listed: pd.DataFrame) -> list[int]:
    with_results = listed[listed["done"] > 0]
    options = [int(i) for i in with_results["id"]]
    names = {int(r.id): f"#{int(r.id)} {r.name} ({int(r.done)} runs)" for r in with_results.itertuples()}
    chosen = st.session_state.get(StateKeys.FT_RESULT_SWEEPS)
    st.session_state[StateKeys.FT_RESULT_SWEEPS] = (options[:1] if chosen is None
                                                    else [int(c) for c in chosen if int(c) in options])
    return st.multiselect("Sweeps", options, key=StateKeys.FT_RESULT_SWEEPS, format_func=lambda i: names.get(i, i))


def _failed_cells(store: Any, sweep_ids: list[int]) -> None:
    rows = []
    for sid in sweep_ids:
        for key, error in (sweep.sweep_status(sid, store).get("errors") or {}).items():
            rows.append({"sweep": sid, "cell": key, "error": error})
    if rows:
        with st.expander(f"{len(rows)} failed cells", icon=":material/error:"):
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _data_warnings(df: pd.DataFrame) -> None:
    """What the runs reported about their data (a class with too few windows for a fraction, a class missing
    from a split), each message once with the number of runs that reported it."""
    if "warnings" not in df:
        return
    counts: dict[str, int] = {}
    for text in df["warnings"].fillna(""):
        for w in filter(None, (t.strip() for t in str(text).split("\n"))):
            counts[w] = counts.get(w, 0) + 1
    if counts:
        with st.expander(f"Data warnings ({len(counts)})", icon=":material/warning:"):
            st.dataframe(pd.DataFrame({"warning": list(counts), "runs": list(counts.values())}),
                         hide_index=True, width="stretch")


def _tests_table(tests: pd.DataFrame) -> None:
    shown = tests.assign(fraction=tests["fraction"].map(report.fraction_label))
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "baseline": st.column_config.NumberColumn("baseline", format="%.3f", help="mean macro F1 of the pairs"),
        "pretrained": st.column_config.NumberColumn("pre-trained", format="%.3f"),
        "mean_diff": st.column_config.NumberColumn("mean diff", format="%+.3f", help="pre-trained − baseline"),
        "wilcoxon_p": st.column_config.NumberColumn("Wilcoxon p", format=P_FORMAT),
        "t_stat": st.column_config.NumberColumn("t", format="%.2f"),
        "t_p": st.column_config.NumberColumn("paired t p", format=P_FORMAT),
        "significant": st.column_config.CheckboxColumn("p < 0.05"),
    })


def results_section() -> None:
    """Pick sweeps and a dataset; draw boxplots, the mean ± std table, paired tests, failed cells and the CSV."""
    store = _store()
    listed = sweep.list_sweeps(store)
    if listed.empty or not (listed["done"] > 0).any():
        st.caption("No finished fine-tuning run in a sweep yet.")
        return
    sweep_ids = _choose_sweeps(listed)
    if not sweep_ids:
        st.caption("Choose one or more sweeps.")
        return
    df = pd.concat([sweep.sweep_results(store, sid) for sid in sweep_ids], ignore_index=True)
    df = df[df["macro_f1"].notna()]
    _failed_cells(store, sweep_ids)
    if df.empty:
        st.caption("These sweeps have no finished run yet.")
        return
    # Dataset, checkpoint and sweep names are text a spreadsheet could run as a formula: quoted (label_export).
    st.download_button("Download the results (CSV)", report.to_csv(spreadsheet_frame(df)), key=StateKeys.FT_DOWNLOAD,
                       file_name=f"sweep-{'-'.join(map(str, sweep_ids))}.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore")
    _data_warnings(df)
    datasets = sorted(df["dataset"].astype(str).unique())
    if st.session_state.get(StateKeys.FT_RESULT_DATASET) not in datasets:
        st.session_state[StateKeys.FT_RESULT_DATASET] = datasets[0]
    dataset = st.selectbox("Dataset", datasets, key=StateKeys.FT_RESULT_DATASET)
    d = df[df["dataset"].astype(str) == dataset]
    prepared = report.prepare(d)
    for inputs, null in prepared[["inputs", "null"]].drop_duplicates().itertuples(index=False):
        title = f"{dataset} · {report.INPUT_NAMES.get(inputs, inputs)} · {'with' if null else 'without'} NULL"
        st.plotly_chart(report.boxplot_figure(d, dataset, inputs=inputs, null=bool(null), title=title),
                        key=f"ft.box.{inputs}.{null}")
    st.subheader("Macro F1, mean ± std", anchor=False)
    st.dataframe(report.summary_table(d).reset_index(), hide_index=True, width="stretch")
    st.subheader("Pre-trained vs baseline, paired by repeat", anchor=False)
    tests = report.paired_tests(d)
    if tests.empty:
        st.caption("No baseline runs to compare with (add the baseline scenario).")
    else:
        _tests_table(tests)
        st.caption(md_escape("Wilcoxon signed-rank and paired t test over the repeats (same seed and training "
                             "windows in every scenario); with fewer than 6 pairs the Wilcoxon test cannot reach "
                             "p < 0.05, so the paired t test decides 'significant' there (column decided_by)."))
