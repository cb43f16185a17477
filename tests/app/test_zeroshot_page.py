"""Zero-shot page: guards, a run (zeroshot replaced by a fake that stores a result) with its top-k table, per-class F1
and confusion matrix (class names escaped), prompt template errors, and comparing earlier runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from app_helpers import app_test
from embedding_fixtures import make_checkpoint
from job_helpers import inline_jobs
from target_fixtures import CLASSES, TRICKY_CLASS, make_target, save_zeroshot, zeroshot_result

from mujo import jobs
from mujo.store import Store
from mujo.ui.state import StateKeys
from mujo.ui.zeroshot import OTHER_FOLDER

PAGE = "pages/5_Zero_shot.py"


@pytest.fixture(autouse=True)
def _jobs_in_threads(request: pytest.FixtureRequest) -> None:
    """The page's zero-shot jobs run in threads, so the fake zeroshot applies; the real run runs in a process."""
    if "real_run" not in request.node.name:
        request.getfixturevalue(inline_jobs.__name__)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


@pytest.fixture()
def env(tmp_path: Path, app_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A text+pose+IMU checkpoint (RWrist, LWrist) as the demo model and a tiny dataset typed as a folder."""
    import mujo.datasets as datasets  # noqa: PLC0415

    monkeypatch.setattr(datasets, "describe_targets", lambda: [])
    app_env["checkpoint"] = make_checkpoint(app_env["home"] / "models" / "demo")
    app_env["target"] = make_target(tmp_path / "tiny")
    return app_env


def _open(env: dict[str, Path]):
    at = app_test(PAGE).run()
    at.selectbox(key=StateKeys.ZS_DATASET).set_value(OTHER_FOLDER).run()
    at.text_input(key=StateKeys.ZS_FOLDER).input(str(env["target"])).run()
    _ok(at)
    return at


def test_needs_a_checkpoint_with_a_text_encoder(app_env: dict[str, Path]) -> None:
    make_checkpoint(app_env["home"] / "models" / "demo", modalities=("pose", "imu"))
    at = app_test(PAGE).run()
    _ok(at)
    assert any("text encoder" in _unescape(i.value) for i in at.info)
    assert [link.proto.page for link in at.page_link if link.proto.label == "Go to Home"] == ["Home"]


def test_run_shows_topk_f1_and_confusion(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import mujo.eval.zeroshot as zs  # noqa: PLC0415

    seen = []

    def fake(settings, *, store=None, progress=None, **kw):
        seen.append(settings)
        progress(0.5, "embedding")
        return_value = zeroshot_result(list(CLASSES) + ["NULL"] if settings.null else list(CLASSES))
        save_zeroshot(store, settings, return_value)
        return return_value

    monkeypatch.setattr(zs, "zeroshot", fake)
    at = _open(env)
    assert at.radio(key=StateKeys.ZS_INPUTS).options == ["IMU"]  # the tiny dataset has no pose
    at.toggle(key=StateKeys.ZS_NULL).set_value(True)
    at.text_area(key=StateKeys.ZS_TEMPLATES).input("a person {}\n\nsomeone doing {}").run()
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    assert len(seen) == 1
    s = seen[0]
    assert s.dataset == str(env["target"]) and s.inputs == "imu" and s.null
    assert s.templates == ("a person {}", "someone doing {}") and s.class_text is None
    assert Path(s.checkpoint) == env["checkpoint"].resolve() or Path(s.checkpoint) == env["checkpoint"]
    run_id = at.session_state[StateKeys.ZS_SELECTED_RUN]
    assert [int(run_id)] == Store().runs("zeroshot")["id"].tolist()  # the run just stored is the one shown
    assert [m.label for m in at.metric] == ["Top-1", "Top-3", "Top-5", "Macro F1"]
    topk = next(d.value for d in at.dataframe if "chance" in d.value.columns)
    assert topk["k"].tolist() == [1, 3, 5] and topk["chance"].iloc[0] == pytest.approx(1 / 3)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(specs) == 2  # per-class F1, confusion matrix
    bars, conf = json.loads(specs[0])["data"][0], json.loads(specs[1])["data"][0]
    escaped = "&lt;b&gt;lunge&lt;/b&gt;"  # the HTML-like class name, escaped for Plotly
    assert bars["y"] == ["squat", escaped, "NULL"] and conf["x"] == conf["y"] == ["squat", escaped, "NULL"]
    assert all(TRICKY_CLASS not in json.dumps(json.loads(s)) for s in specs)
    assert len(conf["z"]) == 3
    runs = next(d.value for d in at.dataframe if "top1" in d.value.columns)
    assert runs["run_id"].tolist() == [run_id]


def test_bad_template_disables_run(env: dict[str, Path]) -> None:
    at = _open(env)
    at.text_area(key=StateKeys.ZS_TEMPLATES).input("no slot here").run()
    _ok(at)
    assert any("exactly one {}" in _unescape(w.value) for w in at.warning)
    assert at.button(key=StateKeys.ZS_RUN).disabled


def _fake_run(monkeypatch: pytest.MonkeyPatch) -> list:
    import mujo.eval.zeroshot as zs  # noqa: PLC0415

    seen = []

    def fake(settings, *, store=None, progress=None, **kw):
        seen.append(settings)
        result = zeroshot_result(list(CLASSES))
        save_zeroshot(store, settings, result)
        return result

    monkeypatch.setattr(zs, "zeroshot", fake)
    return seen


def test_class_phrases_are_editable(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fake_run(monkeypatch)
    at = _open(env)
    table = next(d.value for d in at.dataframe if "phrase" in d.value.columns)
    # class names as plain cells (no Markdown), phrases from the dataset's prompts or the readable name
    assert table["class"].tolist() == list(CLASSES)
    assert table["phrase"].tolist() == ["doing squats", TRICKY_CLASS]
    at.session_state[StateKeys.ZS_PHRASES] = {"edited_rows": {1: {"phrase": "doing lunges"}}, "added_rows": [],
                                              "deleted_rows": []}
    at.run()
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    assert seen and seen[0].class_text == {TRICKY_CLASS: "doing lunges"}


def test_earlier_runs_compare(env: dict[str, Path]) -> None:
    from mujo.eval.zeroshot import ZeroShotSettings  # noqa: PLC0415

    store = Store()
    ids = []
    for i, inputs in enumerate(("imu", "pose")):
        settings = ZeroShotSettings(dataset=str(env["target"]), checkpoint=str(env["checkpoint"]), inputs=inputs)
        ids.append(save_zeroshot(store, settings, zeroshot_result(list(CLASSES), top1=0.4 + 0.2 * i, seed=i)))
    at = _open(env)
    runs = next(d.value for d in at.dataframe if "top1" in d.value.columns)
    assert runs["run_id"].tolist() == ids[::-1]  # newest first
    at.session_state[StateKeys.ZS_RUNS_TABLE] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    _ok(at)
    assert any("2 runs compared" in s.value for s in at.subheader)
    compared = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert sorted(compared["run"]) == sorted(ids)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"]) == 2
    # one row selected: that run in full
    at.session_state[StateKeys.ZS_RUNS_TABLE] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    _ok(at)
    assert any(s.value == f"Run {ids[0]}" for s in at.subheader)


def test_real_run_in_the_background(tmp_path: Path, app_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real mujo.eval.zeroshot on the tiny dataset with a tiny text+IMU checkpoint for its one site."""
    import time  # noqa: PLC0415

    import mujo.datasets as datasets  # noqa: PLC0415
    from mujo.models import create_model  # noqa: PLC0415
    from mujo.models.checkpoint_io import save_checkpoint  # noqa: PLC0415

    monkeypatch.setattr(datasets, "describe_targets", lambda: [])
    model = create_model("small", modalities=("text", "imu"), imu_sites=("RWrist",), imu_channels=("acc",),
                         embed_dim=32)
    save_checkpoint(app_env["home"] / "models" / "demo", model, {"method": "mujo"})
    env = {**app_env, "target": make_target(tmp_path / "tiny")}
    at = _open(env)
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    job_id = at.session_state[StateKeys.ZS_TASK]  # a registry job: `mujo zeroshot` in its own process
    assert jobs.get(job_id).argv[0] == "zeroshot"
    deadline = time.monotonic() + 120
    while jobs.get(job_id).active and time.monotonic() < deadline:
        time.sleep(0.25)
    assert jobs.get(job_id).state == jobs.DONE, jobs.log_path(job_id).read_text()[-3000:]
    at.run()  # what the page's fragment does once the job has ended
    _ok(at)
    run_id = at.session_state[StateKeys.ZS_SELECTED_RUN]
    assert [int(run_id)] == Store().runs("zeroshot")["id"].tolist()  # the run just stored is the one shown
    res = Store().results(run_id)
    assert res["classes"] == list(CLASSES) and res["n_windows"] > 0
    assert len(at.get("plotly_chart")) == 2


def _unit(dim: int, seed: int) -> list[float]:
    import numpy as np  # noqa: PLC0415

    v = np.random.default_rng(seed).normal(size=dim)
    return (v / np.linalg.norm(v)).tolist()


def test_null_embedding_offers_what_the_checkpoint_learned(env: dict[str, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fake_run(monkeypatch)
    at = _open(env)
    at.toggle(key=StateKeys.ZS_NULL).set_value(True).run()
    _ok(at)
    assert at.radio(key=StateKeys.ZS_NULL_EMBEDDING).options == ["mean of the classes"]  # plain checkpoint
    assert any("Curation page" in c.value for c in at.caption)
    make_checkpoint(env["checkpoint"], extra={"null_embedding": _unit(32, 1), "null_centroid": _unit(32, 2)})
    at = _open(env)
    at.toggle(key=StateKeys.ZS_NULL).set_value(True).run()
    radio = at.radio(key=StateKeys.ZS_NULL_EMBEDDING)
    assert radio.options == ["mean of the classes", "learned NULL", "NULL windows' centroid"]
    assert radio.value == "learned"  # what a checkpoint with a NULL anchor is for
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    assert seen[-1].null and seen[-1].null_embedding == "learned"
    runs = next(d.value for d in at.dataframe if "top1" in d.value.columns)
    assert runs["null_embedding"].tolist() == ["learned"]
    radio.set_value("mean").run()
    at.button(key=StateKeys.ZS_RUN).click().run()
    assert seen[-1].null_embedding == "mean"


def test_the_open_fimad_dataset_is_offered(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from mujo.curation.feedback import target_spec  # noqa: PLC0415
    from mujo.ui.zeroshot import CURRENT_FIMAD  # noqa: PLC0415

    seen = _fake_run(monkeypatch)
    at = app_test(PAGE).run()
    _ok(at)
    box = at.selectbox(key=StateKeys.ZS_DATASET)
    assert box.options[0].startswith("The open FiMAD dataset") and box.value == CURRENT_FIMAD
    at.radio(key=StateKeys.ZS_PART).set_value("val").run()
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    assert seen[-1].dataset == target_spec(env["data"]) and seen[-1].part == "val"


def test_a_run_is_a_job_that_shows_progress_and_a_second_click_joins_it(env: dict[str, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import threading  # noqa: PLC0415

    import mujo.eval.zeroshot as zs  # noqa: PLC0415

    release, seen = threading.Event(), []

    def slow(settings, *, store=None, progress=None, **kw):
        seen.append(settings)
        progress(0.4, "embedding the windows")
        release.wait(30)
        result = zeroshot_result(list(CLASSES))
        save_zeroshot(store, settings, result)
        return result

    monkeypatch.setattr(zs, "zeroshot", slow)
    at = _open(env)
    at.button(key=StateKeys.ZS_RUN).click().run()
    _ok(at)
    first = at.session_state[StateKeys.ZS_TASK]
    for _ in range(50):  # the page's fragment refreshes the job's progress
        if seen and "embedding the windows" in jobs.get(first).message:
            break
        threading.Event().wait(0.1)
    at.run()
    assert any("shot" in str(p.proto) and "40% embedding the windows" in str(p.proto) for p in at.get("progress"))
    at.button(key=StateKeys.ZS_RUN).click().run()  # the same settings again: the running job, not a second one
    assert at.session_state[StateKeys.ZS_TASK] == first and len(seen) == 1
    (job,) = jobs.list_jobs(active=True)
    assert (job.id, job.kind, job.owner) == (first, "zeroshot", jobs.get(first).owner) and job.owner
    release.set()
    for _ in range(100):
        if not jobs.get(first).active:
            break
        threading.Event().wait(0.1)
    at.run()
    _ok(at)
    assert at.session_state[StateKeys.ZS_TASK] is None
    assert at.session_state[StateKeys.ZS_SELECTED_RUN] == jobs.get(first).result["run_id"]
    assert len(at.get("plotly_chart")) == 2
