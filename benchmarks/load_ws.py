"""One simulated annotator of the load test over Streamlit's own websocket protocol: no browser, the same messages a
browser tab exchanges with the server.

A `Tab` is one browser tab's session: it connects to `/_stcore/stream` (subprotocol "streamlit"), asks for script
runs with a `BackMsg.rerun_script` (the page, its query string, the widget values: the Annotator box's text, and a
pressed button's trigger, which is what a key shortcut does in the browser), and reads the `ForwardMsg`s back until
the run is over: every element the page drew (alerts, texts, buttons with their ids, labels and shortcuts), the
query string the page set. A `WsAnnotator` presses random keys on its own queue like `load_browser.Annotator`, and
records what the page acknowledged: the Curation page shows a decision's outcome in the run right after the key
("<clip> labelled ..." applied, "... changed <clip> after you opened it" a conflict, else a refusal).

After a SIGKILL the connection drops: the annotator waits for the server, opens a new session on the clip it showed
(its `?clip=` link, as a reloaded tab does) with its name, and goes on. A press the dead server never answered is
left unacknowledged.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field

import websockets
from load_annotator import Mission, RandomAnnotator
from load_check import APPLIED, CONFLICT, REFUSED, UNACKED, Press, Record
from load_server import Server
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ACK_TIMEOUT_S = 90.0  # a run that has not finished by then (and no kill) leaves the press unacknowledged
SHOWN = re.compile(r"(?:Clip \d+ of \d+|Not in the queue[^\n]*?)\*{0,2} · (clip\d+)")
FINISHED_EARLY_FOR_RERUN = 2  # ForwardMsg.script_finished: the script called st.rerun (another run follows)
TEXT_KINDS = ("markdown", "text", "alert", "heading", "toast")
UNESCAPE = re.compile(r"\\([^\w\s])")  # md_escape's backslashes before punctuation


class Down(Exception):
    """The server went away (the connection dropped or the run did not finish)."""


@dataclass
class Run:
    """What one press made the page draw: the runs' elements until the last one finished."""

    alerts: list[str] = field(default_factory=list)  # every alert of the runs, in order
    alert_s: list[float] = field(default_factory=list)  # send -> each alert arrived
    texts: list[str] = field(default_factory=list)  # markdown, text, alert, heading bodies of the last run
    buttons: dict[str, tuple[str, bool]] = field(default_factory=dict)  # shortcut or label -> (widget id, disabled)
    inputs: dict[str, str] = field(default_factory=dict)  # a text input's label -> its widget id
    done_s: float = 0.0  # send -> the page's last run finished

    def ack(self, *needles: str) -> tuple[str, float] | None:
        """The first alert that contains one of `needles`, and when it arrived."""
        return next(((a, s) for a, s in zip(self.alerts, self.alert_s) if any(n in a for n in needles)), None)

    @property
    def clip(self) -> str | None:
        for t in self.texts:
            m = SHOWN.search(t)
            if m:
                return m.group(1)
        return None

    def button(self, name: str) -> tuple[str, bool] | None:
        """A button by its shortcut or label, else the first whose label starts with `name`."""
        if name in self.buttons:
            return self.buttons[name]
        return next((v for k, v in self.buttons.items() if k.startswith(name)), None)


