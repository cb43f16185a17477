"""Hostile files: every reader turns them into a problem naming the clip and file, within a memory bound.

One test per requirement of issue 11 section 1: unknown dtypes and impossible shapes in .npy headers, size claims
of compressed .npz members, n_frames that is not a sane integer, ±inf as missing samples, 200 kB texts kept whole,
malformed checkpoint headers and configs, precomputed features and JSON files.
"""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fimad_factory import make_fimad, set_cell

from mujo import models_registry
from mujo.checkpoint import CONFIG, FORMAT, WEIGHTS, CheckpointError, read_checkpoint_config, safetensors_shapes
from mujo.cli import main
from mujo.fimad.dataset import ClipError, FimadDataset
from mujo.fimad.errors import FimadError
from mujo.fimad.validate import validate_dataset
from mujo.fimad.windows import nan_windows, read_windows

SITES = ("RHip", "LWrist")


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return make_fimad(tmp_path / "d", n_clips=4, n_frames=[60, 80, 60, 70], imu_sites=SITES)


def _errors(report, clip_id: str) -> list[str]:
    return [f"{p.file}: {p.message}" for p in report.problems if p.clip_id == clip_id and p.severity == "error"]


def _rewrite_header(path: Path, old: bytes, new: bytes) -> None:
    """Replace text inside a version 1 .npy header, padded again to a multiple of 64 bytes as numpy writes it."""
    data = path.read_bytes()
    n = int.from_bytes(data[8:10], "little")
    assert old in data[10: 10 + n]
    head = data[10: 10 + n].rstrip(b" \n").replace(old, new)
    head += b" " * ((-(10 + len(head) + 1)) % 64) + b"\n"
    path.write_bytes(data[:8] + struct.pack("<H", len(head)) + head + data[10 + n:])


def _others_read(ds: FimadDataset, broken: str) -> None:
    for cid in ds.clips.index:
        if cid != broken:
            assert ds.pose(cid).shape[0] == ds.imu(cid)[0].shape[0] == ds.clips.loc[cid, "n_frames"] > 0


# --- .npy headers ------------------------------------------------------------------------------------------


def test_unknown_dtype_is_a_problem_of_that_clip_in_the_report_the_reader_and_the_cli(root, capsys):
    _rewrite_header(root / "pose" / "clip001.npy", b"'<f4'", b"'<q9'")
    report = validate_dataset(root)
    assert report.usable and any("clip001.npy" in e and "'<q9'" in e for e in _errors(report, "clip001"))
    ds = FimadDataset(root)
    with pytest.raises(ClipError, match="unknown dtype '<q9'") as err:
        ds.pose("clip001")
    assert err.value.clip_id == "clip001" and err.value.path.name == "clip001.npy"
    _others_read(ds, "clip001")
    assert main(["validate", str(root)]) == 0  # one broken clip does not make the dataset unusable
    out = capsys.readouterr().out
    assert "clip001" in out and "<q9" in out


@pytest.mark.parametrize("old, new, match", [
    (b"(60, 17, 3)", b"(99999999999, 17, 3)", "truncated"),  # far more data than the file holds: nothing mapped
    (b"(60, 17, 3)", b"(-60, 17, 3)", "not a tuple of sizes"),
    (b"'<f4'", b"'S0'", "zero bytes"),  # zero-byte elements: a huge shape would pass every size check
    (b"'<f4'", b"'|O'", "object"),
    (b"(60, 17, 3)", b"(60, 17, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
                     b"1, 1, 1, 1, 1)", "not a tuple of sizes"),
    (b"'fortran_order': False", b"'fortran_order': 'no!'", "not a valid .npy header"),
    (b"'descr'", b"'descr", "not a valid .npy header"),  # unbalanced quote: numpy's tokenizer raises its own error
])
def test_bad_npy_headers(root, old, new, match):
    _rewrite_header(root / "pose" / "clip000.npy", old, new)
    with pytest.raises(ClipError, match=match):
        FimadDataset(root).pose("clip000")
    assert any(match in e for e in _errors(validate_dataset(root), "clip000"))


