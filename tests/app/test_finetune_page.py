"""Fine-tuning page: results of a seeded sweep (boxplot, mean ± std, paired tests, failed cells, CSV), starting a
sweep (job start replaced), the sweeps list with Cancel, the checkpoint fit table and its pre-train button."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from app_helpers import app_test
from embedding_fixtures import make_checkpoint
from target_fixtures import make_run, make_target, seed_sweep

from mujo import jobs
from mujo.store import Store
from mujo.ui.state import StateKeys

PAGE = "pages/4_Fine_tuning.py"


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _frames(at) -> list:
    return [d.value for d in at.dataframe]


@pytest.fixture()
def no_shared_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registered datasets are absent (tests must not depend on ../shared/datasets)."""
    import mujo.datasets as datasets  # noqa: PLC0415

    monkeypatch.setattr(datasets, "describe_targets", lambda: [
        {"name": "motionsense", "description": "MotionSense", "root": "/nowhere/MotionSense", "exists": False}])


def test_results_tab_shows_boxplot_tables_tests_and_csv(app_env: dict[str, Path]) -> None:
    sweep_id = seed_sweep(Store(), repeats=6)
    at = app_test(PAGE)
    at.session_state[StateKeys.FT_TAB] = "Results"
    at.run()
    _ok(at)
    assert at.multiselect(key=StateKeys.FT_RESULT_SWEEPS).value == [sweep_id]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    assert [t["name"] for t in fig["data"]] == ["Baseline", "MuJo (fine-tuned)"]
    assert fig["layout"]["xaxis"]["categoryarray"] == ["2%", "100%"]
    frames = _frames(at)
    failed = next(f for f in frames if "error" in f.columns)
    assert "sites" in failed["error"].iloc[0]
    summary = next(f for f in frames if "100%" in f.columns)
    assert list(summary["model"]) == ["Baseline", "MuJo (fine-tuned)"]
    assert re.fullmatch(r"\.\d{3} ± \.\d{3} \(n=6\)", summary["2%"].iloc[0])
    tests = next(f for f in frames if "wilcoxon_p" in f.columns)
    assert len(tests) == 2 and tests["n_pairs"].tolist() == [6, 6]
    assert (tests["mean_diff"] > 0.05).all() and tests["significant"].all()
    assert len(at.get("download_button")) == 1
    warned = next(f for f in frames if "warning" in f.columns)  # too few windows for 2 % is reported, per message
    assert warned["warning"].tolist() == ["class 'squat': 2% of 10 windows is 0.2; took 1"]
    assert warned["runs"].tolist() == [6 * 2]


def test_results_tab_without_runs(app_env: dict[str, Path]) -> None:
    at = app_test(PAGE)
    at.session_state[StateKeys.FT_TAB] = "Results"
    at.run()
    _ok(at)
    assert any("No finished fine-tuning run" in c.value for c in at.caption)


