"""The load test's server: `streamlit run app.py` on a fixed port, SIGKILLed and started again on the same port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Server:
    """`streamlit run app.py` on a fixed port: started, SIGKILLed and started again on the same port."""

    def __init__(self, port: int, env_extra: dict[str, str], log_path: Path) -> None:
        self.port, self.env, self.log_path = port, dict(os.environ, **env_extra), log_path
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.generation = 0  # +1 on every kill: an annotator waiting for an answer knows it will not come
        self.home_run = -1  # the generation in which a page has run app.py (Home) since the (re)start
        self.up = asyncio.Event()
        self.kills: list[tuple[float, float]] = []  # (killed at, healthy again after s)

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115  (the child keeps it; closed when we drop the process)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    async def wait_healthy(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not await asyncio.to_thread(self._healthy):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("streamlit exited:\n" + self.log_path.read_text()[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not answer:\n" + self.log_path.read_text()[-3000:])
            await asyncio.sleep(0.2)
        self.up.set()

    async def kill_and_restart(self, down_s: float = 1.0) -> None:
        """SIGKILL the server (no clean-up of any kind), wait `down_s`, start it again on the same port."""
        assert self.proc is not None
        self.up.clear()
        self.generation += 1
        t = time.monotonic()
        os.kill(self.proc.pid, signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait)
        await asyncio.sleep(down_s)
        self.start()
        await self.wait_healthy()
        self.kills.append((t, time.monotonic() - t))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


__all__ = ["Server"]
