"""The first start for real: on an empty MUJO_HOME, Home starts the demo build (`mujo demo`, the background job, nothing
replaced) at its "tiny" size (MUJO_DEMO_SIZE), and once it is done shows the dataset and the demo model ready, with
the embeddings the other pages read."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from app_helpers import REPO, app_test

from mujo import jobs
from mujo import models_registry as registry
from mujo.checkpoint import CONFIG, RETRIEVAL, WEIGHTS
from mujo.demo.presets import DEMO_SIZE_ENV, DEMO_SIZES, demo_size
from mujo.demo.status import DEMO_JOB
from mujo.fimad.layout import CLIPS, MANIFEST
from mujo.paths import demo_dataset_dir

BUILD_LIMIT_S = 600  # about 65 s of CPU (measured); a loaded 2-core machine took 5.5 min


def test_demo_size_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEMO_SIZE_ENV, raising=False)
    assert demo_size() == DEMO_SIZES["demo"] and demo_size().epochs == 40  # the default is the full demo
    monkeypatch.setenv(DEMO_SIZE_ENV, "tiny")
    assert demo_size().synth.n_videos < DEMO_SIZES["demo"].synth.n_videos and demo_size().epochs == 2
    monkeypatch.setenv(DEMO_SIZE_ENV, "huge")
    with pytest.raises(ValueError, match="MUJO_DEMO_SIZE='huge' is not a demo size; choose one of demo, tiny"):
        demo_size()


@pytest.mark.slow
@pytest.mark.timeout(BUILD_LIMIT_S + 240)
def test_first_start_builds_the_demo_and_home_shows_it_ready(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("MUJO_DATA", raising=False)
    monkeypatch.setenv("MUJO_HOME", str(home))
    monkeypatch.setenv(DEMO_SIZE_ENV, "tiny")
    monkeypatch.chdir(REPO)
    at = app_test().run()
    assert not at.exception
    assert any("First start" in i.value for i in at.info)
    job = jobs.status(DEMO_JOB)
    assert job.state == jobs.RUNNING and job.pid  # Home started the real background job
    deadline = time.monotonic() + BUILD_LIMIT_S
    while job.state == jobs.RUNNING and time.monotonic() < deadline:
        time.sleep(1.0)
        job = jobs.status(DEMO_JOB)
    log = jobs.log_path(job.job_id).read_text(errors="replace")  # the registry keeps a log per job
    assert job.state == jobs.DONE, f"{job}\n{log[-3000:]}"

    data, model = demo_dataset_dir(), home / "models" / registry.DEMO_MODEL
    assert (data / MANIFEST).is_file() and (data / CLIPS).is_file()
    assert all((model / f).is_file() for f in (WEIGHTS, CONFIG, RETRIEVAL))
    assert registry.find_store(model, data) is not None  # the embeddings of the demo dataset by this model

    at = app_test().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not any("First start" in i.value or "being pre-trained" in i.value for i in at.info)
    clips = next(m.value for m in at.metric if m.label == "Clips")
    assert int(clips) > 0
    text = re.sub(r"\\(.)", r"\1", "\n".join(m.value for m in at.markdown))  # Markdown escapes off
    assert "**demo**" in text and "**Joint space** 128-d" in text and "| Retrieval |" in text
    at = app_test("pages/2_Embedding_Space.py").run()  # the embeddings serve the page
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart")
