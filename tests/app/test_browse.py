"""Browse page: search, filters, selecting a clip, literal text, partial and broken clips."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from app_helpers import (
    BROWSE,
    app_test,
    make_dataset,
    player_payload,
    player_srcdoc,
    select_row,
    table_ids,
    texts,
)
from fimad_factory import TRICKY_TEXTS, corrupt_header

from mujo.fimad.skeleton import IMU_SITES
from mujo.ui.state import StateKeys, absolute_browse_url, browse_params, browse_url

SCRIPT_TITLE = "<script>alert(1)</script>"
SCRIPT_CLIP = f"clip{TRICKY_TEXTS.index(SCRIPT_TITLE):03d}"  # clip004


def _f32(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), "<f4")


def assert_payload_pose(payload: dict, npy: Path) -> None:
    """The player got the pose file's frames, exactly."""
    want = np.load(npy)
    assert payload["pose"]["n_frames"] == len(want)
    np.testing.assert_allclose(_f32(payload["pose"]["b64"]).reshape(-1, 17, 3), want, atol=1e-6)


def assert_payload_imu(payload: dict, npz: Path) -> None:
    """The player got the IMU file's accelerometer x, y, z of every site it draws, exactly."""
    assert payload["imu"]["quantity"] == "acc"
    with np.load(npz) as z:
        acc = z["acc"]
    sites = list(IMU_SITES)  # the factory's sites, in array order
    assert payload["imu"]["n_frames"] == len(acc)
    compared = 0
    for row in payload["imu"]["rows"]:
        for series in row["series"]:
            if series["name"] in ("x", "y", "z"):
                want = acc[:, sites.index(row["site"]), "xyz".index(series["name"])]
                np.testing.assert_allclose(_f32(series["b64"]), want, atol=1e-6, err_msg=row["site"])
                compared += 1
    assert compared == 3 * len(payload["imu"]["rows"]) > 0  # the default view: x, y, z of each drawn site


