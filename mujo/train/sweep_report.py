"""Reports over fine-tuning sweep results: mean ± std tables, paired tests against the baseline, boxplots, CSV.

Input is the frame of `sweep_results` (mujo.train.sweep: one row per finished fine-tuning run: sweep_id, run_id,
dataset, checkpoint, method, scenario, fraction, repeat, null, inputs, split, macro_f1, accuracy, seconds and,
optionally, architecture). Rows are grouped by a "model" label (the baseline, or a checkpoint's pre-training method
with its scenario, as in the paper's Tables 1-2 and Figures 2-3). Pure pandas/scipy/plotly: no torch, no
Streamlit, no SQL.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import ttest_1samp, wilcoxon

from mujo.datasets.inputs import inputs_text

BASELINE = "baseline"
METHOD_NAMES = {"mujo": "MuJo", "multitask": "Multi-task", "autoencoder": "Auto-encoder", "simclr": "simCLR"}
SCENARIO_NAMES = {"frozen": "frozen", "finetuned": "fine-tuned"}
INPUT_NAMES = {"imu": "IMU", "pose": "pose", "imu+pose": "IMU + pose"}
# the grid dimensions a table row / test is computed within (besides fraction and model)
GROUP = ["dataset", "inputs", "null"]
ALPHA = 0.05  # significance level of the "significant" column
# a stable colour per model family: grey baseline, then the methods in the paper's order
_COLORS = {"Baseline": "#7f7f7f", "MuJo": "#1f77b4", "Auto-encoder": "#2ca02c", "simCLR": "#d62728",
           "Multi-task": "#9467bd"}
_EXTRA_COLORS = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else False


def checkpoint_name(path: Any) -> str:
    """A checkpoint's short name: its folder, with the parent for best/ and last/ ("" for none)."""
    if path is None or (isinstance(path, float) and math.isnan(path)) or str(path) == "":
        return ""
    p = Path(str(path))
    return f"{p.parent.name}/{p.name}" if p.name in ("best", "last") else p.name


def fraction_label(fraction: float) -> str:
    """0.02 -> "2%", 0.005 -> "0.5%"."""
    return f"{100 * float(fraction):.4g}%"


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """A normalised copy: `inputs` as "imu+pose" text, `null` bool, `fraction` float, and a `model` label.

    The label is "Baseline" for the baseline scenario, else the method's name with the scenario
    ("MuJo (fine-tuned)"); when two checkpoints share a method, the checkpoint's folder name is added.
    """
    out = df.copy()
    if out.empty:
        for col in ("dataset", "inputs", "null", "fraction", "scenario", "macro_f1", "model", "repeat"):
            if col not in out:
                out[col] = pd.Series(dtype=object)
        return out
    out["inputs"] = out["inputs"].map(inputs_text) if "inputs" in out else "imu"
    out["null"] = out["null"].map(_as_bool) if "null" in out else False
    out["fraction"] = out["fraction"].astype(float)
    out["macro_f1"] = out["macro_f1"].astype(float)
    if "method" not in out:
        out["method"] = "mujo"
    if "checkpoint" not in out:
        out["checkpoint"] = ""
    out["method"] = out["method"].fillna("").astype(str)
    out["checkpoint"] = out["checkpoint"].fillna("").astype(str)
    trained = out["scenario"] != BASELINE
    per_method = out[trained].groupby("method")["checkpoint"].nunique()
    shared = set(per_method[per_method > 1].index)
    # baselines of different classifier architectures (checkpoints of other sizes) on one dataset are told apart
    arch = out["architecture"].fillna("").astype(str) if "architecture" in out else out["checkpoint"]
    n_arch = arch[~trained].groupby([out.loc[~trained, c] for c in GROUP]).nunique()
    several = {k for k, n in n_arch.items() if n > 1}

    def label(row: pd.Series) -> str:
        if row["scenario"] == BASELINE:
            if tuple(row[c] for c in GROUP) in several:
                return f"Baseline {checkpoint_name(row['checkpoint']) or 'preset'}"
            return "Baseline"
        name = METHOD_NAMES.get(row["method"], row["method"] or "pre-trained")
        if row["method"] in shared:
            name += f" {checkpoint_name(row['checkpoint'])}"
        return f"{name} ({SCENARIO_NAMES.get(row['scenario'], row['scenario'])})"

    out["model"] = out.apply(label, axis=1)
    return out


