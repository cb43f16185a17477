"""The Retrieval page's parts: free-text queries, query by example, and the R@k/MRR matrix of the loaded model."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mujo import models_registry as registry
from mujo.fimad.dataset import FimadDataset
from mujo.ui import dataset as uds
from mujo.ui import thumbs
from mujo.ui.embed_plot import html_escape
from mujo.ui.model import text_query_vector
from mujo.ui.state import StateKeys, absolute_browse_url
from mujo.ui.text import LABEL_CHARS, label_text, md_escape, short, short_cells

MODES = {"text": "Text query", "example": "Query by example", "metrics": "Retrieval metrics"}
NAMES = {"text": "Text", "imu": "IMU", "pose": "Pose", "video": "Video"}
METRICS = ("R@1", "R@5", "R@10", "MRR")
EXAMPLES = ("jumping jacks", "squats", "push ups", "plank", "lunges left")


def _one_line(text: object, limit: int) -> str:
    return short(text, limit, one_line=True)


def _name(m: Any) -> str:
    return NAMES.get(str(m), str(m))


def _search(store: Any, query: np.ndarray, target: str, k: int, rows: np.ndarray | None = None,
            exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    from mujo.eval.search import search  # noqa: PLC0415  (keeps torch off the Retrieval page's import)

    idx, scores = search(store, query, target, k=k, rows=rows, exclude=exclude)
    return idx[0], scores[0]


def _sites(info: registry.CheckpointInfo, ds: FimadDataset) -> list[str]:
    """IMU sites for the sparklines: the checkpoint's, else the dataset's first two."""
    have = list(ds.imu_sites)
    mine = [s for s in info.imu_sites if s in have]
    return mine or have[:2]


def _show(ds: FimadDataset, store: Any, info: registry.CheckpointInfo, rows: np.ndarray, scores: np.ndarray,
          heading: str, query_row: int | None = None) -> pd.DataFrame:
    """Draw the result cards (and the query window's card first) plus a table; returns the table."""
    index = store.index
    page_url = getattr(st.context, "url", None)
    size = int((store.meta.get("bank_spec") or {}).get("window", 100))
    sites = _sites(info, ds)

    clip_ids, t0s = index["clip_id"].to_numpy(), index["t0_s"].to_numpy()

    def urls(rs: Sequence[int]) -> list[str]:
        return [absolute_browse_url(str(clip_ids[r]), float(t0s[r]), page_url) for r in rs]

    cards = []
    if query_row is not None:
        cards += thumbs.window_cards(ds, index, [query_row], None, sites, urls([query_row]), size=size)
    scores = np.clip(scores, -1.0, 1.0)  # float16 storage can put a unit row's self-similarity at 1.00001
    results = thumbs.window_cards(ds, index, rows.tolist(), scores.tolist(), sites, urls(rows.tolist()), size=size)
    for c, r in zip(results, rows):
        if query_row is not None and int(r) == int(query_row):
            c.note = "the example window itself"
    thumbs.render_cards(cards + results, sites, ds.fps, heading)
    table = pd.DataFrame({"rank": np.arange(1, len(rows) + 1), "similarity": scores.astype(float),
                          "chapter": index["chapter"].to_numpy()[rows], "label": index["label"].to_numpy()[rows],
                          "split": index["split"].to_numpy()[rows], "clip": index["clip_id"].to_numpy()[rows],
                          "t0_s": index["t0_s"].to_numpy()[rows], "open": urls(rows.tolist()), "row": rows})
    with st.expander("Results as a table"):
        st.dataframe(short_cells(table, ["chapter", "label", "split", "clip"]), hide_index=True, width="stretch",
                     column_order=[c for c in table.columns if c != "row"],
                     column_config={"similarity": st.column_config.NumberColumn(format="%.3f"),
                                    "t0_s": st.column_config.NumberColumn("start", format="%.1f s"),
                                    "open": st.column_config.LinkColumn("Browse", display_text="open ↗")})
    return table


def _use_as_example(table: pd.DataFrame, source: str) -> None:
    """Callback: make the chosen result the example of query by example, and switch to that mode."""
    rank = st.session_state.get(StateKeys.RET_USE_RESULT)
    hit = table[table["rank"] == rank]
    if hit.empty:
        return
    st.session_state[StateKeys.RET_EX_CLIP] = str(hit["clip"].iloc[0])
    st.session_state[StateKeys.RET_EX_TIME] = float(hit["t0_s"].iloc[0])
    st.session_state[StateKeys.RET_EX_SOURCE] = source
    st.session_state[StateKeys.RET_MODE] = "example"


def example_queries(index: pd.DataFrame, n: int = 5) -> list[str]:
    """Suggested queries: the dataset's most frequent activity labels as words, else generic exercises."""
    if "label" in index.columns:
        counts = index["label"].dropna().astype(str).value_counts()
        words = [w.replace("_", " ") for w in counts.index  # a label too long to be a query is not suggested
                 if w.strip() and len(w) <= LABEL_CHARS
                 and not w.lower().startswith(("null", "none", "(none)", "rest", "other"))]
        if len(words) >= 3:
            return words[:n]
    return list(EXAMPLES[:n])


def _set_text(text: str) -> None:
    st.session_state[StateKeys.RET_TEXT] = text


def _targets(store: Any) -> list[str]:
    return [str(m) for m in store.modalities if str(m) != "text"]


def text_query(ds: FimadDataset, info: registry.CheckpointInfo, store: Any) -> None:
    """Free text -> top-k windows of the chosen modality."""
    targets = _targets(store)
    if "text" not in [str(m) for m in store.modalities] or not targets:
        st.info("The loaded model has no text encoder (or nothing to search with it); use query by example.",
                icon=":material/info:")
        return
    if st.session_state.get(StateKeys.RET_TARGET) not in targets:
        st.session_state[StateKeys.RET_TARGET] = "imu" if "imu" in targets else targets[0]
    splits = ["all"] + sorted(store.index["split"].astype(str).unique().tolist())
    if st.session_state.get(StateKeys.RET_SPLIT) not in splits:
        st.session_state[StateKeys.RET_SPLIT] = "all"
    c = st.columns([4, 1.1, 1.1, 0.9], vertical_alignment="bottom")
    c[0].text_input("Describe a movement", key=StateKeys.RET_TEXT, persist_state="session",
                    placeholder="e.g. jumping jacks, slow squats, left lunges, rest")
    c[1].selectbox("Search in", targets, key=StateKeys.RET_TARGET, format_func=_name, persist_state="session",
                   help="Which modality's window embeddings the text is compared with (IMU: the headline).")
    c[2].selectbox("Windows", splits, key=StateKeys.RET_SPLIT, persist_state="session",
                   format_func=lambda s: "all splits" if s == "all" else f"{s} split")
    c[3].number_input("Results", 1, 50, key=StateKeys.RET_K, persist_state="session")
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption("Try:", width="content")
        for i, text in enumerate(example_queries(store.index)):
            st.button(label_text(text), key=f"ret.example_text.{i}", on_click=_set_text, args=(text,),
                      type="tertiary")
    text = str(st.session_state.get(StateKeys.RET_TEXT) or "").strip()
    if not text:
        st.caption("Type a query and press Enter: the text goes through MiniLM and the model's text encoder, and "
                   "the nearest windows (cosine similarity, exact search over every window) are shown.")
        return
    target, k = st.session_state[StateKeys.RET_TARGET], int(st.session_state[StateKeys.RET_K])
    split = st.session_state[StateKeys.RET_SPLIT]
    try:
        with st.spinner("Searching…"):
            q = text_query_vector(str(info.path), info.stamp, text)
            rows, scores = _search(store, q, target, k, rows=None if split == "all" else store.rows(split))
    except ValueError as e:
        st.error(md_escape(str(e)), icon=":material/error:")
        return
    table = _show(ds, store, info, rows, scores, f"Top {len(rows)} {_name(target)} windows for the text query")
    if len(table):
        u = st.columns([1.4, 1.2, 2.4], vertical_alignment="bottom")
        u[0].selectbox("Use a result as the example", table["rank"].tolist(), key=StateKeys.RET_USE_RESULT,
                       format_func=lambda r: f"#{r} · {_one_line(table.set_index('rank').at[r, 'chapter'], 40)}")
        u[1].button("Query by this window", key="ret.use_result_go", on_click=_use_as_example,
                    args=(table, target), icon=":material/arrow_forward:")


def _clip_choices(store: Any) -> tuple[list[str], dict[str, str]]:
    index = store.index
    first = index.drop_duplicates("clip_id")
    return first["clip_id"].astype(str).tolist(), dict(zip(first["clip_id"].astype(str), first["chapter"].astype(str)))


def example_query(ds: FimadDataset, info: registry.CheckpointInfo, store: Any) -> None:
    """A window of one modality -> its nearest windows in another modality."""
    mods = [str(m) for m in store.modalities]
    clips, chapters = _clip_choices(store)
    if not clips:
        st.info("The embedding store holds no windows.")
        return
    if st.session_state.get(StateKeys.RET_EX_CLIP) not in chapters:
        st.session_state[StateKeys.RET_EX_CLIP] = clips[0]
    for key, default in ((StateKeys.RET_EX_SOURCE, "pose"), (StateKeys.RET_EX_TARGET, "imu")):
        if st.session_state.get(key) not in mods:
            st.session_state[key] = default if default in mods else mods[0]
    c = st.columns([3, 2.2, 1, 1, 0.8], vertical_alignment="bottom")
    c[0].selectbox("Clip", clips, key=StateKeys.RET_EX_CLIP, persist_state="session",
                   format_func=lambda cid: f"{_one_line(cid, LABEL_CHARS)} · {_one_line(chapters.get(cid, ''), 60)}")
    index = store.index
    clip = st.session_state[StateKeys.RET_EX_CLIP]
    own = np.flatnonzero(index["clip_id"].astype(str).to_numpy() == clip)
    times = [round(float(t), 2) for t in index["t0_s"].to_numpy()[own]]
    t = st.session_state.get(StateKeys.RET_EX_TIME)
    if t not in times:
        st.session_state[StateKeys.RET_EX_TIME] = min(times, key=lambda x: abs(x - float(t or 0.0)))
    if len(times) > 1:
        c[1].select_slider("Window start", times, key=StateKeys.RET_EX_TIME, format_func=lambda x: f"{x:.1f} s")
    else:
        c[1].caption(f"One window, at {times[0]:.1f} s")
    c[2].selectbox("Example from", mods, key=StateKeys.RET_EX_SOURCE, format_func=_name, persist_state="session")
    c[3].selectbox("Find in", mods, key=StateKeys.RET_EX_TARGET, format_func=_name, persist_state="session")
    c[4].number_input("Results", 1, 50, key=StateKeys.RET_K, persist_state="session")
    st.toggle("Leave out the example's own clip", key=StateKeys.RET_EX_OTHER_CLIPS, persist_state="session",
              help="Otherwise neighbouring windows of the same clip (and, across modalities, the window itself) "
                   "come first.")
    row = int(own[times.index(st.session_state[StateKeys.RET_EX_TIME])])
    source, target = st.session_state[StateKeys.RET_EX_SOURCE], st.session_state[StateKeys.RET_EX_TARGET]
    query = np.asarray(store.vectors(source)[row], np.float32)[None, :]  # (1, D)
    exclude = own if st.session_state[StateKeys.RET_EX_OTHER_CLIPS] else (np.array([row]) if source == target else None)
    rows, scores = _search(store, query, target, int(st.session_state[StateKeys.RET_K]), exclude=exclude)
    where = ("" if exclude is None else " (the example's own clip left out)" if len(exclude) > 1
             else " (itself left out)")
    _show(ds, store, info, rows, scores,
          f"{_name(source)} of the example → top {len(rows)} {_name(target)} windows{where}", query_row=row)


def _matrix_figure(df: pd.DataFrame, metric: str) -> go.Figure:
    """Query x target heatmap of one metric (percent), each cell with its chance level; the diagonal is empty."""
    mods = [m for m in ("text", "video", "pose", "imu") if m in set(df["query"]) | set(df["target"])]
    z: list[list[float | None]] = [[None for _ in mods] for _ in mods]  # lists: a small, readable spec
    text = [["" for _ in mods] for _ in mods]
    for _, r in df.iterrows():
        i, j = mods.index(r["query"]), mods.index(r["target"])
        z[i][j] = 100 * float(r[metric])
        text[i][j] = (f"<b>{100 * r[metric]:.1f}</b><br><span style='font-size:11px'>chance "
                      f"{100 * r['chance_' + metric]:.1f}</span>")
    top = max([v for row in z for v in row if v is not None] + [1.0])
    names = [_name(m) for m in mods]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", textfont={"size": 17}, colorscale="Blues",
        zmin=0, zmax=min(100.0, 10 * np.ceil(top / 10)), xgap=3, ygap=3,
        hovertemplate="%{y} → %{x}: %{z:.1f} %<extra></extra>",
        colorbar={"title": {"text": html_escape(f"{metric} (%)")}, "thickness": 14}))
    fig.update_layout(height=110 + 95 * len(mods), margin={"l": 8, "r": 8, "t": 8, "b": 8},
                      plot_bgcolor="#f3f4f6", xaxis={"title": "target", "side": "top", "showgrid": False},
                      yaxis={"title": "query", "autorange": "reversed", "showgrid": False})
    return fig


