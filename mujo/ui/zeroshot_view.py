"""Showing stored zero-shot runs: headline metrics, top-k table, per-class F1 bars, confusion matrix, comparisons.

Class names come from dataset files: in charts they are HTML-escaped (Plotly renders a subset of HTML in labels),
in tables they are plain cells, in Markdown they go through md_escape.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mujo.eval.zeroshot_settings import null_row_name
from mujo.ui.embed_plot import html_escape
from mujo.ui.text import md_escape


def per_class_figure(series: dict[str, dict[str, float | None]]) -> go.Figure:
    """Horizontal bars of per-class F1, one trace per run ({run label: {class: F1 or None}})."""
    fig = go.Figure()
    classes: list[str] = []
    for per_class in series.values():
        classes += [c for c in per_class if c not in classes]
    for label, per_class in series.items():
        fig.add_trace(go.Bar(y=[html_escape(c) for c in classes], x=[per_class.get(c) for c in classes],
                             orientation="h", name=html_escape(label)))
    fig.update_layout(barmode="group", height=max(260, 24 * len(classes) * max(1, len(series)) + 80),
                      margin=dict(l=10, r=10, t=30, b=30), showlegend=len(series) > 1,
                      title="F1 per class")
    fig.update_xaxes(range=[0, 1], title="F1")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def confusion_figure(classes: Sequence[str], confusion: Sequence[Sequence[int]]) -> go.Figure:
    """Heatmap of the confusion matrix: colour = share of the true class's windows, text = counts."""
    conf = np.asarray(confusion, dtype=float).reshape(len(classes), len(classes))
    rows = conf.sum(axis=1, keepdims=True)
    share = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    names = [html_escape(c) for c in classes]
    fig = go.Figure(go.Heatmap(z=share, x=names, y=names, text=conf.astype(int), texttemplate="%{text}",
                               colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="share"),
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{text} windows<extra></extra>"))
    fig.update_layout(title="Confusion matrix", height=max(320, 28 * len(classes) + 140),
                      margin=dict(l=10, r=10, t=40, b=10))
    fig.update_xaxes(title="predicted", type="category", tickangle=-45)
    fig.update_yaxes(title="true", type="category", autorange="reversed")
    return fig


def topk_table(metrics: dict[str, Any], n_classes: int) -> pd.DataFrame:
    """Top-1/3/5 accuracy and macro F1 at k, with chance (k / number of classes)."""
    rows = []
    for k in (1, 3, 5):
        f1 = metrics.get("macro_f1") if k == 1 else metrics.get(f"macro_f1_top{k}")
        rows.append({"k": k, "accuracy": metrics.get(f"top{k}"), "macro F1": f1,
                     "chance": min(1.0, k / n_classes) if n_classes else None})
    return pd.DataFrame(rows).astype({"accuracy": float, "macro F1": float, "chance": float})


def _fmt(x: Any) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{float(x):.3f}"


def show_run(store: Any, run_id: int) -> None:
    """One stored zero-shot run: what it was, headline metrics, top-k table, per-class F1, confusion matrix."""
    run, res = store.get_run(run_id), store.results(run_id)
    if run is None:
        st.caption(f"Run {run_id} is not in the store.")
        return
    cfg, metrics = run.get("config") or {}, res.get("metrics") or {}
    classes = [str(c) for c in res.get("classes") or []]
    st.subheader(f"Run {run_id}", anchor=False)
    st.caption(md_escape(f"{run.get('dataset', '')} · {cfg.get('inputs', '?')} · "
                         + (f"with NULL ({null_row_name(cfg)} NULL row)" if cfg.get("null") else "without NULL")
                         + f" · {len(cfg.get('templates') or [])} templates · {res.get('n_windows', '?')} windows"
                         + f" · checkpoint {run.get('checkpoint') or '?'}"))
    c = st.columns(4)
    for col, (label, key) in zip(c, (("Top-1", "top1"), ("Top-3", "top3"), ("Top-5", "top5"),
                                     ("Macro F1", "macro_f1"))):
        col.metric(label, _fmt(metrics.get(key)))
    st.dataframe(topk_table(metrics, len(classes)), hide_index=True, width="content",
                 column_config={k: st.column_config.NumberColumn(k, format="%.3f")
                                for k in ("accuracy", "macro F1", "chance")})
    for w in res.get("warnings") or []:
        st.caption(md_escape(str(w)))
    per_class = res.get("per_class_f1") or {}
    if per_class:
        st.plotly_chart(per_class_figure({f"run {run_id}": per_class}), key=f"zs.f1.{run_id}")
    if classes and res.get("confusion"):
        st.plotly_chart(confusion_figure(classes, res["confusion"]), key=f"zs.conf.{run_id}")
    prompts = res.get("prompts") or {}
    if prompts:
        with st.expander("Prompts per class"):
            st.dataframe(pd.DataFrame({"class": list(prompts), "prompts": [" | ".join(p) for p in prompts.values()]}),
                         hide_index=True, width="stretch")


def compare_runs(store: Any, run_ids: Sequence[int]) -> None:
    """Several runs side by side: their metrics, and per-class F1 of the runs that share classes."""
    rows, series = [], {}
    for rid in run_ids:
        run, res = store.get_run(rid), store.results(rid)
        if run is None:
            continue
        cfg, m = run.get("config") or {}, res.get("metrics") or {}
        label = f"run {rid}: {cfg.get('inputs', '?')}" + (f" +NULL ({null_row_name(cfg)})" if cfg.get("null") else "")
        rows.append({"run": rid, "dataset": run.get("dataset"), "inputs": cfg.get("inputs"),
                     "null": null_row_name(cfg) if cfg.get("null") else "no",
                     "templates": len(cfg.get("templates") or []),
                     **{k: m.get(k) for k in ("top1", "top3", "top5", "macro_f1")}})
        series[label] = res.get("per_class_f1") or {}
    st.subheader(f"{len(rows)} runs compared", anchor=False)
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(k, format="%.3f")
                                for k in ("top1", "top3", "top5", "macro_f1")})
    if table["dataset"].nunique() == 1 and series:
        st.plotly_chart(per_class_figure(series), key="zs.compare.f1")
    else:
        st.caption("Per-class F1 is compared for runs on one dataset.")