def _model_order(models: Iterable[str]) -> list[str]:
    """Baseline first, then by method family in the paper's order, frozen before fine-tuned."""
    families = list(_COLORS)

    def key(m: str) -> tuple:
        fam = next((i for i, f in enumerate(families) if m.startswith(f)), len(families))
        return (fam, "fine-tuned" in m, m)

    return sorted(set(models), key=key)


def summary_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and n of macro F1 per dataset/inputs/null/model and fraction (one row each)."""
    d = prepare(df)
    cols = [*GROUP, "model", "fraction"]
    if d.empty:
        return pd.DataFrame(columns=[*cols, "mean", "std", "n"])
    return d.groupby(cols, sort=True)["macro_f1"].agg(mean="mean", std="std", n="count").reset_index()


def _fmt_cell(mean: float, std: float, n: int) -> str:
    def short(x: float) -> str:  # the paper's ".675"
        s = f"{x:.3f}"
        return s[1:] if s.startswith("0.") else s.replace("-0.", "-.")

    text = short(mean) + (f" ± {short(std)}" if n > 1 and not math.isnan(std) else "")
    return f"{text} (n={n})"


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std (n) of macro F1 like the paper's Tables 1-2.

    Args:
        df: sweep results (see the module docstring).
    Returns:
        One row per dataset/inputs/null/model (a MultiIndex, baseline first) and one text column per training
        fraction ("2%", "100%"), cells like ".675 ± .010 (n=5)"; empty where a combination has no run.
    """
    stats = summary_stats(df)
    if stats.empty:
        return pd.DataFrame()
    stats["cell"] = [_fmt_cell(m, s, int(n)) for m, s, n in zip(stats["mean"], stats["std"], stats["n"])]
    wide = stats.pivot_table(index=[*GROUP, "model"], columns="fraction", values="cell", aggfunc="first")
    wide = wide.reindex(columns=sorted(wide.columns))
    wide.columns = [fraction_label(f) for f in wide.columns]
    order = {m: i for i, m in enumerate(_model_order(stats["model"]))}
    wide = wide.sort_index(key=lambda ix: ix.map(order) if ix.name == "model" else ix)
    return wide.fillna("")


