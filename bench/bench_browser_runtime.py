"""The browser runtime's speed, measured on this machine (numbers go in docs/benchmarks.md):

1. **Start**: a real ``mugkit serve experiments/`` on localhost and a participant in headless
   Chromium: the time from entering the game step to the first frame drawn, cold (a fresh on-disk
   browser profile: Pyodide's 14 MB downloaded) and warm (the same profile after a reload:
   everything from the HTTP cache), with the stages the browser recorded (``game_loaded`` events).
2. **Frames per second** of example (b)'s env (Gem Gatherers' browser step) played by the frame
   driver with the checks' human-like keys: inside Pyodide in Chromium against CPython. Both
   sides also hash every frame (as the ``parity`` check does), so the figures are per checked
   frame; the ratio is what matters.

Usage: ``python bench/bench_browser_runtime.py [--frames 1500] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "web"))

from browser_data import enter_game, wait_loaded  # noqa: E402
from serving import serve  # noqa: E402

from mugkit.checks.browser import BrowserPython  # noqa: E402
from mugkit.checks.inputs import fixed_plans  # noqa: E402
from mugkit.checks.play import make_game, play  # noqa: E402
from mugkit.collect import load_step  # noqa: E402

GATHER = "experiments/gather.py::round_in_browser"


def start_times(repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    data = tempfile.mkdtemp(prefix="mugkit-bench-")
    served = serve(os.path.join(ROOT, "experiments"), data=data)
    cold, warm = [], []
    try:
        with sync_playwright() as p:
            for _ in range(repeats):
                # A fresh on-disk profile, as a participant's browser has: an empty HTTP cache. (A
                # Playwright incognito context caches in memory only, and not Pyodide's 9.6 MB wasm.)
                context = p.chromium.launch_persistent_context(tempfile.mkdtemp(prefix="mugkit-profile-"),
                                                               executable_path="/usr/bin/chromium")
                page = context.new_page()
                enter_game(page, f"{served.url}/catch/")
                t0 = time.perf_counter()
                wait_loaded(page)
                cold.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page.reload()                      # the same profile: Pyodide from the HTTP cache
                wait_loaded(page)
                warm.append(time.perf_counter() - t0)
                context.close()
    finally:
        served.stop()
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        loads = [json.loads(d) for (d,) in db.execute("select detail from events where kind = 'game_loaded'")]
    return {"cold_s": cold, "warm_s": warm, "stages": loads}


def frame_rates(frames: int, repeats: int) -> dict:
    experiment, step = load_step(GATHER, ROOT)
    plan = fixed_plans(step, frames)[1]
    cpython = []
    for seed in range(repeats):
        game = make_game(step, experiment.policies, seed)
        t0 = time.perf_counter()
        play(game, plan, frames)
        cpython.append(frames / (time.perf_counter() - t0))
    browser = []
    with BrowserPython(GATHER, ROOT) as chromium:
        if not chromium.loaded.get("ok"):
            raise RuntimeError(f"the step did not load in Chromium: {chromium.loaded}")
        for seed in range(repeats):
            t0 = time.perf_counter()
            answer = chromium.play(seed, plan, frames)
            browser.append(frames / (time.perf_counter() - t0))
            assert len(answer["hashes"]) >= frames, answer.get("error")
    return {"cpython_fps": cpython, "pyodide_fps": browser}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# browser runtime, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    starts = start_times(args.repeats)
    med = statistics.median
    print(f"start to first frame, cold (fresh profile): median {med(starts['cold_s']):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in starts['cold_s'])})")
    print(f"start to first frame, warm (cached):        median {med(starts['warm_s']):.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in starts['warm_s'])})")
    for load in starts["stages"]:
        print(f"  stages (ms) {load['stages']}  cached={load.get('cached')}  bytes={load.get('bytes')}")
    rates = frame_rates(args.frames, args.repeats)
    c, b = med(rates["cpython_fps"]), med(rates["pyodide_fps"])
    print(f"{GATHER}, {args.frames} frames, hashed: CPython {c:,.0f} fps, Pyodide in Chromium {b:,.0f} fps "
          f"({b / c:.2f}x CPython)")


if __name__ == "__main__":
    main()
