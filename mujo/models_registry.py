"""Which checkpoint the app uses, the checkpoints there are, and the embedding store of a checkpoint and dataset.

Reads JSON and file headers only (no torch), so the Home page can describe a model without loading it.
The app uses the folder saved in settings (`model_dir`), else the demo model `data_dir()/models/demo`: its root
once pre-training has published the final model there, its `best/` checkpoint while it is still training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mujo import paths, settings
from mujo.checkpoint import CONFIG, RETRIEVAL, WEIGHTS, CheckpointError, read_config, safetensors_shapes

DEMO_MODEL = "demo"
# A training run's copies inside its folder (mujo.train.checkpoints): never listed once the run has published its
# best model at the root; before that, `best/` is the run's model.
_RUN_COPIES = {False: ("last",), True: ("last", "best")}


def models_dir() -> Path:
    """Where the app's checkpoints live: `data_dir()/models/`."""
    return paths.data_dir() / "models"


def is_checkpoint(folder: str | Path) -> bool:
    """Whether a folder holds model.safetensors and config.json."""
    f = Path(folder)
    return (f / WEIGHTS).is_file() and (f / CONFIG).is_file()


def default_model_dir() -> Path:
    """The demo model: `models/demo` once published, else its `best/` (what pre-training saved so far)."""
    root = models_dir() / DEMO_MODEL
    return root if is_checkpoint(root) else root / "best"


def model_dir(s: settings.Settings | None = None) -> Path:
    """The checkpoint folder the app uses: the one chosen on Home (settings `model_dir`), else the demo model."""
    s = s if s is not None else settings.load_settings()
    chosen = getattr(s, "model_dir", None)
    return Path(chosen) if chosen else default_model_dir()


def choose_model_dir(folder: str | Path | None) -> settings.Settings:
    """Persist the checkpoint the app uses (None: back to the demo model); the dataset choice is kept."""
    s = settings.load_settings()
    s = dataclasses.replace(s, model_dir=None if folder is None else str(Path(folder).expanduser().resolve()))
    settings.save_settings(s)
    return s


def list_checkpoints(root: str | Path | None = None, max_depth: int = 3) -> list[Path]:
    """Checkpoint folders under `root` (default models_dir()), sorted by path: one per training run.

    A training run keeps `best/` and `last/` inside its folder and publishes the best model at its root when it
    ends: a published run is listed once, by its root; a run still training by its `best/`. `last/` is only for
    resuming and never listed. A subfolder chosen deliberately (Home's model choice) is still usable by its path.
    """
    root = Path(root) if root is not None else models_dir()
    out: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        published = is_checkpoint(folder)
        for child in children:
            if child.name in _RUN_COPIES[published]:
                continue
            if is_checkpoint(child):
                out.append(child)
            if depth < max_depth:
                walk(child, depth + 1)

    if root.is_dir():
        walk(root, 1)
    return out


def _stamp(folder: Path) -> tuple[float, ...]:
    out = []
    for name in (WEIGHTS, CONFIG, RETRIEVAL):
        try:
            st_ = (folder / name).stat()
            out += [st_.st_mtime, float(st_.st_size)]
        except OSError:
            out += [0.0, 0.0]
    return tuple(out)


@dataclass(frozen=True)
class CheckpointInfo:
    """What the app shows about a checkpoint, read from its config.json and headers.

    Attributes:
        path: the folder; stamp: modification times and sizes of its files (keys caches).
        model: the resolved ModelConfig as a dict; extra: the checkpoint's extra (training summary, stats ...).
        parameters: {part: number of parameters}, parts being the top-level modules ("encoders.imu", ...).
    """

    path: Path
    stamp: tuple[float, ...]
    model: dict[str, Any] = field(hash=False, compare=False)
    extra: dict[str, Any] = field(hash=False, compare=False)
    parameters: dict[str, int] = field(hash=False, compare=False)

    @property
    def modalities(self) -> list[str]:
        return [str(m) for m in self.model.get("modalities", [])]

    @property
    def imu_sites(self) -> list[str]:
        return [str(s) for s in self.model.get("imu_sites", [])]

    @property
    def preset(self) -> str:
        return str((self.extra.get("settings") or {}).get("preset") or self.extra.get("preset") or "")

    @property
    def method(self) -> str:
        return str(self.extra.get("method") or (self.extra.get("train") or {}).get("method") or "mujo")

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.extra.get("summary") or {})

    @property
    def total_parameters(self) -> int:
        return int(sum(self.parameters.values()))


