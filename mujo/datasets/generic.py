"""The generic target format: a folder with `mujo-dataset.json` and one CSV or .npy file per recording.

The format is documented for users in docs/generic-format.md; `write_generic` writes it (tests, conversions).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mujo.datasets.base import NULL_INDEX, DatasetError, DatasetInfo, FixedSplit, G, Recording, TargetDataset
from mujo.fimad.arrays import ArrayFileError, open_npy
from mujo.fimad.skeleton import IMU_SITES, JOINTS

META = "mujo-dataset.json"
UNITS: dict[str, dict[str, float]] = {  # channel group -> accepted unit -> factor to SI
    "acc": {"m/s2": 1.0, "m/s^2": 1.0, "m/s²": 1.0, "g": G},
    "gyro": {"rad/s": 1.0, "deg/s": float(np.pi / 180.0)},
}
AXES = ("x", "y", "z")
POSE_COLUMNS = tuple(f"pose_{j}_{a}" for j in JOINTS for a in AXES)


class GenericDataset(TargetDataset):
    """A user's own recordings in the generic format (see docs/generic-format.md).

    Args:
        root: the folder holding `mujo-dataset.json` (or the path of that file).
    """

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        if root.name == META and root.is_file():
            root = root.parent
        super().__init__(root)
        self.meta_path = self.root / META
        if not self.meta_path.is_file():
            raise DatasetError(f"{self.root}: no {META}; a generic dataset folder needs one (docs/generic-format.md)")
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise DatasetError(f"{self.meta_path}: not readable JSON ({str(e)[:200] or 'nested too deeply'})") from None
        if not isinstance(meta, dict):
            raise DatasetError(f"{self.meta_path}: must hold a JSON object")
        self.meta = meta
        self.info, self.units = _parse_meta(meta, self.meta_path)
        self.null_label = meta.get("null_label")
        self.entries = _recordings(meta, self.root, self.meta_path)
        self.ids = [e["id"] for e in self.entries]
        self.columns = [f"{p}_{g}_{a}" for p in self.info.placements for g in self.info.channels for a in AXES]

    def subject_of(self, i: int) -> str:
        return self.entries[i]["subject"]

    def session_of(self, i: int) -> str:
        return self.entries[i]["session"]

    def _read(self, i: int) -> Recording:
        entry = self.entries[i]
        path = entry["path"]
        table = _read_npy(path, self.meta, self.meta_path) if path.suffix == ".npy" else _read_csv(path)
        need = self.columns + ["label"] + (list(POSE_COLUMNS) if self.info.has_pose else [])
        missing = [c for c in need if c not in table]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing[:6])}"
                               + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
                               + f"; it has {', '.join(list(table)[:12])}")
        labels = self._labels(table["label"], path)
        n = len(labels)
        if n < 2:
            raise DatasetError(f"{path}: needs at least 2 samples, has {n}")
        imu = {}
        for p in self.info.placements:
            cols = []
            for g in self.info.channels:
                cols += [_floats(table[f"{p}_{g}_{a}"], path, f"{p}_{g}_{a}") * self.units[g] for a in AXES]
            imu[p] = np.column_stack(cols).astype(np.float32)
        pose = None
        if self.info.has_pose:
            pose = np.column_stack([_floats(table[c], path, c) for c in POSE_COLUMNS]).reshape(n, 17, 3)
        if "time" in table:
            imu, labels, pose = _even_grid(_floats(table["time"], path, "time"), imu, labels, pose,
                                           self.info.rate, path)
        return Recording(entry["id"], entry["subject"], self.info.rate, imu, labels,
                         None if pose is None else pose.astype(np.float32), entry["session"])

    def _labels(self, values: np.ndarray, path: Path) -> np.ndarray:
        index = {c: k for k, c in enumerate(self.info.classes)}
        if values.dtype.kind in "iuf":  # .npy files hold class indices; -1 or NaN = NULL
            v = np.asarray(values, np.float64)
            null = ~np.isfinite(v) | (v == NULL_INDEX)
            bad = ~null & ((v != np.round(v)) | (v < 0) | (v >= len(index)))
            if bad.any() or (null.any() and not self.info.has_null):
                row = int(np.flatnonzero(bad | (null & (not self.info.has_null)))[0])
                raise DatasetError(f"{path}: label {values[row].item()!r} in row {row} is not a class index 0.."
                                   f"{len(index) - 1}" + (" or -1 (NULL)" if self.info.has_null else ""))
            return np.where(null, NULL_INDEX, np.nan_to_num(v)).astype(np.int64)
        null = {"", str(self.null_label)} if self.info.has_null else set()
        uniq, inverse = np.unique(values.astype(str), return_inverse=True)
        codes = []
        for u in uniq:
            if u in index:
                codes.append(index[u])
            elif u in null:
                codes.append(NULL_INDEX)
            else:
                row = int(np.flatnonzero(values.astype(str) == u)[0])
                raise DatasetError(f"{path}: label {str(u)!r} in data row {row + 1} is not one of the classes in "
                                   f"{META} ({', '.join(self.info.classes)})"
                                   + (f" or the null_label {self.null_label!r}" if self.info.has_null else
                                      "; set null_label for samples without an activity"))
        return np.asarray(codes, np.int64)[inverse.reshape(-1)]


def _parse_meta(meta: dict, path: Path) -> tuple[DatasetInfo, dict[str, float]]:
    def need(key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in meta:
            raise DatasetError(f"{path}: field {key!r} is missing")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise DatasetError(f"{path}: field {key!r} has the wrong type ({type(meta[key]).__name__})")
        return meta[key]

    name = need("name", str).strip()
    if not name:
        raise DatasetError(f"{path}: field 'name' is empty")
    rate = need("rate_hz", (int, float))
    if not rate > 0:
        raise DatasetError(f"{path}: field 'rate_hz' must be positive, got {rate}")
    units = need("units", dict)
    factors = {}
    for group, unit in units.items():
        if group not in UNITS:
            raise DatasetError(f"{path}: field 'units' names an unknown channel group {group!r} (acc, gyro)")
        if unit not in UNITS[group]:
            raise DatasetError(f"{path}: field 'units.{group}' is {unit!r}; expected one of "
                               f"{', '.join(UNITS[group])}")
        factors[group] = UNITS[group][unit]
    if "acc" not in factors:
        raise DatasetError(f"{path}: field 'units' must give the acc unit (\"m/s2\" or \"g\")")
    placements = need("placements", dict)
    if not placements:
        raise DatasetError(f"{path}: field 'placements' is empty")
    for p, site in placements.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", p):
            raise DatasetError(f"{path}: placement name {p!r} must be letters, digits, '_' or '-'")
        if site not in IMU_SITES:
            raise DatasetError(f"{path}: field 'placements.{p}' is {site!r}; expected a virtual IMU site: "
                               f"{', '.join(IMU_SITES)}")
    sites = list(placements.values())
    if len(set(sites)) != len(sites):
        raise DatasetError(f"{path}: field 'placements' maps two placements to the same site ({sites})")
    classes = need("classes", list)
    if not classes or not all(isinstance(c, str) and c.strip() for c in classes) or len(set(classes)) != len(classes):
        raise DatasetError(f"{path}: field 'classes' must be a non-empty list of distinct names")
    null = meta.get("null_label")
    if null is not None and (not isinstance(null, str) or null in classes):
        raise DatasetError(f"{path}: field 'null_label' must be a text that is not one of the classes")
    prompts = meta.get("prompts", {})
    if not isinstance(prompts, dict) or not set(prompts) <= set(classes):
        raise DatasetError(f"{path}: field 'prompts' must map class names to phrases")
    splits = []
    for k, s in enumerate(meta.get("splits", [])):
        try:
            splits.append(FixedSplit(str(s["name"]), s.get("key", "subject"), *(tuple(map(str, s[p]))
                                                                                 for p in ("train", "val", "test"))))
        except (KeyError, TypeError) as e:
            raise DatasetError(f"{path}: field 'splits[{k}]' needs name, train, val, test ({e})") from e
        if splits[-1].key not in ("subject", "session"):
            raise DatasetError(f"{path}: field 'splits[{k}].key' must be 'subject' or 'session'")
    channels = tuple(g for g in ("acc", "gyro") if g in factors)
    info = DatasetInfo(name=name, classes=tuple(classes), placements=dict(placements), channels=channels,
                       rate=float(rate), has_null=null is not None, has_pose=bool(meta.get("pose", False)),
                       fixed_splits=tuple(splits), random_splits=bool(meta.get("random_splits", True)),
                       prompts={str(k): str(v) for k, v in prompts.items()})
    return info, factors


def _recordings(meta: dict, root: Path, path: Path) -> list[dict[str, Any]]:
    """The recordings table: a list in the JSON, a CSV table file it names, or a "subjects" file -> subject map."""
    rec = meta.get("recordings")
    if isinstance(rec, str):
        table = _inside(root, rec, f"{path}: field 'recordings'")
        if not table.is_file():
            raise DatasetError(f"{path}: field 'recordings' names {rec}, which does not exist")
        with table.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        where = str(table)
    elif isinstance(rec, list):
        rows, where = rec, f"{path}: field 'recordings'"
    elif "subjects" in meta and isinstance(meta["subjects"], dict):
        rows, where = [{"file": k, "subject": v} for k, v in meta["subjects"].items()], f"{path}: field 'subjects'"
    else:
        raise DatasetError(f"{path}: field 'recordings' (a list or a CSV table file) or 'subjects' is missing")
    out, seen = [], set()
    for k, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("file") or row.get("subject") in (None, ""):
            raise DatasetError(f"{where}: entry {k + 1} needs a 'file' and a 'subject'")
        file = _inside(root, str(row["file"]), f"{where}: entry {k + 1}")
        if file.suffix.lower() not in (".csv", ".npy"):
            raise DatasetError(f"{where}: entry {k + 1}: {row['file']} must be a .csv or .npy file")
        if not file.is_file():
            raise DatasetError(f"{where}: entry {k + 1}: recording file {file} does not exist")
        rid = Path(str(row["file"])).with_suffix("").as_posix()
        if rid in seen:
            raise DatasetError(f"{where}: entry {k + 1}: {row['file']} is listed twice")
        seen.add(rid)
        out.append({"id": rid, "path": file, "subject": str(row["subject"]), "session": str(row.get("session") or "")})
    if not out:
        raise DatasetError(f"{where}: lists no recordings")
    return out


def _inside(root: Path, name: str, where: str) -> Path:
    """`root / name` for a file the metadata names, refused (naming `where`) unless it stays inside the dataset
    folder: no absolute path, no `..`, no symbolic link that leads out."""
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise DatasetError(f"{where}: {name} is an absolute path; name files relative to the dataset folder")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DatasetError(f"{where}: {name} leads out of the dataset folder (..); name files inside it")
    file = root / name
    try:
        outside = not file.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError) as e:  # a symbolic link loop, a NUL byte
        raise DatasetError(f"{where}: {name} cannot be resolved ({e})") from None
    if outside:
        raise DatasetError(f"{where}: {name} is a symbolic link that leads out of the dataset folder")
    return file


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        df = pd.read_csv(path, dtype={"label": str}, keep_default_na=False, na_values={"label": []},
                         low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from e
    return {str(c).strip(): df[c].to_numpy() for c in df.columns}


def _read_npy(path: Path, meta: dict, meta_path: Path) -> dict[str, np.ndarray]:
    cols = meta.get("columns")
    if not isinstance(cols, list) or not cols:
        raise DatasetError(f"{meta_path}: field 'columns' is needed to read .npy recordings such as {path.name}")
    try:  # header checked first: an unknown dtype or a shape larger than the file is an error, never an allocation
        arr = open_npy(path, mmap=False)
    except (OSError, ArrayFileError) as e:
        raise DatasetError(f"{path}: not a readable .npy array ({e})") from None
    if arr.ndim != 2 or arr.shape[1] != len(cols) or arr.dtype.kind not in "iuf":
        raise DatasetError(f"{path}: expected a numeric (N, {len(cols)}) array for the {len(cols)} 'columns', "
                           f"got {arr.dtype} {arr.shape}")
    return {str(c): arr[:, k] for k, c in enumerate(cols)}


def _floats(values: np.ndarray, path: Path, column: str) -> np.ndarray:
    """A column as float64; empty cells become NaN (windows over them are dropped), text is an error."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    try:
        return np.array([np.nan if str(v).strip() == "" else float(v) for v in values], np.float64)
    except ValueError:
        row = next(k for k, v in enumerate(values) if not _is_float(v))
        raise DatasetError(f"{path}: column {column!r} data row {row + 1} holds {str(values[row])!r}, "
                           "not a number") from None


