"""The Fine-tuning page's real path: a sweep started with "Start sweep" runs in its background job (`mujo sweep run`,
nothing replaced) and its cells end in the Results tab's boxplots, mean ± std table and paired tests."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from app_helpers import app_test
from target_fixtures import make_run, make_target

from mujo import jobs
from mujo.store import Store
from mujo.train import sweep
from mujo.ui.state import StateKeys

PAGE = "pages/4_Fine_tuning.py"
JOB_LIMIT_S = 300  # the sweep's job: about 20 s of CPU (4 cells of 2 epochs); generous for 2 loaded cores


@pytest.fixture()
def no_shared_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registered datasets are absent (the test must not depend on ../shared/datasets)."""
    import mujo.datasets as datasets  # noqa: PLC0415

    monkeypatch.setattr(datasets, "describe_targets", lambda: [])


def _values(array: Any) -> np.ndarray:
    """A plotly figure's data array: a list, or plotly's typed-array encoding {"dtype", "bdata"}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def _wait_for_job(name: str) -> jobs.JobStatus:
    deadline = time.monotonic() + JOB_LIMIT_S
    status = jobs.status(name)
    while status.state == jobs.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        status = jobs.status(name)
    return status


@pytest.mark.slow
@pytest.mark.timeout(JOB_LIMIT_S + 240)
def test_sweep_started_on_the_page_runs_to_boxplots(tmp_path: Path, app_env: dict[str, Path], no_shared_datasets
                                                    ) -> None:
    models = app_env["home"] / "models"
    ckpt = make_run(models / "wrist", sites=("RWrist",))  # fits the target: the defaults choose it
    target = make_target(tmp_path / "tiny-gym")
    at = app_test(PAGE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(target)).run()
    assert at.multiselect(key=StateKeys.FT_CHECKPOINTS).value == [str(ckpt)]
    assert at.multiselect(key=StateKeys.FT_SCENARIOS).value == ["baseline", "finetuned"]
    at.multiselect(key=StateKeys.FT_FRACTIONS).set_value([100])
    at.number_input(key=StateKeys.FT_REPEATS).set_value(2)
    at.number_input(key=StateKeys.FT_EPOCHS).set_value(2)
    at.number_input(key=StateKeys.FT_PATIENCE).set_value(2).run()
    assert not at.exception and not at.error
    at.button(key=StateKeys.FT_START).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (sweep_id,) = at.session_state[StateKeys.FT_RESULT_SWEEPS]

    job = _wait_for_job(f"sweep-{sweep_id}")  # the real background job the button started
    log = jobs.log_path(job.job_id).read_text(errors="replace")  # the registry keeps a log per job
    assert job.state == jobs.DONE, f"{job}\n{log[-3000:]}"
    status = sweep.sweep_status(sweep_id, Store())
    assert status["state"] == "done" and status["counts"]["done"] == status["total"] == 2 * 2, status

    at.session_state[StateKeys.FT_TAB] = "Sweeps"
    at.run()
    assert not at.exception
    assert any("4/4 done" in bar.proto.text for bar in at.get("progress"))
    at.session_state[StateKeys.FT_TAB] = "Results"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.multiselect(key=StateKeys.FT_RESULT_SWEEPS).value == [sweep_id]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    assert [t["name"] for t in fig["data"]] == ["Baseline", "MuJo (fine-tuned)"]
    for trace in fig["data"]:  # one macro F1 per repeat, each a real one
        y = _values(trace["y"])
        assert len(y) == 2 and ((y >= 0.0) & (y <= 1.0)).all(), trace
    frames = [d.value for d in at.dataframe]
    summary = next(f for f in frames if "100%" in f.columns)
    assert list(summary["model"]) == ["Baseline", "MuJo (fine-tuned)"]
    assert all(cell.endswith("(n=2)") for cell in summary["100%"])
    tests = next(f for f in frames if "wilcoxon_p" in f.columns)
    assert tests["n_pairs"].tolist() == [2]
