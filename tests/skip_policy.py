"""The suite's skip policy (a pytest plugin, loaded by tests/conftest.py): a skip may not hide a test that must run.

- In CI (the environment variable CI is true, as on every CI service), every skip is a failure: a missing chromium
  or playwright, a module that `_require_browser` checks and that was renamed, an `importorskip` of a project module,
  a skipped real-browser (`e2e`) test. `.ci/run` installs what the tests need, so nothing in CI has a reason to skip.
- The one allowed skip is a real-dataset test whose data lives in `../shared` (next to the checkout), where
  `../shared` is absent. Its reason must name that folder; `-rs` (pyproject addopts) lists it in the summary.
- Anywhere, CI or not: a real-dataset test that skips although `../shared` is there fails, because the team's copy is
  then incomplete or the test looks in the wrong place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# `<checkout>/../shared`: the team's unchanged real releases (mujo.datasets.base.shared_root looks there too).
SHARED = Path(__file__).resolve().parents[2] / "shared"


def in_ci() -> bool:
    """Whether this run is a CI run (CI=true/1/yes, any case)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _names_shared(reason: str) -> bool:
    spelled = {str(SHARED), os.path.abspath(SHARED), str(SHARED.resolve()), "../shared"}
    return any(s in reason for s in spelled)


def skip_problem(reason: str, *, e2e: bool) -> str | None:
    """Why a skip with this reason is not acceptable here, or None where the skip may stand."""
    if _names_shared(reason):
        if SHARED.is_dir():
            return (f"a real-dataset test skipped although {SHARED} exists ({reason}): real-dataset tests may skip "
                    f"only where ../shared is absent; the shared copy is incomplete or the test looks in the wrong "
                    f"place")
        return None
    if in_ci():
        what = "a real-browser (e2e) test" if e2e else "a test"
        return (f"{what} skipped in CI (CI={os.environ.get('CI')}): {reason}. In CI every test must run: install "
                f"what it needs (.ci/run installs chromium and playwright) or fix the import it skipped on")
    return None


def _reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: why")
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        problem = skip_problem(_reason(report.longrepr), e2e=item.get_closest_marker("e2e") is not None)
        if problem:
            report.outcome = "failed"
            report.longrepr = f"{item.nodeid}: {problem}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    """The same for a whole module skipped at import (pytest.importorskip / skip(allow_module_level=True))."""
    report = yield
    if report.skipped:
        problem = skip_problem(_reason(report.longrepr), e2e="e2e" in Path(str(collector.path)).parts)
        if problem:
            report.outcome = "failed"
            report.longrepr = f"{collector.nodeid}: {problem}"
    return report
