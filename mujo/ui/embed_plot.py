"""The Embedding Space scatter: WebGL traces, one per colour group, with a lean payload and escaped hover text.

Lean: coordinates as float32 arrays (Plotly sends them as base64 typed arrays), one short hover string per point
(the chapter, escaped and cut to HOVER_CHARS) and the window time as float32 customdata. Plotly renders a subset of
HTML in hover labels and legend entries, so dataset text is escaped (`<`, `>`, `&`) before it goes in; Plotly
turns the entities back into the literal characters on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from mujo.eval.embedding_view import NONE_LABEL, UNCURATED
from mujo.ui.text import short

HOVER_CHARS = 80
LEGEND_CHARS = 60  # a colour group's name in the legend
MAX_GROUPS = 30  # legend entries before the rest is pooled into "other" (colours stay distinguishable)
OTHER = "other"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
           "#636363", "#843c39", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#e7969c", "#bd9e39", "#a55194",
           "#5254a3", "#d6616b", "#969696")
FIXED_COLORS = {"text": "#2ca02c", "video": "#9467bd", "pose": "#1f77b4", "imu": "#d62728",
                "train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c",
                "null": "#6b7280", "activity": "#16a34a", "unsure": "#f59e0b", "bad": "#dc2626",
                "partly curated": "#93c5fd", UNCURATED: "#cbd5e1", NONE_LABEL: "#9ca3af", OTHER: "#d1d5db"}
MODALITY_ORDER = ("text", "video", "pose", "imu")
ROUNDS = 4  # interleaved slices per group (draw order)


def html_escape(text: str) -> str:
    """Escape `&`, `<`, `>` so that Plotly shows the text literally (it renders tags such as <b> otherwise)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _group_name(name: object) -> str:
    """A colour group's name for the legend and the hover box: escaped, one line, at most LEGEND_CHARS; `%{` is
    broken up so that Plotly does not read dataset text as a template field."""
    return html_escape(short(name, LEGEND_CHARS, one_line=True)).replace("%{", "%\u200b{")


def hover_text(chapters: Sequence[str] | np.ndarray) -> np.ndarray:
    """Escaped, shortened hover strings, one per point."""
    out = np.empty(len(chapters), dtype=object)
    for i, c in enumerate(chapters):
        c = str(c) if c is not None else ""
        if len(c) > HOVER_CHARS:
            c = c[: HOVER_CHARS - 1] + "…"
        out[i] = html_escape(c) if c else "(no chapter)"
    return out


def point_size(n: int) -> float:
    """Marker size (px): 7 for a few hundred points down to 2 for 200,000."""
    return float(min(7.0, max(2.0, 7.0 - 1.25 * math.log10(max(n, 1) / 300.0))))


def group_order(groups: np.ndarray, max_groups: int = MAX_GROUPS) -> tuple[list[str], np.ndarray]:
    """The legend's groups (largest first; modalities in their usual order) and each point's group after pooling.

    Returns:
        (names in draw order, with OTHER first when used, (N,) pooled group of each point).
    """
    names, counts = np.unique(groups.astype(str), return_counts=True)
    if set(names) <= set(MODALITY_ORDER):
        ranked = [m for m in MODALITY_ORDER if m in set(names)]
    else:
        ranked = [str(n) for n, _ in sorted(zip(names, counts), key=lambda t: (-t[1], t[0]))]
    pooled = groups.astype(str).astype(object)
    if len(ranked) > max_groups:
        keep = set(ranked[: max_groups - 1])
        pooled = np.where(np.isin(pooled, list(keep)), pooled, OTHER).astype(object)
        ranked = [OTHER] + ranked[: max_groups - 1]
    return ranked, pooled


def _colors(names: list[str]) -> dict[str, str]:
    out, free = {}, iter(PALETTE * 4)
    for n in sorted(names):  # by name, so a group keeps its colour when the subset changes
        out[n] = FIXED_COLORS.get(n) or next(free)
    return out


@dataclass
class Scatter:
    """The figure and, per trace, the positions (into the view's points) of its points, for the selection."""

    figure: go.Figure
    trace_positions: list[np.ndarray]


