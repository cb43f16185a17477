"""Atomic writes are durable: the temp file is fsynced before it is renamed over the final name, and the folder
after, so a power loss leaves the old file or the new one, never a zero-length file under the final name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mujo.features import cache as feature_cache
from mujo.fimad import writer


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each fsync and rename in order, as ("fsync", what the fd is) or ("replace", destination)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name a file descriptor")
@pytest.mark.parametrize("how", ["atomic_write", "save_json", "save_npy", "save_npz"])
def test_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path: Path, monkeypatch, how: str) -> None:
    events = _record(monkeypatch)
    path = tmp_path / f"out.{how}"
    if how == "atomic_write":
        writer.atomic_write(path, lambda f: f.write(b"payload"))
    elif how == "save_json":
        feature_cache.save_json(path, {"a": 1})
    elif how == "save_npy":
        feature_cache.save_npy(path, np.arange(4.0))
    else:
        feature_cache.save_npz(path, {"x": np.arange(4.0)})
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    temp, final, folder = events[0][1], events[1][1], events[2][1]
    assert Path(temp).parent == tmp_path and Path(temp).name.startswith(f".{path.name}.")  # the temp, not `path`
    assert final == str(path) and folder == str(tmp_path.resolve())
    assert path.stat().st_size > 0 and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_folder_that_refuses_fsync_does_not_fail_the_write(tmp_path: Path, monkeypatch) -> None:
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(22, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    writer.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"x"))
    assert (tmp_path / "a.bin").read_bytes() == b"x"
