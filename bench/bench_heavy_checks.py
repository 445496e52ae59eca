"""How long `mugkit check`'s `synctest` and `determinism` take on envs with large observations
and no get_state/set_state, against plain stepping of the same number of frames.

Usage: .venv/bin/python bench/bench_heavy_checks.py [--only pong|cartpole] [--check synctest|determinism]
       [--examples 10] [--frames 40]

Two third-party envs, unchanged, checked at the default settings (``--mugkit-examples 10
--mugkit-frames 40``) through the real CLI (``python -m mugkit.cli check``), one check at a time:

- ``pong``: PettingZoo's ``butterfly/cooperative_pong_v6`` parallel env, two human paddles,
  280×480×3 uint8 observations per agent (its spaces hold two dozen arrays of that size), pygame
  rendering, no get_state/set_state (needs ``pettingzoo[butterfly]``);
- ``cartpole``: Gymnasium's ``CartPole-v1`` rendering to ``rgb_array``, ``max_steps=200``.

For each check: the wall time of the check item (from the JUnit report), the CPU time of the whole
``mugkit check`` run with its children (start-up and collection included, and the determinism
check's fresh processes, which run concurrently), and the check's time as a multiple of *plain
stepping*: the env's own ``reset``/``step`` with random actions for as many frames as the check's
examples cover at most ((examples + 2 fixed ones) × frames), timed in this process.

The script measures the mugkit next to it: its repository root goes first on ``sys.path`` and on
the ``PYTHONPATH`` of the CLI it runs. To measure an older commit with the same venv:

    git worktree add --detach /tmp/wt_before <commit>
    cp bench/bench_heavy_checks.py /tmp/wt_before/bench/
    (cd /tmp/wt_before && /path/to/.venv/bin/python bench/bench_heavy_checks.py)

The machine is shared: run one benchmark at a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

STEPS = '''"""Steps for bench/bench_heavy_checks.py (written by it)."""

import mugkit as mk


@mk.scene(players={"paddle_0": mk.HUMAN, "paddle_1": mk.HUMAN}, keys={"ArrowUp": 1, "ArrowDown": 2},
          default_action=0)
def pong():
    from pettingzoo.butterfly import cooperative_pong_v6

    return cooperative_pong_v6.parallel_env(render_mode="rgb_array")


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 1}, default_action=0, max_steps=200)
def cartpole():
    import gymnasium

    return gymnasium.make("CartPole-v1", render_mode="rgb_array")
'''

CHECKS = ("synctest", "determinism")


def _make(name: str):
    if name == "pong":
        from pettingzoo.butterfly import cooperative_pong_v6

        return cooperative_pong_v6.parallel_env(render_mode="rgb_array")
    import gymnasium

    return gymnasium.make("CartPole-v1", render_mode="rgb_array")


def plain_seconds(name: str, frames: int) -> float:
    """Seconds to reset and step the env itself (random actions) for ``frames`` frames; the best
    of three runs."""
    import random

    best = float("inf")
    for _ in range(3):
        env = _make(name)
        rng = random.Random(0)
        start = time.perf_counter()
        done, episode, n = True, 0, 0
        while n < frames:
            if done:
                env.reset(seed=episode)
                episode += 1
            if name == "pong":
                _, _, terms, truncs, _ = env.step({a: rng.randrange(3) for a in env.agents})
                done = not env.agents or any(terms.values()) or any(truncs.values())
            else:
                _, _, term, trunc, _ = env.step(rng.randrange(2))
                done = term or trunc
            n += 1
        best = min(best, time.perf_counter() - start)
        env.close()
    return best


def run_check(folder: str, step: str, check: str, examples: int, frames: int) -> tuple[str, float, float]:
    """``(outcome, wall seconds of the check item, CPU seconds of the whole CLI run)``."""
    xml = os.path.join(folder, f"{step}-{check}.xml")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "check", "_heavy_steps.py", "-k", f"{step} and {check}",
                           "--mugkit-examples", str(examples), "--mugkit-frames", str(frames), "-p", "no:randomly",
                           "-q", "--junitxml", xml], cwd=folder, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    outcome, seconds = "error", float("nan")
    if os.path.exists(xml):
        for case in ET.parse(xml).getroot().iter("testcase"):
            if case.get("name") == check:
                seconds = float(case.get("time"))
                outcome = next((tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None), "passed")
    if outcome != "passed":
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
    return outcome, seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["pong", "cartpole"])
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--check", choices=CHECKS, help="only this check")
    args = parser.parse_args()

    import mugkit

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")
    print(f"mugkit: {os.path.dirname(mugkit.__file__)} (commit {commit or '?'}); "
          f"--mugkit-examples {args.examples} --mugkit-frames {args.frames}")
    envs = [args.only] if args.only else ["pong", "cartpole"]
    if "pong" in envs:
        try:
            import pettingzoo.butterfly  # noqa: F401
        except ImportError:
            print("pong: skipped (pip install 'pettingzoo[butterfly]')")
            envs.remove("pong")
    frames = (args.examples + 2) * args.frames
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "_heavy_steps.py"), "w") as f:
            f.write(STEPS)
        print(f"{'env':9} {'check':12} {'outcome':8} {'check s':>8} {'CPU s':>8} {'plain ms':>9} {'× plain':>8}")
        for name in envs:
            plain = plain_seconds(name, frames)
            for check in [args.check] if args.check else CHECKS:
                outcome, seconds, cpu_s = run_check(folder, name, check, args.examples, args.frames)
                print(f"{name:9} {check:12} {outcome:8} {seconds:8.1f} {cpu_s:8.1f} {plain * 1e3:9.1f} "
                      f"{seconds / plain:8.0f}", flush=True)
        print(f"plain: the env's own reset/step with random actions for {frames} frames ((examples + 2) × frames); "
              f"check s: the check item's wall time; CPU s: the whole `mugkit check` run with its child processes")


if __name__ == "__main__":
    main()