def _no_failures(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def test_table_lists_every_clip(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE).run()
    _no_failures(at)
    assert table_ids(at) == [f"clip{i:03d}" for i in range(8)]
    shown = at.dataframe[0].value
    for col in ("chapter", "split", "has_video", "has_pose", "has_imu", "issues"):
        assert col in shown.columns


def test_search_narrows_the_table(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE).run()
    at.text_input(key=StateKeys.SEARCH).input("JUMPING").run()
    _no_failures(at)
    assert table_ids(at) == ["clip003"]  # "💪🏽 Jumping jacks 🔥"
    # several words: all must match (chapter "Squats, then "jump" squats" and caption "caption of clip000")
    at.text_input(key=StateKeys.SEARCH).input("squats clip000").run()
    assert table_ids(at) == ["clip000"]
    at.text_input(key=StateKeys.SEARCH).input("squats clip001").run()
    assert table_ids(at) == []
    at.text_input(key=StateKeys.SEARCH).input("").run()
    assert len(table_ids(at)) == 8


def test_filters(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE).run()
    at.multiselect(key=StateKeys.SPLITS).set_value(["val"]).run()
    _no_failures(at)
    # make_fimad: clips of videos 0 and 3 are "val" (two clips per video)
    assert table_ids(at) == ["clip000", "clip001", "clip006", "clip007"]
    at.multiselect(key=StateKeys.LABELS).set_value(["squat"]).run()
    assert table_ids(at) == ["clip000", "clip006"]
    at.multiselect(key=StateKeys.SPLITS).set_value([]).run()
    at.multiselect(key=StateKeys.LABELS).set_value([]).run()
    at.multiselect(key=StateKeys.VIDEO_IDS).set_value(["vid2"]).run()
    assert table_ids(at) == ["clip004", "clip005"]
    at.multiselect(key=StateKeys.VIDEO_IDS).set_value([]).run()
    at.multiselect(key=StateKeys.COVERAGE).set_value(["without video"]).run()
    assert len(table_ids(at)) == 8  # the test dataset has no video
    at.multiselect(key=StateKeys.COVERAGE).set_value(["with video"]).run()
    assert table_ids(at) == []
    _no_failures(at)


def test_only_clips_with_problems(tmp_path: Path, app_env: dict[str, Path]) -> None:
    corrupt_header(app_env["data"] / "pose" / "clip005.npy")
    at = app_test(BROWSE).run()
    assert len(table_ids(at)) == 8
    at.toggle(key=StateKeys.ONLY_PROBLEMS).set_value(True).run()
    _no_failures(at)
    assert table_ids(at) == ["clip005"]
    assert at.dataframe[0].value.loc["clip005", "issues"] >= 1


def test_problems_link_from_home_turns_the_filter_on(app_env: dict[str, Path]) -> None:
    corrupt_header(app_env["data"] / "imu" / "clip002.npz")
    at = app_test(BROWSE, {"problems": "1"}).run()
    _no_failures(at)
    assert at.toggle(key=StateKeys.ONLY_PROBLEMS).value is True
    assert table_ids(at) == ["clip002"]
    assert "problems" not in at.query_params  # consumed, so the user can switch the filter off again


def test_selecting_a_row_shows_the_chapter_literally(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE).run()
    row = table_ids(at).index(SCRIPT_CLIP)
    at = select_row(at, row)
    _no_failures(at)
    assert at.session_state[StateKeys.SELECTED_CLIP] == SCRIPT_CLIP
    assert at.query_params.get("clip") == SCRIPT_CLIP
    # Streamlit side: shown with st.text (no Markdown, no HTML), exactly as written; so are the id and the link.
    assert SCRIPT_TITLE in texts(at) and SCRIPT_CLIP in texts(at)
    assert any(t.endswith(f"Browse?clip={SCRIPT_CLIP}") for t in texts(at))
    for md in at.markdown:
        assert "<script" not in md.value
    # Component side: the title cannot close the payload's <script> element and comes back intact.
    html = player_srcdoc(at)
    assert SCRIPT_TITLE not in html
    assert "alert(1)</script>" not in html
    assert player_payload(at)["title"] == SCRIPT_TITLE


def test_html_like_chapter_in_the_url_clip(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip000"}).run()
    _no_failures(at)
    assert 'Squats, then "jump" squats' in texts(at)
    payload = player_payload(at)
    assert payload["clip_id"] == "clip000"
    assert payload["pose"]["n_frames"] == 200
    assert [r["site"] for r in payload["imu"]["rows"]] == ["RWrist", "LWrist"]
    # Pose travels as little-endian float32 and decodes to the file's values.
    pose = np.frombuffer(base64.b64decode(payload["pose"]["b64"]), "<f4").reshape(-1, 17, 3)
    np.testing.assert_allclose(pose, np.load(app_env["data"] / "pose" / "clip000.npy"), atol=1e-6)
    # 200 frames, 15 % trimmed (30) at each end, windows of 100 hop 50 -> one window at 30
    assert payload["windows"] == {"size": 100, "starts": [30]}


def test_url_time_reaches_the_player(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip001", "t": "2.5"}).run()
    _no_failures(at)
    assert player_payload(at)["start_time"] == pytest.approx(2.5)
    # a bad time is ignored, not an error
    at = app_test(BROWSE, {"clip": "clip001", "t": "soon"}).run()
    _no_failures(at)
    assert player_payload(at)["start_time"] == 0.0


def test_unknown_clip_in_the_url_warns(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "nope<b>"}).run()
    _no_failures(at)
    assert any("nope" in _unescape(w.value) for w in at.warning)
    assert not at.get("iframe")


def test_imu_controls_choose_the_traces(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip001"}).run()
    at.multiselect(key=StateKeys.IMU_SITES).set_value(["Head", "LFoot", "Spine"]).run()
    at.button_group(key=StateKeys.IMU_QUANTITY).set_value("gyro").run()
    _no_failures(at)
    imu = player_payload(at)["imu"]
    assert imu["quantity"] == "gyro" and imu["unit"] == "rad/s"
    assert [r["site"] for r in imu["rows"]] == ["Head", "LFoot", "Spine"]
    assert [s["name"] for s in imu["rows"][0]["series"]] == ["x", "y", "z", "|·|"]


@pytest.mark.parametrize("missing", ["pose", "imu"])
def test_clip_lacking_a_modality_renders_what_it_has(missing: str, tmp_path: Path, monkeypatch) -> None:
    data = make_dataset(tmp_path / "partial", n_clips=2, **{f"with_{missing}": False})
    monkeypatch.setenv("MUJO_DATA", str(data))
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE, {"clip": "clip001"}).run()
    _no_failures(at)
    assert not at.error
    payload = player_payload(at)
    assert payload[missing] is None
    assert payload["notes"][missing].startswith("No ")
    if missing == "pose":  # the IMU the clip has: both sites, 200 frames, the file's values
        assert payload["imu"]["n_frames"] == 200 and [r["site"] for r in payload["imu"]["rows"]] == ["RWrist", "LWrist"]
        assert_payload_imu(payload, data / "imu" / "clip001.npz")
    else:
        assert_payload_pose(payload, data / "pose" / "clip001.npy")
    assert payload["video"] is None and "No video" in payload["notes"]["video"]


def test_broken_clip_shows_an_error_and_the_page_survives(app_env: dict[str, Path]) -> None:
    corrupt_header(app_env["data"] / "pose" / "clip003.npy")
    at = app_test(BROWSE, {"clip": "clip003"}).run()
    _no_failures(at)
    errors = [_unescape(e.value) for e in at.error]
    assert len(errors) == 1
    assert "clip003" in errors[0] and "pose/clip003.npy" in errors[0]
    payload = player_payload(at)  # the rest of the view still works
    assert payload["pose"] is None and "broken" in payload["notes"]["pose"]
    assert_payload_imu(payload, app_env["data"] / "imu" / "clip003.npz")
    assert len(table_ids(at)) == 8
    # another clip still opens fine
    at = select_row(at, 1)
    _no_failures(at)
    assert not at.error
    assert player_payload(at)["clip_id"] == "clip001"


def test_changing_filters_keeps_the_selected_clip(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip006"}).run()
    assert at.session_state[StateKeys.TABLE]["selection"]["rows"] == [6]
    at.multiselect(key=StateKeys.SPLITS).set_value(["val"]).run()
    _no_failures(at)
    # clip006 moved to row 2 of the filtered table; the selection follows it
    assert table_ids(at)[2] == "clip006"
    assert at.session_state[StateKeys.TABLE]["selection"]["rows"] == [2]
    assert player_payload(at)["clip_id"] == "clip006"


def test_browse_link_helpers() -> None:
    assert browse_params("abc___3") == {"clip": "abc___3"}
    assert browse_params("abc___3", 12.345) == {"clip": "abc___3", "t": "12.35"}
    assert browse_url("abc___3", 4) == "Browse?clip=abc___3&t=4.00"
    assert browse_url("a-b") == "Browse?clip=a-b"
    assert absolute_browse_url("a", None, "http://h:8501/Browse") == "http://h:8501/Browse?clip=a"
    assert absolute_browse_url("a", 2, "https://h/lab/mujo/") == "https://h/lab/mujo/Browse?clip=a&t=2.00"
    assert absolute_browse_url("a", None, None) == "Browse?clip=a"


def test_filter_choices_from_another_dataset_are_dropped(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE)
    at.session_state[StateKeys.SPLITS] = ["holdout"]  # e.g. chosen while another dataset was open
    at.session_state[StateKeys.LABELS] = ["squat", "yoga"]
    at.run()
    _no_failures(at)
    assert at.multiselect(key=StateKeys.SPLITS).value == []
    assert at.multiselect(key=StateKeys.LABELS).value == ["squat"]
    assert table_ids(at) == ["clip000", "clip003", "clip006"]


def test_no_imu_site_picked_gives_a_note(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip000"}).run()
    at.multiselect(key=StateKeys.IMU_SITES).set_value([]).run()
    _no_failures(at)
    payload = player_payload(at)
    assert payload["imu"] is None and "Pick at least one IMU site" in payload["notes"]["imu"]
    assert_payload_pose(payload, app_env["data"] / "pose" / "clip000.npy")


def test_clip_without_any_file_shows_notes(tmp_path: Path, monkeypatch) -> None:
    data = make_dataset(tmp_path / "empty", n_clips=2, with_pose=False, with_imu=False)
    monkeypatch.setenv("MUJO_DATA", str(data))
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE, {"clip": "clip000"}).run()
    _no_failures(at)
    payload = player_payload(at)
    assert payload["pose"] is None and payload["imu"] is None and payload["video"] is None
    assert set(payload["notes"]) == {"pose", "imu", "video"}


def test_editing_clips_csv_reopens_the_dataset(app_env: dict[str, Path]) -> None:
    import os  # noqa: PLC0415

    from fimad_factory import append_row  # noqa: PLC0415

    at = app_test(BROWSE).run()
    assert len(table_ids(at)) == 8
    csv = app_env["data"] / "clips.csv"
    before = csv.stat().st_mtime
    append_row(app_env["data"], {"clip_id": "added", "n_frames": "120", "chapter": "added later"})
    os.utime(csv, (before + 5, before + 5))  # a clearly newer mtime, whatever the file system's resolution
    at.run()
    _no_failures(at)
    assert table_ids(at)[-1] == "added"


def test_every_column_of_the_clip_is_drawn_once_asked_for(app_env: dict[str, Path]) -> None:
    """"All columns" runs only while open (a lazy expander); then it lists the clip's columns, values as text."""
    at = app_test(BROWSE, {"clip": SCRIPT_CLIP}).run()
    _no_failures(at)
    assert len(at.dataframe) == 1  # the clip table only
    at.session_state[StateKeys.CLIP_COLUMNS_OPEN] = True
    at.run()
    _no_failures(at)
    columns = at.dataframe[1].value
    from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415  (the expected value)

    want = str(FimadDataset(app_env["data"]).clips.at[SCRIPT_CLIP, "video_id"])
    assert columns.index.name == "column" and columns.loc["video_id", "value"] == want
    assert "chapter" not in columns.index  # shown above it, as text