def _parts(shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, shape in shapes.items():
        bits = name.split(".")
        part = ".".join(bits[:2]) if bits[0] in ("encoders", "projections") and len(bits) > 1 else bits[0]
        n = 1
        for d in shape:
            n *= int(d)
        out[part] = out.get(part, 0) + n
    return out


def _clean_extra(extra: object) -> dict[str, Any]:
    """A checkpoint's `extra` with the parts the pages read made safe: objects where objects are expected, and
    only numbers, booleans and text in the training summary (a config written by another tool may hold anything)."""
    if not isinstance(extra, dict):
        return {}
    out = {k: v for k, v in extra.items()
           if not (k in ("settings", "train") and not isinstance(v, dict))
           and not (k in ("preset", "method") and not isinstance(v, str))}
    for sub, key in (("settings", "preset"), ("train", "method")):
        if isinstance(out.get(sub), dict) and not isinstance(out[sub].get(key, ""), str):
            out[sub] = {k: v for k, v in out[sub].items() if k != key}
    summary = out.get("summary")  # pages format these as numbers
    out["summary"] = ({k: v for k, v in summary.items() if _plain(v) and not isinstance(v, str)}
                      if isinstance(summary, dict) else {})
    return out


def _plain(v: object) -> bool:
    return isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))


@lru_cache(maxsize=16)
def _read(path: str, stamp: tuple[float, ...]) -> CheckpointInfo:
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder} is not a MuJo checkpoint: {name} is missing")
    read_config(folder)  # the whole config checked: format, version, model_type, each field's type
    doc = json.loads((folder / CONFIG).read_text(encoding="utf-8"))  # the stored model dict, as written
    try:
        params = _parts(safetensors_shapes(folder / WEIGHTS))
    except OSError as e:
        raise CheckpointError(f"{folder / WEIGHTS} is not a readable safetensors file: {e}") from None
    return CheckpointInfo(folder, stamp, doc["model"], _clean_extra(doc.get("extra")), params)


def read_checkpoint(folder: str | Path) -> CheckpointInfo:
    """Describe a checkpoint folder (cached until its files change).

    Raises:
        CheckpointError: missing folder or files, or not a MuJo checkpoint.
    """
    folder = Path(folder).expanduser().resolve()
    return _read(str(folder), _stamp(folder))


def current_checkpoint() -> CheckpointInfo | None:
    """The checkpoint the app uses, or None when it does not exist (yet)."""
    try:
        return read_checkpoint(model_dir())
    except CheckpointError:
        return None


def saved_retrieval(folder: str | Path) -> dict[str, Any] | None:
    """The checkpoint's retrieval.json (see mujo.eval.retrieval.save_retrieval), or None."""
    try:
        doc = json.loads((Path(folder) / RETRIEVAL).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        return None
    results = {}
    for key, entry in doc["results"].items():  # only entries shaped as save_retrieval writes them
        if isinstance(entry, dict):
            metrics = entry.get("metrics")
            rows = [r for r in metrics if isinstance(r, dict)] if isinstance(metrics, list) else []
            results[key] = {**entry, "metrics": [{k: v for k, v in r.items() if _plain(v) or v is None}
                                                 for r in rows]}
    latest = doc.get("latest")
    return {**doc, "results": results, "latest": latest if isinstance(latest, str) else None}


@lru_cache(maxsize=16)
def _sha256(path: str, stamp: tuple[float, ...]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_sha256(folder: str | Path) -> str:
    """SHA-256 of the checkpoint's model.safetensors (the id its embedding stores carry); cached per file version."""
    p = Path(folder) / WEIGHTS
    st_ = p.stat()
    return _sha256(str(p.resolve()), (st_.st_mtime, float(st_.st_size)))


def embeddings_dir() -> Path:
    """Where `mujo embed` writes stores by default (mujo.eval.embed.embeddings_dir, without importing torch)."""
    return paths.data_dir() / "embeddings"


def find_store(checkpoint: str | Path, dataset_root: str | Path, root: str | Path | None = None) -> Path | None:
    """The newest embedding store of this checkpoint (same weights) and dataset (same folder), or None.

    Args:
        checkpoint: the checkpoint folder.
        dataset_root: the dataset folder.
        root: where stores live (default embeddings_dir()).
    """
    root = Path(root) if root is not None else embeddings_dir()
    try:
        sha = weights_sha256(checkpoint)
    except OSError:
        return None
    want = str(Path(dataset_root).expanduser().resolve())
    best: tuple[str, Path] | None = None
    try:
        metas = list(root.glob("*/meta.json"))
    except OSError:
        return None
    for meta_path in metas:
        if meta_path.parent.name.startswith("."):
            continue  # a store being written or replaced
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(meta, dict) or meta.get("checkpoint_sha256") != sha or not isinstance(meta.get("dataset"),
                                                                                               str):
            continue
        try:
            same = str(Path(meta.get("dataset", "")).expanduser().resolve()) == want
        except OSError:
            same = False
        if same and (best is None or str(meta.get("created", "")) > best[0]):
            best = (str(meta.get("created", "")), meta_path.parent)
    return best[1] if best else None
