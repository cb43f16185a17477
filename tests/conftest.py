"""Shared test set-up: make `tests/` importable (fimad_factory), keep generated data out of the checkout, and load
the skip policy (tests/skip_policy.py) that turns skips into failures in CI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

SHARED = TESTS.parent.parent / "shared"

# skip_policy: in CI a skip fails the run (real-dataset tests may skip only where ../shared is absent).
# pytester: the policy's own tests run pytest inside pytest.
pytest_plugins = ["skip_policy", "pytester"]

# pyproject's `timeout` (pytest-timeout, 300 s) bounds every test, its fixtures' set-up included. Tests marked `slow` or
# `e2e` (real training runs, UMAP, a browser with its server) get SLOW_TIMEOUT_S unless they set their own
# @pytest.mark.timeout: on a loaded 2-core machine the slowest of them took about 290 s (set-up included).
SLOW_TIMEOUT_S = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None and (item.get_closest_marker("slow")
                                                          or item.get_closest_marker("e2e")):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def _one_numba_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One numba cache for the whole run, this process and every process a test starts (servers, jobs, the first
    start): umap-learn's kernels compile once (~30 s on 2 cores) instead of once per fresh MUJO_HOME. Compiling
    into an empty cache is what benchmarks/bench_jobs.py measures; a cache the user set is kept."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one cache for every worker of a parallel run (their common folder)
        root = root.parent
    os.environ.setdefault("NUMBA_CACHE_DIR", str(root / "numba"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point MUJO_HOME at a temporary folder so no test writes into the checkout's data/."""
    monkeypatch.setenv("MUJO_HOME", str(tmp_path_factory.getbasetemp() / "mujo_home"))


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic FiMAD with video (2 videos), generated once per test session."""
    from mujo.demo.presets import preset_config
    from mujo.synth.generate import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "tiny"
    generate_dataset(root, preset_config("tiny"), workers=1)
    return root


@pytest.fixture(scope="session")
def tiny_synth_imu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic FiMAD without video (pose, IMU, text, ground-truth labels; 12 clips, half of them NULL, one
    video per split), generated once per test session in a few seconds."""
    import dataclasses  # noqa: PLC0415

    from mujo.demo.presets import preset_config
    from mujo.synth.generate import generate_dataset

    root = tmp_path_factory.mktemp("synth_imu") / "tiny"
    generate_dataset(root, dataclasses.replace(preset_config("tiny"), with_video=False), workers=1)
    return root


@pytest.fixture()
def one_torch_thread():
    """Tiny models run fastest on one thread, and a busy machine does not stall OpenMP barriers."""
    import torch  # noqa: PLC0415

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
