"""Result cards of the Retrieval page: per window an animated pose thumbnail, an |acc| sparkline, its chapter, the
similarity and a link to Browse, all in one self-contained HTML component (one iframe for the whole list).

Like the Browse player (player.py): no CDN, all data in one JSON document inside a `<script type="application/json">`
element encoded by `html_component.json_for_html`, dataset text set with `textContent` only, arrays as base64 float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from mujo.fimad.dataset import ClipError, FimadDataset
from mujo.fimad.windows import WindowIndex, read_windows
from mujo.ui.html_component import b64_f32, component_html
from mujo.ui.player import bones_with_sides
from mujo.ui.text import LABEL_CHARS, short

SITE_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
CARD_PX, QUERY_PX, HEAD_PX, PAD_PX = 148, 156, 30, 16  # heights the HTML lays out (see thumbs.html)
COLUMNS = 2


@dataclass
class Card:
    """One window shown as a card.

    Attributes:
        clip_id, t0_s: the window (its start in seconds).
        chapter, label, split: shown as text.
        url: the Browse link (absolute when the page URL is known).
        rank: 1-based rank, None for the query window.
        score: cosine similarity to the query, None for the query window.
        pose: (T, 17, 3) metres or None; imu: (T, S) |acc| per site or None.
        note: a short remark ("the example window itself", "no pose file").
    """

    clip_id: str
    t0_s: float
    chapter: str = ""
    label: str = ""
    split: str = ""
    url: str = ""
    rank: int | None = None
    score: float | None = None
    pose: np.ndarray | None = None
    imu: np.ndarray | None = None
    note: str = ""


def _window_index(clip_ids: Sequence[str], starts: Sequence[int], size: int) -> WindowIndex:
    uniq, codes = np.unique(np.asarray(clip_ids, dtype=object).astype(str), return_inverse=True)
    return WindowIndex(tuple(uniq.tolist()), codes.ravel().astype(np.int32), np.asarray(starts, np.int64), int(size),
                       hop=max(1, int(size) // 2), trim=0.0)


def _read(ds: FimadDataset, index: WindowIndex, modality: str) -> tuple[list[np.ndarray | None], list[str]]:
    """Each window of `index` in one modality, None (and a note) where its clip's file is missing or broken."""
    try:
        arr = read_windows(ds, index, None, modality)
        return list(arr), [""] * len(arr)
    except ClipError:
        pass
    out: list[np.ndarray | None] = []
    notes: list[str] = []
    for i in range(len(index)):  # one by one, to keep the windows that do read
        try:
            out.append(read_windows(ds, index, np.array([i]), modality)[0])
            notes.append("")
        except ClipError as e:
            out.append(None)
            notes.append(str(e.reason))
    return out, notes


def window_cards(ds: FimadDataset, index: pd.DataFrame, rows: Sequence[int], scores: Sequence[float] | None,
                 sites: Sequence[str], urls: Sequence[str], *, size: int = 100, first_rank: int = 1) -> list[Card]:
    """Cards for store rows (the pose and |acc| of each window are read from the dataset).

    Args:
        ds: the dataset the store was embedded from.
        index: the store's index (clip_id, start, t0_s, split, label, chapter).
        rows: store rows to show, in order; scores: their similarities (None: a query card, no rank).
        sites: IMU sites for the sparkline (those the dataset lacks are skipped).
        urls: one Browse link per row.
        size: window length in samples.
    """
    sub = index.iloc[list(rows)]
    widx = _window_index(sub["clip_id"].tolist(), sub["start"].to_numpy(), size)
    poses, pose_notes = _read(ds, widx, "pose")
    accs, imu_notes = _read(ds, widx, "acc")
    site_pos = [list(ds.imu_sites).index(s) for s in sites if s in list(ds.imu_sites)]
    cards = []
    for i, (_, r) in enumerate(sub.iterrows()):
        imu = None
        if accs[i] is not None and site_pos:
            imu = np.linalg.norm(accs[i][:, site_pos, :], axis=2).astype(np.float32)  # (T, S')
        note = "; ".join(n for n in (pose_notes[i], imu_notes[i]) if n)
        # A card shows one line of each text: long titles are cut (a 200 kB title would swell the page's HTML).
        cards.append(Card(clip_id=str(r["clip_id"]), t0_s=float(r["t0_s"]), chapter=short(_s(r.get("chapter")), 300),
                          label=short(_s(r.get("label")), LABEL_CHARS), split=short(_s(r.get("split")), LABEL_CHARS),
                          url=urls[i],
                          rank=None if scores is None else first_rank + i,
                          score=None if scores is None else float(scores[i]), pose=poses[i], imu=imu, note=note))
    return cards