def test_header_length_beyond_the_file(root):
    path = root / "pose" / "clip002.npy"
    data = bytearray(path.read_bytes())
    data[8:10] = struct.pack("<H", 65535)
    path.write_bytes(bytes(data))
    with pytest.raises(ClipError, match="clip002.npy"):
        FimadDataset(root).pose("clip002")
    assert _errors(validate_dataset(root), "clip002")


# --- .npz size claims --------------------------------------------------------------------------------------


def _bomb(path: Path, n: int = 500_000) -> None:
    zeros = np.zeros((n, len(SITES), 3), np.float32)  # 12 MB of zeros: about 12 kB compressed
    np.savez_compressed(path, acc=zeros, gyro=zeros)


def _traced(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_compressed_member_larger_than_the_clip_justifies_is_refused_before_inflating(root):
    path = root / "imu" / "clip001.npz"
    _bomb(path)
    ds = FimadDataset(root)
    with pytest.raises(ClipError, match="declares 12,000,128 bytes uncompressed") as err:
        _traced(lambda: ds.imu("clip001"))
    assert err.value.clip_id == "clip001"
    report, peak = _traced(lambda: validate_dataset(root))
    assert any("clip001.npz[acc]" in e and "justify" in e for e in _errors(report, "clip001"))
    assert peak < 4 << 20  # the 12 MB were never allocated


def test_zip_directory_that_understates_the_size_is_caught_by_the_npy_header(root):
    path = root / "imu" / "clip001.npz"
    _bomb(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # first central directory entry (acc.npy): uncompressed size at +24
    data[at + 24: at + 28] = (4096).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    ds = FimadDataset(root)
    # the header (or zipfile's CRC check at the declared end) refuses it; nothing past 4 kB is inflated
    with pytest.raises(ClipError, match="clip001.npz") as err:
        ds.imu("clip001")
    assert "header announces 12,000,000 bytes" in str(err.value) or "CRC" in str(err.value)
    report, peak = _traced(lambda: validate_dataset(root))
    assert _errors(report, "clip001") and peak < 4 << 20


def test_compressed_imu_of_honest_size_still_reads(root):
    acc = np.random.default_rng(0).normal(size=(80, len(SITES), 3)).astype(np.float32)
    np.savez_compressed(root / "imu" / "clip001.npz", acc=acc, gyro=acc)
    got, _ = FimadDataset(root).imu("clip001")
    np.testing.assert_array_equal(got, acc)
    assert not _errors(validate_dataset(root), "clip001")


def test_stored_member_announcing_more_than_it_holds(root):
    path = root / "imu" / "clip000.npz"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"'shape': (60, 2, 3)", b"'shape': (99, 2, 3)"))
    with pytest.raises(ClipError, match="truncated"):
        FimadDataset(root).imu("clip000")


# --- n_frames -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-5", "1e30", "abc", "3.5", "99999999999", "inf", "", "1000000000"])
def test_insane_n_frames_is_a_problem_of_that_clip_never_an_allocation(root, value):
    set_cell(root, "clip002", "n_frames", value)
    (ds, peak) = _traced(lambda: FimadDataset(root))
    assert peak < 16 << 20
    assert ds.clips["n_frames"].isna().tolist() == [False, False, True, False]
    messages = [p.message for p in ds.load_problems if p.clip_id == "clip002" and p.severity == "error"]
    assert messages and "n_frames" in messages[0] and "cannot be windowed" in messages[0]
    index, peak = _traced(lambda: ds.windows())
    assert "clip002" not in set(index.clip_ids) and peak < 16 << 20
    assert "clip002" in validate_dataset(root).clips_with_problems("error")


def test_n_frames_a_little_off_stays_a_warning(root):
    set_cell(root, "clip002", "n_frames", "70")  # the arrays hold 60: readable, windows NaN-padded
    ds = FimadDataset(root)
    assert int(ds.clips.at["clip002", "n_frames"]) == 70
    assert any(p.kind == "n_frames" for p in validate_dataset(root).problems if p.clip_id == "clip002")