def _is_float(v: Any) -> bool:
    try:
        float(v) if str(v).strip() else None
        return True
    except ValueError:
        return False


def _even_grid(t: np.ndarray, imu: dict[str, np.ndarray], labels: np.ndarray, pose: np.ndarray | None,
               rate: float, path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Samples with a `time` column (seconds, possibly uneven) put on an even grid at `rate` from the first."""
    keep = np.concatenate([[True], np.diff(t) > 0])  # repeated time stamps: keep the first
    if not np.isfinite(t).all() or (np.diff(t[keep]) <= 0).any():
        raise DatasetError(f"{path}: column 'time' must hold increasing times in seconds (no empty cells)")
    t = t[keep]
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1) / rate
    imu = {p: np.column_stack([np.interp(grid, t, a[keep, k]) for k in range(a.shape[1])]).astype(np.float32)
           for p, a in imu.items()}
    near = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    near -= (grid - t[near - 1]) < (t[near] - grid)
    if pose is not None:
        flat = pose[keep].reshape(len(t), -1)
        pose = np.column_stack([np.interp(grid, t, flat[:, k]) for k in range(flat.shape[1])]).reshape(-1, 17, 3)
    return imu, labels[keep][near], pose


def write_generic(root: str | Path, recordings: Sequence[Recording], *, name: str, classes: Sequence[str],
                  placements: dict[str, str], channels: Sequence[str] = ("acc",), null_label: str | None = "NULL",
                  prompts: dict[str, str] | None = None, splits: Sequence[FixedSplit] = (),
                  random_splits: bool = True) -> Path:
    """Write recordings (SI units, class indices) as a generic-format folder of CSV files; returns `root`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    has_pose = any(r.pose is not None for r in recordings)
    table = []
    for r in recordings:
        file = re.sub(r"[^A-Za-z0-9_.-]+", "_", r.id) + ".csv"
        cols: dict[str, np.ndarray] = {}
        for p in placements:
            for k, g in enumerate(channels):
                for a, axis in enumerate(AXES):
                    cols[f"{p}_{g}_{axis}"] = r.imu[p][:, 3 * k + a]
        if has_pose:
            cols.update(zip(POSE_COLUMNS, np.asarray(r.pose).reshape(len(r), -1).T))
        names = np.array(list(classes) + [null_label or ""], dtype=object)
        cols["label"] = names[np.where(r.labels == NULL_INDEX, len(classes), r.labels)]
        pd.DataFrame(cols).to_csv(root / file, index=False, float_format="%.7g")
        table.append({"file": file, "subject": r.subject, "session": r.session})
    meta = {"name": name, "rate_hz": float(recordings[0].rate),
            "units": {g: ("m/s2" if g == "acc" else "rad/s") for g in channels}, "placements": dict(placements),
            "classes": list(classes), "recordings": table, "random_splits": random_splits, "pose": has_pose}
    if null_label is not None:
        meta["null_label"] = null_label
    if prompts:
        meta["prompts"] = dict(prompts)
    if splits:
        meta["splits"] = [{"name": s.name, "key": s.key, "train": list(s.train), "val": list(s.val),
                           "test": list(s.test)} for s in splits]
    (root / META).write_text(json.dumps(meta, indent=1))
    return root