def metrics_panel(info: registry.CheckpointInfo, store: Any) -> None:
    """R@1/5/10 and MRR of every ordered modality pair, from retrieval.json or computed on request."""
    from mujo.eval import retrieval as ret  # noqa: PLC0415  (keeps torch off the Retrieval page's import)

    key = f"{store.meta.get('dataset_id', '')}/val"
    df = ret.load_retrieval(info.path, key)
    source = "this dataset's validation split"
    if df is None:
        df = ret.load_retrieval(info.path)
        doc = registry.saved_retrieval(info.path) or {}
        latest = (doc.get("results") or {}).get(doc.get("latest") or "", {})
        source = f"{latest.get('dataset_name', 'another dataset')}, {latest.get('split', '?')} split"
    if df is None or df.empty:
        st.info("No retrieval metrics saved with this checkpoint yet.", icon=":material/analytics:")
    c1, c2 = st.columns([1.5, 3], vertical_alignment="bottom")
    if c2.button("Compute on the validation split", key="ret.compute_metrics", icon=":material/calculate:",
                 help="R@k and MRR of every ordered pair of modalities, on this dataset's val windows; saved as "
                      "retrieval.json in the checkpoint folder."):
        bar = st.progress(0.0, text="Retrieval evaluation…")
        try:
            df = ret.retrieval_eval(store, "val", progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
            ret.save_retrieval(df, store, "val", checkpoint_dir=info.path)
            source = "this dataset's validation split"
        except (ValueError, OSError) as e:
            st.error(md_escape(f"Retrieval evaluation failed: {e}"), icon=":material/error:")
            return
        finally:
            bar.empty()
    if df is None or df.empty:
        return
    c1.segmented_control("Metric", METRICS, key=StateKeys.RET_METRIC, required=True, persist_state="session")
    metric = st.session_state.get(StateKeys.RET_METRIC) or "R@1"
    st.caption(md_escape(f"Measured on {source}: {int(df['n_queries'].max()):,} queries at most per pair. Rows: "
                         "query modality; columns: target. Each cell: the metric in percent and its chance level "
                         "(the colour scale ends at the best cell). The table below: every metric, in percent."))
    st.plotly_chart(_matrix_figure(df, metric), width="stretch", config={"displaylogo": False})
    shown = df.copy()
    for col in [c for c in shown.columns if c.startswith(("R@", "MRR", "chance_"))]:
        shown[col] = 100 * shown[col]
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.1f") for c in shown.columns
                                if c.startswith(("R@", "MRR", "chance_"))})


def retrieval_page(ref: uds.DatasetRef, ds: FimadDataset, info: registry.CheckpointInfo, store: Any) -> None:
    """The whole page below the title."""
    st.segmented_control("Mode", list(MODES), key=StateKeys.RET_MODE, format_func=MODES.get, required=True,
                         label_visibility="collapsed", persist_state="session")
    mode = st.session_state.get(StateKeys.RET_MODE) or "text"
    if mode == "text":
        text_query(ds, info, store)
    elif mode == "example":
        example_query(ds, info, store)
    else:
        metrics_panel(info, store)
