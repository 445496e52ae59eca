"""Starting a real `mugkit serve` process and talking to it over socket.io, for tests."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDIES = os.path.join(ROOT, "tests", "web", "studies")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    token: str
    data: str
    process: subprocess.Popen
    output: list

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def serve(*paths: str, data: str, seed: int = 7, port: int | None = None, grace: float = 20,
          extra: list[str] = ()) -> Served:
    """Starts `mugkit serve` on loopback and waits until it prints its admin link."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "mugkit.cli", "serve", *paths, "--port", str(port), "--data",
                                data, "--seed", str(seed), "--grace", str(grace), *extra], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("mugkit serve exited:\n" + "".join(lines))
        lines.append(line)
        m = re.search(r"admin: (http://\S+)/admin\?token=(\S+)", line)
        if m:
            break
    else:
        process.kill()
        raise RuntimeError("mugkit serve did not start:\n" + "".join(lines))
    _drain(process, lines)
    _wait_for_port(port)
    return Served(f"http://127.0.0.1:{port}", m.group(2), data, process, lines)


def _drain(process: subprocess.Popen, lines: list) -> None:
    import threading

    def read():
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class Browser:
    """A protocol-level participant: a socket.io client that keeps every message it gets."""

    def __init__(self, url: str, experiment: str, query: dict | None = None, identity: dict | None = None):
        import socketio

        self.url, self.experiment, self.query = url, experiment, query or {}
        self.identity = identity or {}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.frames: list = []
        for event in ("view", "identity", "waitroom", "error"):
            self.sio.on(event, self._keeper(event))
        self.sio.on("frame", lambda data: self.frames.append(data))

    def _keeper(self, event):
        async def keep(data):
            if event == "identity":
                self.identity = data
            await self.inbox.put((event, data))
        return keep

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io",
                               auth={"experiment": self.experiment, "query": self.query,
                                     "participant": self.identity.get("participant"),
                                     "resume": self.identity.get("resume")})

    async def next(self, event: str, timeout: float = 20.0) -> dict:
        """The next message of kind ``event`` (others before it are skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got, data = await asyncio.wait_for(self.inbox.get(), deadline - asyncio.get_running_loop().time())
            if got == event:
                return data

    async def view(self, kind: str | None = None, timeout: float = 20.0) -> dict:
        view = await self.next("view", timeout)
        if kind is not None:
            assert view["kind"] == kind, view
        return view

    async def call(self, event: str, data) -> dict:
        return await self.sio.call(event, data, timeout=10)

    async def close(self) -> None:
        await self.sio.disconnect()
