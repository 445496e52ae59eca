"""How many concurrent two-player server games at 30 fps one `mugkit serve` process holds.

Usage: .venv/bin/python bench/bench_serve.py [--games 10 25 50 ...] [--seconds 20]

For each count, a fresh server process (loopback) runs bench/studies/_capacity.py and one client
process plays 2 × games `mugkit loadtest` protocol bots (python-socketio clients, websocket
transport) that hold keys like people (the checks' plan generator) and send them on change,
about twice a second, then finish the study. Per client: frames received per
second and the 99th percentile gap between frames; per server: tick lateness (p50/p99, from
/admin/stats.json) and CPU. A count is *held* by MUG's criteria: every client receives at least
95 % of 30 fps and every client's p99 frame gap is under 2 frames (66.7 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mugkit.collect import load_experiment  # noqa: E402
from mugkit.loadtest.bot import Bounds, ProtocolBot  # noqa: E402
from mugkit.loadtest.server import fetch_stats, start_server  # noqa: E402

STUDY = os.path.join(ROOT, "bench", "studies", "_capacity.py")
FPS = 30
WARM_UP = 3.0  # seconds after the last bot joined before measuring: every game has started


class TimedBot(ProtocolBot):
    """A `mugkit loadtest` bot that also notes when each frame arrives."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.times: list[float] = []

    async def _on_frame(self, frame: dict) -> None:
        self.times.append(time.monotonic())
        await super()._on_frame(frame)

    def figures(self, start: float, end: float) -> tuple[float, float]:
        """(frames per second, p99 gap in ms) over [start, end]."""
        t = [x for x in self.times if start <= x <= end]
        if len(t) < 2:
            return 0.0, float("inf")
        gaps = sorted(b - a for a, b in zip(t, t[1:]))
        return (len(t) - 1) / (t[-1] - t[0]), gaps[int(0.99 * (len(gaps) - 1))] * 1000


async def load(url: str, token: str, games: int, seconds: float) -> list[tuple[float, float]]:
    experiment = load_experiment(STUDY)
    run_id = secrets.token_hex(3)
    bots = [TimedBot(i, url, "_capacity", experiment, run_id=run_id, bounds=Bounds(stuck_after=60))
            for i in range(2 * games)]
    tasks = []
    for bot in bots:  # join in order: the waitroom pairs neighbours
        tasks.append(asyncio.create_task(bot.run()))
        await asyncio.sleep(0.01)
    await asyncio.sleep(WARM_UP)
    # Asked while every game runs, the server follows their tick lateness to the end (late_all_ms).
    await asyncio.to_thread(fetch_stats, url, token)
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    logs = await asyncio.gather(*tasks)
    unfinished = [log.outcome for log in logs if log.outcome.status != "completed"]
    if unfinished:
        print(f"  {len(unfinished)} bot(s) did not complete, e.g. {unfinished[0]}", flush=True)
    return [bot.figures(start, end) for bot in bots]


def measure(games: int, seconds: float, data: str) -> dict:
    # Games last the measured window plus the ramp and warm-up, then the bots complete the study.
    os.environ["MUGKIT_BENCH_FRAMES"] = str(int((seconds + WARM_UP + 0.01 * 2 * games + 3) * FPS))
    served = start_server([STUDY], data, seed=7)
    try:
        cpu0 = fetch_stats(served.url, served.token)["cpu_seconds"]
        wall0 = time.monotonic()
        figures = asyncio.run(load(served.url, served.token, games, seconds))
        server = fetch_stats(served.url, served.token)
        cpu = (server["cpu_seconds"] - cpu0) / (time.monotonic() - wall0)
    finally:
        served.stop()
    rates, gaps = [f for f, _ in figures], [g for _, g in figures]
    held = min(rates) >= 0.95 * FPS and max(gaps) < 2000 / FPS
    return {"games": games, "held": held, "min_fps": min(rates), "median_fps": statistics.median(rates),
            "worst_p99_gap_ms": max(gaps), "late_p50_ms": server["late_all_ms"]["p50"],
            "late_p99_ms": server["late_all_ms"]["p99"], "server_cpu": cpu}


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