def scatter_figure(coords: np.ndarray, groups: np.ndarray, chapters: Sequence[str] | np.ndarray,
                   t0: np.ndarray | None = None, *, legend_title: str = "", revision: str = "",
                   height: int = 700, max_groups: int = MAX_GROUPS) -> Scatter:
    """A WebGL scatter of 2-D points coloured by group.

    Args:
        coords: (N, 2) projected points.
        groups: (N,) category of each point (dataset text: escaped here).
        chapters: (N,) chapter of each point, shown on hover (escaped here).
        t0: (N,) window start in seconds (hover), or None.
        legend_title: our own text.
        revision: Plotly's uirevision: zoom and pan survive reruns until it changes (a new view).
    Returns:
        The Scatter.
    """
    coords = np.asarray(coords, np.float32)
    n = len(coords)
    names, pooled = group_order(np.asarray(groups), max_groups)
    colors = _colors(names)
    text = hover_text(chapters)
    size, opacity = point_size(n), (0.55 if n > 50_000 else 0.75 if n > 5_000 else 0.85)
    # Each group is drawn in ROUNDS interleaved slices (a seeded shuffle), so no group is painted over all the
    # others just because its trace comes last; one legend entry per group toggles all its slices.
    rng = np.random.default_rng(0)
    slices = {name: np.array_split(rng.permutation(np.flatnonzero(pooled == name)),
                                   ROUNDS if (pooled == name).sum() >= 50 * ROUNDS else 1) for name in names}
    traces, positions = [], []
    for r in range(ROUNDS):
        for name in names:
            if r >= len(slices[name]) or not len(slices[name][r]):
                continue
            pos = np.sort(slices[name][r])
            shown = _group_name(name)
            label = shown + (f" ({int((pooled == name).sum()):,})" if name == OTHER else "")
            tpl = ("%{text}" + ("<br>t = %{customdata:.1f} s" if t0 is not None else "")
                   + f"<extra>{shown}</extra>")
            traces.append(go.Scattergl(
                x=coords[pos, 0], y=coords[pos, 1], mode="markers", name=label, legendgroup=label,
                showlegend=r == 0, text=text[pos], hovertemplate=tpl,
                customdata=None if t0 is None else np.asarray(t0, np.float32)[pos],
                marker={"size": size, "color": colors[name], "opacity": opacity, "line": {"width": 0}}))
            positions.append(pos)
    fig = go.Figure(traces)
    axis: dict[str, Any] = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": None,
                            "showline": True, "linecolor": "#e5e7eb", "mirror": True}
    fig.update_layout(
        height=height, margin={"l": 8, "r": 8, "t": 34, "b": 8}, dragmode="lasso", hovermode="closest",
        uirevision=revision or "mujo", plot_bgcolor="#ffffff",
        legend={"title": {"text": html_escape(legend_title)}, "itemsizing": "constant", "tracegroupgap": 2,
                "font": {"size": 12}},
        xaxis=axis, yaxis=axis | {"scaleanchor": "x", "scaleratio": 1},
        hoverlabel={"bgcolor": "#ffffff", "font": {"size": 12}}, clickmode="event+select")
    return Scatter(fig, positions)


def selected_positions(points: Sequence[dict[str, Any]] | None, trace_positions: list[np.ndarray]) -> np.ndarray:
    """Positions (into the view's points) of the points a lasso/box selection reported, sorted and unique.

    Args:
        points: `event.selection.points` of `st.plotly_chart` (each with curve_number and point_index).
        trace_positions: Scatter.trace_positions of the figure that was selected on.
    """
    out = []
    for p in points or ():
        c = p.get("curve_number")
        i = p.get("point_index", p.get("point_number"))
        if c is None or i is None or not 0 <= int(c) < len(trace_positions):
            continue
        pos = trace_positions[int(c)]
        if 0 <= int(i) < len(pos):
            out.append(int(pos[int(i)]))
    return np.unique(np.asarray(out, np.int64))
