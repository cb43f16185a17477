"""Dataset text in widget labels, options and captions is shown as text: Streamlit renders Markdown there (images,
links, directives), so a title, label or name such as `![x](http://host/x.png)` must reach the page escaped, and a
200 kB title must reach it shortened (the whole text one click away)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from app_helpers import BROWSE, app_test, make_dataset, player_payload, select_row
from embedding_fixtures import make_checkpoint, make_store, model_env
from fimad_factory import read_rows, write_rows

from mujo.ui.state import StateKeys
from mujo.ui.text import CELL_CHARS, DISPLAY_CHARS, LABEL_CHARS

IMAGE = "![x](http://host/x.png)"
LINK = "[x](javascript:alert(1))"
HUGE = "Jumping jacks, then " + "x" * 200_000  # a 200 kB chapter title
CURATION = "pages/6_Curation.py"
RETRIEVAL = "pages/3_Retrieval.py"


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _plain(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _is_escaped(md: str, original: str) -> bool:
    """`md` shows `original` literally: no live Markdown image or link syntax is left in it."""
    return "](" not in md and "![" not in md and original in _plain(md)


def _set_column(root: Path, name: str, values: dict[int, str]) -> None:
    rows = read_rows(root)
    col = rows[0].index(name)
    for i, v in values.items():
        rows[i + 1][col] = v
    write_rows(root, rows)


@pytest.fixture()
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A model, a dataset named and labelled with Markdown, one 200 kB title, and its embedding store."""
    env = model_env(tmp_path, monkeypatch, store=False, checkpoint=False)
    data = env["data"]
    _set_column(data, "label", {0: IMAGE, 1: LINK, 2: IMAGE, 3: LINK, 5: "x" * 5_000})
    _set_column(data, "chapter", {4: HUGE})
    env["checkpoint"] = make_checkpoint(env["home"] / "models" / "demo", extra={"settings": {"preset": IMAGE}})
    env["store"] = make_store(env["home"], env["checkpoint"], data)
    return env


def test_retrieval_buttons_model_caption_and_long_titles(hostile: dict[str, Path], monkeypatch) -> None:
    import mujo.ui.retrieval as ur  # noqa: PLC0415
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415

    store = EmbeddingStore.open(hostile["store"])
    row = int(np.flatnonzero(store.index["clip_id"].to_numpy() == "clip004")[0])  # the 200 kB title
    monkeypatch.setattr(ur, "text_query_vector", lambda *a: np.asarray(store.vectors("imu")[row], np.float32)[None])
    at = app_test(RETRIEVAL).run()
    _ok(at)
    examples = [b for b in at.button if str(b.key).startswith("ret.example_text.")]
    labels = [b.label for b in examples]
    assert any(_is_escaped(b, IMAGE) for b in labels) and any(_is_escaped(b, LINK) for b in labels)
    assert all("](" not in b for b in labels) and all(len(_plain(b)) <= LABEL_CHARS for b in labels)
    assert "x" * 5_000 not in "".join(labels)  # a label too long to be a query is not offered
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert _is_escaped(caption, f"preset {IMAGE}")  # the model caption: the preset comes from the checkpoint
    image_button = next(b for b in examples if IMAGE in _plain(b.label))
    image_button.click().run()  # the button still sets the real text as the query
    _ok(at)
    assert at.text_input(key=StateKeys.RET_TEXT).value == IMAGE
    cards = json.loads(re.search(r'id="mujo-payload">(.*?)</script>', at.get("iframe")[0].proto.srcdoc,
                                 re.S).group(1))["cards"]
    assert cards[0]["clip_id"] == "clip004" and len(cards[0]["chapter"]) <= 300
    assert cards[0]["chapter"].startswith("Jumping jacks, then x") and cards[0]["chapter"].endswith("…")
    table = at.dataframe[0].value
    assert table["chapter"].map(len).max() <= CELL_CHARS
    assert "x" * 1_000 not in at.get("iframe")[0].proto.srcdoc  # the 200 kB title did not travel into the page


def test_curation_checkbox_download_and_long_title(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    data = make_dataset(tmp_path / "fimad", name=IMAGE)
    _set_column(data, "chapter", {0: HUGE})
    monkeypatch.setenv("MUJO_HOME", str(home))
    monkeypatch.setenv("MUJO_DATA", str(data))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    at = app_test(CURATION, query={"clip": "clip000"})
    at.session_state[StateKeys.CUR_ANNOTATOR] = LINK
    at.session_state[StateKeys.CUR_SELECTION] = ["clip001", "clip002"]
    at.session_state[StateKeys.CUR_BULK_LABEL] = "activity"
    at.session_state[StateKeys.CUR_BULK_ACTIVITY] = IMAGE
    at.session_state[StateKeys.CUR_FILES_OPEN] = True  # the files panel drawn (it runs only while open)
    at.run()
    _ok(at)
    box = at.checkbox(key=StateKeys.CUR_BULK_CONFIRM).label
    assert _is_escaped(box, IMAGE) and box.startswith("Yes, label all 2 clips ")
    at.button(key=StateKeys.CUR_IO_PREPARE).click().run()
    _ok(at)
    download = at.get("download_button")[0].proto
    assert "](" not in download.label and "![" not in download.label  # the name is made safe, then escaped
    assert re.fullmatch(r"x_http_host_x\.png-labels-clip\.csv", _plain(download.label).split()[1])
    # The clip's 200 kB title: its start in the text panel, the whole text in an expander below it.
    shown = [t.value for t in at.text]
    assert shown.count(HUGE) == 1 and any(t.startswith("Jumping jacks, then x") and t.endswith("…")
                                          and len(t) <= DISPLAY_CHARS for t in shown)
    full = [e for e in at.expander if e.label.startswith("Full chapter (200,020 characters)")]
    assert len(full) == 1 and [t.value for t in full[0].text] == [HUGE]  # the one whole copy: in the expander
    assert len(player_payload(at)["title"]) <= DISPLAY_CHARS


def test_browse_table_and_filters_shorten_a_huge_title_and_label(app_env: dict[str, Path]) -> None:
    _set_column(app_env["data"], "label", {2: IMAGE + " " + "y" * 10_000})
    _set_column(app_env["data"], "chapter", {2: HUGE})  # last: csv.reader refuses a 200 kB cell by default
    at = app_test(BROWSE).run()
    _ok(at)
    table = at.dataframe[0].value
    assert table["chapter"].map(len).max() <= CELL_CHARS and table["label"].map(len).max() <= CELL_CHARS
    assert table.loc["clip002", "chapter"].endswith("…")
    label_filter = at.multiselect(key=StateKeys.LABELS)
    assert max(len(o) for o in label_filter.options) <= LABEL_CHARS
    select_row(at, 2)
    _ok(at)
    assert len(player_payload(at)["title"]) <= DISPLAY_CHARS
    assert any(e.label.startswith("Full chapter (") for e in at.expander)
