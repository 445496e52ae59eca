"""Starting a real `mugkit serve` process and talking to it over socket.io, for tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from dataclasses import dataclass

from mugkit.loadtest.server import free_port, start_server  # noqa: F401  (free_port: for the tests)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDIES = os.path.join(ROOT, "tests", "web", "studies")
WALK = os.path.join(STUDIES, "_walk.py")   # one human walks to a goal: pages, a game, a survey
DUO = os.path.join(STUDIES, "_duo.py")     # two humans matched in a waitroom


@dataclass
class Served:
    """A running ``mugkit serve``: its URL, admin token, data folder, process and output lines."""

    url: str
    token: str
    data: str
    process: subprocess.Popen
    output: list

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self._server.stop(sig)


def serve(*paths: str, data: str, seed: int = 7, port: int | None = None, grace: float = 20,
          extra: list[str] = (), preflight: bool = False) -> Served:
    """Starts `mugkit serve` on loopback (as `mugkit loadtest` does) and waits until it prints its
    admin link. Without its pre-flight unless ``preflight``: tests of the server serve studies
    the pre-flight tests (tests/test_preflight.py) already judge, and it costs seconds a start."""
    extra = list(extra) + ([] if preflight else ["--no-preflight"])
    server = start_server(list(paths), data, seed=seed, grace=grace, port=port, extra=extra, cwd=ROOT,
                          timeout=60)
    served = Served(server.url, server.token, data, server.process, server.output)
    served._server = server
    return served


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


def scrape(url: str, token: str) -> dict:
    """``/metrics`` with the admin ``token``, parsed by prometheus_client's own parser:
    sample name → [(labels, value)]."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers["content-type"]
        text = r.read().decode()
    out: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def total(samples: dict, name: str, **labels) -> float:
    """The sum of ``name``'s samples (of :func:`scrape`) whose labels include ``labels``."""
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items()))