def _pair_values(base: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Per repeat: the pre-trained model's macro F1 and its baseline's, averaging duplicates of one repeat.

    The baseline with the same classifier architecture is preferred (the sweep runs one baseline cell per
    architecture, its `architecture` column), then one with the same checkpoint; otherwise any baseline run of
    that repeat.
    """
    o = other.groupby("repeat")["macro_f1"].mean()
    b = base
    for col in ("architecture", "checkpoint"):
        if col in base and col in other:
            wanted = set(other[col].dropna().astype(str)) - {""}
            same = base[base[col].astype(str).isin(wanted)]
            if not same.empty:
                b = same
                break
    return pd.concat({"pretrained": o, "baseline": b.groupby("repeat")["macro_f1"].mean()}, axis=1).dropna()


def _tests(diff: np.ndarray) -> tuple[float, float, float]:
    """(Wilcoxon signed-rank p, paired t statistic, paired t p) of the differences; NaN where undefined."""
    n = len(diff)
    if n < 2:
        return math.nan, math.nan, math.nan
    if np.allclose(diff, 0.0):
        return 1.0, 0.0, 1.0  # identical pairs: no evidence of a difference
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small samples: scipy warns about exactness / zero differences
        try:
            w_p = float(wilcoxon(diff).pvalue)
        except ValueError:
            w_p = math.nan
        t = ttest_1samp(diff, 0.0)  # the paired t test on the differences
    return w_p, float(t.statistic), float(t.pvalue)


def paired_tests(df: pd.DataFrame) -> pd.DataFrame:
    """Each pre-trained model against the baseline, per dataset/inputs/null/fraction, paired by repeat.

    Repeat r of every scenario uses the same seed and split, hence the same training windows, so the runs pair
    up. Wilcoxon signed-rank (scipy.stats.wilcoxon, two-sided) and the paired t test on pre-trained - baseline.

    Args:
        df: sweep results (see the module docstring).
    Returns:
        One row per comparison: dataset, inputs, null, fraction, model, n_pairs, baseline (mean), pretrained
        (mean), mean_diff, wilcoxon_p, t_stat, t_p, decided_by, significant (p < 0.05 of the test named in
        decided_by: Wilcoxon where it can reach 0.05 at all, i.e. with 6 or more pairs (its smallest two-sided
        p is 2 / 2^n: 0.0625 for 5 pairs), else the paired t test). Comparisons without a baseline are left out;
        with fewer than 2 pairs the p-values are NaN.
    """
    d = prepare(df)
    cols = [*GROUP, "fraction", "model", "n_pairs", "baseline", "pretrained", "mean_diff", "wilcoxon_p",
            "t_stat", "t_p", "decided_by", "significant"]
    rows = []
    if d.empty:
        return pd.DataFrame(columns=cols)
    for key, cell in d.groupby([*GROUP, "fraction"], sort=True):
        base = cell[cell["scenario"] == BASELINE]
        if base.empty:
            continue
        for model in _model_order(cell.loc[cell["scenario"] != BASELINE, "model"]):
            pairs = _pair_values(base, cell[cell["model"] == model])
            diff = (pairs["pretrained"] - pairs["baseline"]).to_numpy(float)
            w_p, t_stat, t_p = _tests(diff)
            wilcoxon_can = not math.isnan(w_p) and 2.0 / 2.0 ** len(diff) < ALPHA
            p = w_p if wilcoxon_can else t_p
            rows.append({**dict(zip([*GROUP, "fraction"], key)), "model": model, "n_pairs": len(diff),
                         "baseline": float(pairs["baseline"].mean()) if len(diff) else math.nan,
                         "pretrained": float(pairs["pretrained"].mean()) if len(diff) else math.nan,
                         "mean_diff": float(diff.mean()) if len(diff) else math.nan,
                         "wilcoxon_p": w_p, "t_stat": t_stat, "t_p": t_p,
                         "decided_by": "Wilcoxon" if wilcoxon_can else "paired t",
                         "significant": bool(not math.isnan(p) and p < ALPHA)})
    return pd.DataFrame(rows, columns=cols)


def _plot_text(text: str) -> str:
    """Plotly renders a subset of HTML in names and titles: escape folder and dataset names."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _color(model: str, extra: dict[str, str]) -> str:
    for family, color in _COLORS.items():
        if model.startswith(family):
            return color
    return extra.setdefault(model, _EXTRA_COLORS[len(extra) % len(_EXTRA_COLORS)])


def boxplot_figure(df: pd.DataFrame, dataset: str | None = None, *, inputs: str | None = None,
                   null: bool | None = None, title: str | None = None) -> Any:
    """Boxplots of macro F1 per training fraction and model, like the paper's Figures 2-3.

    Args:
        df: sweep results (see the module docstring).
        dataset, inputs, null: keep only these rows (None: all; when several inputs/NULL settings remain, each
            gets its own boxes, named after it).
        title: the figure title (default: the dataset).
    Returns:
        A plotly Figure: x = training fraction as a category ("1%" ... "100%"), boxes grouped per model (fine-tuned
        encoders shaded darker than frozen ones), y = macro F1.
    """
    d = prepare(df)
    if dataset is not None and not d.empty:
        d = d[d["dataset"] == dataset]
    if inputs is not None and not d.empty:
        d = d[d["inputs"] == inputs_text(inputs)]
    if null is not None and not d.empty:
        d = d[d["null"] == bool(null)]
    fig = go.Figure()
    if d.empty:
        fig.update_layout(title=_plot_text(title or "No results"), height=420)
        return fig
    several = d.groupby(["inputs", "null"]).ngroups > 1
    fractions = sorted(d["fraction"].unique())
    extra: dict[str, str] = {}
    for model in _model_order(d["model"]):
        for (inp, nul), part in d[d["model"] == model].groupby(["inputs", "null"], sort=True):
            name = model + (f" · {inp}{' +NULL' if nul else ''}" if several else "")
            color = _color(model, extra)
            fig.add_trace(go.Box(x=[fraction_label(f) for f in part["fraction"]], y=part["macro_f1"],
                                 name=_plot_text(name),
                                 marker_color=color, boxpoints="all", jitter=0.3, pointpos=0,
                                 opacity=1.0 if "frozen" not in model else 0.6,
                                 hovertext=[f"repeat {r}" for r in part.get("repeat", [])]))
    fig.update_layout(boxmode="group", title=_plot_text(title or dataset or ""), height=460, legend_title_text="model",
                      margin=dict(l=40, r=20, t=50, b=40))
    fig.update_xaxes(title="training data", type="category", categoryorder="array",
                     categoryarray=[fraction_label(f) for f in fractions])
    fig.update_yaxes(title="macro F1")
    return fig


def to_csv(df: pd.DataFrame) -> str:
    """The results as CSV text (inputs as "imu+pose", fractions as numbers), for a download button or a file."""
    buf = io.StringIO()
    out = df.copy()
    if "inputs" in out and not out.empty:
        out["inputs"] = out["inputs"].map(inputs_text)
    out.to_csv(buf, index=False)
    return buf.getvalue()