# --- non-finite values -------------------------------------------------------------------------------------


def test_infinite_values_are_missing_samples(root):
    path = root / "pose" / "clip000.npy"
    pose = np.load(path)
    pose[5:8] = np.inf  # short: interpolated
    pose[20:50, 3] = -np.inf  # 0.6 s at 50 Hz: longer than max_gap_s=0.5, left missing
    np.save(path, pose)
    ds = FimadDataset(root)
    got = ds.pose("clip000")
    assert not np.isinf(got).any() and np.isfinite(got[5:8]).all() and np.isnan(got[20:50, 3]).all()
    raw = ds.pose("clip000", interpolate=False)
    assert not np.isinf(raw).any() and np.isnan(raw[5:8]).all()
    report = validate_dataset(root)
    gaps = [p for p in report.problems if p.clip_id == "clip000" and p.kind == "nan_gap"]
    assert {p.severity for p in gaps} == {"info", "warning"} and all("infinite" in p.message for p in gaps)
    index = ds.windows(size=20, hop=10, trim=0.0, clip_ids=["clip000"])
    windows = read_windows(ds, index, None, "pose")
    assert not np.isinf(windows).any() and nan_windows(windows).any()


def test_infinite_imu_and_features(root):
    acc = np.ones((70, len(SITES), 3), np.float32)
    acc[10] = -np.inf
    np.savez(root / "imu" / "clip003.npz", acc=acc, gyro=acc)
    (root / "features" / "f").mkdir(parents=True)
    feats = np.zeros((70, 4), np.float32)
    feats[3, 1] = np.inf
    np.save(root / "features" / "f" / "clip003.npy", feats)
    ds = FimadDataset(root)
    got_acc, got_gyro = ds.imu("clip003")
    assert np.isfinite(got_acc).all() and np.isfinite(got_gyro).all()  # one sample: filled
    got = ds.features("f", "clip003")
    assert np.isnan(got[3, 1]) and not np.isinf(got).any()


# --- text of any length ------------------------------------------------------------------------------------


def test_a_200_kB_title_is_kept_whole(root):
    title = ('Squats, "jump" squats\n<b>then</b> ' * 6000)[:200_000]
    set_cell(root, "clip001", "chapter", title)
    set_cell(root, "clip001", "caption", title[::-1])
    ds = FimadDataset(root)
    assert ds.clips.at["clip001", "chapter"] == title and ds.clips.at["clip001", "caption"] == title[::-1]
    assert validate_dataset(root).usable


def test_a_200_kB_clip_id_is_refused_and_reported_briefly(root):
    set_cell(root, "clip001", "clip_id", "x" * 200_000)
    ds = FimadDataset(root)
    unsafe = [p for p in ds.load_problems if p.kind == "unsafe_id"]
    assert len(unsafe) == 1 and unsafe[0].clip_id == "x" * 200_000 and len(unsafe[0].message) < 300


# --- features and JSON -------------------------------------------------------------------------------------


def test_broken_precomputed_features_are_named(root):
    (root / "features" / "f").mkdir(parents=True)
    np.save(root / "features" / "f" / "clip000.npy", np.zeros((60, 4), np.float32))
    np.save(root / "features" / "f" / "clip001.npy", np.zeros((80, 4), np.float32))
    _rewrite_header(root / "features" / "f" / "clip001.npy", b"'<f4'", b"'<q9'")
    manifest = json.loads((root / "fimad.json").read_text())
    manifest["features"] = {"f": {"dim": 4, "fps": "fast"}, "../../etc": {}}
    manifest["text_features"] = {"t": {"dim": 4}}
    (root / "fimad.json").write_text(json.dumps(manifest))
    (root / "text_features").mkdir()
    np.savez_compressed(root / "text_features" / "t.npz", clip_id=np.array(["clip000"]),
                        chapter=np.zeros((1, 500_000), np.float32))
    from mujo.features.video import precomputed_video_features, video_features  # noqa: PLC0415

    ds = FimadDataset(root)
    with pytest.raises(ClipError, match="unknown dtype"):
        ds.features("f", "clip001")
    assert precomputed_video_features(ds) == ["f"]  # the unsafe name is never a path
    with pytest.raises(ClipError, match="fps"):
        video_features(ds, "clip000", "f")
    report = validate_dataset(root)
    assert any(p.file == "features/f/clip001.npy" and p.severity == "error" for p in report.problems)
    assert any(p.file == "fimad.json" and "../../etc" in p.message for p in report.problems)
    assert ds.text_features("t")[0] == ["clip000"]  # 2 MB from a 2 kB member: within deflate's ratio, read


