"""Real target datasets (one module each) on a small common base, a registry of them and `open_target`."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

from mujo.datasets.base import DatasetError, TargetDataset, shared_root
from mujo.fimad.layout import MANIFEST

# Loader classes by registry name, as "module:Class" imported on first use: a loader module that is missing or
# broken does not break `import mujo.datasets`, only opening that dataset.
_LOADERS: dict[str, str] = {
    "motionsense": "mujo.datasets.motionsense:MotionSense",
    "utd-mhad": "mujo.datasets.utd_mhad:UtdMhadTarget",
    "utd-mhad-wrist": "mujo.datasets.utd_mhad:UtdMhadWristTarget",
    "mmfit": "mujo.datasets.mmfit:MmFit",
    "mhealth": "mujo.datasets.mhealth:Mhealth",
    "myogym": "mujo.datasets.myogym:MyoGym",
}

# Where each registered dataset is expected when no path is given (the team's shared copies).
DEFAULT_ROOTS: dict[str, tuple[str, ...]] = {
    "motionsense": ("MotionSense",),
    "utd-mhad": ("UTD-MHAD",),
    "utd-mhad-wrist": ("UTD-MHAD",),
    "mmfit": ("MM-Fit",),
    "mhealth": ("MHEALTH",),
    "myogym": ("MyoGym",),
}

DESCRIPTIONS: dict[str, str] = {
    "motionsense": "MotionSense: phone in the front pocket, 24 subjects, 6 activities, no NULL",
    "utd-mhad": "UTD-MHAD: 27 actions, 8 subjects, wrist or thigh IMU + Kinect pose",
    "utd-mhad-wrist": "UTD-MHAD actions 1-21 (right wrist IMU) + Kinect pose",
    "mmfit": "MM-Fit: 10 exercises, smartwatches on both wrists (+ pose), fixed workout split, NULL",
    "mhealth": "MHEALTH: 12 activities, chest / left ankle / right lower arm, NULL",
    "myogym": "MyoGym: 30 gym exercises, Myo armband on the right forearm, NULL",
}


def _resolve(name: str, target: str) -> type[TargetDataset]:
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise DatasetError(f"the {name} loader ({module}) is not available: {e}") from e
    cls = getattr(mod, attr, None)
    if cls is None:  # tolerate another class name: the module's one TargetDataset subclass
        found = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, TargetDataset)
                 and v is not TargetDataset and v.__module__ == module]
        if len(found) != 1:
            raise DatasetError(f"the {name} loader module {module} has no class {attr}")
        cls = found[0]
    return cls


class _Registry(Mapping):
    """name -> loader class, importing each loader module on first access."""

    def __init__(self, targets: dict[str, str]) -> None:
        self._targets = targets
        self._classes: dict[str, type[TargetDataset]] = {}

    def __getitem__(self, name: str) -> type[TargetDataset]:
        if name not in self._targets:
            raise KeyError(name)
        if name not in self._classes:
            self._classes[name] = _resolve(name, self._targets[name])
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def target(self, name: str) -> str:
        """The "module:Class" a name loads, without importing it."""
        return self._targets[name]


DATASETS: Mapping[str, type[TargetDataset]] = _Registry(_LOADERS)

# Formats opened by path only ("name:/path" or recognised in a folder), with no default root: the generic format and
# FiMAD folders (pre-training data such as the embedded demo, labelled by ground truth or by the store's curation).
_PATH_LOADERS: dict[str, str] = {
    "generic": "mujo.datasets.generic:GenericDataset",
    "fimad": "mujo.datasets.fimad_target:FimadTarget",
    "fimad-curated": "mujo.datasets.fimad_target:FimadCuratedTarget",
}


def default_root(name: str) -> Path:
    """Where the registered dataset `name` is expected by default (under `shared_root()`)."""
    if name not in DEFAULT_ROOTS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return shared_root(*DEFAULT_ROOTS[name])


def open_target(spec: str | Path, **kw: Any) -> TargetDataset:
    """Open a target dataset.

    Args:
        spec: a registry name ("motionsense": its default root under ../shared/datasets), "name:/path" (that
            loader on that path; "generic:/path" for the generic format, "fimad:/path" or "fimad-curated:/path" for
            a FiMAD folder labelled by its ground truth or by the store's curation), or a path: a folder with
            `mujo-dataset.json` is read as the generic format, one with `fimad.json` as FiMAD (ground truth labels),
            anything else is recognised by its content
            (MotionSense zip or folder, UTD-MHAD Inertial/, MM-Fit wXX/, mHealth_subject*.log, MyoGym.mat).
        **kw: passed to the loader (e.g. `actions="wrist"` for UTD-MHAD, `subjects=` for MotionSense).

    Returns:
        The dataset (index built, recordings read lazily).

    Raises:
        DatasetError: unknown name, missing path, or a folder whose format is not recognised.
    """
    text = str(spec)
    if text in DATASETS:
        root = kw.pop("root", None) or default_root(text)
        return DATASETS[text](root, **kw)
    m = re.match(r"^([a-z][a-z0-9-]*):(.+)$", text)
    if m and (m.group(1) in DATASETS or m.group(1) in _PATH_LOADERS):
        name, path = m.groups()
        if name in _PATH_LOADERS:
            return _resolve(name, _PATH_LOADERS[name])(Path(path).expanduser(), **kw)
        return DATASETS[name](Path(path).expanduser(), **kw)
    path = Path(text).expanduser()
    if not path.exists():
        raise DatasetError(f"{text!r} is neither a known dataset ({', '.join(DATASETS)}) nor an existing path")
    name, root = detect(path)
    if name in _PATH_LOADERS:
        return _resolve(name, _PATH_LOADERS[name])(root, **kw)
    return DATASETS[name](root, **kw)


def detect(path: str | Path) -> tuple[str, Path]:
    """(loader name, "generic" or "fimad", root to give it) recognised from a path's content; DatasetError if none."""
    p = Path(path)
    if p.is_file() and p.name == "mujo-dataset.json":
        return "generic", p.parent
    if p.is_file() and p.name == MANIFEST:
        return "fimad", p.parent
    if p.is_file():
        if p.suffix.lower() == ".zip" and "devicemotion" in p.name.lower():
            return "motionsense", p
        if p.name.lower() == "myogym.mat":
            return "myogym", p
        if re.match(r"mhealth_subject\d+\.log$", p.name, re.I):
            return "mhealth", p.parent
        raise DatasetError(f"{p}: not a recognised dataset file (a MotionSense zip, MyoGym.mat, "
                           "mHealth_subjectN.log or mujo-dataset.json)")
    names = {c.name for c in p.iterdir()}
    lower = {n.lower() for n in names}
    if "mujo-dataset.json" in names:
        return "generic", p
    if MANIFEST in names:
        return "fimad", p
    if "A_DeviceMotion_data.zip" in names or "A_DeviceMotion_data" in names or any(
            re.match(r"(dws|ups|wlk|jog|sit|std)_\d+$", n) for n in names):
        return "motionsense", p
    if "Inertial" in names:
        return "utd-mhad", p
    if any(re.match(r"w\d\d$", n) for n in names):
        return "mmfit", p
    if any(re.match(r"mhealth_subject\d+\.log$", n) for n in lower):
        return "mhealth", p
    if "myogym.mat" in lower:
        return "myogym", p
    raise DatasetError(f"{p}: no recognised dataset here; expected mujo-dataset.json (generic format, see "
                       f"docs/generic-format.md), {MANIFEST} (a FiMAD folder), a MotionSense A_DeviceMotion_data zip "
                       "or folder, UTD-MHAD Inertial/, MM-Fit wXX/ folders, mHealth_subjectN.log files or MyoGym.mat")


def describe_targets() -> list[dict[str, Any]]:
    """One entry per registered dataset: name, description, default root, whether it exists, loader."""
    return [{"name": name, "description": DESCRIPTIONS.get(name, name), "root": str(default_root(name)),
             "exists": default_root(name).exists(), "loader": DATASETS.target(name)}  # type: ignore[attr-defined]
            for name in DATASETS]


__all__ = ["DATASETS", "DEFAULT_ROOTS", "DatasetError", "TargetDataset", "default_root", "describe_targets",
           "detect", "open_target"]
