"""Curation page, feedback panel: pre-training with the curated NULL chapters as a background job (its command line
checked, not run) and the zero-shot comparison of NULL's embeddings (compare_null replaced by a fake that stores runs
the way the real one does; the real one is tested in tests/test_null_pretrain.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from app_helpers import app_test as page_test
from embedding_fixtures import make_checkpoint
from job_helpers import inline_jobs  # noqa: F401  (the fixture)
from target_fixtures import zeroshot_result

from mujo import jobs
from mujo.curation import feedback as nf
from mujo.curation import feedback_runs as fr
from mujo.store import Store, dataset_key
from mujo.ui.state import StateKeys

PAGE = "pages/6_Curation.py"
BASE_SETTINGS = {"preset": "small", "sites": ["LWrist", "RWrist"], "gyro": False, "seed": 3, "epochs": 5}



def app_test(page: str):
    """The Curation page with its feedback panel open (the panel is drawn only while open)."""
    at = page_test(page)
    at.session_state[StateKeys.CUR_FEEDBACK_OPEN] = True
    return at

def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _text(at) -> str:
    shown = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error]
    return re.sub(r"\\(.)", r"\1", " ".join(m.value for m in shown))


@pytest.fixture()
def env(app_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The app env with a MuJo demo model whose settings the feedback run inherits; jobs.start records its argv."""
    app_env["checkpoint"] = make_checkpoint(app_env["home"] / "models" / "demo", extra={"settings": BASE_SETTINGS})
    started = []
    monkeypatch.setattr(jobs, "start", lambda name, argv, **kw: started.append((name, argv)) or jobs.JobStatus(name))
    app_env["started"] = started  # type: ignore[assignment]
    return app_env


def _clips(env: dict[str, Path]) -> list[str]:
    from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415

    return FimadDataset(env["data"]).clips.index.astype(str).tolist()


def test_pretrain_needs_curated_null_chapters_then_starts_the_job(env: dict[str, Path]) -> None:
    at = app_test(PAGE).run()
    _ok(at)
    button = at.button(key=StateKeys.CUR_FB_PRETRAIN)
    assert button.disabled and "Label NULL chapters first" in _text(at)
    clips = _clips(env)
    Store().add_label_events(dataset_key(env["data"]), [{"clip_id": c, "label": "null"} for c in clips[:3]]
                             + [{"clip_id": clips[3], "label": "activity"}], annotator="Ada")
    at = app_test(PAGE).run()
    _ok(at)
    assert "**3** clips labelled NULL as a whole, 1 as an activity (4 of 8 clips labelled)" in _text(at)
    button = at.button(key=StateKeys.CUR_FB_PRETRAIN)
    assert not button.disabled and button.label == "Pre-train with the 3 curated NULL chapters"
    at.text_input(key=StateKeys.CUR_FB_ANCHOR).input("  the trainer   just talks ").run()
    at.button(key=StateKeys.CUR_FB_PRETRAIN).click().run()
    _ok(at)
    ((name, argv),) = env["started"]
    out = nf.feedback_out(env["checkpoint"])
    assert name == "pretrain-curated-null"
    assert argv[:4] == ["pretrain", str(env["data"]), "--out", str(out)]
    joined = " ".join(argv)
    for part in ("--preset small", "--sites LWrist RWrist", "--no-gyro", "--seed 3", "--epochs 5",
                 "--null-labels curated", "--overwrite"):
        assert part in joined, part
    assert argv[argv.index("--null-anchor") + 1] == "the trainer just talks"


def test_a_proxy_model_is_explained(app_env: dict[str, Path]) -> None:
    make_checkpoint(app_env["home"] / "models" / "demo", modalities=("imu",),
                    extra={"method": "simclr", "settings": {"method": "simclr"}})
    at = app_test(PAGE).run()
    _ok(at)
    assert "has no text encoder" in _text(at)
    with pytest.raises(KeyError):
        at.button(key=StateKeys.CUR_FB_PRETRAIN)


def test_compare_null_rows_of_the_fed_back_model(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                 inline_jobs) -> None:
    from mujo.eval.zeroshot import ZeroShotSettings  # noqa: PLC0415

    out = nf.feedback_out(env["checkpoint"])
    make_checkpoint(out, extra={"settings": BASE_SETTINGS, "null_embedding": [1.0] + [0.0] * 31,
                                "null_centroid": [0.0, 1.0] + [0.0] * 30})
    asked = []

    def fake(root, checkpoints, *, store=None, progress=None):
        asked.append([str(c) for c in checkpoints])
        for i, (ckpt, how) in enumerate([(checkpoints[0], "mean")] + [(checkpoints[1], h) for h in nf.NULL_ROWS]):
            progress(i / 4, "embedding")
            s = ZeroShotSettings(dataset=nf.target_spec(root), checkpoint=ckpt, null=True, null_embedding=how,
                                 split=nf.SPLIT, part=nf.PART)
            r = zeroshot_result(["squat", "<b>lunge</b>", "NULL"], top1=0.2 + 0.1 * i, seed=i)
            Store(store).save_run("zeroshot", results=r.results(), dataset=s.dataset, checkpoint=ckpt,
                                  config=s.to_dict() | {"resolved_split": nf.SPLIT, "method": "mujo"})
        return pd.DataFrame({"run": [1, 2, 3, 4]})

    monkeypatch.setattr(fr, "compare_null", fake)
    at = app_test(PAGE).run()
    _ok(at)
    assert "Fed-back model" in _text(at)
    at.button(key=StateKeys.CUR_FB_COMPARE).click().run()
    job_id = at.session_state[StateKeys.CUR_FB_TASK]  # a registry job (`mujo null-compare`), in a thread here
    inline_jobs[job_id].join(10)
    assert jobs.get(job_id).state == jobs.DONE, jobs.get(job_id)
    at.run()
    _ok(at)
    assert asked == [[str(env["checkpoint"]), str(out)]]
    table = next(d.value for d in at.dataframe if "null_f1" in d.value.columns)
    assert list(zip(table["model"], table["null_row"])) == [
        ("demo", "mean of the classes (paper)"), ("demo-curated-null", "mean of the classes (paper)"),
        ("demo-curated-null", "learned NULL"), ("demo-curated-null", "NULL windows' centroid")]
    assert table["null_f1"].between(0, 1).all()
    assert any(link.proto.label.startswith("Per-class F1 and confusion") for link in at.page_link)


def test_an_interrupted_feedback_run_can_be_resumed(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    clips = _clips(env)
    Store().add_label_events(dataset_key(env["data"]), [{"clip_id": clips[0], "label": "null"}], annotator="Ada")
    (nf.feedback_out(env["checkpoint"]) / "last").mkdir(parents=True)
    stopped = jobs.JobStatus("pretrain-curated-null", state=jobs.FAILED,
                             error="interrupted; run the same command with --resume to continue")
    monkeypatch.setattr(jobs, "status", lambda name: stopped)
    at = app_test(PAGE).run()
    _ok(at)
    assert "stopped: interrupted" in _text(at)
    at.button(key=StateKeys.CUR_FB_RESUME).click().run()
    ((_, argv),) = env["started"]
    assert "--resume" in argv and "--overwrite" not in argv