class Tab:
    """One browser tab's session over the websocket protocol."""

    def __init__(self, server: Server, page: str) -> None:
        self.server, self.page = server, page
        self.ws = None
        self.query = ""
        self.values: dict[str, WidgetState] = {}  # widget id -> the value the tab holds (what a browser sends back)

    async def connect(self) -> None:
        url = self.server.base.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=30)
        self.values = {}  # a new session: a reloaded tab

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def rerun(self, widgets: list[WidgetState], query: str | None = None) -> Run:
        """Ask for a run of the page (with `query` as its query string when given) and read it to the end."""
        if query is not None:
            self.query = query
        m = BackMsg()
        cs = m.rerun_script
        cs.query_string, cs.page_name = self.query, self.page
        given = {w.id for w in widgets}
        cs.widget_states.widgets.extend([v for k, v in self.values.items() if k not in given] + list(widgets))
        t = time.perf_counter()
        try:
            await self.ws.send(m.SerializeToString())
            return await asyncio.wait_for(self._read(t), ACK_TIMEOUT_S)
        except (OSError, websockets.ConnectionClosed, asyncio.TimeoutError) as e:
            raise Down(repr(e)) from e

    async def _read(self, t: float) -> Run:
        run = Run()
        while True:
            f = ForwardMsg()
            f.ParseFromString(await self.ws.recv())
            kind = f.WhichOneof("type")
            if kind == "new_session":  # a run starts: the page is drawn again from the top
                run.texts, run.buttons, run.inputs = [], {}, {}
            elif kind == "page_info_changed":
                self.query = f.page_info_changed.query_string
            elif kind == "delta" and f.delta.WhichOneof("type") == "new_element":
                self._element(run, f.delta.new_element, t)
            elif kind == "script_finished" and f.script_finished != FINISHED_EARLY_FOR_RERUN:
                run.done_s = time.perf_counter() - t
                return run

    def _element(self, run: Run, e, t: float) -> None:
        kind = e.WhichOneof("type")
        self._hold(kind, getattr(e, kind))
        if kind in TEXT_KINDS:
            body = getattr(e, kind).body
            if kind in ("alert", "toast", "markdown"):
                body = UNESCAPE.sub(r"\1", body)  # the page escapes dataset text in Markdown: compare plain text
            run.texts.append(body)
            if kind in ("alert", "toast"):
                run.alerts.append(body)
                run.alert_s.append(time.perf_counter() - t)
        elif kind == "button":
            b = e.button
            run.buttons[b.shortcut or b.label or b.id] = (b.id, b.disabled)
            if b.shortcut and b.label:
                run.buttons.setdefault(b.label, (b.id, b.disabled))
        elif kind == "text_input":
            run.inputs[e.text_input.label] = e.text_input.id


    def _hold(self, kind: str, w) -> None:
        """Keep a widget's value as a browser tab does: the value the server set, else what the tab had, else the
        widget's default (text boxes, select boxes and check boxes; the other widgets keep the server's state)."""
        if kind not in ("text_input", "selectbox", "checkbox") or not w.id:
            return
        if not w.set_value and w.id in self.values:
            return
        state = WidgetState(id=w.id)
        if kind == "text_input":
            state.string_value = w.value if w.set_value else w.default
        elif kind == "checkbox":
            state.bool_value = w.value if w.set_value else w.default
        elif w.set_value and w.HasField("raw_value"):
            state.string_value = w.raw_value
        elif w.HasField("default") and w.default < len(w.options):
            state.string_value = w.options[w.default]
        else:
            return
        self.values[w.id] = state


def _text(widget_id: str, value: str) -> WidgetState:
    w = WidgetState(id=widget_id)
    w.string_value = value
    return w


def _trigger(widget_id: str) -> WidgetState:
    w = WidgetState(id=widget_id)
    w.trigger_value = True
    return w


