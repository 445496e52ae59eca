"""How much the server's storage takes: step rows per second, acknowledgement latency, the event
loop's lateness beside it, and the bytes an observation costs.

Usage: .venv/bin/python bench/bench_storage.py [--games 100] [--fps 30] [--seconds 20] [--pixel-games 10]
                                               [--dir DIR] [--postgres [URL]]

1. ``sustained``: ``--games`` simulated 2-player games, each a task ticking at ``--fps`` on
   absolute deadlines, as the server's game loop does: per frame two StepRows (a CartPole-like
   float32[4] observation, an int action, keys, a reward, an info dict, a hook column), written
   with ``asyncio.ensure_future(storage.add_steps(...))`` and not awaited by the tick. Reported:
   rows acknowledged per second, acknowledgement latency (call to commit) p50/p99/max, how late
   the ticks ran (p99), the time ``add_steps`` holds the loop (encoding), CPU used, transactions
   per second and rows per transaction, and database bytes per row.
2. ``pixels``: the same with ``--pixel-games`` games whose observations are rendered frames
   (PettingZoo's cooperative pong, 280×480×3 uint8, one per agent).
3. ``flat out``: 200 coroutines writing one-row calls as fast as acknowledgements come.
4. ``bytes per observation``: the stored size and encoding time of a CartPole ``rgb_array`` frame
   (400×600×3), a pong frame (280×480×3), random noise of that size (incompressible: the worst
   case), and small vectors.

The database is on the disk of ``--dir`` (default: a temporary folder under /tmp); commits are
durable (``synchronous=FULL``), so the disk's fsync time matters. The machine is shared: run one
benchmark at a time.

``--postgres`` runs 1–3 on PostgreSQL too, in the same run, after SQLite: on a throwaway server
of Debian's PostgreSQL (tests/postgres_server.py, with ``fsync`` on: commits as durable as
SQLite's) on the same disk, or on the database of ``--postgres URL`` (it must be empty). The CPU
figure is this process's only: the PostgreSQL server's own CPU is printed apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np  # noqa: E402

from mugkit.runtime.rows import StepRow  # noqa: E402
from mugkit.web.storage import DB_FILENAME, PostgresStorage, SQLiteStorage  # noqa: E402
from mugkit.runtime.values import encode_observation  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))] if values else float("nan")


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def play(storage, game_id, fps, seconds, observe, out):
    """One game: ticks on absolute deadlines, schedules each frame's write without awaiting it."""
    loop = asyncio.get_running_loop()
    period, rng = 1.0 / fps, np.random.default_rng(hash(game_id) % 2**32)
    start = loop.time()
    deadline, frame, pending = start + period, 0, set()
    while deadline - start < seconds:
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        out["lateness"].append(loop.time() - deadline)
        deadline += period
        rows = [StepRow(0, frame, agent, action=int(rng.integers(5)), keys=("ArrowUp",) if agent == "p0" else None,
                        filled=False, decided_at=None if agent == "p0" else frame - 1, reward=1.0,
                        observation=observe(rng), info={"lives": 3}, x={"dist": frame % 7})
                for agent in ("p0", "p1")]
        called = time.perf_counter()
        write = asyncio.ensure_future(storage.add_steps(game_id, rows, t_server=time.time()))
        out["call"].append(time.perf_counter() - called)
        write.add_done_callback(lambda f, t=called: out["ack"].append(time.perf_counter() - t))
        pending.add(write)
        write.add_done_callback(pending.discard)
        frame += 1
    await asyncio.gather(*pending)
    out["rows"] += 2 * frame


class Backend:
    """Where a run's database is: a SQLite file in a new folder, or a new PostgreSQL database."""

    def __init__(self, base, server=None, url=None):
        self.base, self.server, self.url, self.n = base, server, url, 0
        self.name = "PostgreSQL" if server or url else "SQLite"

    def storage(self):
        self.n += 1
        if self.name == "SQLite":
            self.where = os.path.join(self.base, str(self.n))
            return SQLiteStorage.in_folder(self.where)
        self.where = self.url or self.server.new_database()
        if self.url:  # one given database: empty it for the next run
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        return PostgresStorage(self.where)

    def size(self):
        if self.name == "SQLite":
            return os.path.getsize(os.path.join(self.where, DB_FILENAME))
        import psycopg

        with psycopg.connect(self.where) as conn:
            return conn.execute("SELECT pg_total_relation_size('steps')").fetchone()[0]

    def server_cpu(self):
        """CPU seconds of the PostgreSQL server's processes so far (a server we started), else None."""
        if self.server is None:
            return None
        total = 0.0
        for pid in self.server.pids():  # exited backends' CPU is not counted: connections are kept open
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
                total += ticks / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
        return total


