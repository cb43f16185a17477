"""The Curation page's file panel: export the labels (CSV, JSON Lines, Parquet; per clip, per window or the history),
import a label file (checked first, all rows or none), and write the labels into the dataset's clips.csv.

The page does what `mujo labels export | import | write-clips` do, through the same library functions
(`mujo.curation.label_export`, `mujo.curation.label_import`, `mujo.curation.label_windows`). Problems in an uploaded
file are shown as text. An upload is checked once per file, read in place (never copied into a callback), within
the limits of `mujo.curation.label_read`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from mujo import actions
from mujo.access import Action
from mujo.curation import label_read
from mujo.curation.label_export import FORMATS, table_bytes
from mujo.curation.label_import import ImportReport, LabelImportError
from mujo.curation.label_windows import OVERLAP_RULE, ReadOnlyError, export_table
from mujo.fimad.dataset import FimadDataset
from mujo.ui import curation_queue as cq
from mujo.ui.access import can, current_user
from mujo.ui.state import StateKeys
from mujo.ui.text import file_stem, md_escape

FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}
MIME = {"csv": "text/csv", "jsonl": "application/jsonl", "parquet": "application/vnd.apache.parquet"}
PER_NAMES = {"clip": "per clip (labelled ranges)", "window": "per window", "history": "history (every event)",
             "annotator": "per annotator (agreement)"}
UPLOAD_TYPES = ["csv", "jsonl", "ndjson", "parquet", "pq"]


def _export(key: str, ds: FimadDataset) -> None:
    st.markdown("**Export**")
    c = st.columns(2)
    fmt = c[0].radio("Format", list(FORMATS), key=StateKeys.CUR_IO_FORMAT, format_func=FORMAT_NAMES.get,
                     horizontal=True)
    per = c[1].radio("Rows", list(PER_NAMES), key=StateKeys.CUR_IO_PER, format_func=PER_NAMES.get, horizontal=True)
    if per == "window":
        st.caption(md_escape(f"Windows of 100 samples, hop 50, 15 % trimmed from each clip's ends (as training); "
                             f"{OVERLAP_RULE}. Unlabelled windows are left out."))
    if st.button("Prepare the file", key=StateKeys.CUR_IO_PREPARE, icon=":material/description:"):
        df = export_table(cq.store(), key, per, ds=ds)
        st.session_state[StateKeys.CUR_IO_EXPORT] = (fmt, per, len(df), table_bytes(df, fmt))
    ready = st.session_state.get(StateKeys.CUR_IO_EXPORT)
    if ready and ready[:2] == (fmt, per):
        _, _, rows, data = ready
        name = f"{file_stem(ds.manifest.name, 'fimad')}-labels-{per}.{fmt}"
        st.download_button(md_escape(f"Download {name} ({rows} rows)"), data, file_name=name, mime=MIME[fmt],
                           key=StateKeys.CUR_IO_DOWNLOAD, icon=":material/download:")


def _check(up: Any, key: str, kw: dict) -> ImportReport | ValueError:
    """The dry run of an upload, once per file and annotator (the page reruns on every key); read in place."""
    checked = st.session_state.get(StateKeys.CUR_IO_CHECKED)
    token = (up.file_id, kw["annotator"])
    if not checked or checked[0] != token:
        try:
            result: ImportReport | ValueError = actions.import_labels(current_user(), cq.store(), key, up.name, up,
                                                                      dry_run=True, **kw)
        except ValueError as e:  # LabelImportError and LabelFileTooLarge too
            result = e
        checked = (token, result)
        st.session_state[StateKeys.CUR_IO_CHECKED] = checked
    return checked[1]


def _import(key: str, ds: FimadDataset) -> None:
    st.markdown("**Import**")
    max_bytes, max_rows = label_read.MAX_IMPORT_BYTES, label_read.MAX_IMPORT_ROWS  # now: a deployment may set them
    up = st.file_uploader(f"A per-clip label file (as exported here or by `mujo labels export`; at most "
                          f"{max_bytes / 2**20:g} MiB and {max_rows:,} rows)",
                          type=UPLOAD_TYPES, key=StateKeys.CUR_IO_UPLOAD,
                          max_upload_size=max(1, -(-max_bytes // 2**20)))
    if up is None:
        return
    kw = _import_kw(ds)
    check = _check(up, key, kw)
    if isinstance(check, LabelImportError):
        st.error(md_escape(f"{up.name}: {check.bad_rows:,} bad row(s); nothing can be imported until they are "
                           "fixed:"), icon=":material/error:")
        st.code("\n".join(check.problems) + (f"\n... and {check.more:,} more problems" if check.more else ""),
                language=None)
        return
    if isinstance(check, ValueError):
        st.error(md_escape(str(check)), icon=":material/error:")
        return
    st.caption(md_escape(check.summary()))
    # The callback reads the upload from the widget's state when it runs: no copy of it travels with the button.
    st.button(f"Import {check.added} label events", key=StateKeys.CUR_IO_IMPORT, disabled=not check.added,
              icon=":material/upload:", help="In one transaction: all rows, or none.", on_click=_do_import,
              args=(key, ds))


def _import_kw(ds: FimadDataset) -> dict:
    durations = ds.clips["duration_s"].to_dict() if "duration_s" in ds.clips.columns else None
    return {"durations": durations, "annotator": cq.annotator() or None}


def _do_import(key: str, ds: FimadDataset) -> None:
    st.session_state.pop(StateKeys.CUR_IO_CHECKED, None)  # the store changed: check the file again
    up = st.session_state.get(StateKeys.CUR_IO_UPLOAD)
    if up is None:
        cq.feedback("error", "Nothing was imported: the file is no longer uploaded.")
        return
    try:
        report = actions.import_labels(current_user(), cq.store(), key, up.name, up, **_import_kw(ds))
    except (ValueError, PermissionError) as e:  # the store changed since the check; the role changed
        cq.feedback("error", f"Nothing was imported: {e}")
        return
    cq.feedback("success", report.summary())


def _write_clips(key: str, ds: FimadDataset) -> None:
    st.markdown("**Write into clips.csv**")
    st.caption(md_escape(f"Whole-clip labels go into the label column of {ds.root / 'clips.csv'}: NULL as "
                         "null_class, an activity as its name; unsure, bad and time-range labels are not written. "
                         "Unchanged rows keep their exact bytes."))
    c = st.columns([1, 1, 1.4], vertical_alignment="center")
    c[0].checkbox("Keep a backup (clips.csv.bak)", key=StateKeys.CUR_IO_BACKUP)
    c[1].checkbox("I want clips.csv changed", key=StateKeys.CUR_IO_CONFIRM)
    c[2].button("Write the labels into clips.csv", key=StateKeys.CUR_IO_WRITE, icon=":material/save:",
                disabled=not st.session_state.get(StateKeys.CUR_IO_CONFIRM), on_click=_do_write, args=(key, ds))


def _do_write(key: str, ds: FimadDataset) -> None:
    st.session_state[StateKeys.CUR_IO_CONFIRM] = False  # each write is asked for again
    try:
        report = actions.write_clips_csv(current_user(), export_table(cq.store(), key, "clip"), ds.root,
                                         backup=bool(st.session_state.get(StateKeys.CUR_IO_BACKUP)))
    except PermissionError as e:
        cq.feedback("error", f"clips.csv was not changed: {e}")
        return
    except (OSError, ValueError) as e:  # ReadOnlyError is an OSError
        why = "the folder is read-only" if isinstance(e, ReadOnlyError) else "it could not be written"
        cq.feedback("error", f"clips.csv was not changed ({why}): {e}")
        return
    cq.feedback("success" if report.written else "info", report.summary())


def files_panel(key: str, ds: FimadDataset) -> None:
    """Export, import and clips.csv (import and clips.csv for admins only), in an expander."""
    with st.expander("Export, import, write clips.csv", icon=":material/import_export:", key=StateKeys.CUR_FILES_OPEN,
                     on_change="rerun") as box:
        if not box.open:  # drawn only while open
            return
        _export(key, ds)
        if can(Action.IMPORT_LABELS):
            st.divider()
            _import(key, ds)
        if can(Action.WRITE_CLIPS_CSV):
            st.divider()
            _write_clips(key, ds)


__all__ = ["files_panel"]
