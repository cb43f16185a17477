"""Pages on broken data: a dataset with one broken file of each kind and a refused checkpoint opens in every page
without an exception, and Browse and Curation show each broken clip's problem (`?clip=`)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from app_helpers import REPO, app_test, make_dataset

from mujo.cli import main
from mujo.ui.state import StateKeys

pytestmark = pytest.mark.slow  # about 30 page runs

# clip -> (how it is broken, a piece of text its problem shows)
BROKEN = {
    "clip000": ("pose header names an unknown dtype", "unknown dtype '<q9'"),
    "clip001": ("IMU: compressed member far larger than the clip", "justify"),
    "clip002": ("n_frames is text", "n_frames 'abc'"),
    "clip003": ("pose with a long run of -inf", "infinite"),
    "clip004": ("video is not an MP4", "not an MP4"),
    "clip005": ("precomputed features: unknown dtype", "features/f/clip005.npy"),
    "clip006": ("IMU truncated", "clip006.npz"),
    "clip007": ("n_frames far beyond its files", "more than its files could hold"),
}
PAGES = sorted(str(p.relative_to(REPO)) for p in (REPO / "pages").glob("*.py"))
TITLE = "Long title " * 20_000  # 220 kB, clip003's chapter


def _set_cell(root: Path, clip_id: str, column: str, value: str) -> None:
    import pandas as pd  # noqa: PLC0415

    df = pd.read_csv(root / "clips.csv", dtype=str, keep_default_na=False)
    df.loc[df["clip_id"] == clip_id, column] = value
    df.to_csv(root / "clips.csv", index=False)


def _rewrite_header(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    n = int.from_bytes(data[8:10], "little")
    head = data[10: 10 + n].rstrip(b" \n").replace(old, new)
    head += b" " * ((-(10 + len(head) + 1)) % 64) + b"\n"
    path.write_bytes(data[:8] + struct.pack("<H", len(head)) + head + data[10 + n:])


def _break(root: Path, home: Path) -> None:
    _rewrite_header(root / "pose" / "clip000.npy", b"'<f4'", b"'<q9'")
    zeros = np.zeros((400_000, 16, 3), np.float32)
    np.savez_compressed(root / "imu" / "clip001.npz", acc=zeros, gyro=zeros)
    _set_cell(root, "clip002", "n_frames", "abc")
    pose = np.load(root / "pose" / "clip003.npy")
    pose[40:120] = -np.inf
    np.save(root / "pose" / "clip003.npy", pose)
    _set_cell(root, "clip003", "chapter", TITLE)
    (root / "video").mkdir(exist_ok=True)
    (root / "video" / "clip004.mp4").write_bytes(b"<html>not a video</html>" * 10)
    (root / "features" / "f").mkdir(parents=True)
    for i in range(8):
        np.save(root / "features" / "f" / f"clip{i:03d}.npy", np.zeros((200, 4), np.float32))
    _rewrite_header(root / "features" / "f" / "clip005.npy", b"'<f4'", b"'<q9'")
    data = (root / "imu" / "clip006.npz").read_bytes()
    (root / "imu" / "clip006.npz").write_bytes(data[: len(data) // 2])
    _set_cell(root, "clip007", "n_frames", "1000000000")
    (root / "text_features").mkdir()
    (root / "text_features" / "t.npz").write_bytes(b"PK\x03\x04 broken")
    manifest = json.loads((root / "fimad.json").read_text(encoding="utf-8"))
    manifest["features"] = {"f": {"dim": 4}}
    manifest["text_features"] = {"t": {"dim": 4, "fields": ["chapter"]}}
    (root / "fimad.json").write_text(json.dumps(manifest), encoding="utf-8")
    (root / "splits.json").write_text(json.dumps({"train": ["clip000", 7], "val": ["clip002"]}), encoding="utf-8")
    # the app's default checkpoint, with a safetensors header entry that is not an object
    ckpt = home / "models" / "demo"
    ckpt.mkdir(parents=True)
    text = json.dumps({"encoders.imu.w": 5}).encode()
    (ckpt / "model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text)
    (ckpt / "config.json").write_text(json.dumps({"format": "mujo-checkpoint", "format_version": 1,
                                                  "model": {"model_type": "mujo"}}), encoding="utf-8")


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory: pytest.TempPathFactory):
    """One broken dataset for the whole module: the pages' caches (keyed by folder and stamp) serve every test."""
    tmp = tmp_path_factory.mktemp("broken")
    home = tmp / "home"
    home.mkdir()
    data = make_dataset(tmp / "fimad")
    _break(data, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUJO_HOME", str(home))
        mp.setenv("MUJO_DATA", str(data))
        mp.chdir(REPO)
        yield {"home": home, "data": data}


def _shown(at) -> str:
    """Every text the page shows (errors, warnings, notes, markdown, captions, code, plain text, the player)."""
    parts = []
    for kind in ("error", "warning", "info", "markdown", "caption", "text", "code", "exception"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [f.proto.srcdoc for f in at.get("iframe")]
    return "\n".join(parts).replace("\\", "")


def _no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", ["app.py", *PAGES])
def test_every_page_opens_on_the_broken_dataset(broken_env, page):
    at = app_test(None if page == "app.py" else page).run()
    _no_exception(at)


@pytest.mark.parametrize("clip_id", list(BROKEN))
def test_browse_shows_each_broken_clip_and_its_problem(broken_env, clip_id):
    at = app_test("pages/1_Browse.py", {"clip": clip_id}).run()
    _no_exception(at)
    assert at.session_state[StateKeys.SELECTED_CLIP] == clip_id
    assert BROKEN[clip_id][1] in _shown(at), (clip_id, BROKEN[clip_id][0])


@pytest.mark.parametrize("clip_id", list(BROKEN))
def test_curation_shows_each_broken_clip_and_its_problem(broken_env, clip_id):
    at = app_test("pages/6_Curation.py", {"clip": clip_id}).run()
    _no_exception(at)
    at.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input("Ada").run()
    _no_exception(at)
    if at.session_state[StateKeys.CUR_CLIP] != clip_id:
        pytest.fail(f"Curation did not open {clip_id} from ?clip= (it shows {at.session_state[StateKeys.CUR_CLIP]})")
    assert BROKEN[clip_id][1] in _shown(at), (clip_id, BROKEN[clip_id][0])


def test_validate_names_each_problem(broken_env, capsys):
    assert main(["validate", str(broken_env["data"]), "--all", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    for clip_id, (what, text) in BROKEN.items():
        mine = [f"{p['file']}: {p['message']}" for p in found if p["clip_id"] == clip_id]
        assert any(text in m for m in mine), (clip_id, what, mine)
    files = {p["file"] for p in found if p["clip_id"] is None}
    assert {"text_features/t.npz", "splits.json"} <= files


def test_home_lists_the_kinds_of_problems_as_text_and_the_table_on_demand(broken_env):
    """Home names each kind of problem with its count as text (no data grid on its first paint); the table of every
    error and warning is drawn once asked for."""
    from mujo.fimad.validate import validate_dataset  # noqa: PLC0415  (the expected findings, computed here)
    from mujo.ui.state import StateKeys  # noqa: PLC0415

    at = app_test().run()
    _no_exception(at)
    assert not at.dataframe  # nothing of the report as a table yet
    serious = [p for p in validate_dataset(broken_env["data"]).problems if p.severity in ("error", "warning")]
    shown = _shown(at)
    for sev, kind in {(p.severity, p.kind) for p in serious}:
        n = sum((p.severity, p.kind) == (sev, kind) for p in serious)
        assert f"{sev} · {kind}: {n:,}" in shown, (sev, kind)
    at.session_state[StateKeys.HOME_ALL_PROBLEMS] = True  # the expander opened
    at.run()
    _no_exception(at)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == len(serious)
