"""Self-contained HTML components (the Browse player, the Retrieval cards): `<name>.html` beside this file, filled
with `<name>.js` and one JSON payload that no dataset text can break out of; arrays travel as base64 float32."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
PAYLOAD_MARKER, SCRIPT_MARKER = "__MUJO_PAYLOAD__", "__MUJO_SCRIPT__"


def b64_f32(arr: np.ndarray) -> str:
    """Little-endian float32 bytes in base64 (NaN kept: the JS draws it as a gap)."""
    return base64.b64encode(np.ascontiguousarray(arr, dtype="<f4").tobytes()).decode("ascii")


def json_for_html(obj: Any) -> str:
    """JSON safe to place inside a <script> element: `<`, `>`, `&` and the JS line separators are \\u-escaped.

    These characters only occur inside JSON strings, where the escapes mean the same characters, so the
    document parses back unchanged while `</script>` or `<!--` in dataset text cannot end the element.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def component_html(name: str, payload: Any) -> str:
    """The complete HTML document of component `name`: its template with its script and `payload` filled in."""
    template = (_HERE / f"{name}.html").read_text(encoding="utf-8")
    script = (_HERE / f"{name}.js").read_text(encoding="utf-8")
    head, marker, tail = template.partition(PAYLOAD_MARKER)
    if not marker:
        raise RuntimeError(f"{name}.html lacks the {PAYLOAD_MARKER} marker")
    # The script goes in before the payload, so nothing in the payload can be mistaken for a marker.
    tail = tail.replace(SCRIPT_MARKER, script, 1)
    return head + json_for_html(payload) + tail