def _s(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _pose_payload(pose: np.ndarray) -> dict[str, Any]:
    """The window's pose centred on its mean hip position (x, z), with the radius the thumbnail must show."""
    p = np.asarray(pose, np.float32).copy()  # (T, 17, 3)
    ok = np.isfinite(p).all(axis=2)
    if not ok.any():
        return {"b64": b64_f32(p), "n_frames": int(len(p)), "floor": 0.0, "height": 1.0, "radius": 1.0}
    pts = p[ok]
    center = np.nanmean(p[:, 0, :], axis=0) if np.isfinite(p[:, 0, :]).any() else pts.mean(axis=0)
    p[..., 0] -= center[0]
    p[..., 2] -= center[2]
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    radius = float(max(np.abs(pts[:, 0] - center[0]).max(), np.abs(pts[:, 2] - center[2]).max(),
                       (hi[1] - lo[1]) / 2, 0.5))
    return {"b64": b64_f32(p), "n_frames": int(len(p)), "floor": float(lo[1]), "height": float(hi[1] - lo[1]),
            "radius": radius}


def cards_payload(cards: Sequence[Card], sites: Sequence[str], fps: float, heading: str = "") -> dict[str, Any]:
    """The JSON document the cards' JS reads."""
    shown_sites = [s for s in sites]
    out = []
    for c in cards:
        item: dict[str, Any] = {"clip_id": c.clip_id, "t0": c.t0_s, "chapter": c.chapter, "label": c.label,
                                "split": c.split, "url": c.url if c.url.startswith(("http://", "https://", "Browse?"))
                                else "", "rank": c.rank, "score": c.score, "note": c.note, "pose": None, "imu": None}
        if c.pose is not None:
            item["pose"] = _pose_payload(c.pose)
        if c.imu is not None:
            item["imu"] = {"b64": b64_f32(c.imu), "n_frames": int(c.imu.shape[0]), "sites": int(c.imu.shape[1])}
        out.append(item)
    return {"heading": heading, "fps": float(fps), "bones": bones_with_sides(), "cards": out,
            "sites": [{"name": s, "color": SITE_COLORS[i % len(SITE_COLORS)]} for i, s in enumerate(shown_sites)]}


def cards_html(cards: Sequence[Card], sites: Sequence[str], fps: float, heading: str = "") -> str:
    """The complete, self-contained HTML document of a card list."""
    return component_html("thumbs", cards_payload(cards, sites, fps, heading))


def cards_height(cards: Sequence[Card]) -> int:
    """The iframe height (px) that shows every card: query cards span the row, results go COLUMNS to a row."""
    queries = sum(1 for c in cards if c.rank is None)
    results = len(cards) - queries
    return HEAD_PX + PAD_PX + queries * QUERY_PX + math.ceil(results / COLUMNS) * CARD_PX


def render_cards(cards: Sequence[Card], sites: Sequence[str], fps: float, heading: str = "") -> None:
    """Draw the cards in the current Streamlit container (one iframe)."""
    st.iframe(cards_html(cards, sites, fps, heading), height=cards_height(cards),
              alt=f"Retrieval results: {sum(1 for c in cards if c.rank is not None)} windows")