@pytest.mark.parametrize("name, content, match", [
    ("fimad.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("splits.json", "{" + '"a":{' * 50_000 + "}" * 50_001, "nested too deeply"),
])
def test_deeply_nested_json_is_a_dataset_problem(root, name, content, match):
    (root / name).write_text(content)
    with pytest.raises(FimadError, match=match):
        FimadDataset(root)
    report = validate_dataset(root)
    assert not report.usable and report.problems[0].file == name


def test_split_entries_that_are_not_ids_are_listed_not_fatal(root):
    (root / "splits.json").write_text(json.dumps({"train": ["clip000", 5, None, ["x"]], "val": ["clip001"]}))
    ds = FimadDataset(root)
    assert ds.clips.at["clip000", "split"] == "train"
    assert sum(p.file == "splits.json" and p.kind == "bad_value" for p in ds.load_problems) == 3


# --- checkpoints -------------------------------------------------------------------------------------------


def _checkpoint(folder: Path, header: object, config: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(header).encode()
    (folder / WEIGHTS).write_bytes(struct.pack("<Q", len(text)) + text + bytes(48))
    (folder / CONFIG).write_text(json.dumps(config))
    return folder


GOOD_ENTRY = {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}
GOOD_CONFIG = {"format": FORMAT, "format_version": 1, "model": {"model_type": "mujo"}, "extra": {}}


@pytest.mark.parametrize("entry, match", [
    (5, "not an object"),
    ("x", "not an object"),
    ({**GOOD_ENTRY, "shape": "4x3"}, "not a list of sizes"),
    ({**GOOD_ENTRY, "shape": [4, 3.0]}, "not a list of sizes"),
    ({**GOOD_ENTRY, "shape": [4, -3]}, "not a list of sizes"),
    ({**GOOD_ENTRY, "dtype": None}, "dtype"),
    ({**GOOD_ENTRY, "data_offsets": [0, 10**12]}, "data_offsets"),
    ({**GOOD_ENTRY, "shape": [10**9, 10**9]}, "needs"),
])
def test_malformed_safetensors_entry_is_refused(tmp_path, entry, match):
    folder = _checkpoint(tmp_path / "ck", {"__metadata__": {}, "encoders.imu.w": entry}, GOOD_CONFIG)
    with pytest.raises(CheckpointError, match=match):
        safetensors_shapes(folder / WEIGHTS)
    with pytest.raises(CheckpointError, match=match):
        models_registry.read_checkpoint(folder)


@pytest.mark.parametrize("model, match", [
    ({"model_type": "mujo", "embed_dim": "big"}, "embed_dim"),
    ({"model_type": "mujo", "modalities": 5}, "modalities"),
    ({"model_type": "mujo", "imu_sites": [1, 2]}, "imu_sites"),
    ({"model_type": ["mujo"]}, "model_type"),
    ([], "model config"),
])
def test_config_fields_of_the_wrong_type_are_refused(tmp_path, model, match):
    folder = _checkpoint(tmp_path / "ck", {"encoders.imu.w": GOOD_ENTRY}, {**GOOD_CONFIG, "model": model})
    with pytest.raises(CheckpointError, match=match):
        models_registry.read_checkpoint(folder)
    with pytest.raises(CheckpointError, match=match):
        read_checkpoint_config(folder)


def test_extra_of_the_wrong_shape_is_cleaned_not_fatal(tmp_path):
    extra = {"summary": {"best_loss": "low", "epochs": 3, "seconds": [1]}, "settings": "tiny", "preset": 7,
             "train": {"method": {"x": 1}}}
    folder = _checkpoint(tmp_path / "ck", {"encoders.imu.w": GOOD_ENTRY}, {**GOOD_CONFIG, "extra": extra})
    info = models_registry.read_checkpoint(folder)
    assert info.summary == {"epochs": 3} and info.preset == "" and info.method == "mujo"
    assert info.parameters == {"encoders.imu": 12}


# --- real-dataset loaders and the generic format ---------------------------------------------------------


def test_generic_npy_with_an_unknown_dtype_is_a_recording_problem(tmp_path):
    from mujo.datasets.base import DatasetError  # noqa: PLC0415
    from mujo.datasets.generic import META, GenericDataset  # noqa: PLC0415
    from mujo.datasets.prepare import PrepareSpec, prepare  # noqa: PLC0415

    cols = [f"wrist_acc_{a}" for a in "xyz"] + ["label"]
    for name in ("r1", "r2"):
        arr = np.zeros((300, len(cols)))
        np.save(tmp_path / f"{name}.npy", arr)
    _rewrite_header(tmp_path / "r2.npy", b"'<f8'", b"'<q9'")
    meta = {"name": "g", "rate_hz": 50, "units": {"acc": "m/s2"}, "placements": {"wrist": "RWrist"},
            "classes": ["squat"], "columns": cols,
            "recordings": [{"file": "r1.npy", "subject": "a"}, {"file": "r2.npy", "subject": "b"}]}
    (tmp_path / META).write_text(json.dumps(meta))
    ds = GenericDataset(tmp_path)
    with pytest.raises(DatasetError, match=r"r2.npy: not a readable .npy array.*'<q9'"):
        ds.recording(1)
    prepared = prepare(ds, PrepareSpec(window=100, hop=50), cache=False)  # the broken recording is skipped, named
    assert any("r2" in p and "<q9" in p for p in prepared.problems)
    (tmp_path / META).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetError, match="not readable JSON"):
        GenericDataset(tmp_path)


def test_label_column_writes_beside_a_200_kB_title(root):
    from mujo.fimad.label_column import write_label_column  # noqa: PLC0415

    title = "Burpees, \"fast\"\n" * 14_000
    set_cell(root, "clip001", "chapter", title)
    write_label_column(root, {"clip001": "burpee"})
    ds = FimadDataset(root)
    assert ds.clips.at["clip001", "label"] == "burpee" and ds.clips.at["clip001", "chapter"] == title


def test_precomputed_text_features_that_cannot_serve(root, monkeypatch):
    from mujo.features import text as text_mod  # noqa: PLC0415

    ids = np.array(["clip000", "clip001", "clip002", "clip003"])
    vectors = np.ones((4, 8), np.float32)
    vectors[1, 3] = np.inf
    (root / "text_features").mkdir()
    np.savez(root / "text_features" / "ada.npz", clip_id=ids, chapter=vectors, caption=vectors[:2])
    manifest = json.loads((root / "fimad.json").read_text())
    manifest["text_features"] = {"ada": {"dim": 8, "fields": ["chapter", "caption"]}}
    (root / "fimad.json").write_text(json.dumps(manifest))
    ds = FimadDataset(root)
    monkeypatch.setattr(text_mod, "embed_texts", lambda texts, **k: np.zeros((len(texts), 384), np.float32))
    # "caption" has 2 rows for 4 ids: the file is refused; picked automatically, MiniLM serves instead
    assert text_mod.text_features(ds, "chapter").name == "minilm"
    with pytest.raises(FimadError, match="ada.npz"):
        text_mod.text_features(ds, "chapter", name="ada")
    np.savez(root / "text_features" / "ada.npz", clip_id=ids, chapter=vectors)
    feats = text_mod.text_features(FimadDataset(root), "chapter")
    assert feats.name == "ada" and np.isnan(feats.vectors[1]).all() and np.isfinite(feats.vectors[[0, 2, 3]]).all()
