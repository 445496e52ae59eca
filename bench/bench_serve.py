"""How many concurrent two-player server games at 30 fps one `mugkit serve` process holds.

Usage: .venv/bin/python bench/bench_serve.py [--games 10 25 50 ...] [--seconds 20]

For each count, a fresh server process (loopback) runs bench/studies/_capacity.py and one client
process plays 2 × games protocol-level participants (python-socketio clients, websocket
transport) that send keys on change, about three times a second. Per client: frames received per
second and the 99th percentile gap between frames; per server: tick lateness (p50/p99, from
/admin/stats.json) and CPU. A count is *held* by MUG's criteria: every client receives at least
95 % of 30 fps and every client's p99 frame gap is under 2 frames (66.7 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "web"))

from serving import serve  # noqa: E402

STUDY = os.path.join(ROOT, "bench", "studies", "_capacity.py")
FPS = 30


class Client:
    def __init__(self, url: str):
        import socketio

        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.times: list[float] = []
        self.game: str | None = None
        self.sio.on("frame", self._frame)
        self.sio.on("view", self._view)

    async def _view(self, view):
        if view.get("kind") == "game":
            self.game = view["game"]

    async def _frame(self, frame):
        self.times.append(time.monotonic())

    async def run(self, seconds: float, rng: random.Random) -> None:
        await self.sio.connect(self.url, transports=["websocket"], auth={"experiment": "_capacity", "query": {}})
        seq, end = 0, time.monotonic() + seconds
        keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]
        while time.monotonic() < end:
            await asyncio.sleep(rng.uniform(0.2, 0.5))
            if self.game:
                held = [rng.choice(keys)] if rng.random() < 0.7 else []
                await self.sio.emit("keys", {"game": self.game, "seq": seq, "held": held, "down": held, "up": [],
                                             "t": time.monotonic() * 1000})
                seq += 1
        await self.sio.disconnect()

    def figures(self, start: float, end: float) -> tuple[float, float]:
        """(frames per second, p99 gap in ms) over [start, end]."""
        t = [x for x in self.times if start <= x <= end]
        if len(t) < 2:
            return 0.0, float("inf")
        gaps = sorted(b - a for a, b in zip(t, t[1:]))
        return (len(t) - 1) / (t[-1] - t[0]), gaps[int(0.99 * (len(gaps) - 1))] * 1000


async def load(url: str, games: int, seconds: float) -> list[tuple[float, float]]:
    rng = random.Random(games)
    clients = [Client(url) for _ in range(2 * games)]
    tasks = []
    for c in clients:  # join in order: the waitroom pairs neighbours
        tasks.append(asyncio.create_task(c.run(seconds + 4, rng)))
        await asyncio.sleep(0.01)
    await asyncio.sleep(3)  # every game started; measure the steady state
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [c.figures(start, end) for c in clients]


def stats(url: str, token: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{url}/admin/stats.json?token={token}").read())


def measure(games: int, seconds: float, data: str) -> dict:
    os.environ["MUGKIT_BENCH_FRAMES"] = str(int((seconds + 30) * FPS))
    served = serve(STUDY, data=data)
    try:
        cpu0 = stats(served.url, served.token)["cpu_seconds"]
        wall0 = time.monotonic()
        figures = asyncio.run(load(served.url, games, seconds))
        server = stats(served.url, served.token)
        cpu = (server["cpu_seconds"] - cpu0) / (time.monotonic() - wall0)
    finally:
        served.stop()
    rates, gaps = [f for f, _ in figures], [g for _, g in figures]
    held = min(rates) >= 0.95 * FPS and max(gaps) < 2000 / FPS
    return {"games": games, "held": held, "min_fps": min(rates), "median_fps": statistics.median(rates),
            "worst_p99_gap_ms": max(gaps), "late_p50_ms": server["late_ms"]["p50"],
            "late_p99_ms": server["late_ms"]["p99"], "server_cpu": cpu}


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, nargs="+", default=[10, 25, 50, 100, 150])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}")
    print("games  held  min fps  median fps  worst p99 gap ms  tick late p50/p99 ms  server CPU (cores)")
    for games in args.games:
        with tempfile.TemporaryDirectory() as data:
            r = measure(games, args.seconds, data)
        print(f"{r['games']:5d}  {'yes' if r['held'] else 'no ':4s} {r['min_fps']:8.1f} {r['median_fps']:11.1f} "
              f"{r['worst_p99_gap_ms']:17.1f} {r['late_p50_ms']:10.1f}/{r['late_p99_ms']:<9.1f} {r['server_cpu']:10.2f}",
              flush=True)


if __name__ == "__main__":
    main()
