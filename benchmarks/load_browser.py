"""One simulated annotator of the load test: a real browser page on the Curation page (Playwright's async API,
Debian's chromium) pressing random keys, and the deliberate collisions of two annotators on one clip.

An annotator reads what the page acknowledged from its alerts: before a key press every alert on the page is marked
with the text it shows, and the answer is the first alert that is new or shows new text: "<clip> labelled ..."
(applied), "... changed <clip> after you opened it" (a conflict), or a refusal. After a kill the page reconnects by
itself (Streamlit's frontend retries its websocket; the new session keeps the clip through `?clip=`); the annotator
waits for the queue to show again, reloads the page if it does not, and types its name again where the box is empty.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time

from load_annotator import Mission, RandomAnnotator
from load_check import APPLIED, CONFLICT, REFUSED, UNACKED, Press, Record
from load_server import Server

ACK_TIMEOUT_S = 90.0  # a press with no answer by then (and no kill) is left unacknowledged
READY_TIMEOUT_S = 120.0  # a reconnected page that shows no queue by then is reloaded

SHOWN_JS = r"""() => { const m = /(?:Clip \d+ of \d+|Not in the queue[^\n]*?) · (clip\d+)/
                           .exec(document.body.innerText); return m ? m[1] : null; }"""
SHOWN_READY_JS = r"""() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stConnectionStatus"]')
    && (/(Clip \d+ of \d+|Not in the queue[^\n]*?) · clip\d+/.test(document.body.innerText)
        || document.body.innerText.includes('No clip matches the queue filters'))"""
CONNECTED_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stConnectionStatus"]')"""
KEYS_JS = "[...document.querySelectorAll('button')].some(b => b.innerText.includes('NULL') && !b.disabled)"
READY_JS = f"() => ({SHOWN_READY_JS})() && {KEYS_JS}"
MARK_JS = """() => document.querySelectorAll('[data-testid="stAlert"]')
                          .forEach(el => { el.dataset.loadSeen = el.innerText; })"""
NEW_ALERT_JS = """() => [...document.querySelectorAll('[data-testid="stAlert"]')]
                          .filter(el => el.dataset.loadSeen !== el.innerText).map(el => el.innerText).join('\\n')"""


