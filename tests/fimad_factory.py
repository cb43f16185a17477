"""Small valid FiMAD datasets for tests, written with FimadWriter, and functions that break them."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mujo.fimad.skeleton import IMU_SITES
from mujo.fimad.writer import FimadWriter

# Text that CSV readers and HTML pages like to mangle; each must come back exactly as written.
TRICKY_TEXTS = (
    'Squats, then "jump" squats',
    "two\nlines, with a comma",
    "crlf\r\ninside",
    "💪🏽 Jumping jacks 🔥",
    "<script>alert(1)</script>",
    "NaN",
    "007",
    "null",
    "  padded  ",
    "Гантели и مرحبا",
)


def has_video_io() -> bool:
    """True when mujo.fimad.video (the video helper's module) is importable."""
    return importlib.util.find_spec("mujo.fimad.video") is not None


def clip_pose(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """A smooth random (T, 17, 3) float32 pose: a standing offset per joint plus slow sinusoids."""
    t = np.arange(n_frames)[:, None, None] / 50.0
    base = rng.normal(0, 0.3, size=(1, 17, 3)) + np.array([0, 1.0, 0])
    amp, freq = rng.uniform(0.01, 0.1, size=(1, 17, 3)), rng.uniform(0.2, 1.5, size=(1, 17, 3))
    return (base + amp * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def make_fimad(root: str | Path, n_clips: int = 6, *, with_video: bool = False, with_pose: bool = True,
               with_imu: bool = True, n_frames: int | list[int] = 200, fps: float = 50,
               imu_sites: tuple[str, ...] = IMU_SITES, splits: dict[str, list[str]] | None = None,
               extra_columns: bool = True, seed: int = 0, name: str = "test-fimad") -> Path:
    """Write a small valid FiMAD dataset.

    Clip i is `clip{i:03d}`, from video `vid{i // 2}` (so two clips per video, both in the same split),
    chapter title TRICKY_TEXTS[i % len]; an unknown column `difficulty` is added when `extra_columns`.
    Video is written with mujo.fimad.video.write_mp4 when that module exists, else skipped.

    Args:
        root: the folder to write (created).
        n_frames: one length for all clips or one per clip.
        splits: written to splits.json when given (else only the `split` column).
    Returns:
        root, as a Path.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    lengths = [n_frames] * n_clips if isinstance(n_frames, int) else list(n_frames)
    w = FimadWriter(root, name=name, fps=fps, imu_sites=imu_sites, description="made by tests/fimad_factory.py",
                    synthetic=True, source="random sinusoids; IMU is noise")
    rows: list[dict[str, Any]] = []
    write_video = with_video and has_video_io()
    for i, t in enumerate(lengths):
        cid = f"clip{i:03d}"
        if with_pose:
            w.write_pose(cid, clip_pose(rng, t))
        if with_imu:
            shape = (t, len(imu_sites), 3)
            w.write_imu(cid, rng.normal(0, 1, shape).astype(np.float32), rng.normal(0, 1, shape).astype(np.float32))
        if write_video:
            from mujo.fimad.video import write_mp4  # noqa: PLC0415

            n_video = max(1, round(t / fps * 10))
            frames = [np.full((48, 64, 3), (k * 9) % 255, np.uint8) for k in range(n_video)]
            write_mp4(w.video_path(cid), frames, 10)
        row = {"clip_id": cid, "n_frames": t, "video_id": f"vid{i // 2}", "chapter_index": i % 2,
               "chapter": TRICKY_TEXTS[i % len(TRICKY_TEXTS)], "caption": f"caption of {cid}",
               "start_s": 1.5 * i, "end_s": 1.5 * i + t / fps, "split": "train" if (i // 2) % 3 else "val"}
        if extra_columns:
            row["difficulty"] = ["easy", "007", "hard, very"][i % 3]
        rows.append(row)
    w.finish(rows, splits)
    return root


# --- ways to break a dataset ---------------------------------------------------------------------------


def read_rows(root: Path) -> list[list[str]]:
    """clips.csv as lists of cells (header first)."""
    import csv  # noqa: PLC0415

    path = Path(root) / "clips.csv"
    limit = csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size))  # cells as long as the file
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f))
    finally:
        csv.field_size_limit(limit)  # process-wide: other readers keep csv's default


def write_rows(root: Path, rows: list[list[str]]) -> None:
    """Overwrite clips.csv with these cells (header first)."""
    import csv  # noqa: PLC0415

    with open(Path(root) / "clips.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def append_row(root: Path, values: dict[str, Any]) -> None:
    """Append a clips.csv row; columns not given are left empty."""
    rows = read_rows(root)
    rows.append([str(values.get(c, "")) for c in rows[0]])
    write_rows(root, rows)


def set_cell(root: Path, clip_id: str, column: str, value: str) -> None:
    """Change one cell of clips.csv."""
    rows = read_rows(root)
    col, id_col = rows[0].index(column), rows[0].index("clip_id")
    for r in rows[1:]:
        if r[id_col] == clip_id:
            r[col] = value
    write_rows(root, rows)


def edit_manifest(root: Path, **changes: Any) -> None:
    """Change fimad.json keys (a value of None deletes the key)."""
    path = Path(root) / "fimad.json"
    d = json.loads(path.read_text(encoding="utf-8"))
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    path.write_text(json.dumps(d), encoding="utf-8")


def corrupt_header(path: Path) -> None:
    """Overwrite the first bytes of a file (npy magic, zip signature, mp4 ftyp) with garbage."""
    data = bytearray(Path(path).read_bytes())
    data[:16] = b"garbage-garbage!"
    Path(path).write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut a file to a fraction of its size."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])


def rewrite_pose(root: Path, clip_id: str, pose: np.ndarray) -> None:
    """Replace pose/<clip_id>.npy with any array (wrong shape or dtype allowed)."""
    np.save(Path(root) / "pose" / f"{clip_id}.npy", pose, allow_pickle=False)


def rewrite_imu(root: Path, clip_id: str, compressed: bool = False, **arrays: np.ndarray) -> None:
    """Replace imu/<clip_id>.npz with these arrays (any shapes), compressed or not."""
    save = np.savez_compressed if compressed else np.savez
    save(Path(root) / "imu" / f"{clip_id}.npz", **arrays)


def add_nan_gap(root: Path, clip_id: str, start: int, length: int) -> None:
    """Set pose samples [start, start + length) of a clip to NaN."""
    path = Path(root) / "pose" / f"{clip_id}.npy"
    pose = np.load(path)
    pose[start: start + length] = np.nan
    np.save(path, pose)
