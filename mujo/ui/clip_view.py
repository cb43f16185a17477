"""The clip view of the Browse page: IMU trace controls, the synchronised player and the clip's text beside it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mujo.fimad.dataset import ClipError, FimadDataset, is_safe_clip_id
from mujo.fimad.validate import ValidationReport
from mujo.fimad.windows import window_starts
from mujo.synth.state import generation_pending
from mujo.ui import dataset as uds
from mujo.ui.player import MAX_VIDEO_BYTES, PlayerData, imu_channels, player_height, render_player
from mujo.ui.state import IMU_COMPONENTS, StateKeys, absolute_browse_url
from mujo.ui.text import DISPLAY_CHARS, LABEL_CHARS, md_escape, short, short_cells, show_text_field

WINDOW_SIZE, WINDOW_HOP, WINDOW_TRIM = 100, 50, 0.15  # the format's defaults (fimad-format.md, "Windows")
PREFERRED_SITES = ("RWrist", "LWrist", "RFoot")
MAX_SITES = 6


def _imu_controls(sites: tuple[str, ...]) -> tuple[str, list[str], list[str]]:
    current = st.session_state.get(StateKeys.IMU_SITES)
    if current is None or any(s not in sites for s in current):  # an empty choice is the user's to make
        default = [s for s in PREFERRED_SITES if s in sites][:2] or list(sites[:2])
        st.session_state[StateKeys.IMU_SITES] = default
    c_q, c_sites, c_comp = st.columns([1.6, 2.6, 1.5], vertical_alignment="bottom")
    c_q.segmented_control("IMU signal", ["acc", "gyro"], key=StateKeys.IMU_QUANTITY, required=True,
                          help="acc: accelerometer (m/s², gravity included); gyro: gyroscope (rad/s)")
    c_sites.multiselect("IMU sites", list(sites), key=StateKeys.IMU_SITES, max_selections=MAX_SITES)
    c_comp.pills("Components", list(IMU_COMPONENTS), selection_mode="multi", key=StateKeys.IMU_COMPONENTS)
    return (st.session_state[StateKeys.IMU_QUANTITY] or "acc", list(st.session_state[StateKeys.IMU_SITES]),
            list(st.session_state[StateKeys.IMU_COMPONENTS] or []))


def clip_error(err: ClipError, modality: str) -> str:
    """The sentence shown for a broken file: which clip, which file, what is wrong."""
    return f"Cannot show the {modality} of clip {err.clip_id}: {err.path} — {err.reason}"


def player_data(ref: uds.DatasetRef, ds: FimadDataset, clip_id: str, quantity: str, sites: list[str],
                components: list[str]) -> tuple[PlayerData, list[str]]:
    """Load what the clip has into PlayerData; broken files become notes plus error messages (never raise)."""
    row = ds.clips.loc[clip_id]
    n_frames = int(row["n_frames"]) if pd.notna(row["n_frames"]) else 0
    errors: list[str] = []
    # The player's head shows the start of the title; the whole text is in the panel beside it.
    title = short(str(row.get("chapter", "") or ""), DISPLAY_CHARS)
    data = PlayerData(clip_id=clip_id, fps=ds.fps, n_frames=n_frames, title=title,
                      start_time=float(st.session_state.get(StateKeys.START_TIME) or 0.0),
                      # the start time is part of the token: a link or an edited URL with another ?t= must win
                      start_token=(f"{clip_id}:{st.session_state.get(StateKeys.START_TIME) or 0.0:.2f}:"
                                   f"{st.session_state.get(StateKeys.START_TOKEN, 0)}"),
                      imu_quantity=quantity, window_size=WINDOW_SIZE)
    try:
        data.pose = uds.load_pose(ref.root, ref.stamp, clip_id, uds.file_mtime(ds, clip_id, "pose"))
        if data.pose is None:
            data.notes["pose"] = "No pose for this clip."
    except ClipError as e:
        errors.append(clip_error(e, "pose"))
        data.notes["pose"] = f"Pose file broken: {e.path}\n{e.reason}"
    try:
        imu = uds.load_imu(ref.root, ref.stamp, clip_id, uds.file_mtime(ds, clip_id, "imu"))
        if imu is None:
            data.notes["imu"] = "No IMU for this clip."
        else:
            arr = imu[0] if quantity == "acc" else imu[1]
            if arr is None:
                data.notes["imu"] = "This clip's IMU file has no gyroscope data (accelerometer only)."
            elif not sites or not components:
                data.notes["imu"] = "Pick at least one IMU site and one component above."
            else:
                data.imu = imu_channels(arr, ds.imu_sites, sites, components)
                data.imu_components = tuple(components)
    except ClipError as e:
        errors.append(clip_error(e, "IMU"))
        data.notes["imu"] = f"IMU file broken: {e.path}\n{e.reason}"
    try:
        video = uds.load_video(ref.root, ref.stamp, clip_id, MAX_VIDEO_BYTES)
        if video is None and generation_pending(ref.root):
            data.notes["video"] = ("This clip's video is not rendered yet: the dataset is still being built and its "
                                   "videos appear one by one. Meanwhile the clock below drives the skeleton and the "
                                   "IMU traces.")
        elif video is None:
            data.notes["video"] = "No video for this clip: the clock below drives the skeleton and the IMU traces."
        else:
            data.video, data.video_name = video
    except ClipError as e:
        errors.append(clip_error(e, "video"))
        data.notes["video"] = f"Video file broken: {e.path}\n{e.reason}"
    # Timeline length: the longest of what is there (n_frames in clips.csv can disagree with the files).
    lengths = [n_frames] + [len(a) for a in ([data.pose] if data.pose is not None else [])]
    lengths += [len(next(iter(data.imu.values())))] if data.imu else []
    data.n_frames = max(lengths)
    data.window_starts = tuple(int(s) for s in window_starts(n_frames, WINDOW_SIZE, WINDOW_HOP, WINDOW_TRIM))
    return data, errors


def clip_details(ds: FimadDataset, clip_id: str, report: ValidationReport | None) -> None:
    """The text panel beside the player: chapter, caption, description and the other columns, as plain text."""
    row = ds.clips.loc[clip_id]
    st.markdown("**Clip**")
    st.text(clip_id)  # text, not st.code: opening a clip loads no syntax highlighter (1.5 MB of script, ~0.5 s)
    for col, label in (("chapter", "Chapter"), ("chapter_norm", "Normalised chapter"), ("caption", "Caption"),
                       ("description", "Description")):
        if col in row.index:
            show_text_field(label, row[col])
    st.markdown("**Link to this clip**")
    st.text(absolute_browse_url(clip_id, None, _page_url()))
    skip = {"chapter", "chapter_norm", "caption", "description", "has_pose", "has_imu", "has_video"}
    meta = {k: v for k, v in row.items() if k not in skip}
    with st.expander("All columns", key=StateKeys.CLIP_COLUMNS_OPEN, on_change="rerun") as box:
        if box.open:  # drawn only while open
            values = pd.DataFrame({"value": [("" if _isna(v) else str(v)) for v in meta.values()]},
                                  index=pd.Index([short(k, LABEL_CHARS, one_line=True) for k in meta], name="column"))
            st.dataframe(short_cells(values), width="stretch")
    if report is not None:
        probs = [p for p in report.problems if p.clip_id == clip_id]
        if probs:
            st.markdown(f"**Validation: {len(probs)} finding(s)**")
            for p in probs:
                st.text(short(f"[{p.severity}] {p.file}: {p.message}"))


def _page_url() -> str | None:
    try:
        return st.context.url
    except Exception:  # noqa: BLE001  (no browser context, e.g. in AppTest)
        return None


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def clip_view(ref: uds.DatasetRef, ds: FimadDataset, clip_id: str, report: ValidationReport | None) -> None:
    """The selected clip: IMU controls, the synchronised player, and its text beside it."""
    if not is_safe_clip_id(clip_id) or clip_id not in ds.clips.index:
        st.warning(md_escape(f"There is no clip {clip_id!r} in this dataset; pick one in the table."))
        return
    left, right = st.columns([3.3, 1], gap="medium")
    with left:
        quantity, sites, components = _imu_controls(ds.imu_sites)
        data, errors = player_data(ref, ds, clip_id, quantity, sites, components)
        for msg in errors:
            st.error(md_escape(msg), icon=":material/broken_image:")
        render_player(data)
    with right:
        # As tall as the controls and the player beside it; long descriptions scroll inside.
        with st.container(height=player_height(data) + 90 + 80 * len(errors), border=False):
            clip_details(ds, clip_id, report)