class Annotator(RandomAnnotator):
    """One annotator: a browser page on the Curation page, its own name, random keys, its record."""

    collide_wait_s = READY_TIMEOUT_S

    def __init__(self, name: str, page, server: Server, rng: random.Random, think_s: float, n_clips: int) -> None:
        self.name, self.page, self.server, self.rng, self.think_s = name, page, server, rng, think_s
        self.n_clips = n_clips
        self.t0 = time.monotonic()
        self.verbose = bool(os.environ.get("MUJO_LOAD_VERBOSE"))
        self.rec = Record(name)
        self.missions: asyncio.Queue[Mission] = asyncio.Queue()
        self.gen = server.generation
        self.clip: str | None = None

    # --- waiting -------------------------------------------------------------------------------------------
    async def _wait(self, js: str, timeout_s: float, gen: int | None = None):
        """Poll `js` until truthy (its value), None after `timeout_s` or as soon as the server was killed since
        `gen` (or is down)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                h = await self.page.wait_for_function(js, timeout=1000, polling=50)
                return await h.json_value()
            except Exception:  # noqa: BLE001  (a timeout, or a navigation that destroyed the context)
                pass
            if gen is not None and (self.server.generation != gen or not self.server.up.is_set()):
                return None  # the server was killed: the answer will not come (it would be on the page by now)
            if time.monotonic() > deadline:
                return None

    async def ready(self, timeout_s: float = READY_TIMEOUT_S, keys: bool = True, gen: int | None = None) -> bool:
        """The queue is shown, its script run over, the decision keys enabled (checked twice, 150 ms apart); False
        after `timeout_s` or once the server was killed since `gen`."""
        for _ in range(2):
            if await self._wait(READY_JS if keys else SHOWN_READY_JS, timeout_s, gen) is None:
                return False
            await asyncio.sleep(0.15)
        self.clip = await self.page.evaluate(SHOWN_JS)
        return True

    async def ensure_name(self, force: bool = False) -> None:
        """Type the annotator's name into the sidebar box (Enter) unless the page already labels under it.

        `force`: after a reconnect the box and the keys still look as before, but the server's new session has
        lost the name (a key press would answer "Type your name ..."): clear the box and type the name again.
        """
        box = self.page.get_by_role("textbox", name="Annotator")
        shown = await box.input_value() if await box.count() else ""
        if not force and shown == self.name and await self.page.evaluate(f"() => {KEYS_JS}") \
                and "Type your name under" not in await self.page.inner_text("body"):
            return
        if shown:
            await box.fill("")
            await box.press("Enter")
            await self._wait(f"() => !({KEYS_JS}) || null", 60)  # the run without a name is drawn
        await box.fill(self.name)
        await box.press("Enter")
        await self.page.wait_for_timeout(300)
        await self.ready(keys=True)
        await self.page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page

    async def open(self, clip: str | None = None) -> None:
        """Open the Curation page (a clip's link when given) until it shows the queue with this annotator's name."""
        url = f"{self.server.base}/Curation" + (f"?clip={clip}" if clip else "")
        deadline = time.monotonic() + 4 * READY_TIMEOUT_S
        while time.monotonic() < deadline:
            await self.server.up.wait()
            gen = self.server.generation
            try:
                if self.server.home_run != gen:  # Streamlit names its pages once app.py has run
                    await self.page.goto(self.server.base, timeout=READY_TIMEOUT_S * 1000)
                    await self.page.wait_for_selector("h1", timeout=READY_TIMEOUT_S * 1000)
                    self.server.home_run = gen
                await self.page.goto(url, timeout=READY_TIMEOUT_S * 1000)
            except Exception:  # noqa: BLE001  (the server died during the load: try again)
                continue
            if await self.ready(keys=False, gen=gen):
                await self.ensure_name()
                self.gen = gen  # a kill since: the next step recovers
                return
        raise RuntimeError(f"{self.name}: the Curation page did not open")

    async def recover(self) -> None:
        """After a kill: wait for the server, let the page reconnect by itself (else reload it), name again.

        A reconnected page shows what it showed before and runs nothing until the next key; a page whose run the
        kill cut short shows no queue, and is reloaded.
        """
        self.rec.reconnects += 1
        self.say("recovering")
        t = time.monotonic()
        await self.server.up.wait()
        gen = self.server.generation
        connected = await self._wait(CONNECTED_JS, READY_TIMEOUT_S, gen)
        if connected is not None and await self.ready(timeout_s=3, keys=False, gen=gen):
            await self.ensure_name(force=True)
            self.gen = gen
        else:
            self.rec.reloads += 1
            await self.open(self.clip)
        self.rec.recover_s.append(time.monotonic() - t)

    # --- actions -------------------------------------------------------------------------------------------
    async def decide(self, key: str, collision: int | None = None) -> Press:
        await self._fresh()
        clip = self.clip or await self.page.evaluate(SHOWN_JS)
        p = self._new_press(key, clip, collision)
        await self.page.evaluate(MARK_JS)
        gen, t = self.server.generation, time.perf_counter()
        await self.page.keyboard.press(key)
        await self._answer(p, clip, gen, t)
        return p

    async def _answer(self, p: Press, clip: str, gen: int, t: float) -> None:
        js = (f"() => {{ const t = ({NEW_ALERT_JS})(); return (t.includes({json.dumps(clip + ' labelled')})"
              f" || t.includes({json.dumps('changed ' + clip + ' after you opened it')}) || t.includes('Not labelled:')"
              " || t.includes('Type your name') || t.includes('Choose or type the activity')) ? t : null; }")
        text = await self._wait(js, ACK_TIMEOUT_S, gen)
        if text is None:
            p.outcome = UNACKED
            if self.verbose:
                diag = await self.page.evaluate(f"""() => [document.activeElement && (document.activeElement.tagName
                    + ' ' + (document.activeElement.getAttribute('aria-label') || '')), ({CONNECTED_JS})(),
                    ({KEYS_JS}), document.visibilityState, document.hasFocus()]""")
                self.say(f"  no answer (server generation {gen} -> {self.server.generation}); focus, connected, "
                         f"keys, visibility, hasFocus: {diag}")
            await self.recover()
            return
        p.latency_s = time.perf_counter() - t
        self.say(f"  answer after {p.latency_s:.2f} s: {text[:90]!r}")
        if f"changed {clip} after you opened it" in text:
            p.outcome = CONFLICT
        elif f"{clip} labelled" in text:
            p.outcome, p.replayed = APPLIED, "written already" in text
        else:
            p.outcome = REFUSED
        if not await self.ready():
            await self.recover()
        if p.outcome == CONFLICT:
            await self.resolve(p)

    async def resolve(self, p: Press) -> None:
        """After a conflict: keep theirs (half the time), replace theirs, or mark the clip disputed."""
        r = self.rng.random()
        name = "Keep " if r < 0.5 else "Replace it with" if r < 0.75 else "Mark disputed"
        self.say(f"  resolves the conflict on {p.clip}: {name.strip()}")
        await self.page.evaluate(MARK_JS)
        gen, t = self.server.generation, time.perf_counter()
        try:
            await self.page.get_by_role("button", name=name).first.click(timeout=10_000)
        except Exception:  # noqa: BLE001  (the panel went away: a kill)
            await self.recover()
            return
        if name == "Replace it with":
            q = Press(self.name, p.clip, p.label, collision=None)
            self.rec.presses.append(q)
            await self._answer(q, p.clip, gen, t)
            return
        js = (f"() => {{ const t = ({NEW_ALERT_JS})(); return /Marked \\S+ as disputed|Kept |Not marked/.test(t) ? t"
              " : null; }")
        text = await self._wait(js, ACK_TIMEOUT_S, gen)
        if text is not None and name == "Mark disputed" and f"Marked {p.clip} as disputed" in text:
            self.rec.disputes.append(p.clip)
        if text is None or not await self.ready():
            await self.recover()

    async def move(self, key: str) -> None:
        await self._fresh()
        before = self.clip
        await self.page.evaluate(MARK_JS)
        gen, t = self.server.generation, time.perf_counter()
        await self.page.keyboard.press(key)
        js = f"() => (({SHOWN_JS})() !== {json.dumps(before)}) || !!({NEW_ALERT_JS})() || null"
        if await self._wait(js, ACK_TIMEOUT_S, gen) is None or not await self.ready():
            await self.recover()
            return
        self.rec.moves += 1
        self.rec.move_s.append(time.perf_counter() - t)

    async def undo(self) -> None:
        await self._fresh()
        await self.page.evaluate(MARK_JS)
        gen = self.server.generation
        await self.page.keyboard.press("z")
        js = (f"() => {{ const t = ({NEW_ALERT_JS})(); return /Undid your last label of|Nothing of yours|Cannot undo/"
              ".test(t) ? t : null; }")
        text = await self._wait(js, ACK_TIMEOUT_S, gen)
        if text is not None and "Undid your last label of " in text:
            self.rec.undos.append(text.split("Undid your last label of ", 1)[1].split(".")[0].strip())
        if text is None or not await self.ready():
            await self.recover()


__all__ = ["Annotator"]