class WsAnnotator(RandomAnnotator):
    """One annotator over the websocket protocol: the Curation page, its own name, random keys, its record."""

    step_errors = (Down, LookupError)
    collide_wait_s = ACK_TIMEOUT_S

    def __init__(self, name: str, server: Server, rng: random.Random, think_s: float, n_clips: int) -> None:
        self.name, self.server, self.rng, self.think_s, self.n_clips = name, server, rng, think_s, n_clips
        self.t0 = time.monotonic()
        self.verbose = bool(os.environ.get("MUJO_LOAD_VERBOSE"))
        self.rec = Record(name)
        self.missions: asyncio.Queue[Mission] = asyncio.Queue()
        self.tab = Tab(server, "Curation")
        self.gen = server.generation
        self.last = Run()
        self.done_s: list[float] = []  # key press -> the page's run over (the whole page drawn)

    @property
    def clip(self) -> str | None:
        return self.last.clip

    def _name(self) -> list[WidgetState]:
        box = self.last.inputs.get("Annotator")
        return [_text(box, self.name)] if box else []

    async def _press(self, button: str | None) -> Run:
        """The key `button` (a shortcut or a label prefix; None: a plain rerun), the annotator's name in its box."""
        widgets = self._name()
        if button is not None:
            b = self.last.button(button)
            if b is None or b[1]:
                raise LookupError(f"no enabled button {button!r} on the page")
            widgets.append(_trigger(b[0]))
        run = await self.tab.rerun(widgets)
        self.last = run
        return run

    async def open(self, clip: str | None = None) -> None:
        """A new session on the Curation page (the clip's link when given) that labels under this name."""
        while True:
            await self.server.up.wait()
            gen = self.server.generation
            try:
                await self.tab.close()
                await self.tab.connect()
                self.last = await self.tab.rerun([], query=f"clip={clip}" if clip else "")
                if "Annotator" not in self.last.inputs:
                    raise RuntimeError(f"{self.name}: the Curation page shows no Annotator box: {self.last.texts}")
                await self._press(None)  # the name typed (Enter): a run with it
                self.gen = gen
                return
            except (Down, OSError, websockets.InvalidHandshake, asyncio.TimeoutError):
                await asyncio.sleep(0.2)  # the server died meanwhile: try again

    async def recover(self) -> None:
        """After a kill: wait for the server, open a new session on the clip shown before, with the name."""
        self.rec.reconnects += 1
        self.say("recovering")
        t = time.monotonic()
        await self.open(self.clip)
        self.rec.recover_s.append(time.monotonic() - t)

    async def decide(self, key: str, collision: int | None = None) -> Press:
        await self._fresh()
        clip = self.clip
        p = self._new_press(key, clip, collision)
        await self._answer(p, clip, key)
        return p

    async def _answer(self, p: Press, clip: str, button: str) -> None:
        try:
            run = await self._press(button)
        except Down:
            p.outcome = UNACKED
            await self.recover()
            return
        answer = run.ack(f"changed {clip} after you opened it", f"{clip} labelled", "Not labelled:", "Type your name",
                         "Choose or type the activity")
        text, p.latency_s = answer if answer is not None else ("\n".join(run.alerts), run.done_s)
        self.done_s.append(run.done_s)
        self.say(f"  answer after {p.latency_s:.3f} s (page {run.done_s:.3f} s): {text[:90]!r}")
        if f"changed {clip} after you opened it" in text:
            p.outcome = CONFLICT
        elif f"{clip} labelled" in text:
            p.outcome, p.replayed = APPLIED, "written already" in text
        else:
            p.outcome = REFUSED
        if p.outcome == CONFLICT:
            await self.resolve(p)

    async def resolve(self, p: Press) -> None:
        """After a conflict: keep theirs (half the time), replace theirs, or mark the clip disputed."""
        r = self.rng.random()
        name = "Keep " if r < 0.5 else "Replace it with" if r < 0.75 else "Mark disputed"
        self.say(f"  resolves the conflict on {p.clip}: {name.strip()}")
        if name == "Replace it with":
            q = Press(self.name, p.clip, p.label, collision=None)
            self.rec.presses.append(q)
            await self._answer(q, p.clip, name)
            return
        try:
            run = await self._press(name)
        except Down:
            await self.recover()
            return
        if name == "Mark disputed" and any(f"Marked {p.clip} as disputed" in a for a in run.alerts):
            self.rec.disputes.append(p.clip)

    async def move(self, key: str) -> None:
        await self._fresh()
        if self.last.button(key) is None or self.last.button(key)[1]:
            return  # the first or last clip: the key does nothing
        try:
            run = await self._press(key)
        except Down:
            await self.recover()
            return
        self.rec.moves += 1
        self.rec.move_s.append(run.done_s)

    async def undo(self) -> None:
        await self._fresh()
        if self.last.button("z") is None or self.last.button("z")[1]:
            return
        try:
            run = await self._press("z")
        except Down:
            await self.recover()
            return
        for a in run.alerts:
            if "Undid your last label of " in a:
                self.rec.undos.append(a.split("Undid your last label of ", 1)[1].split(".")[0].strip())

    async def close(self) -> None:
        await self.tab.close()


__all__ = ["Down", "Run", "Tab", "WsAnnotator"]
