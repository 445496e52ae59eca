"""What verifying a browser-runtime game costs the server.

Usage: .venv/bin/python bench/bench_verify.py [--games 3] [--experiments experiments]

For every browser-runtime step with one human in the example experiments, ``--games`` whole games
are played in CPython by mugkit's own BrowserGame (as the load-test bots play them: random held
keys at the step's fps), their rows stored in a real SQLite database exactly as the server stores
a ``rows`` batch, then verified as the server verifies them:

- ``read``: reading the game's rows back (``Storage.game_steps``);
- ``build``: building the game in the worker (the experiment imported once; env and policies);
- ``replay``: re-simulating and comparing every row (``mugkit.runtime.verification.replay``);
- ``whole``: the server's path, a :class:`~mugkit.web.browser.verify.Verifier` with one spawned worker
  process, the rows pickled to it (warm: its first game, which starts the process, is left out).

Per frame is per stored frame (every agent's row of it). Then ``loop``: what verification does to
the server's event loop — a 100 Hz ticker's lateness while the stored games are verified one after
another through the Verifier (rows read, pickled to the worker, verdict back), against the same
ticker alone for as long. The machine is shared: run one benchmark at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from mugkit.browser import game_from_spec  # noqa: E402
from mugkit.collect import collect  # noqa: E402
from mugkit.games import Participant, build_game, game_seed  # noqa: E402
from mugkit.runtime.rows import StepRow  # noqa: E402
from mugkit.runtime.values import from_json  # noqa: E402
from mugkit.runtime.verification import replay  # noqa: E402
from mugkit.web.browser.games import runs_in_browser  # noqa: E402
from mugkit.web.storage import SQLiteStorage  # noqa: E402
from mugkit.web.browser.verify import Job, Verifier  # noqa: E402


def play(experiment, step, game_id: str, seed: int, rng: random.Random) -> list[dict]:
    """A whole game's rows, as a browser sends them."""
    spec = {"step": step.name, "game": game_id, "seed": seed, "agent": step.humans[0],
            "participant": {"id": game_id, "params": {}, "condition": None}}
    game = game_from_spec(experiment, spec)
    keys = sorted({k for combo, _ in step.options.combos for k in combo})
    game.start()
    t, seq, held = time.time(), 0, []
    while not game.finished:
        if rng.random() < 0.1:
            now = [rng.choice(keys)] if rng.random() < 0.8 else []
            game.key_message(seq, now, [k for k in now if k not in held], [k for k in held if k not in now], t * 1e3)
            seq, held = seq + 1, now
        game.tick(t, 0.0)
        t += 1 / step.options.fps
    return from_json(game.take_rows())


async def store(storage, experiment, step, game_id: str, seed: int, rows: list[dict]) -> None:
    await storage.add_participant({"participant_id": game_id, "experiment": experiment.name})
    await storage.add_game({"game_id": game_id, "experiment": experiment.name, "step": step.name,
                            "runtime": "browser", "seed": seed})
    await storage.add_players([{"game_id": game_id, "agent": a, "participant_id": game_id if a == step.humans[0]
                                else None, "policy": None if a == step.humans[0] else p}
                               for a, p in step.players.items()])
    fields = ("episode", "frame", "agent", "action", "keys", "filled", "decided_at", "reward", "terminated",
              "truncated", "observation", "info", "x")
    for i in range(0, len(rows), 60):
        batch = rows[i:i + 60]
        await storage.add_steps(game_id, [StepRow(*[r.get(f) if f != "keys" or r.get(f) is None else tuple(r[f])
                                                    for f in fields[:-1]], r.get("x") or {}) for r in batch],
                                t_server=time.time(), t_client=[r.get("t_client") for r in batch],
                                keep_observations=step.options.record_observations)


