"""The skip policy (tests/skip_policy.py), run on small test files by pytest inside pytest (pytester): in CI a skip
fails the run, whatever raised it; a real-dataset skip passes only where ../shared is absent and is listed by -rs."""

from __future__ import annotations

from pathlib import Path

import pytest
import skip_policy

E2E_CONFTEST = Path(__file__).resolve().parent / "e2e" / "conftest.py"


@pytest.fixture()
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.fixture()
def not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


def _run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=source)
    pytester.makeini("[pytest]\nmarkers =\n    e2e: real-browser tests\n")
    return pytester.runpytest("-p", "skip_policy", "-rfEs", "-p", "no:cacheprovider")


BROWSER_SKIPS = '''
import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser():
    pytest.skip("/usr/bin/chromium is absent: the real-browser tests need Debian's chromium")


def test_plays(browser):
    pass


def test_seeks(browser):
    pass
'''


def test_outside_ci_a_missing_browser_is_a_listed_skip(pytester: pytest.Pytester, not_ci) -> None:
    result = _run(pytester, BROWSER_SKIPS)
    result.assert_outcomes(skipped=2)
    # -rs: the reason is in the summary, once per test
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] *chromium is absent*", "SKIPPED [[]1[]] *chromium is absent*"])
    assert result.ret == pytest.ExitCode.OK


def test_in_ci_a_missing_browser_fails_the_run(pytester: pytest.Pytester, ci) -> None:
    result = _run(pytester, BROWSER_SKIPS)
    result.assert_outcomes(errors=2)  # the skip came from the module's fixture: each test errors in its set-up
    result.stdout.fnmatch_lines(["*a real-browser (e2e) test skipped in CI (CI=true): /usr/bin/chromium is absent*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_in_ci_every_kind_of_skip_fails(pytester: pytest.Pytester, ci) -> None:
    result = _run(pytester, '''
import sys
import pytest


def test_call_skip():
    pytest.skip("the job finished before it could be killed")


@pytest.mark.skipif(sys.version_info > (3,), reason="mujo.fimad.video is not there yet")
def test_skipif():
    pass


def test_importorskip():
    pytest.importorskip("mujo_module_that_was_renamed")


@pytest.mark.xfail(reason="known", strict=True)
def test_xfail_is_not_a_skip():
    assert False


def test_passes():
    pass
''')
    result.assert_outcomes(failed=2, errors=1, passed=1, xfailed=1)  # skipif acts in the set-up: an error
    result.stdout.fnmatch_lines(["FAILED *test_call_skip - *a test skipped in CI*the job finished before*",
                                 "FAILED *test_importorskip - *a test skipped in CI*mujo_module_that_was_renamed*",
                                 "ERROR *test_skipif - *a test skipped in CI*mujo.fimad.video is not there yet*"])
    assert "SKIPPED" not in result.stdout.str()


def test_in_ci_a_module_skipped_at_import_fails(pytester: pytest.Pytester, ci) -> None:
    result = _run(pytester, '''
import pytest

render = pytest.importorskip("mujo.synth.render_renamed")


def test_uses_it():
    pass
''')
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_inner.py: a test skipped in CI*mujo.synth.render_renamed*"])
    assert result.ret != pytest.ExitCode.OK


def test_require_browser_with_a_renamed_module_fails_in_ci(pytester: pytest.Pytester, ci) -> None:
    """The real `_require_browser` of tests/e2e: a module it checks cannot be found (renamed) -> the run fails."""
    result = _run(pytester, f'''
import importlib.util
import sys

import pytest

sys.path.insert(0, {str(E2E_CONFTEST.parent)!r})
spec = importlib.util.spec_from_file_location("e2e_conftest_under_test", {str(E2E_CONFTEST)!r})
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)


@pytest.mark.e2e
def test_browser_needed(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(e2e, "CHROMIUM", sys.executable)  # a file that exists: the browser check passes
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mujo.synth.render" else real(name, *a))
    e2e._require_browser()
''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a real-browser (e2e) test skipped in CI*mujo.synth.render is not available*"])


REAL_DATA = '''
import pytest

REAL = {real!r}


@pytest.mark.skipif(True, reason=f"UTD-MHAD not available at {{REAL}} (the team's shared datasets folder)")
def test_real_release():
    pass
'''


def test_real_data_may_skip_in_ci_where_shared_is_absent(pytester: pytest.Pytester, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, ci) -> None:
    shared = tmp_path / "no" / "shared"  # absent
    monkeypatch.setattr(skip_policy, "SHARED", shared)
    result = _run(pytester, REAL_DATA.format(real=str(shared / "datasets" / "UTD-MHAD")))
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED * UTD-MHAD not available at {shared}*"])
    assert result.ret == pytest.ExitCode.OK


def test_real_data_skip_fails_where_shared_exists_even_outside_ci(pytester: pytest.Pytester, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, not_ci) -> None:
    shared = tmp_path / "shared"
    (shared / "datasets").mkdir(parents=True)  # there, but without this release
    monkeypatch.setattr(skip_policy, "SHARED", shared)
    result = _run(pytester, REAL_DATA.format(real=str(shared / "datasets" / "UTD-MHAD")))
    result.assert_outcomes(errors=1)  # skipif acts in the set-up
    result.stdout.fnmatch_lines([f"*a real-dataset test skipped although {shared} exists*"])


def test_the_policy_is_loaded_in_this_run(pytestconfig: pytest.Config) -> None:
    """The suite itself runs under the policy (tests/conftest.py loads it) with -rs and a timeout."""
    assert pytestconfig.pluginmanager.has_plugin("skip_policy")
    assert "s" in pytestconfig.getoption("reportchars")
    assert float(pytestconfig.getini("timeout")) > 0
    assert skip_policy.SHARED == Path(__file__).resolve().parents[2] / "shared"


def test_a_plain_test_has_the_default_timeout(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("timeout") is None  # pyproject's timeout applies
    assert float(request.config.getini("timeout")) == 300


@pytest.mark.slow
def test_slow_and_e2e_tests_get_the_long_timeout(request: pytest.FixtureRequest) -> None:
    """(A slow-marked test that is fast: it only reads the marker tests/conftest.py gave it.)"""
    assert request.node.get_closest_marker("timeout").args == (900,)


@pytest.mark.slow
@pytest.mark.timeout(1234)
def test_an_explicit_timeout_wins(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("timeout").args == (1234,)