async def sustained(backend, games, fps, seconds, observe, label):
    storage = backend.storage()
    await storage.start()
    for g in range(games):
        await storage.add_game({"game_id": f"{label}{g}", "experiment": "bench", "step": "game"})
    out = {"lateness": [], "call": [], "ack": [], "rows": 0}
    batches0, cpu0, t0 = storage.stats.batches, cpu_seconds(), time.perf_counter()
    server0 = backend.server_cpu()
    await asyncio.gather(*(play(storage, f"{label}{g}", fps, seconds, observe, out) for g in range(games)))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    server = backend.server_cpu()
    stats = storage.stats
    await storage.close()
    size = backend.size()
    batches = stats.batches - batches0
    print(f"\n## {backend.name}, {label}: {games} games x {fps} fps x 2 agents for {seconds:.0f} s")
    print(f"rows acknowledged        {out['rows']} ({out['rows'] / wall:,.0f} rows/s; "
          f"target {games * fps * 2:,} rows/s)")
    print(f"ack latency              p50 {pct(out['ack'], 50) * 1e3:.1f} ms, p99 {pct(out['ack'], 99) * 1e3:.1f} ms, "
          f"max {max(out['ack']) * 1e3:.1f} ms")
    print(f"tick lateness            p50 {pct(out['lateness'], 50) * 1e3:.1f} ms, "
          f"p99 {pct(out['lateness'], 99) * 1e3:.1f} ms")
    print(f"add_steps on the loop    mean {statistics.mean(out['call']) * 1e6:.0f} us per frame (2 rows), "
          f"p99 {pct(out['call'], 99) * 1e6:.0f} us")
    print(f"CPU                      {cpu / wall:.2f} cores (whole process: simulated games included)")
    if server is not None:
        print(f"PostgreSQL server CPU    {(server - server0) / wall:.2f} cores")
    print(f"transactions             {batches / wall:.0f}/s, {out['rows'] / max(batches, 1):.1f} rows each, "
          f"{stats.commit_seconds / wall * 100:.0f}% of the writer's time in COMMIT")
    print(f"database                 {size / out['rows']:.0f} bytes per row ({size / 2**20:.1f} MiB; "
          f"{'the file' if backend.name == 'SQLite' else 'the steps table with its indexes'})")


async def flat_out(backend, writers=200, seconds=5.0):
    storage = backend.storage()
    await storage.start()
    await storage.add_game({"game_id": "f", "experiment": "bench", "step": "game"})
    obs = np.zeros(4, np.float32)
    stop, count = time.perf_counter() + seconds, [0]

    async def writer(i):
        frame = 0
        while time.perf_counter() < stop:
            await storage.add_steps("f", [StepRow(0, frame, i, action=1, observation=obs)], t_server=time.time())
            frame += 1
        count[0] += frame

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    wall = time.perf_counter() - t0
    await storage.close()
    print(f"\n## {backend.name}, flat out: {writers} coroutines, one row per call, each awaiting its acknowledgement")
    print(f"rows acknowledged        {count[0] / wall:,.0f} rows/s")


def observations():
    """Name -> a realistic observation."""
    import gymnasium as gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    out = {"CartPole rgb_array 400x600x3 uint8": env.render(),
           "CartPole state float32[4]": np.asarray(env.unwrapped.state, dtype=np.float32)}
    env.close()
    try:
        from pettingzoo.butterfly import cooperative_pong_v6

        pong = cooperative_pong_v6.parallel_env(render_mode="rgb_array")
        obs, _ = pong.reset(seed=0)
        for _ in range(10):
            obs, *_ = pong.step({a: pong.action_space(a).sample() for a in pong.agents})
        out["pong observation 280x480x3 uint8"] = obs["paddle_0"]
        pong.close()
    except ImportError:
        print("(pettingzoo[butterfly] is not installed: no pong frame)")
    out["random noise 280x480x3 uint8 (worst case)"] = np.random.default_rng(0).integers(0, 256, (280, 480, 3),
                                                                                         dtype=np.uint8)
    out["vector float64[32]"] = np.random.default_rng(0).normal(size=32)
    out["list of 4 floats"] = [0.01, -0.2, 0.03, 0.4]
    return out


def bytes_per_observation(obs):
    print("\n## bytes per observation (the stored observation column; raw size in brackets)")
    for name, value in obs.items():
        stored = encode_observation(value)
        t0 = time.perf_counter()
        for _ in range(20):
            encode_observation(value)
        encode_us = (time.perf_counter() - t0) / 20 * 1e6
        raw = value.nbytes if isinstance(value, np.ndarray) else len(repr(value))
        print(f"{name:45s} {len(stored):7,} B  [{raw:,} B]  encode {encode_us:,.0f} us  "
              f"({type(stored).__name__})")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--games", type=int, default=100)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pixel-games", type=int, default=10)
    ap.add_argument("--dir", default=None, help="where the databases go (default: a temporary folder)")
    ap.add_argument("--postgres", nargs="?", const="start", default=None, metavar="URL",
                    help="also on PostgreSQL: a throwaway server started here, or the (empty) database at URL")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="bench_storage_", dir=args.dir)
    print(f"# bench_storage: Python {platform.python_version()}, {os.cpu_count()} cores, databases in {base}")
    server = None
    try:
        backends = [Backend(base)]
        if args.postgres == "start":
            sys.path.insert(0, os.path.join(ROOT, "tests"))
            from postgres_server import PostgresServer

            server = PostgresServer(fsync=True).start()
            backends.append(Backend(base, server=server))
        elif args.postgres:
            backends.append(Backend(base, url=args.postgres))
        obs = observations()
        bytes_per_observation(obs)
        vector = obs["CartPole state float32[4]"]
        for backend in backends:
            await sustained(backend, args.games, args.fps, args.seconds, lambda rng: vector + rng.random(), "sustained")
            if args.pixel_games and "pong observation 280x480x3 uint8" in obs:
                pong = obs["pong observation 280x480x3 uint8"]
                await sustained(backend, args.pixel_games, args.fps, args.seconds, lambda rng: pong, "pixels")
            await flat_out(backend)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
