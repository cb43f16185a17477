"""What the load test's two kinds of simulated annotator share (benchmarks/load_browser.py drives chromium pages,
benchmarks/load_ws.py Streamlit's websocket protocol): the deliberate collisions, and the random keys on the
annotator's own queue.

A subclass provides `open(clip)`, `recover()`, `decide(key, collision)`, `undo()`, `move(key)`, the attributes
`name`, `server`, `gen`, `rng`, `think_s`, `n_clips`, `t0`, `verbose`, `missions` and `rec`, the property `clip`
(the clip its page shows, None for none), and says which errors of one step it survives by reopening its page.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from load_check import Press

LABEL_KEYS = {"n": "null", "a": "activity", "u": "unsure", "b": "bad"}


@dataclass
class Mission:
    """A deliberate collision: two annotators open `clip` by its link and, once both show it, both decide."""

    id: int
    clip: str
    cross: bool = False  # the two annotators work on different server processes
    arrived: int = 0
    both: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived == 2:
            self.both.set()


class RandomAnnotator:
    """Random keys on the annotator's own queue and the collisions handed to it (see the module's docstring)."""

    step_errors: tuple[type[BaseException], ...] = (Exception,)  # a step that fails so: reopen the page, go on
    collide_wait_s = 120.0  # how long to wait for the other annotator of a collision

    def say(self, what: str) -> None:
        if self.verbose:
            print(f"{time.monotonic() - self.t0:7.1f} {self.name}: {what}", flush=True)

    async def _fresh(self) -> None:
        """Before a key press: a page that has not been back since a kill recovers first."""
        if self.server.generation != self.gen or not self.server.up.is_set():
            await self.recover()

    def _new_press(self, key: str, clip: str | None, collision: int | None) -> Press:
        """A decision key about to be pressed on `clip`, in the record (its answer is filled in after)."""
        self.say(f"{key} on {clip}" + (f" (collision {collision})" if collision is not None else ""))
        p = Press(self.name, clip, LABEL_KEYS[key], collision=collision)
        self.rec.presses.append(p)
        return p

    async def collide(self, m: Mission) -> None:
        """Open the mission's clip by its link, wait for the other annotator to show it too, then both decide."""
        self.say(f"collision {m.id}: opening {m.clip}")
        await self.open(m.clip)
        if self.clip != m.clip:
            self.say(f"collision {m.id}: shows {self.clip}, not {m.clip}")
            return
        m.arrive()
        try:
            await asyncio.wait_for(m.both.wait(), timeout=self.collide_wait_s)
        except asyncio.TimeoutError:
            self.say(f"collision {m.id}: the other never came")
            return  # the other one never got there (a kill): no collision
        if self.server.generation != self.gen:
            await self.recover()
            return
        await self.decide(self.rng.choice("naub"), collision=m.id)

    async def run(self, until: float) -> None:
        """Random keys until `until` (monotonic): N 30 %, A 15 %, U 15 %, B 10 %, J 12 %, K 10 %, Z 8 %; a collision
        handed over before then is carried out even after it."""
        while time.monotonic() < until or not self.missions.empty():
            try:
                await self._step()
            except self.step_errors as e:  # a page that died under us: count it, reopen it, go on
                self.say(f"error: {e!r}"[:300])
                self.rec.reloads += 1
                await self.open(self.clip)

    async def _step(self) -> None:
        if self.server.generation != self.gen:
            await self.recover()
            return
        if not self.missions.empty():
            await self.collide(self.missions.get_nowait())
            return
        if self.think_s:
            await asyncio.sleep(self.rng.uniform(0, 2 * self.think_s))
        if self.clip is None:  # an empty queue: open some clip by its link
            await self.open(f"clip{self.rng.randrange(self.n_clips):03d}")
            return
        key = self.rng.choices("naubjkz", weights=(30, 15, 15, 10, 12, 10, 8))[0]
        if key in LABEL_KEYS:
            await self.decide(key)
        elif key == "z":
            await self.undo()
        else:
            await self.move(key)


__all__ = ["LABEL_KEYS", "Mission", "RandomAnnotator"]
