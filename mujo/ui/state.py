"""Session-state keys of every page, with their defaults in one place, and the Browse page's URL parameters."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from mujo.curation.feedback import DEFAULT_ANCHOR  # light: no torch
from mujo.eval.prompts import DEFAULT_TEMPLATES
from mujo.ui.nav import BROWSE_PAGE


class StateKeys(StrEnum):
    """Keys in `st.session_state`; widgets that tests or other pages touch use these as their `key`."""

    # Home
    DATASET_INPUT = "home.dataset_input"  # text input: the folder to open
    DATASET_FEEDBACK = "home.dataset_feedback"  # (level, message) shown after "Open"
    DEMO_RESUME = "home.demo_resume"  # button: resume a failed build of the demo dataset
    HOME_ALL_PROBLEMS = "home.all_problems"  # expander (lazy): the table of every error and warning
    HOME_MODELS_OPEN = "home.models_open"  # expander (lazy): the checkpoints to choose from
    # Browse: filters
    SEARCH = "browse.search"
    SPLITS = "browse.splits"
    LABELS = "browse.labels"
    VIDEO_IDS = "browse.video_ids"
    COVERAGE = "browse.coverage"
    ONLY_PROBLEMS = "browse.only_problems"
    # Browse: the clip table (a dataframe with row selection) and what it shows
    TABLE = "browse.table"
    TABLE_DIGEST = "browse.table_digest"  # which rows the table showed last run (re-points its selection)
    TABLE_PAGE = "browse.table_page"  # number input: which page of the filtered clips the table shows (1-based)
    TABLE_PAGE_SIZE = "browse.table_page_size"  # selectbox: rows per page
    TABLE_VIEW_DIGEST = "browse.table_view_digest"  # which clips the filters left last run (a change: back to page 1)
    SELECTED_CLIP = "browse.selected_clip"
    START_TIME = "browse.start_time"  # seconds: where the player starts (from ?t=)
    START_TOKEN = "browse.start_token"  # bumped on each new selection: the player then starts at START_TIME
    # Browse: the player's IMU traces
    IMU_QUANTITY = "browse.imu_quantity"
    IMU_SITES = "browse.imu_sites"
    IMU_COMPONENTS = "browse.imu_components"
    # Home: the model panel
    MODEL_CHOICE = "home.model_choice"  # selectbox: a checkpoint folder under data_dir()/models
    MODEL_FEEDBACK = "home.model_feedback"  # why the checkpoint chosen last could not be used
    # Embedding Space and Retrieval: computing a missing embedding store
    EMBED_RUN = "model.embed_run"  # button
    # Embedding Space
    EMB_SPACE = "emb.space"  # a modality value, or "joint" for all modalities stacked
    EMB_LEVEL = "emb.level"  # "window" or "clip"
    EMB_COLOR = "emb.color"  # a key of mujo.eval.embedding_view.COLOR_OPTIONS
    EMB_SPLITS = "emb.splits"
    EMB_LABELS = "emb.labels"
    EMB_MAX_POINTS = "emb.max_points"
    EMB_NEIGHBORS = "emb.n_neighbors"
    EMB_MIN_DIST = "emb.min_dist"
    EMB_SEED = "emb.seed"
    EMB_CHART = "emb.chart"  # the scatter (its lasso/box selection)
    EMB_OPEN_CLIP = "emb.open_clip"  # selectbox: which selected clip the Browse link opens
    EMB_TO_CURATION = "emb.to_curation"  # button: hand the selected clips to Curation (CUR_SELECTION)
    # Retrieval
    RET_MODE = "ret.mode"  # "text", "example" or "metrics"
    RET_TEXT = "ret.text"  # the free-text query
    RET_TARGET = "ret.target"  # modality searched by the text query
    RET_K = "ret.k"
    RET_SPLIT = "ret.split"  # search all windows ("all") or one split's
    RET_EX_CLIP = "ret.example_clip"
    RET_EX_TIME = "ret.example_time"  # seconds: the example window's start
    RET_EX_SOURCE = "ret.example_source"  # modality of the example window
    RET_EX_TARGET = "ret.example_target"  # modality searched
    RET_EX_OTHER_CLIPS = "ret.example_other_clips"  # toggle: leave out the example's own clip
    RET_USE_RESULT = "ret.use_result"  # selectbox: a text-query result to use as the example
    RET_METRIC = "ret.metric"  # R@1, R@5, R@10 or MRR in the matrix
    # Fine-tuning
    FT_TAB = "ft.tab"  # the open tab: "New sweep", "Sweeps" or "Results"
    FT_DATASETS = "ft.datasets"  # multiselect of registered target datasets that are present
    FT_FOLDER = "ft.folder"  # text input: a dataset folder (generic format or an original release)
    FT_CHECKPOINTS = "ft.checkpoints"  # multiselect of checkpoint folders
    FT_AUTO = "ft.auto"  # (checkpoints, scenarios) the page chose; kept in step with the datasets until changed
    FT_SCENARIOS = "ft.scenarios"  # baseline / frozen / finetuned
    FT_FRACTIONS = "ft.fractions"  # training fractions in percent
    FT_REPEATS = "ft.repeats"
    FT_NULL = "ft.null"  # multiselect: "without" and/or "with" the NULL class
    FT_INPUTS = "ft.inputs"  # "imu", "pose", "imu+pose"
    FT_NAME = "ft.name"
    FT_SPLIT = "ft.split"  # selectbox: "" (the random subject splits) or a named fixed split, e.g. "odd-even"
    FT_EPOCHS = "ft.epochs"
    FT_PATIENCE = "ft.patience"
    FT_START = "ft.start"  # button: create the sweep and start its job
    FT_FEEDBACK = "ft.feedback"  # (level, message) shown after "Start sweep"
    FT_PRETRAIN = "ft.pretrain"  # prefix of the "pre-train a matching model" buttons (+ ".<sites>")
    # Fine-tuning: the sweeps list and results
    FT_CANCEL = "ft.cancel"  # prefix of the per-sweep Cancel buttons (+ ".<sweep id>")
    FT_RESUME = "ft.resume"  # prefix of the per-sweep Resume buttons (+ ".<sweep id>")
    FT_RESULT_SWEEPS = "ft.result_sweeps"  # multiselect of sweep ids whose results are shown
    FT_RESULT_DATASET = "ft.result_dataset"  # selectbox: the dataset of the boxplots and tables
    FT_DOWNLOAD = "ft.download"  # download button: the results as CSV
    # Zero-shot
    ZS_CHECKPOINT = "zs.checkpoint"  # selectbox: a checkpoint folder with a text encoder
    ZS_DATASET = "zs.dataset"  # selectbox: a present registered dataset, or "__folder__"
    ZS_FOLDER = "zs.folder"  # text input: a dataset folder
    ZS_INPUTS = "zs.inputs"  # "imu" or "pose"
    ZS_TEMPLATES = "zs.templates"  # text area: one template per line
    ZS_PHRASES = "zs.phrases"  # data editor: per-class phrases
    ZS_PHRASES_FOR = "zs.phrases_for"  # the dataset spec the phrase edits belong to
    ZS_NULL = "zs.null"  # toggle
    ZS_NULL_EMBEDDING = "zs.null_embedding"  # radio: NULL's row, "mean" (paper), "learned" or "centroid"
    ZS_PART = "zs.part"  # "all" windows, or the "val" or "test" part of the first split
    ZS_PRETRAIN = "zs.pretrain"  # button: pre-train a checkpoint for the dataset's sites
    ZS_RUN = "zs.run"  # button
    ZS_TASK = "zs.task"  # the registry job (mujo.jobs) of the run in progress
    ZS_SELECTED_RUN = "zs.selected_run"  # run id shown when the table selects none (the session's last run)
    ZS_RUNS_TABLE = "zs.runs_table"  # earlier runs (dataframe with multi-row selection)
    # Curation
    CUR_ANNOTATOR = "cur.annotator"  # text input (sidebar): who labels; required before labelling
    CUR_ANNOTATOR_SAVED = "cur.annotator_saved"  # True once this session's name differed from its starting cookie
    CUR_ANNOTATOR_RESTORED = "cur.annotator_restored"  # the remembered name was offered to this session
    CUR_VIDEOS = "cur.videos"  # queue filter: multiselect of video ids
    CUR_SPLITS = "cur.splits"  # queue filter: multiselect of splits
    CUR_MIN_SCORE = "cur.min_score"  # queue filter: slider, minimum combined NULL score (0: no minimum)
    CUR_STATUS = "cur.status"  # queue filter: multiselect of mujo.curation.suggest.STATUSES
    CUR_ONLY_SELECTION = "cur.only_selection"  # toggle: queue only the clips of CUR_SELECTION
    CUR_REFRESH = "cur.refresh"  # button: rebuild the queue with the current labels
    CUR_QUEUE = "cur.queue"  # the queue: clip ids, most NULL-like first (a snapshot, see mujo.ui.curation_queue)
    CUR_QUEUE_FOR = "cur.queue_for"  # what the queue was built for (dataset, model, filters)
    CUR_CLIP = "cur.clip"  # the clip shown (also ?clip= in the URL)
    CUR_DECIDE = "cur.decide"  # prefix of the decision buttons (+ ".null", ".activity", ".unsure", ".bad")
    CUR_PREV = "cur.prev"  # button (K)
    CUR_PREV_ARROW = "cur.prev_arrow"  # button (Left arrow)
    CUR_NEXT = "cur.next"  # button (J)
    CUR_NEXT_ARROW = "cur.next_arrow"  # button (Right arrow)
    CUR_UNDO = "cur.undo"  # button (Z)
    CUR_ACTIVITY = "cur.activity"  # selectbox: the activity an "activity" decision writes
    CUR_ACTIVITY_FOR = "cur.activity_for"  # the clip whose default CUR_ACTIVITY holds
    CUR_NOTE = "cur.note"  # text input: optional note of the next decision
    CUR_RANGE = "cur.range"  # toggle: decisions label the range CUR_T0..CUR_T1 instead of the whole clip
    CUR_T0 = "cur.t0"  # number input, seconds
    CUR_T1 = "cur.t1"  # number input, seconds (None: to the clip's end)
    CUR_FEEDBACK = "cur.feedback"  # (level, message) shown once after a decision
    CUR_LAST = "cur.last"  # (clip id, event id) of this session's last decision: undo after moving on
    CUR_SELECTION = "cur.selection"  # clip ids handed over by the Embedding Space selection (None: none)
    CUR_BULK_LABEL = "cur.bulk_label"  # selectbox: the label of the selected clips
    CUR_BULK_ACTIVITY = "cur.bulk_activity"  # selectbox: their activity (label "activity")
    CUR_BULK_NOTE = "cur.bulk_note"  # text input
    CUR_BULK_CONFIRM = "cur.bulk_confirm"  # checkbox: the bulk button works only when ticked
    CUR_BULK_RUN = "cur.bulk_run"  # button: label the selected clips
    CUR_BULK_CLEAR = "cur.bulk_clear"  # button: forget the selection
    # Expanders drawn lazily (on_change="rerun"): their content runs only while they are open, so a key press on the
    # Curation page does not draw (and send) what nobody looks at.
    CUR_FILES_OPEN = "cur.files_open"  # expander: export, import, clips.csv
    CUR_FEEDBACK_OPEN = "cur.feedback_open"  # expander: the curated NULL chapters fed back into the model
    CUR_PROGRESS_OPEN = "cur.progress_open"  # expander: progress per source video
    CUR_HISTORY_OPEN = "cur.history_open"  # expander: the shown clip's label history
    CLIP_COLUMNS_OPEN = "clip.columns_open"  # expander: every column of the shown clip (Browse, Curation)
    CUR_IO_FORMAT = "cur.io_format"  # radio: export format (csv, jsonl, parquet)
    CUR_IO_PER = "cur.io_per"  # radio: export rows per clip, per window, or the history
    CUR_IO_PREPARE = "cur.io_prepare"  # button: make the export file
    CUR_IO_EXPORT = "cur.io_export"  # (format, per, rows, bytes) of the prepared export
    CUR_IO_DOWNLOAD = "cur.io_download"  # download button of the prepared export
    CUR_IO_UPLOAD = "cur.io_upload"  # file uploader: a label file to import
    CUR_IO_CHECKED = "cur.io_checked"  # ((file id, annotator), ImportReport or the error) of the uploaded file
    CUR_IO_IMPORT = "cur.io_import"  # button: import the uploaded file
    CUR_IO_BACKUP = "cur.io_backup"  # checkbox: keep clips.csv.bak when writing clips.csv
    CUR_IO_CONFIRM = "cur.io_confirm"  # checkbox: the write button works only when ticked
    CUR_IO_WRITE = "cur.io_write"  # button: write the whole-clip labels into clips.csv
    CUR_FB_ANCHOR = "cur.fb_anchor"  # text input: the NULL anchor text of the feedback pre-training
    CUR_FB_PRETRAIN = "cur.fb_pretrain"  # button: pre-train with the curated NULL chapters (background job)
    CUR_FB_RESUME = "cur.fb_resume"  # button: resume the interrupted feedback pre-training
    CUR_FB_COMPARE = "cur.fb_compare"  # button: zero-shot NULL rows compared on the validation split
    CUR_FB_TASK = "cur.fb_task"  # the registry job (mujo.jobs) of that comparison
    CUR_SESSION = "cur.session"  # this browser session's id: the holder of its clip lease
    CUR_LEASE = "cur.lease"  # (dataset key, clip id, unix time) of the lease last taken or renewed
    CUR_LINKED = "cur.linked"  # the clip a ?clip= link opened (kept even while another annotator has it open)
    CUR_SEEN = "cur.seen"  # (clip id, {(t0_s, t1_s): event id in force}) as the page last showed the clip
    CUR_REQUEST = "cur.request"  # the request id of the next decision on what CUR_SEEN shows (a retry: same id)
    CUR_CONFLICT = "cur.conflict"  # the decision someone else's label overtook (a dict), until a choice is made
    CUR_KEEP = "cur.keep"  # button: keep the other annotator's label
    CUR_REPLACE = "cur.replace"  # button: replace it with the overtaken decision
    CUR_DISPUTE = "cur.dispute"  # button: mark the clip disputed
    # Disagreements
    DIS_CLIP = "dis.clip"  # selectbox: the disagreeing clip shown with its history
    DIS_SETTLE = "dis.settle"  # prefix of the settle buttons (+ "." + the index of the vote's category)
    DIS_KEEP = "dis.keep"  # button: settle by keeping the label in force
    DIS_FORMAT = "dis.format"  # radio: format of the per-annotator export
    DIS_DOWNLOAD = "dis.download"  # download button of the per-annotator export
    DIS_FEEDBACK = "dis.feedback"  # (level, message) shown once after a settlement


IMU_COMPONENTS: tuple[str, ...] = ("x", "y", "z", "|·|")

DEFAULTS: dict[StateKeys, Any] = {
    StateKeys.DATASET_INPUT: "",
    StateKeys.DATASET_FEEDBACK: None,
    StateKeys.SEARCH: "",
    StateKeys.SPLITS: [],
    StateKeys.LABELS: [],
    StateKeys.VIDEO_IDS: [],
    StateKeys.COVERAGE: [],
    StateKeys.ONLY_PROBLEMS: False,
    StateKeys.TABLE_PAGE: 1,
    StateKeys.TABLE_PAGE_SIZE: 100,
    StateKeys.TABLE_VIEW_DIGEST: None,
    StateKeys.TABLE_DIGEST: None,
    StateKeys.SELECTED_CLIP: None,
    StateKeys.START_TIME: 0.0,
    StateKeys.START_TOKEN: 0,
    StateKeys.IMU_QUANTITY: "acc",
    StateKeys.IMU_SITES: None,  # None: the page picks sensible sites of the dataset
    StateKeys.IMU_COMPONENTS: ["x", "y", "z", "|·|"],
    # The Embedding Space opens on mujo.eval.embedding_view's default view with projection's default parameters
    # (so warm_default_view caches exactly what the page asks for first).
    StateKeys.EMB_SPACE: None,  # None: the page picks (embedding_view.default_space)
    StateKeys.EMB_LEVEL: "window",
    StateKeys.EMB_COLOR: "label",
    StateKeys.EMB_SPLITS: [],
    StateKeys.EMB_LABELS: [],
    StateKeys.EMB_MAX_POINTS: 20_000,  # embedding_view.DEFAULT_MAX_POINTS
    StateKeys.EMB_NEIGHBORS: 15,  # projection.DEFAULT_PARAMS
    StateKeys.EMB_MIN_DIST: 0.1,
    StateKeys.EMB_SEED: 0,
    StateKeys.RET_MODE: "text",
    StateKeys.RET_TEXT: "",
    StateKeys.RET_TARGET: "imu",
    StateKeys.RET_K: 10,
    StateKeys.RET_SPLIT: "all",
    StateKeys.RET_EX_CLIP: None,
    StateKeys.RET_EX_TIME: None,
    StateKeys.RET_EX_SOURCE: "pose",
    StateKeys.RET_EX_TARGET: "imu",
    StateKeys.RET_EX_OTHER_CLIPS: False,
    StateKeys.RET_METRIC: "R@1",
    StateKeys.FT_DATASETS: None,  # None: the page picks the first present dataset
    StateKeys.FT_FOLDER: "",
    StateKeys.FT_CHECKPOINTS: None,  # None: the page picks a checkpoint that fits the chosen datasets
    StateKeys.FT_AUTO: None,
    StateKeys.FT_SCENARIOS: ["baseline", "finetuned"],
    StateKeys.FT_FRACTIONS: [2, 100],
    StateKeys.FT_REPEATS: 5,
    StateKeys.FT_NULL: ["without"],
    StateKeys.FT_INPUTS: ["imu"],
    StateKeys.FT_NAME: "",
    StateKeys.FT_SPLIT: "",
    StateKeys.FT_EPOCHS: 200,
    StateKeys.FT_PATIENCE: 25,
    StateKeys.FT_FEEDBACK: None,
    StateKeys.FT_RESULT_SWEEPS: None,  # None: the page picks the newest sweep with results
    StateKeys.FT_RESULT_DATASET: None,
    StateKeys.ZS_CHECKPOINT: None,
    StateKeys.ZS_DATASET: None,
    StateKeys.ZS_FOLDER: "",
    StateKeys.ZS_INPUTS: "imu",
    StateKeys.ZS_TEMPLATES: "\n".join(DEFAULT_TEMPLATES),
    StateKeys.ZS_PHRASES_FOR: None,
    StateKeys.ZS_NULL: False,
    StateKeys.ZS_NULL_EMBEDDING: None,  # None: "learned" where the checkpoint has it, else "mean"
    StateKeys.ZS_PART: "all",
    StateKeys.ZS_TASK: None,
    StateKeys.ZS_SELECTED_RUN: None,
    StateKeys.CUR_ANNOTATOR: "",
    StateKeys.CUR_VIDEOS: [],
    StateKeys.CUR_SPLITS: [],
    StateKeys.CUR_MIN_SCORE: 0.0,
    StateKeys.CUR_STATUS: ["unlabelled"],
    StateKeys.CUR_ONLY_SELECTION: False,
    StateKeys.CUR_QUEUE: [],
    StateKeys.CUR_QUEUE_FOR: None,
    StateKeys.CUR_CLIP: None,
    StateKeys.CUR_ACTIVITY: None,
    StateKeys.CUR_ACTIVITY_FOR: None,
    StateKeys.CUR_NOTE: "",
    StateKeys.CUR_RANGE: False,
    StateKeys.CUR_T0: 0.0,
    StateKeys.CUR_T1: None,
    StateKeys.CUR_FEEDBACK: None,
    StateKeys.CUR_LAST: None,
    StateKeys.CUR_SELECTION: None,
    StateKeys.CUR_BULK_LABEL: "null",
    StateKeys.CUR_BULK_ACTIVITY: None,
    StateKeys.CUR_BULK_NOTE: "",
    StateKeys.CUR_BULK_CONFIRM: False,
    StateKeys.CUR_IO_FORMAT: "csv",
    StateKeys.CUR_IO_PER: "clip",
    StateKeys.CUR_IO_EXPORT: None,
    StateKeys.CUR_IO_BACKUP: True,
    StateKeys.CUR_IO_CONFIRM: False,
    StateKeys.CUR_FB_ANCHOR: DEFAULT_ANCHOR,
    StateKeys.CUR_FB_TASK: None,
    StateKeys.CUR_SEEN: None,
    StateKeys.CUR_CONFLICT: None,
    StateKeys.DIS_CLIP: None,
    StateKeys.DIS_FORMAT: "csv",
    StateKeys.DIS_FEEDBACK: None,
}

# URL query parameters of the Browse page: ?clip=<clip_id>&t=<seconds>&problems=1 (Curation reads ?clip= too)
QP_CLIP = "clip"
QP_TIME = "t"
QP_PROBLEMS = "problems"
BROWSE_URL_PATH = "Browse"


def start_player(t: float = 0.0) -> None:
    """Make the clip player (mujo.ui.clip_view) start at `t` seconds: a new start token makes it honour t."""
    st.session_state[StateKeys.START_TIME] = float(t)
    st.session_state[StateKeys.START_TOKEN] = int(st.session_state.get(StateKeys.START_TOKEN, 0)) + 1


def write_clip_param(clip_id: str | None) -> None:
    """Put the shown clip in the URL (`?clip=`), or take it out when there is none."""
    if clip_id:
        st.query_params[QP_CLIP] = clip_id
    elif QP_CLIP in st.query_params:
        del st.query_params[QP_CLIP]


def init_state() -> None:
    """Seed every key that is not set yet with its default (call at the top of each page)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = list(value) if isinstance(value, list) else value


