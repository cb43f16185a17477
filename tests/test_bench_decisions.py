"""benchmarks/bench_decisions.py in short: annotators deciding at once on one store lose nothing, apply no request
twice and every deliberate collision is detected; and its checks do catch a store that ignores the version."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mujo.store import Store

REPO = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    """The benchmark, loaded by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_bench_decisions", REPO / "benchmarks" / "bench_decisions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_concurrent_decisions_lose_nothing_and_detect_every_collision(tmp_path: Path) -> None:
    f = _bench().run(annotators=4, seconds=2.0, collide=0.2, retry=0.2, path=tmp_path / "s.db")
    assert f["decisions"] > 20 and f["collisions"] > 0 and f["retries"] > 0
    assert (f["lost"], f["duplicated"], f["undetected"], f["collisions_both_rejected"]) == (0, 0, 0, 0)


def test_the_checks_catch_a_store_that_ignores_the_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Store.decide_label

    def unversioned(self, dataset, clip_id, label, *, base_event, **kw):  # the old "append whatever" decision
        shown = self.clip_in_force(dataset, clip_id)
        return real(self, dataset, clip_id, label, base_event=int(shown[0]["id"]) if shown else 0, **kw)

    monkeypatch.setattr(Store, "decide_label", unversioned)
    f = _bench().run(annotators=4, seconds=2.0, collide=0.3, retry=0.0, path=tmp_path / "s.db")
    assert f["collisions"] > 0 and f["undetected"] > 0
