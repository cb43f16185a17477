"""Load and fault test of the Curation page: one Streamlit server, 8 simulated annotators, SIGKILLs.

    python benchmarks/bench_load.py [--annotators 8] [--seconds 60] [--kills 2] [--collide-every 8] [--clips 300]
                                    [--think 2.0] [--driver ws|browser] [--port 8599] [--seed 0] [--keep DIR]

One `streamlit run app.py` (its own process, on a fixed port so that it comes back on the same one) over a small
synthetic dataset without video (`tests/fimad_factory.make_fimad`, `--clips` clips) and an empty store. Each
annotator is one session on the Curation page under its own name:

- `--driver ws` (the default): Streamlit's own websocket protocol, the messages a browser tab exchanges with the
  server (benchmarks/load_ws.py): a key press is the button's trigger, as the browser's shortcut sends it; the
  latency is the server's, without 8 browsers rendering on the same 2 cores;
- `--driver browser`: one chromium (Debian's, driven by Playwright) with a browser context per annotator
  (benchmarks/load_browser.py), typing keys into real pages.

For `--seconds` every annotator presses random keys on its own queue (N, A, U, B decide; J, K move; Z undoes), a
pause drawn uniformly from 0 to twice `--think` seconds before each (the time to look at the clip). Every
`--collide-every` seconds two annotators deliberately open the same clip by its link (`/Curation?clip=`) and, once
both pages show it, both decide. `--kills` times during the run (evenly spaced) the server is SIGKILLed and started
again on its port; the sessions come back (a browser page reconnects or is reloaded; a websocket annotator opens a
new session on the clip it showed, with its name).

Each annotator records what the page acknowledged and every conflict it saw. Afterwards the store is checked
(benchmarks/load_check.py): every acknowledged decision is in it, no label was applied twice, every deliberate
collision was detected. It prints decisions per second, p50/p95 key press -> acknowledgement latency (with `ws`
also key press -> the page's whole run drawn), and "lost N, duplicated N, undetected conflicts N"; the exit status
is 1 unless all are 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO / "tests")]

from fimad_factory import make_fimad, read_rows, write_rows  # noqa: E402
from load_annotator import Mission  # noqa: E402
from load_browser import Annotator  # noqa: E402
from load_check import APPLIED, CONFLICT, UNACKED, Verdict, check  # noqa: E402
from load_server import Server  # noqa: E402
from load_ws import WsAnnotator  # noqa: E402

from mujo.store import Store, dataset_key  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
ACTIVITIES = ["squat", "lunge", "plank", "burpee"]


def make_dataset(root: Path, n_clips: int) -> Path:
    """A FiMAD folder of `n_clips` short clips (pose + IMU, no video) with an activity per clip (the A key's)."""
    make_fimad(root, n_clips=n_clips, n_frames=150)
    rows = read_rows(root)
    rows[0].append("label")
    for i, row in enumerate(rows[1:]):
        row.append(ACTIVITIES[i % len(ACTIVITIES)])
    write_rows(root, rows)
    return root


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def _collider(annotators: list[Annotator], rng: random.Random, every_s: float, until: float,
                    n_clips: int, missions: list[Mission]) -> None:
    """Every `every_s` seconds (the first after half of it): two annotators, one clip nobody shows, a mission."""
    await asyncio.sleep(every_s / 2)
    while True:
        if time.monotonic() > until - every_s / 2 or len(annotators) < 2:
            return
        free = [x for x in annotators if x.missions.empty()]  # one collision at a time per annotator
        if len(free) < 2:
            await asyncio.sleep(every_s)
            continue
        a, b = rng.sample(free, 2)
        shown = {x.clip for x in annotators}
        clip = rng.choice([f"clip{i:03d}" for i in range(n_clips) if f"clip{i:03d}" not in shown])
        m = Mission(len(missions), clip, cross=a.server is not b.server)
        missions.append(m)
        a.missions.put_nowait(m)
        b.missions.put_nowait(m)
        await asyncio.sleep(every_s)


async def _killer(servers: list[Server], kills: int, seconds: float, start: float, down_s: float) -> None:
    for k in range(1, kills + 1):  # the servers in turn
        await asyncio.sleep(max(0.0, start + seconds * k / (kills + 1) - time.monotonic()))
        await servers[(k - 1) % len(servers)].kill_and_restart(down_s)


async def _browser_team(n: int, servers: list[Server], rng: random.Random, think: float, clips: int, stack):
    from playwright.async_api import async_playwright  # noqa: PLC0415  (only the browser run needs it)

    p = await stack.enter_async_context(async_playwright())
    browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    stack.push_async_callback(browser.close)
    team = []
    for i in range(n):
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        team.append(Annotator(f"annotator{i + 1}", await ctx.new_page(), servers[i % len(servers)],
                              random.Random(rng.random()), think, clips))
    return team


async def _ws_team(n: int, servers: list[Server], rng: random.Random, think: float, clips: int, stack):
    team = [WsAnnotator(f"annotator{i + 1}", servers[i % len(servers)], random.Random(rng.random()), think, clips)
            for i in range(n)]
    for a in team:
        stack.push_async_callback(a.close)
    return team


async def run_load(*, annotators: int = 8, seconds: float = 60.0, kills: int = 2, collide_every: float = 8.0,
                   clips: int = 300, port: int = 8599, think: float = 2.0, seed: int = 0, workdir: Path,
                   driver: str = "ws", servers: int = 1, log=print) -> dict[str, Any]:
    """Run the load test in `workdir` (dataset, store, server logs); returns the figures and the `Verdict`.

    driver: "ws" (Streamlit's websocket protocol, `load_ws`) or "browser" (chromium pages, `load_browser`).
    servers: server processes on ports `port`, `port + 1` ... over the same store and MUJO_HOME (a lab's reverse
        proxy with sticky sessions in front of several processes); annotator i works on server i mod `servers`,
        the kills take the servers in turn.
    """
    data = make_dataset(workdir / "fimad", clips) if not (workdir / "fimad" / "fimad.json").exists() \
        else workdir / "fimad"
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    for old in home.glob("mujo.sqlite*"):  # a kept folder: a fresh store each run
        old.unlink()
    env = {"MUJO_DATA": str(data), "MUJO_HOME": str(home)}
    procs = [Server(port + k, env, workdir / f"streamlit{k or ''}.log") for k in range(servers)]
    rng = random.Random(seed)
    for server in procs:
        server.start()
    try:
        for server in procs:
            await server.wait_healthy()
        async with contextlib.AsyncExitStack() as stack:
            make_team = _ws_team if driver == "ws" else _browser_team
            team = await make_team(annotators, procs, rng, think, clips, stack)
            t = time.monotonic()
            # each server's first, cold run (imports, signals) alone; then the others at once
            await asyncio.gather(*(a.open() for a in team[:servers]))
            await asyncio.gather(*(a.open() for a in team[servers:]))
            log(f"{annotators} pages open in {time.monotonic() - t:.1f} s on {servers} server process(es); "
                f"labelling for {seconds:g} s with {kills} kill(s)")
            start = time.monotonic()
            until = start + seconds
            missions: list[Mission] = []
            side = [asyncio.create_task(_collider(team, rng, collide_every, until, clips, missions)),
                    asyncio.create_task(_killer(procs, kills, seconds, start, 1.0))]
            await asyncio.gather(*(a.run(until) for a in team))
            wall = time.monotonic() - start
            await asyncio.gather(*side)
    finally:
        for server in procs:
            server.stop()
    store = Store(home / "mujo.sqlite")
    events = store.label_event_rows(dataset_key(data))
    records = [a.rec for a in team]
    verdict = check(events, records, store.label_disputes(dataset_key(data)))
    f = _figures(records, verdict, wall, sorted(k for s in procs for k in s.kills), missions, len(events))
    done = [s for a in team for s in getattr(a, "done_s", [])]
    f.update(driver=driver, think=think, servers=servers, page_p50_ms=1000 * _pct(done, 50),
             page_p95_ms=1000 * _pct(done, 95))
    return f


def _figures(records, verdict: Verdict, wall: float, kills: list[tuple[float, float]], missions: list[Mission],
             n_events: int) -> dict[str, Any]:
    presses = [p for r in records for p in r.presses]
    acked = [p for p in presses if p.outcome in (APPLIED, CONFLICT)]
    lat = [p.latency_s for p in acked if p.latency_s is not None]
    applied = sum(p.outcome == APPLIED for p in presses)
    return {"annotators": len(records), "seconds": wall, "presses": len(presses), "applied": applied,
            "conflicts": sum(p.outcome == CONFLICT for p in presses),
            "unacked": sum(p.outcome == UNACKED for p in presses),
            "refused": len(presses) - len(acked) - sum(p.outcome == UNACKED for p in presses),
            "undos": sum(len(r.undos) for r in records), "disputes": sum(len(r.disputes) for r in records),
            "moves": sum(r.moves for r in records), "events": n_events,
            "per_s": applied / wall if wall else 0.0, "p50_ms": 1000 * _pct(lat, 50), "p95_ms": 1000 * _pct(lat, 95),
            "move_p50_ms": 1000 * _pct([s for r in records for s in r.move_s], 50),
            "reconnects": sum(r.reconnects for r in records), "reloads": sum(r.reloads for r in records),
            "recover_p50_s": _pct([s for r in records for s in r.recover_s], 50),
            "recover_max_s": max([s for r in records for s in r.recover_s], default=float("nan")),
            "kills": [round(s, 1) for _, s in kills], "missions": len(missions),
            "cross_missions": sum(m.cross for m in missions),
            "lost": verdict.lost, "duplicated": verdict.duplicated, "undetected": verdict.undetected,
            "verdict": verdict}


def report(f: dict[str, Any], log=print) -> None:
    v: Verdict = f["verdict"]
    log(f"{f['annotators']} annotators, {f['seconds']:.1f} s, {len(f['kills'])} kill(s) (server healthy again "
        f"after {', '.join(f'{s:g}' for s in f['kills']) or '-'} s; {f['reconnects']} page reconnects, "
        f"{f['reloads']} reloads; a page labelled again {f['recover_p50_s']:.0f} s after it noticed a kill at the "
        f"median, {f['recover_max_s']:.0f} s at most)")
    log(f"{f['presses']} decision presses: {f['applied']} applied, {f['conflicts']} conflicts, {f['refused']} "
        f"refused, {f['unacked']} unanswered (a kill); {f['undos']} undos, {f['disputes']} disputes, "
        f"{f['moves']} moves; {f['events']} label events in the store")
    log(f"decisions per second: {f['per_s']:.2f}")
    log(f"key press -> acknowledgement: p50 {f['p50_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms "
        f"(J/K -> next clip: p50 {f['move_p50_ms']:.0f} ms)")
    if f.get("driver") == "ws":
        log(f"key press -> the page's whole run drawn: p50 {f['page_p50_ms']:.0f} ms, p95 {f['page_p95_ms']:.0f} ms")
    cross = f" ({f['cross_missions']} between two server processes)" if f.get("cross_missions") else ""
    log(f"deliberate collisions: {f['missions']} set up{cross}, {v.collisions} answered on both pages: {v.detected} "
        f"detected, {v.sequential} sequential (different base versions)")
    for d in v.details[:20]:
        log("  " + d)
    log(f"lost {f['lost']}, duplicated {f['duplicated']}, undetected conflicts {f['undetected']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--annotators", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--kills", type=int, default=2)
    p.add_argument("--collide-every", type=float, default=8.0, help="seconds between deliberate collisions")
    p.add_argument("--clips", type=int, default=300)
    p.add_argument("--port", type=int, default=8599)
    p.add_argument("--think", type=float, default=2.0,
                   help="mean pause between keys (s; uniform from 0 to twice it): the time to look at the clip")
    p.add_argument("--servers", type=int, default=1,
                   help="server processes over one store (annotator i on server i mod N; behind a lab's proxy)")
    p.add_argument("--driver", choices=("ws", "browser"), default="ws",
                   help="ws: Streamlit's websocket protocol (no browser); browser: chromium pages")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", type=Path, default=None, help="a folder for the dataset, store and server log")
    a = p.parse_args(argv)
    kw = dict(annotators=a.annotators, seconds=a.seconds, kills=a.kills, collide_every=a.collide_every,
              clips=a.clips, port=a.port, think=a.think, seed=a.seed, driver=a.driver,
              servers=a.servers)
    if a.keep is not None:
        a.keep.mkdir(parents=True, exist_ok=True)
        f = asyncio.run(run_load(workdir=a.keep, **kw))
    else:
        with tempfile.TemporaryDirectory(prefix="mujo-load-") as tmp:
            f = asyncio.run(run_load(workdir=Path(tmp), **kw))
    report(f)
    return 0 if f["lost"] == f["duplicated"] == f["undetected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