def get(key: StateKeys) -> Any:
    """The current value of a state key (its default when unset)."""
    return st.session_state.get(key, DEFAULTS.get(key))


def browse_params(clip_id: str, t: float | None = None) -> dict[str, str]:
    """Query parameters that open Browse on a clip (and optionally at a time in seconds)."""
    params = {QP_CLIP: clip_id}
    if t is not None and t > 0:
        params[QP_TIME] = f"{float(t):.2f}"
    return params


def browse_url(clip_id: str, t: float | None = None) -> str:
    """A relative URL that opens Browse on a clip at a time, e.g. `Browse?clip=abc___3&t=12.50`.

    Use it where Streamlit wants a URL string (a LinkColumn, a markdown link); `browse_link` draws a page link.
    """
    return f"{BROWSE_URL_PATH}?{urlencode(browse_params(clip_id, t))}"


def absolute_browse_url(clip_id: str, t: float | None, page_url: str | None) -> str:
    """`browse_url` made absolute against the URL of the page the user is on (relative when that is unknown).

    Args:
        clip_id, t: as for browse_url.
        page_url: the browser's URL of the current page (`st.context.url`), e.g. http://host:8501/Browse.
    """
    rel = browse_url(clip_id, t)
    if not page_url:
        return rel
    u = urlsplit(page_url)
    if not u.scheme or not u.netloc:
        return rel
    base = u.path[: u.path.rfind("/") + 1] or "/"  # the app's root (keeps a server.baseUrlPath prefix)
    return f"{u.scheme}://{u.netloc}{base}{rel}"


def browse_link(clip_id: str, t: float | None = None, label: str | None = None) -> None:
    """Draw a link to Browse that opens `clip_id` at `t` seconds (what later pages use to show a clip).

    Args:
        clip_id: the clip to open.
        t: start time in seconds (None: the beginning).
        label: the link text (default: "Open <clip_id> in Browse"); shown as text, never parsed as HTML.
    """
    text = label or f"Open {clip_id} in Browse" + (f" at {t:.1f} s" if t else "")
    st.page_link(BROWSE_PAGE, label=text, icon=":material/play_circle:", query_params=browse_params(clip_id, t))
