"""Home's model panel: the loaded checkpoint described, choosing another, the state while the demo model trains."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from app_helpers import REPO, app_test
from embedding_fixtures import make_checkpoint, model_env

from mujo import models_registry as registry
from mujo.ui.state import StateKeys


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _markdown(at) -> str:
    return "\n".join(_unescape(m.value) for m in at.markdown)


def _retrieval_rows(at) -> dict[str, tuple[str, float, float]]:
    """The model panel's retrieval table: {"Pose → IMU": (metric, percent, chance percent)}."""
    out = {}
    for line in _markdown(at).splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and "→" in cells[0]:
            out[cells[0].replace("\u00a0", " ")] = (cells[1], float(cells[2]), float(cells[3]))
    return out


def _save_metrics(env) -> None:
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415
    from mujo.eval.retrieval import retrieval_eval, save_retrieval  # noqa: PLC0415

    store = EmbeddingStore.open(env["store"])
    save_retrieval(retrieval_eval(store, "val"), store, "val", checkpoint_dir=env["checkpoint"])


def test_panel_describes_the_demo_model(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    _save_metrics(env)
    at = app_test().run()
    assert not at.exception, [e.value for e in at.exception]
    md = _markdown(at)
    assert "**Joint space** 32-d" in md and "**Modalities** Text, Pose, IMU" in md
    info = registry.read_checkpoint(env["checkpoint"])
    assert f"**Parameters** {info.total_parameters / 1e6:.2f} M" in md
    assert "**IMU sites** RWrist, LWrist (acc)" in md
    rows = _retrieval_rows(at)
    assert set(rows) == {"Pose → IMU", "IMU → Pose", "Text → IMU"}
    metric, value, chance = rows["Pose → IMU"]
    assert metric == "R@1" and value > 50 > chance  # the fixture's pose and IMU vectors nearly coincide
    assert rows["Text → IMU"][0] == "R@10"
    assert str(env["checkpoint"].resolve()) in [t.value for t in at.text]
    captions = " ".join(_unescape(c.value) for c in at.caption)
    assert "12 epochs (best 9)" in captions
    assert "test-fimad, val split" in captions
    assert any("Retrieval" in p.proto.page for p in at.page_link)


def test_parameter_count_matches_the_model(tmp_path: Path) -> None:
    ckpt = make_checkpoint(tmp_path / "ck")
    from mujo.models.checkpoint_io import load_checkpoint  # noqa: PLC0415

    model, _ = load_checkpoint(ckpt)
    info = registry.read_checkpoint(ckpt)
    assert info.total_parameters == sum(p.numel() for p in model.state_dict().values())
    assert info.modalities == ["text", "pose", "imu"] and info.preset == "small"


def test_no_model_yet(tmp_path: Path, monkeypatch) -> None:
    model_env(tmp_path, monkeypatch, checkpoint=False)
    at = app_test().run()
    assert not at.exception
    assert any("No model trained yet" in i.value for i in at.info)


def test_demo_model_in_training_is_said(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch, checkpoint=False)
    make_checkpoint(env["home"] / "models" / "demo" / "best")  # the best epoch so far: not used while training
    import mujo.ui.dataset as uds  # noqa: PLC0415
    from mujo import jobs  # noqa: PLC0415

    monkeypatch.setattr(uds, "demo_status", lambda: jobs.JobStatus(name="demo", state=jobs.RUNNING, fraction=0.7))
    at = app_test().run()
    assert not at.exception
    assert any("being pre-trained" in i.value for i in at.info)
    at = app_test("pages/3_Retrieval.py").run()  # the model pages say so too
    assert any("being trained (70%)" in i.value for i in at.info)


def test_choosing_another_checkpoint(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    other = make_checkpoint(env["home"] / "models" / "mine" / "best", modalities=("pose", "imu"), embed_dim=16)
    make_checkpoint(env["home"] / "models" / "mine" / "last")  # resume state: not offered
    assert registry.list_checkpoints() == [env["checkpoint"], other]
    at = app_test().run()
    assert not at.get("selectbox") or StateKeys.MODEL_CHOICE not in [b.key for b in at.selectbox]  # closed: unlisted
    at.session_state[StateKeys.HOME_MODELS_OPEN] = True
    at.run()
    assert at.selectbox(key=StateKeys.MODEL_CHOICE).options == ["demo", "mine/best"]
    at.selectbox(key=StateKeys.MODEL_CHOICE).set_value(str(other)).run()
    at.button(key="home.model_use").click().run()
    assert not at.exception
    assert "**Joint space** 16-d" in _markdown(at)
    saved = json.loads((env["home"] / "settings.json").read_text())
    assert saved["model_dir"] == str(other.resolve())
    # the dataset choice keeps the model choice, and back to the demo model
    at.button(key="home.model_demo").click().run()
    assert "**Joint space** 32-d" in _markdown(at)
    assert "model_dir" not in json.loads((env["home"] / "settings.json").read_text())


def test_unreadable_chosen_checkpoint_warns(tmp_path: Path, monkeypatch) -> None:
    env = model_env(tmp_path, monkeypatch)
    broken = env["home"] / "models" / "broken"
    shutil.copytree(env["checkpoint"], broken)
    registry.choose_model_dir(broken)
    (broken / "model.safetensors").unlink()
    at = app_test().run()
    assert not at.exception
    assert any("model.safetensors is missing" in _unescape(w.value) for w in at.warning)
    at = app_test("pages/2_Embedding_Space.py").run()
    assert not at.exception and at.info and at.page_link


def test_model_modules_do_not_import_torch() -> None:
    code = ("import sys, mujo.ui.model_panel, mujo.ui.model, mujo.models_registry, mujo.ui.embedding, "
            "mujo.ui.retrieval; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
