"""What the bombs of tests/security/test_limits.py cost a server, measured on this machine: its
peak memory growth, the time each bomb takes to be answered, and the frame gaps of an honest
30 fps server game on the same server meanwhile (p50, p99, worst).

``--checkout DIR`` serves another checkout's mugkit (one without the limits shows what they
prevent: a bomb it never answers counts as 30 s).

Usage: ``python bench/bench_limits.py [--rounds 15] [--checkout DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "security"))

import test_limits as attacks  # noqa: E402

from mugkit.loadtest.server import start_server  # noqa: E402


def attack(port: int, texts: dict, rounds: int) -> dict:
    """Sends every bomb ``rounds`` times; the seconds each took to be answered, by bomb."""
    b = attacks.Raw(port, source="127.0.0.2")
    game = b.join("_inbrowser")["game"]
    b.call("resume", {"game": game, "session": "s1"})
    took: dict = {name: [] for name in texts}
    for _ in range(rounds):
        for name, text in texts.items():
            start = time.monotonic()
            ack = b.send_raw("rows", json.dumps({"game": game, "session": "s1", "batch": 1, "rows": text}))
            try:
                b.ack(ack, timeout=30)
            except TimeoutError:
                pass
            took[name].append(time.monotonic() - start)
    b.close()
    return took


async def measure(url: str, pid: int, texts: dict, rounds: int) -> tuple[dict, float, list]:
    honest = attacks.Player(url, "_steady")
    await honest.connect()
    await honest.view("game")
    await asyncio.sleep(2)
    before = attacks.peak_mb(pid)
    start = time.monotonic()
    took = await asyncio.to_thread(attack, int(url.rsplit(":", 1)[1]), texts, rounds)
    end = time.monotonic()
    grown = attacks.peak_mb(pid) - before
    times = [t for t in honest.frame_times if start <= t <= end]
    await honest.sio.disconnect()
    return took, grown, [b - a for a, b in zip(times, times[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="default 100; 1 for a checkout without the limits")
    parser.add_argument("--checkout", default=ROOT, help="the mugkit checkout to serve (default: this one)")
    args = parser.parse_args()
    texts = attacks.bombs()
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = args.checkout
    try:
        with tempfile.TemporaryDirectory() as data:
            server = start_server([attacks.STEADY, attacks.INBROWSER], data, seed=3, grace=20, cwd=args.checkout,
                                  timeout=60)
            try:
                took, grown, gaps = asyncio.run(measure(server.url, server.pid, texts, args.rounds))
            finally:
                server.stop()
    finally:
        if env_path is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = env_path
    print(f"server {args.checkout}: {args.rounds} rounds of {len(texts)} bombs")
    for name, seconds in took.items():
        print(f"  {name:16s} answered in {statistics.median(seconds) * 1000:8.1f} ms (median), "
              f"{max(seconds) * 1000:8.1f} ms (worst)")
    print(f"  peak memory grew {grown:.0f} MB")
    if len(gaps) >= 2:
        q = statistics.quantiles(gaps, n=100, method="inclusive")
        print(f"  honest game, {len(gaps) + 1} frames: gap p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
              f"worst {max(gaps) * 1000:.1f} ms (one frame: {1000 / 30:.1f} ms)")


if __name__ == "__main__":
    main()
