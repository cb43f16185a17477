"""2-D UMAP projections of embedding vectors, cached on disk so that reopening a view is instant.

Why not plain `umap.UMAP(...).fit_transform(X)`: umap-learn finds neighbours with pynndescent, whose numba kernels
take 40 s or more to compile in every new process (they cannot be cached), and then lays out every point from a
spectral initialisation that alone takes ~40 s at 200,000 points on 2 cores. Here the rows are reduced by PCA to
`KNN_DIMS` dimensions (Euclidean distances there keep the cosine neighbourhoods of unit rows), the neighbour graph
comes from `mujo.eval.neighbours` (exact with BLAS up to 20,000 points, an inverted file above), and umap-learn
lays out the points from that graph (a PCA initialisation above 20,000 points). Above `fit_max` points UMAP lays
out a seeded subsample and every other point is placed at the distance-weighted mean of its nearest laid-out
points (UMAP's own initialisation for `transform`; umap-learn's `transform` itself was slower than a full layout
and no more faithful). benchmarks/bench_umap.py measures time and faithfulness against plain umap-learn.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mujo import paths
from mujo.eval.neighbours import exact_knn, knn_graph

Progress = Callable[[float, str], None]
CACHE_VERSION = 3
FIT_MAX = 200_000  # points laid out by UMAP itself; beyond, the rest are placed (see the module docstring)
KNN_DIMS = 48  # PCA dimensions the neighbour search runs in
PCA_SAMPLE = 20_000  # rows the PCA is fitted on
SPECTRAL_MAX = 20_000  # larger layouts start from PCA coordinates: the spectral start costs ~40 s at 200,000
PLACE_K = 10  # laid-out points that place each other point
DEFAULT_PARAMS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "seed": 0,
                                  "n_epochs": None, "fit_max": FIT_MAX}


def default_cache_dir() -> Path:
    """Where projections are kept: `data_dir()/cache/umap/`."""
    return paths.data_dir() / "cache" / "umap"


def numba_cache_dir() -> Path:
    """Where numba keeps the machine code of umap-learn's kernels (`data_dir()/cache/numba/`).

    A projection runs in a job process of its own (mujo.jobs), and each new process would compile umap-learn's
    numba kernels again; cached on disk, the compilation is paid once per machine (benchmarks/bench_jobs.py).
    """
    return paths.data_dir() / "cache" / "numba"


def _import_umap() -> Any:
    """umap-learn, with numba's on-disk cache (`numba_cache_dir`) on for all its kernels and pynndescent's.

    umap-learn caches a few of its numba kernels; the others compiled again in every new process (a projection
    job): 16 s for 3,400 points in a fresh process, 9 s with every kernel cached (measured on 2 cores).
    """
    os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))  # read when numba is first imported
    import umap  # noqa: PLC0415  (keeps umap off the Embedding Space page until a projection is computed)
    from numba.core.registry import CPUDispatcher  # noqa: PLC0415  (numba comes with umap)

    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("umap", "pynndescent")):
            continue
        for fn in list(vars(module).values()):
            if isinstance(fn, CPUDispatcher) and fn not in _CACHED:
                try:
                    fn.enable_caching()
                except Exception:  # noqa: BLE001  (a kernel numba cannot cache just compiles, as before)
                    pass
                _CACHED.add(fn)
    return umap


_CACHED: set[Any] = set()  # kernels whose caching is on in this process


def _reduce(x: np.ndarray, sample_rows: np.ndarray, dims: int) -> np.ndarray:
    """Rows of x in the top `dims` principal axes of x[sample_rows] (unchanged when already that small)."""
    if x.shape[1] <= dims:
        return np.ascontiguousarray(x, np.float32)
    sample = x[sample_rows].astype(np.float64)
    mean = sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)  # vt: (D, D)
    axes = vt[:dims].T.astype(np.float32)  # (D, dims)
    return np.ascontiguousarray((x - mean.astype(np.float32)) @ axes)


def _place(dist: np.ndarray, idx: np.ndarray, layout: np.ndarray) -> np.ndarray:
    """Distance-weighted mean of the landmarks' 2-D positions: (Q, k) neighbours -> (Q, 2)."""
    rel = dist - dist[:, :1]  # 0 for the nearest landmark
    scale = np.maximum(rel.mean(axis=1, keepdims=True), 1e-6)
    w = np.exp(-rel / scale)  # (Q, k)
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkd->qd", w, layout[idx]).astype(np.float32)


def _tiny_layout(x: np.ndarray) -> np.ndarray:
    """Too few points for UMAP: the first two principal axes (zeros for one point)."""
    out = np.zeros((len(x), 2), np.float32)
    if len(x) > 1:
        c = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(c, full_matrices=False)
        proj = c @ vt[:2].T
        out[:, :proj.shape[1]] = proj
    return out


def default_epochs(n: int) -> int:
    """UMAP epochs for n laid-out points: 500 up to 5,000, 200 up to 50,000, else 100.

    The layout's epochs are most of the time of a large projection (0.45 s each at 200,000 points on one core);
    on clustered 128-d data 100 epochs kept the 2-D neighbourhoods as faithful as 200 (benchmarks/bench_umap.py).
    """
    return 500 if n <= 5_000 else 200 if n <= 50_000 else 100