def test_start_sweep_creates_it_and_starts_its_job(tmp_path: Path, app_env: dict[str, Path], no_shared_datasets,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import mujo.train.sweep as sweep  # noqa: PLC0415

    started: list[int] = []
    monkeypatch.setattr(sweep, "start_sweep_job", lambda sid, **kw: started.append(sid) or jobs.JobStatus(
        name=f"sweep-{sid}", state=jobs.RUNNING))
    target = make_target(tmp_path / "tiny")
    at = app_test(PAGE).run()
    _ok(at)
    assert at.info and at.page_link  # no registered dataset: the guard explains and offers the folder field
    at.text_input(key=StateKeys.FT_FOLDER).input(str(target)).run()
    at.multiselect(key=StateKeys.FT_FRACTIONS).set_value([10, 100])
    at.number_input(key=StateKeys.FT_REPEATS).set_value(2)
    at.multiselect(key=StateKeys.FT_NULL).set_value(["without", "with"]).run()
    _ok(at)
    assert at.multiselect(key=StateKeys.FT_SCENARIOS).options == ["baseline (random init)"]  # no checkpoint
    fit = next(f for f in _frames(at) if "fit" in f.columns)
    assert "2 classes; sites RWrist; NULL" in fit["fit"].iloc[0]
    assert not at.button(key=StateKeys.FT_START).disabled
    at.button(key=StateKeys.FT_START).click().run()
    _ok(at)
    assert len(started) == 1
    status = sweep.sweep_status(started[0], Store())
    assert status["total"] == 2 * 2 * 2  # fractions x repeats x NULL, baseline only
    assert status["spec"].fractions == (0.1, 1.0) and status["spec"].null == (False, True)
    assert at.session_state[StateKeys.FT_TAB] == "Sweeps"
    assert any(f"Sweep {started[0]} started" in _unescape(s.value) for s in at.success)
    assert any(f"Sweep {started[0]}" in _unescape(m.value) for m in at.markdown)
    assert at.get("progress")


def test_sweeps_list_cancel(app_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    sweep_id = seed_sweep(store, repeats=1, pending=3)
    real = jobs.status
    monkeypatch.setattr(jobs, "status", lambda name: jobs.JobStatus(name, state=jobs.RUNNING, pid=1)
                        if name == f"sweep-{sweep_id}" else real(name))
    at = app_test(PAGE)
    at.session_state[StateKeys.FT_TAB] = "Sweeps"
    at.run()
    _ok(at)
    bar = at.get("progress")[0]
    assert "4/8 done" in bar.proto.text and "1 failed" in bar.proto.text
    at.button(key=f"{StateKeys.FT_CANCEL}.{sweep_id}").click().run()
    _ok(at)
    assert store.get_sweep(sweep_id)["counts"]["cancelled"] == 3
    assert store.cancel_requested(sweep_id)
    # the job is gone: the sweep can be resumed
    monkeypatch.setattr(jobs, "status", real)
    at.run()
    assert at.button(key=f"{StateKeys.FT_RESUME}.{sweep_id}")


def test_fit_table_and_pretrain_button(tmp_path: Path, app_env: dict[str, Path], no_shared_datasets,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = make_checkpoint(app_env["home"] / "models" / "two-sites")  # RWrist + LWrist
    target = make_target(tmp_path / "tiny")  # RWrist only
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(jobs, "start", lambda name, argv, **kw: calls.append((name, argv)) or jobs.JobStatus(name))
    at = app_test(PAGE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(target)).run()
    _ok(at)
    # the only checkpoint does not fit: the defaults leave it out, say so and keep the baseline
    assert at.multiselect(key=StateKeys.FT_CHECKPOINTS).value == []
    assert at.multiselect(key=StateKeys.FT_SCENARIOS).value == ["baseline"]
    assert any("No pre-trained checkpoint fits" in _unescape(i.value) for i in at.info)
    assert at.button(key=f"{StateKeys.FT_PRETRAIN}.RWrist") and not at.button(key=StateKeys.FT_START).disabled
    at.multiselect(key=StateKeys.FT_CHECKPOINTS).set_value([str(ckpt)]).run()  # chosen deliberately
    _ok(at)
    fit = next(f for f in _frames(at) if "fit" in f.columns)
    row = fit[fit["checkpoint"] == "two-sites"].iloc[0]
    assert "sites" in row["fit"] and "RWrist" in row["fit"]
    at.button(key=f"{StateKeys.FT_PRETRAIN}.RWrist").click().run()
    _ok(at)
    assert len(calls) == 1
    name, argv = calls[0]
    assert name == "pretrain-RWrist"
    assert argv[:2] == ["pretrain", str(app_env["data"])] and argv[argv.index("--sites") + 1] == "RWrist"
    from mujo.cli import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(argv)  # the flags exist
    assert args.out.endswith("small-RWrist") and args.preset == "small" and args.gyro is False


def test_form_keeps_its_choices_on_other_tabs(tmp_path: Path, app_env: dict[str, Path], no_shared_datasets) -> None:
    at = app_test(PAGE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(make_target(tmp_path / "tiny"))).run()
    at.number_input(key=StateKeys.FT_REPEATS).set_value(3)
    at.multiselect(key=StateKeys.FT_FRACTIONS).set_value([1, 5]).run()
    at.session_state[StateKeys.FT_TAB] = "Results"
    at.run()
    at.session_state[StateKeys.FT_TAB] = "New sweep"
    at.run()
    _ok(at)
    assert at.number_input(key=StateKeys.FT_REPEATS).value == 3
    assert at.multiselect(key=StateKeys.FT_FRACTIONS).value == [1, 5]


def test_named_split_reaches_the_sweep(tmp_path: Path, app_env: dict[str, Path], no_shared_datasets,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset's fixed split (UTD-MHAD's odd-even) can be chosen for every repeat; the default is the random ones."""
    import mujo.train.sweep as sweep  # noqa: PLC0415
    from mujo.datasets.base import FixedSplit  # noqa: PLC0415

    started: list[int] = []
    monkeypatch.setattr(sweep, "start_sweep_job", lambda sid, **kw: started.append(sid) or jobs.JobStatus(
        name=f"sweep-{sid}", state=jobs.RUNNING))
    target = make_target(tmp_path / "tiny", splits=[FixedSplit("odd-even", "subject", ("s0",), ("s1",), ("s2",))])
    at = app_test(PAGE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(target)).run()
    _ok(at)
    assert at.selectbox(key=StateKeys.FT_SPLIT).options[1:] == ["odd-even"]
    at.selectbox(key=StateKeys.FT_SPLIT).set_value("odd-even").run()
    at.button(key=StateKeys.FT_START).click().run()
    _ok(at)
    status = sweep.sweep_status(started[0], Store())
    assert status["spec"].split == "odd-even"


def test_defaults_choose_checkpoints_that_fit_and_list_one_model_per_run(
        tmp_path: Path, app_env: dict[str, Path], no_shared_datasets, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo model (other sites) is not chosen for a wrist dataset; a pre-training run (root, best/, last/) is
    one model; for a hip dataset nothing fits, so the defaults keep the baseline alone and offer the pre-training;
    a choice the user makes stays when the datasets change."""
    import mujo.train.sweep as sweep  # noqa: PLC0415

    started: list[int] = []
    monkeypatch.setattr(sweep, "start_sweep_job", lambda sid, **kw: started.append(sid) or jobs.JobStatus(
        name=f"sweep-{sid}", state=jobs.RUNNING))
    models = app_env["home"] / "models"
    demo = make_checkpoint(models / "demo")  # the model in use, for RWrist + LWrist
    wrist = make_run(models / "rwrist", sites=("RWrist",))
    wrist_data, hip_data = make_target(tmp_path / "wrist"), make_target(tmp_path / "hip", placements={"hip": "RHip"})
    at = app_test(PAGE).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(wrist_data)).run()
    _ok(at)
    ckpts = at.multiselect(key=StateKeys.FT_CHECKPOINTS)
    assert ckpts.options == ["demo", "rwrist"]  # rwrist/best and rwrist/last are the same run
    assert ckpts.value == [str(wrist)] and at.multiselect(key=StateKeys.FT_SCENARIOS).value == ["baseline",
                                                                                                  "finetuned"]
    assert not any("No pre-trained checkpoint fits" in _unescape(i.value) for i in at.info)
    # another dataset, the choice untouched: the defaults follow it
    at.text_input(key=StateKeys.FT_FOLDER).input(str(hip_data)).run()
    _ok(at)
    assert at.multiselect(key=StateKeys.FT_CHECKPOINTS).value == []
    assert at.multiselect(key=StateKeys.FT_SCENARIOS).value == ["baseline"]
    info = next(_unescape(i.value) for i in at.info if "No pre-trained checkpoint fits" in _unescape(i.value))
    assert str(hip_data) in info
    assert at.button(key=f"{StateKeys.FT_PRETRAIN}.RHip")
    at.button(key=StateKeys.FT_START).click().run()
    _ok(at)
    status = sweep.sweep_status(started[0], Store())
    assert status["counts"]["failed"] == 0 and status["counts"]["pending"] == status["total"] == 2 * 5
    # the user's own choice is kept across a change of dataset
    at.session_state[StateKeys.FT_TAB] = "New sweep"
    at.text_input(key=StateKeys.FT_FOLDER).input(str(wrist_data)).run()
    at.multiselect(key=StateKeys.FT_CHECKPOINTS).set_value([str(demo), str(wrist)]).run()
    at.text_input(key=StateKeys.FT_FOLDER).input(str(hip_data)).run()
    _ok(at)
    assert at.multiselect(key=StateKeys.FT_CHECKPOINTS).value == [str(demo), str(wrist)]
