"""One client process of the capacity bench (bench/bench_serve.py starts one or two): plays
``--bots`` protocol-level players against a mugkit or a MUG server and measures, for each, the
frames received per second and the 99th percentile gap between frames.

The same measuring logic for both servers (:class:`Timing`); only the protocol differs:
mugkit's `mugkit loadtest` bot (mugkit/loadtest/bot.py), or MUG's server-authoritative events
(bench/mug/client.py).

Talks to the bench on stdin/stdout, one JSON line each way:
  -> {"ready": n_playing, "bots": n}    once every bot received a frame (or after --ready-timeout)
  <- "start"                            the measured window begins
  <- "end"                              it ends
  -> {"figures": [[fps, p99_gap_ms], ...], "cpu": cores used in the window}
  -> {"completed": n, "failures": [...]} once the bots finished (mugkit: the study completed)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

STUDY = os.path.join(ROOT, "bench", "studies", "_capacity.py")


class Timing:
    """When each frame arrived; (fps, p99 gap) over a window."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def arrived(self) -> None:
        self.times.append(time.monotonic())

    def figures(self, start: float, end: float) -> tuple[float, float]:
        """(frames received per second in [start, end], p99 gap in ms between frames received
        in it, counting the gap from the frame before the window)."""
        inside = [i for i, t in enumerate(self.times) if start <= t <= end]
        if len(inside) < 2:
            return 0.0, 1e9
        t = self.times[max(0, inside[0] - 1):inside[-1] + 1]
        gaps = sorted(b - a for a, b in zip(t, t[1:]))
        return len(inside) / (end - start), gaps[int(0.99 * (len(gaps) - 1))] * 1000


def _mugkit_bots(url: str, count: int, first: int, keys: str) -> list:
    from mugkit.collect import load_experiment
    from mugkit.loadtest.bot import Bounds, ProtocolBot

    class TimedBot(ProtocolBot, Timing):
        """A `mugkit loadtest` bot that notes when each frame arrives; with ``keys`` "30" it sends
        a ``keys`` message on every frame (what it holds, changed or not)."""

        def __init__(self, *args, **kwargs):
            ProtocolBot.__init__(self, *args, **kwargs)
            Timing.__init__(self)

        async def _on_frame(self, frame: dict) -> None:
            self.arrived()
            await super()._on_frame(frame)

        def _start_player(self, view: dict) -> None:
            super()._start_player(view)
            player = self.player
            if keys == "30" and hasattr(player, "plan"):
                changed = player.hold

                def hold(held: tuple) -> tuple:
                    return changed(held) or ((), ())
                player.hold = hold

        @property
        def playing(self) -> bool:
            return bool(self.times)

    experiment = load_experiment(STUDY)
    run_id = secrets.token_hex(3)
    return [TimedBot(first + i, url, "_capacity", experiment, run_id=run_id, bounds=Bounds(stuck_after=120))
            for i in range(count)]


def _mug_bots(url: str, count: int, first: int, keys: str) -> list:
    sys.path.insert(0, os.path.join(ROOT, "bench", "mug"))
    from client import MugBot

    class TimedMugBot(MugBot, Timing):
        def __init__(self, *args, **kwargs):
            MugBot.__init__(self, *args, **kwargs)
            Timing.__init__(self)

        def on_state(self, data: dict) -> None:
            self.arrived()
            super().on_state(data)

        @property
        def playing(self) -> bool:
            return bool(self.times)

    run_id = secrets.token_hex(3)
    return [TimedMugBot(first + i, url, run_id, every_frame=keys == "30") for i in range(count)]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _line() -> str:
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


async def main(args: argparse.Namespace) -> None:
    make = _mugkit_bots if args.server == "mugkit" else _mug_bots
    bots = make(args.url, args.bots, args.first, args.keys)
    tasks = []
    for bot in bots:  # join one after another: the waitroom pairs neighbours
        tasks.append(asyncio.create_task(bot.run()))
        await asyncio.sleep(args.spacing)
    deadline = time.monotonic() + args.ready_timeout
    while time.monotonic() < deadline and not all(bot.playing for bot in bots):
        await asyncio.sleep(0.1)
    _say({"ready": sum(bot.playing for bot in bots), "bots": len(bots)})
    await _line()
    start, cpu0 = time.monotonic(), _cpu()
    await _line()
    end, cpu1 = time.monotonic(), _cpu()
    _say({"figures": [bot.figures(start, end) for bot in bots], "cpu": (cpu1 - cpu0) / (end - start)})
    done, _ = await asyncio.wait(tasks, timeout=args.finish_timeout)
    failures = []
    for task in done:
        if task.exception() is not None:
            failures.append(f"{type(task.exception()).__name__}: {task.exception()}"[:200])
        elif task.result().outcome.status != "completed":
            failures.append(str(task.result().outcome)[:200])
    _say({"completed": len(done) - len(failures), "failures": failures[:5] + [f"{len(tasks) - len(done)} unfinished"]})
    os._exit(0)  # the bots still connected (unfinished) would hold the process


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=("mugkit", "mug"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--bots", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="number of the first bot (its name and random plan)")
    parser.add_argument("--keys", choices=("change", "30"), default="change")
    parser.add_argument("--spacing", type=float, default=0.01, help="seconds between two bots joining")
    parser.add_argument("--ready-timeout", type=float, default=40.0)
    parser.add_argument("--finish-timeout", type=float, default=60.0)
    asyncio.run(main(parser.parse_args()))
