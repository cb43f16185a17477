"""Zero-shot: prompts, prompt ensembling, NULL row, metrics vs. a naive reference, end to end, store, errors."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mujo.eval.zeroshot as zs
from mujo.checkpoint import CheckpointError
from mujo.datasets.base import NULL_INDEX, DatasetInfo, FixedSplit, Recording, TargetDataset
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.eval.prompts import DEFAULT_TEMPLATES, PromptError, check_template, class_phrases, expand, parse_templates
from mujo.eval.zeroshot import class_embeddings, mean_null, zeroshot, zeroshot_metrics
from mujo.eval.zeroshot_data import window_embeddings, windows_for
from mujo.eval.zeroshot_settings import ZeroShotSettings, zeroshot_runs
from mujo.models import create_model
from mujo.models.checkpoint_io import save_checkpoint
from mujo.store import Store

WINDOW = 20
CLASSES = ("wlk", "jog", "sit")
PROMPTS = {"wlk": "walking", "jog": "jogging"}  # "sit" has none: its name is used


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Toy(TargetDataset):
    """Four subjects, each: 3 activities (class c = a strong signal on acc axis c) then NULL (still)."""

    def __init__(self, root: Path, has_null: bool = True):
        super().__init__(root)
        self.info = DatasetInfo(name="toy-zs", classes=CLASSES, placements={"wrist": "RWrist", "pocket": "RHip"},
                                channels=("acc",), rate=50.0, has_null=has_null, prompts=dict(PROMPTS),
                                has_pose=True,
                                fixed_splits=(FixedSplit("fixed", "subject", ("1", "2"), ("3",), ("4",)),),
                                random_splits=False)
        self.ids = [f"sub_{s}" for s in range(1, 5)]
        self.has_null = has_null

    def _read(self, i: int) -> Recording:
        rng = np.random.default_rng(i)
        seg = 60
        parts = len(CLASSES) + (1 if self.has_null else 0)
        n = seg * parts
        labels = np.repeat(np.array(list(range(len(CLASSES))) + ([NULL_INDEX] if self.has_null else [])), seg)
        acc = 0.1 * rng.standard_normal((n, 3))
        for c in range(len(CLASSES)):
            acc[labels == c, c] += 5.0
        imu = {"wrist": acc.copy(), "pocket": 2 * acc + 1}
        pose = rng.standard_normal((n, 17, 3)).astype(np.float32)
        return Recording(self.ids[i], str(i + 1), 50.0, imu, labels.astype(np.int64), pose)

    def subject_of(self, i: int) -> str:
        return str(i + 1)


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory):
    ds = Toy(tmp_path_factory.mktemp("toy"))
    return prepare(ds, PrepareSpec(window=WINDOW, hop=WINDOW // 2), cache=False)


def tiny_model(modalities=("text", "imu"), sites=("RHip", "RWrist")):
    torch.manual_seed(0)
    return create_model("small", modalities=list(modalities), imu_sites=list(sites), imu_channels=["acc"],
                        window=WINDOW, embed_dim=16, text={"hidden": [32]}, imu={"fc": [32]},
                        pose={"stride": [1, 1], "fc": [32]}, projection={"hidden": 32}).eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stats = {"imu": {"mean": [[1.0, 1.0, 1.0], [0.5, 0.5, 0.5]], "std": [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]}}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "m", tiny_model(), extra={"method": "mujo",
                                                                                         "stats": stats})


def fake_embed_texts(texts: list[str]) -> np.ndarray:
    """Deterministic unit-norm 384-d vectors per text (MiniLM stand-in; the real one is used in the CLI test)."""
    out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(384) for t in texts])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def fake_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zs, "embed_texts", fake_embed_texts)


def settings(ckpt: Path, **kw) -> ZeroShotSettings:
    return ZeroShotSettings(dataset="toy-zs", checkpoint=str(ckpt), **kw)


# --- prompts -------------------------------------------------------------------------------------------------

def test_prompt_expansion_and_phrases() -> None:
    phrases = class_phrases(("wlk", "jog", "sit_down"), PROMPTS, {"jog": "running slowly"})
    assert phrases == {"wlk": "walking", "jog": "running slowly", "sit_down": "sit down"}
    prompts = expand(phrases, ("{}", "a person {}", "a person {}", ""))
    assert prompts["wlk"] == ["walking", "a person walking"]  # duplicates and blank templates dropped
    assert expand({"x": "a {b}"}, ["say {}"])["x"] == ["say a {b}"]  # braces in a phrase are left alone
    assert len(expand(phrases, DEFAULT_TEMPLATES)["jog"]) == len(DEFAULT_TEMPLATES)
    assert parse_templates("{}\n\n  someone {}  \n") == ("{}", "someone {}")
    with pytest.raises(PromptError, match="'nope'"):
        class_phrases(CLASSES, PROMPTS, {"nope": "x"})


@pytest.mark.parametrize("bad", ["a person", "{} and {}", "a {0} person {}", "{name}"])
def test_template_must_hold_one_slot(bad: str) -> None:
    with pytest.raises(PromptError, match=r"\{\}"):
        check_template(bad)
    with pytest.raises(PromptError):
        parse_templates("\n\n")


# --- embeddings and metrics ------------------------------------------------------------------------------------

def test_class_embeddings_are_renormalised_prompt_means(fake_text) -> None:
    model = tiny_model()
    phrases = {"wlk": "walking", "jog": "jogging", "sit": "sitting"}
    templates = ("{}", "a person {}", "someone doing {}")
    got = class_embeddings(model, ("wlk", "jog", "sit", "NULL"), phrases, templates)
    assert got.shape == (4, 16)
    rows = []
    for c in ("wlk", "jog", "sit"):
        with torch.no_grad():
            each = [model.encode("text", torch.from_numpy(fake_embed_texts([t.replace("{}", phrases[c])])))[0]
                    for t in templates]
        rows.append(F.normalize(torch.stack(each).mean(0), dim=0).numpy())
    np.testing.assert_allclose(got[:3], np.stack(rows), atol=1e-5)
    null = np.stack(rows).mean(0)
    np.testing.assert_allclose(got[3], null / np.linalg.norm(null), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(mean_null(got[:3]), got[3], atol=1e-6)
    given = np.arange(16, dtype=np.float32)  # issue 5's learned NULL: a vector passed in
    out = class_embeddings(model, ("wlk", "NULL"), phrases, templates, null_embedding=given)
    np.testing.assert_allclose(out[1], given / np.linalg.norm(given), atol=1e-6)


def test_metrics_match_a_naive_reference() -> None:
    rng = np.random.default_rng(3)
    classes = [f"c{i}" for i in range(7)]
    scores, y = rng.standard_normal((200, 7)), rng.integers(0, 6, 200)  # class c6 never true
    m = zeroshot_metrics(scores, y, classes)
    pred = scores.argmax(1)
    for k in (1, 3, 5):
        naive = np.mean([y[i] in sorted(range(7), key=lambda j: -scores[i, j])[:k] for i in range(200)])
        assert m[f"top{k}"] == pytest.approx(naive)
    f1s = {}
    for c in range(7):
        tp, fp, fn = np.sum((pred == c) & (y == c)), np.sum((pred == c) & (y != c)), np.sum((pred != c) & (y == c))
        f1s[c] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else None
    assert m["macro_f1"] == pytest.approx(np.mean([f1s[c] for c in range(6)]))  # only classes with support
    assert m["accuracy"] == pytest.approx(np.mean(pred == y)) == pytest.approx(m["top1"])
    assert m["per_class_f1"]["c6"] == pytest.approx(0.0)  # predicted but never true
    assert m["confusion"].sum() == 200 and np.trace(m["confusion"]) == np.sum(pred == y)
    assert m["macro_f1_top5"] >= m["macro_f1_top3"] >= m["macro_f1"]


# --- end to end -------------------------------------------------------------------------------------------------

def agreeing(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text of class c and IMU windows of class c both map to axis c; NULL windows to the mean of the axes."""
    def fake_text(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), np.float32)
        for i, t in enumerate(texts):
            hits = [c for c, p in enumerate(("walking", "jogging", "sit")) if p in t]
            out[i, hits[0]] = 1.0
        return out

    def encode(modality, x):
        if str(modality) == "text":
            return F.normalize(x[:, :16], dim=-1)
        ax = x[:, WINDOW // 2, 1, :]  # (B, 3) centre sample (decides a tied window's label) of RWrist, which is
        # index 1 in the model's order
        out = torch.zeros(len(x), 16)
        active = ax.max(1).values > 0
        out[active, ax[active].argmax(1)] = 1.0
        out[~active, :3] = 1.0
        return F.normalize(out, dim=-1)

    monkeypatch.setattr(zs, "embed_texts", fake_text)
    monkeypatch.setattr(model, "encode", encode)


@pytest.mark.parametrize("null", [False, True])
def test_a_model_whose_embeddings_agree_scores_one(windows, checkpoint, monkeypatch, null: bool) -> None:
    model = tiny_model()
    agreeing(model, monkeypatch)
    r = zeroshot(settings(checkpoint, null=null), windows=windows, loaded=(model, {"method": "mujo"}))
    assert r.top1 == r.accuracy == r.macro_f1 == 1.0
    assert r.classes == list(CLASSES) + (["NULL"] if null else [])
    n_null = int((windows.labels == NULL_INDEX).sum())
    assert r.n_windows == len(windows) - (0 if null else n_null) and n_null > 0
    assert r.support.get("NULL", 0) == (n_null if null else 0)
    assert r.prompts["jog"][:2] == ["jogging", "a person jogging"]
    assert np.trace(np.array(r.confusion)) == r.n_windows


def test_split_part_and_checkpoint_stats(windows, checkpoint, fake_text) -> None:
    s = settings(checkpoint, split="fixed", part="test", normalize="checkpoint")
    model, extra = zs.load_checkpoint(checkpoint)
    sel = windows_for(s, model.config, extra, windows)
    assert sel.split == "fixed" and set(windows.subject[sel.rows]) == {windows.subjects.index("4")}
    assert windows.sites == ("RWrist", "RHip") and sel.order == [1, 0]  # model order RHip, RWrist
    np.testing.assert_allclose(sel.mean[:, 0], [0.5, 1.0])  # the checkpoint's RHip row moved to the window's
    np.testing.assert_allclose(sel.std[:, 0], [1.0, 2.0])
    emb = window_embeddings(model, sel, batch_size=7)
    x = (np.asarray(windows.imu[sel.rows]) - sel.mean) / sel.std
    with torch.no_grad():
        want = model.encode("imu", torch.from_numpy(x[:, :, [1, 0]].astype(np.float32))).numpy()
    np.testing.assert_allclose(emb, want, atol=1e-5)
    r = zeroshot(s, windows=windows)
    assert r.n_windows == len(sel.rows) and r.split == "fixed" and r.part == "test"
    with pytest.raises(Exception, match="no split 'nope'"):
        windows_for(settings(checkpoint, split="nope"), model.config, extra, windows)


def test_a_model_with_fewer_sites_uses_its_own(windows, tmp_path: Path, fake_text) -> None:
    stats = {"imu": {"mean": [[1.0, 2.0, 3.0]], "std": [[4.0, 5.0, 6.0]]}}
    ckpt = save_checkpoint(tmp_path / "pocket", tiny_model(sites=("RHip",)), extra={"stats": stats})
    model, extra = zs.load_checkpoint(ckpt)
    sel = windows_for(settings(ckpt, normalize="checkpoint"), model.config, extra, windows)
    assert sel.order == [1]  # the window set's RHip
    np.testing.assert_allclose(sel.mean, [[0, 0, 0], [1, 2, 3]])
    np.testing.assert_allclose(sel.std, [[1, 1, 1], [4, 5, 6]])
    assert zeroshot(settings(ckpt), windows=windows).n_windows == int((windows.labels >= 0).sum())


def test_pose_windows_through_prepare(tmp_path: Path, monkeypatch, fake_text) -> None:
    """inputs="pose": the dataset is opened by spec and prepared with pose; windows normalize_pose'd."""
    import mujo.datasets
    from mujo.banks.pose import normalize_pose

    monkeypatch.setattr(mujo.datasets, "open_target", lambda spec, **kw: Toy(tmp_path))
    ckpt = save_checkpoint(tmp_path / "pose", tiny_model(("text", "pose", "imu")))
    s = settings(ckpt, inputs="pose", part="test")
    model, extra = zs.load_checkpoint(ckpt)
    sel = windows_for(s, model.config, extra)
    assert sel.ws.pose is not None and sel.order is None and sel.split == "fixed"
    emb = window_embeddings(model, sel, batch_size=5)
    with torch.no_grad():
        x = torch.from_numpy(normalize_pose(np.array(sel.ws.pose[sel.rows])))
        np.testing.assert_allclose(emb, model.encode("pose", x).numpy(), atol=1e-5)
    r = zeroshot(s)
    assert r.n_windows == len(sel.rows) and 0 <= r.top1 <= r.top3 <= r.top5 <= 1


def test_store_row_and_earlier_runs(windows, checkpoint, fake_text, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    assert zeroshot_runs(store).empty and not store.path.exists()
    r = zeroshot(settings(checkpoint, templates=("{}", "a person {}")), windows=windows, store=store)
    run = store.get_run(r.run_id)
    assert run["kind"] == "zeroshot" and run["status"] == "done" and run["checkpoint"] == str(checkpoint)
    assert run["config"]["inputs"] == "imu" and run["config"]["templates"] == ["{}", "a person {}"]
    res = store.results(r.run_id)
    assert set(res["metrics"]) >= {"top1", "top3", "top5", "macro_f1", "accuracy"}
    assert res["classes"] == list(CLASSES) and res["n_windows"] == r.n_windows
    assert res["confusion"] == r.confusion and res["prompts"]["wlk"] == ["walking", "a person walking"]
    zeroshot(settings(checkpoint, null=True), windows=windows, store=store)
    df = zeroshot_runs(store)
    assert list(df["run_id"])[1] == r.run_id and list(df["null"]) == [True, False]
    assert list(df["templates"]) == [len(DEFAULT_TEMPLATES), 2]
    assert df.loc[1, "top1"] == pytest.approx(r.top1) and df.loc[1, "macro_f1"] == pytest.approx(r.macro_f1)


# --- errors -----------------------------------------------------------------------------------------------------

def test_refusals(windows, checkpoint, tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"exactly one \{\}"):
        zeroshot(settings(checkpoint, templates=("a person",)), windows=windows)
    imu_only = save_checkpoint(tmp_path / "simclr", tiny_model(("imu",)), extra={"method": "simclr"})
    with pytest.raises(CheckpointError, match=f"zero-shot needs a checkpoint with a text encoder; {imu_only} "
                                              "has imu only"):
        zeroshot(settings(imu_only), windows=windows)
    with pytest.raises(CheckpointError, match="no pose encoder"):
        zeroshot(settings(checkpoint, inputs="pose"), windows=windows)
    other = save_checkpoint(tmp_path / "lw", tiny_model(sites=("LWrist", "RWrist")))
    with pytest.raises(CheckpointError, match="mujo pretrain --sites"):
        zeroshot(settings(other), windows=windows)
    no_null = prepare(Toy(tmp_path, has_null=False), PrepareSpec(window=WINDOW, hop=WINDOW), cache=False)
    with pytest.raises(ValueError, match="no NULL class"):
        zeroshot(settings(checkpoint, null=True), windows=no_null)


def test_cli_with_minilm(checkpoint, tmp_path: Path, monkeypatch, capsys) -> None:
    """The command end to end with the real MiniLM: dataset opened by spec, table printed, run stored."""
    import mujo.datasets
    from mujo.cli import main

    monkeypatch.setattr(mujo.datasets, "open_target", lambda spec, **kw: Toy(tmp_path))
    db = tmp_path / "s.sqlite"
    assert main(["zeroshot", "toy-zs", "--checkpoint", str(checkpoint), "--template", "{}", "--template",
                 "a person {}", "--class-text", "sit=sitting down", "--quiet", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "top5" in out and "macro_f1" in out and "a person sitting down" not in out and "sitting down" in out
    assert "run 1 in the store" in out
    assert main(["zeroshot", "toy-zs", "--checkpoint", str(checkpoint), "--template", "a person", "--quiet",
                 "--no-store"]) == 2
    assert "exactly one {}" in capsys.readouterr().err