def project(vectors: np.ndarray, *, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
            seed: int = 0, n_epochs: int | None = None, fit_max: int | None = FIT_MAX,
            progress: Progress | None = None) -> np.ndarray:
    """A 2-D UMAP layout of the rows of `vectors`.

    Args:
        vectors: (N, D) float array (float16 memmaps are read once into float32).
        n_neighbors, min_dist: UMAP's parameters.
        metric: "cosine" (rows are normalised first) or "euclidean".
        seed: seeds the PCA sample, the neighbour search, the subsample and UMAP (same inputs and seed: same layout).
        n_epochs: UMAP's epochs (None: `default_epochs`).
        fit_max: at most this many points are laid out by UMAP, the others placed (None: all of them).
        progress: called with (fraction, message).
    Returns:
        (N, 2) float32 coordinates.
    Raises:
        ValueError: bad shape, non-finite values or an unknown metric.
    """
    say = progress or (lambda f, m: None)
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {x.shape}")
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    n = len(x)
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if n <= 4:
        return _tiny_layout(x)
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, fit_max, replace=False)) if fit_max and n > fit_max else np.arange(n)
    say(0.02, f"neighbour graph of {len(fit):,} points")
    y = _reduce(x, np.sort(rng.choice(n, min(n, PCA_SAMPLE), replace=False)), KNN_DIMS)
    laid = np.ascontiguousarray(y[fit])
    k = int(min(max(2, n_neighbors), len(fit) - 1))
    umap_kw: dict[str, Any] = {"n_neighbors": k, "min_dist": float(min_dist), "metric": "euclidean",
                               "random_state": int(seed), "init": "spectral" if len(fit) <= SPECTRAL_MAX else "pca",
                               "n_epochs": n_epochs if n_epochs is not None else default_epochs(len(fit))}
    # Always our neighbour graph: below 4,096 points umap-learn's own path (all pairwise distances, then kernels
    # that its numba cache does not keep) took 37-42 s for 3,400 points on 2 cores, every time.
    knn_idx, knn_dist = knn_graph(laid, k, rng)
    umap_kw["precomputed_knn"] = (knn_idx, knn_dist, None)
    say(0.15, f"UMAP layout of {len(fit):,} points")
    umap = _import_umap()
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state", "transform not available with precomputed_knn", numba notes
        warnings.simplefilter("ignore")
        layout = umap.UMAP(**umap_kw).fit_transform(laid).astype(np.float32)  # (F, 2)
    out = np.empty((n, 2), np.float32)
    out[fit] = layout
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    if len(rest):
        say(0.85, f"placing the other {len(rest):,} points")
        idx, dist = exact_knn(y[rest], laid, min(PLACE_K, len(fit)))
        out[rest] = _place(dist, idx, layout)
    say(1.0, "UMAP done")
    return out


def resolved_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """`params` over DEFAULT_PARAMS (unknown names are refused: they would silently key a separate cache entry)."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(f"unknown projection parameter(s) {unknown}; known: {', '.join(DEFAULT_PARAMS)}")
    return DEFAULT_PARAMS | params


def projection_key(key_parts: dict[str, Any] | list[Any] | tuple[Any, ...], params: dict[str, Any] | None) -> str:
    """The cache key: a hash of what was projected (key_parts) and how (the resolved parameters).

    Args:
        key_parts: JSON-able description of the points, e.g. checkpoint id, store, modality, subset digest, N.
        params: projection parameters (defaults filled in, so omitting a default gives the same key).
    """
    doc = {"v": CACHE_VERSION, "points": key_parts, "params": resolved_params(params)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _paths(key: str, folder: Path) -> tuple[Path, Path]:
    return folder / f"{key}.npy", folder / f"{key}.json"


def lookup(key_parts: Any, params: dict[str, Any] | None = None, cache_dir: str | Path | None = None
           ) -> np.ndarray | None:
    """The cached projection for these points and parameters, or None when it has not been computed."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    npy, meta = _paths(projection_key(key_parts, params), folder)
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        coords = np.load(npy, allow_pickle=False)
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged entry is recomputed
    if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) != info.get("n"):
        return None
    return coords


def cache_info(key_parts: Any, params: dict[str, Any] | None = None, cache_dir: str | Path | None = None
               ) -> dict[str, Any] | None:
    """The JSON written beside a cached projection (n, seconds, created, ...), or None."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        return json.loads(_paths(projection_key(key_parts, params), folder)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append ".npy" to the temporary name
        np.save(f, arr, allow_pickle=False)


def cached_projection(key_parts: Any, vectors_fn: Callable[[], np.ndarray], params: dict[str, Any] | None = None,
                      cache_dir: str | Path | None = None, *, progress: Progress | None = None) -> np.ndarray:
    """`project(vectors_fn(), **params)`, computed once per (key_parts, params) and then read from disk.

    Two processes asking for the same projection at once compute it once: the second waits on a lock file and
    then reads the first one's result.

    Args:
        key_parts: JSON-able description of the points (see projection_key); must change when the vectors do.
        vectors_fn: returns the (N, D) vectors; only called on a cache miss.
        params: projection parameters (see DEFAULT_PARAMS).
        cache_dir: the cache folder (default `data_dir()/cache/umap`).
        progress: called with (fraction, message) while computing.
    Returns:
        (N, 2) float32 coordinates.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    hit = lookup(key_parts, params, folder)
    if hit is not None:
        return hit
    folder.mkdir(parents=True, exist_ok=True)
    key = projection_key(key_parts, params)
    npy, meta = _paths(key, folder)
    with open(folder / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        hit = lookup(key_parts, params, folder)
        if hit is not None:
            return hit
        full = resolved_params(params)
        t0 = time.perf_counter()
        coords = project(vectors_fn(), progress=progress, **full)
        seconds = time.perf_counter() - t0
        info = {"version": CACHE_VERSION, "points": key_parts, "params": full, "n": int(len(coords)),
                "seconds": round(seconds, 2), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _write_atomic(npy, lambda p: _save_npy(p, coords))
        _write_atomic(meta, lambda p: p.write_text(json.dumps(info, default=str, indent=1), encoding="utf-8"))
    return coords