async def bench_step(storage, verifier, experiment, step, games: int, rng: random.Random) -> dict:
    read, build, replayed, whole, frames = [], [], [], [], []
    for g in range(games + 1):
        game_id = f"{step.name}-{g}"
        seed = game_seed(7, experiment.name, step.name, game_id)
        await store(storage, experiment, step, game_id, seed, play(experiment, step, game_id, seed, rng))
        t0 = time.perf_counter()
        rows = await storage.game_steps(game_id)
        read.append(time.perf_counter() - t0)
        who = Participant(game_id, {}, None)
        t0 = time.perf_counter()
        built = build_game(step, experiment.policies, seed=seed, participant=who, group=[who])
        build.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        verdict = replay(built.driver(), rows, step.humans[0], observations=step.options.record_observations)
        replayed.append(time.perf_counter() - t0)
        assert verdict.agrees and verdict.complete, verdict.plain()
        frames.append(verdict.frames)
        t0 = time.perf_counter()
        result = await verifier.verify(Job(game_id, experiment.path, step.name, seed, (game_id, {}, None),
                                           step.humans[0], rows))
        whole.append(time.perf_counter() - t0)
        assert result["verification"] == "verified", result
    n = statistics.mean(frames[1:])
    return {"step": f"{experiment.name}::{step.name}", "frames": n, "agents": len(step.players),
            "read_ms": 1e3 * statistics.median(read[1:]), "build_ms": 1e3 * statistics.median(build[1:]),
            "replay_ms": 1e3 * statistics.median(replayed[1:]),
            "per_frame_us": 1e6 * statistics.median(replayed[1:]) / n,
            "whole_ms": 1e3 * statistics.median(whole[1:]), "first_whole_ms": 1e3 * whole[0]}


async def ticker(stop: asyncio.Event) -> list[float]:
    """Lateness (s) of 10 ms sleeps until ``stop``: how long the event loop was kept busy."""
    late, loop = [], asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(0.01)
        late.append(loop.time() - t0 - 0.01)
    return late


async def loop_lateness(storage, verifier, jobs: list) -> dict:
    """The ticker's p50/p99/max lateness (ms) while ``jobs`` are verified, then idle as long."""
    out = {}
    for mode in ("on", "off"):
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        t0 = time.perf_counter()
        if mode == "on":
            for experiment, step, game_id, seed in jobs:
                rows = await storage.game_steps(game_id)
                await verifier.verify(Job(game_id, experiment.path, step.name, seed, (game_id, {}, None),
                                          step.humans[0], rows))
            spent = time.perf_counter() - t0
        else:
            await asyncio.sleep(spent)
        stop.set()
        late = sorted(await task)
        out[mode] = {"p50": 1e3 * late[len(late) // 2], "p99": 1e3 * late[int(0.99 * (len(late) - 1))],
                     "max": 1e3 * late[-1], "seconds": spent}
    return out


async def main(args) -> None:
    experiments = collect([args.experiments])
    steps = [(e, s) for e in experiments for s in e.steps if runs_in_browser(s)]
    verifier = Verifier()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        storage = SQLiteStorage.in_folder(folder)
        await storage.start()
        try:
            results = [await bench_step(storage, verifier, e, s, args.games, rng) for e, s in steps]
            jobs = [(e, s, f"{s.name}-{g}", game_seed(7, e.name, s.name, f"{s.name}-{g}"))
                    for e, s in steps for g in range(args.games + 1)]
            lateness = await loop_lateness(storage, verifier, jobs)
        finally:
            verifier.close()
            await storage.close()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores ({_cpu()}), "
          f"CPython {platform.python_version()}, "
          f"median of {args.games} games after one warm-up")
    print("| step | frames (agents) | read rows | build | re-simulate + compare | per frame | whole, in the worker "
          "process | first game (starts the worker) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| `{r['step']}` | {r['frames']:.0f} ({r['agents']}) | {r['read_ms']:.0f} ms | {r['build_ms']:.0f} ms | "
              f"{r['replay_ms']:.0f} ms | {r['per_frame_us']:.0f} µs | {r['whole_ms']:.0f} ms | "
              f"{r['first_whole_ms']:.0f} ms |")
    print(f"\nThe event loop while {len(jobs)} games are verified back to back ({lateness['on']['seconds']:.1f} s), "
          f"lateness of a 10 ms sleep:")
    print("| verification | p50 | p99 | max |")
    print("| --- | --- | --- | --- |")
    for mode in ("off", "on"):
        m = lateness[mode]
        print(f"| {mode} | {m['p50']:.2f} ms | {m['p99']:.2f} ms | {m['max']:.1f} ms |")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=3)
    parser.add_argument("--experiments", default=os.path.join(ROOT, "experiments"))
    asyncio.run(main(parser.parse_args()))
