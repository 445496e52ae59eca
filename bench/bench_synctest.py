"""How fast `synctest` runs, and what the deep-copy fallback costs against get_state/set_state.

Usage: .venv/bin/python bench/bench_synctest.py [--frames N]

1. synctest frames per second on example (b), experiments/gather.py::round_in_browser, with
   max_rollback=8: each frame is saved, rendered, and rolled back by every distance 1..8 with
   re-simulation and a hash per frame (36 re-simulated frames and 8 restores per frame).
2. The cost per frame of one save + one restore of the frame driver, through get_state/set_state and through the
   deep-copy fallback, on the same env at the same frames (the fallback forced by hiding the
   env's state methods), and for Gymnasium's CartPole after it rendered to rgb_array.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from mugkit.checks.base import CheckContext  # noqa: E402
from mugkit.checks.inputs import fixed_plans  # noqa: E402
from mugkit.checks.play import play  # noqa: E402
from mugkit.checks.synctest import rollback_run  # noqa: E402
from mugkit.collect import load_step  # noqa: E402
from mugkit.nodeid import NodeId  # noqa: E402
from mugkit.runtime import adapt  # noqa: E402
from mugkit.runtime.driver import FrameDriver  # noqa: E402

STEP = "experiments/gather.py::round_in_browser"


def synctest_fps(frames: int) -> tuple[float, float]:
    experiment, step = load_step(STEP, ROOT)
    ctx = CheckContext(experiment, step, NodeId.parse(STEP + "::synctest"), ROOT, frames=frames)
    plan = fixed_plans(step, frames)[0]  # fast changes: busy play
    ref = play(ctx.game(1), plan, frames)
    start = time.perf_counter()
    rollback_run(ctx, 1, ref, max_rollback=8)
    synctest = time.perf_counter() - start
    start = time.perf_counter()
    play(ctx.game(1), plan, frames)
    plain = time.perf_counter() - start
    return len(ref.actions) / synctest, len(ref.actions) / plain


class _Hidden:
    """The env with get_state/set_state hidden, so mugkit falls back to a deep copy."""

    def __init__(self, env):
        object.__setattr__(self, "_env", env)

    def __getattr__(self, name):
        if name in ("get_state", "set_state"):
            raise AttributeError(name)
        return getattr(self._env, name)


def save_restore_us(driver, n: int = 200) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        driver.load(driver.save())
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def gather_costs(frames: int) -> tuple[float, float]:
    from envs.gather import GatherEnv  # experiments/ is on sys.path once the step loaded

    out = []
    for hide in (False, True):
        env = GatherEnv(render_mode="mug")
        game = adapt(_Hidden(env) if hide else env, ["p0", "p1"])
        if hide:
            # The proxy's own attribute holds the env: a deep copy of the proxy copies the env.
            assert not game.uses_state_methods
        driver = FrameDriver(game, seed=3)
        driver.start()
        for i in range(min(frames, 60)):
            driver.advance({"p0": i % 9, "p1": (i * 5) % 9})
        out.append(save_restore_us(driver))
    return out[0], out[1]


def cartpole_cost() -> float:
    import gymnasium

    driver = FrameDriver(adapt(gymnasium.make("CartPole-v1", render_mode="rgb_array"), ["player"]), seed=1, render=True)
    driver.start()
    driver.advance({"player": 1})
    return save_restore_us(driver, 100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}")
    fps, plain_fps = synctest_fps(args.frames)
    print(f"synctest, {STEP}, max_rollback=8, {args.frames} frames: {fps:,.0f} frames/s "
          f"(plain play with a hash per frame: {plain_fps:,.0f} frames/s)")
    state_us, copy_us = gather_costs(args.frames)
    frame_us = 1e6 / 30
    print(f"save + restore, gather, get_state/set_state: {state_us:7.1f} µs ({state_us / frame_us:.2%} of a 33 ms frame)")
    print(f"save + restore, gather, deep-copy fallback:  {copy_us:7.1f} µs ({copy_us / frame_us:.2%}), "
          f"{copy_us / state_us:.1f}x get_state")
    cp = cartpole_cost()
    print(f"save + restore, CartPole-v1 after render (deep copy): {cp:7.1f} µs ({cp / frame_us:.2%})")


if __name__ == "__main__":
    main()
