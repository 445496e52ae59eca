"""What the shared state costs per operation: MemoryState (one process) against RedisState (a
local ``redis-server`` on loopback, as tests/redis_server.py starts it).

Usage: .venv/bin/python bench/bench_shared.py [--n 2000] [--concurrency 50]

For each operation the server does per participant message or per step — a participant's
transition (lock, version check, release), a stored move's version bump (``touched``), a counter,
a waitroom join that forms a group of two, a game lease claimed and released, a message to
another process read back from its inbox — it reports operations per second with
``--concurrency`` tasks at once, and the CPU microseconds this process spent per operation (the
event loop's share: what the games of the process pay). Redis's own CPU is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from mugkit.web.shared import MemoryState  # noqa: E402
from mugkit.web.shared_redis import RedisState  # noqa: E402


async def _transition(state, i):
    async with state.transition(f"p:{i % 500}"):
        pass


async def _touched(state, i):
    await state.touched(f"p{i % 500}")


async def _count(state, i):
    await state.count("arrivals:x")


async def _join(state, i):
    await state.join_waitroom(("exp", "duo", 0), f"p{i}", 2, 60)


async def _lease(state, i):
    await state.own_game(f"g{i}", "me")
    await state.release_game(f"g{i}")


OPERATIONS = {"transition": _transition, "touched": _touched, "count": _count, "join (pairs)": _join,
              "lease claim+release": _lease}


async def _run(state, operation, n: int, concurrency: int) -> tuple[float, float]:
    """(operations per second, CPU µs per operation) of ``n`` operations, ``concurrency`` at once."""
    queue = iter(range(n))

    async def worker():
        for i in queue:
            await operation(state, i)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return n / wall, cpu / n * 1e6


async def _messages(state, n: int) -> tuple[float, float]:
    inbox = state.inbox("B")
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        await state.send("B", {"n": i})
    for _ in range(n):
        await anext(inbox)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await inbox.aclose()
    return n / wall, cpu / n * 1e6


def _redis_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(n: int, concurrency: int) -> None:
    from redis_server import RedisServer

    server = RedisServer().start()
    try:
        print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load {os.getloadavg()[0]:.1f}; {n} operations, {concurrency} at once")
        print(f"{'operation':22} {'memory op/s':>12} {'µs CPU':>8} {'redis op/s':>12} {'µs CPU':>8} {'redis-server µs':>16}")
        for name, operation in [*OPERATIONS.items(), ("send + inbox", None)]:
            row = []
            for state in (MemoryState(), RedisState(server.url, f"bench-{name}")):
                before = _redis_cpu(server.process.pid)
                if operation is None:
                    rate, cpu = await _messages(state, n)
                else:
                    rate, cpu = await _run(state, operation, n, concurrency)
                row += [rate, cpu]
                redis_us = (_redis_cpu(server.process.pid) - before) / n * 1e6
                await state.close()
            print(f"{name:22} {row[0]:12.0f} {row[1]:8.1f} {row[2]:12.0f} {row[3]:8.1f} {redis_us:16.1f}")
    finally:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrency))
