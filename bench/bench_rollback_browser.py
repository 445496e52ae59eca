"""Rollback netcode in Pyodide in headless Chromium: what a full rollback costs a frame, and how
much latency two real browser peers take at 30 fps.

    flock /tmp/chromium.lock .venv/bin/python bench/bench_rollback_browser.py [--ticks 600] [--frames 300]

1. **Cost of a full 8-frame rollback.** In one Chromium page (Pyodide booted by the browser
   runtime's boot.js with the step's wheels, as `mugkit check` boots it), 2 or 4
   :class:`~mugkit.runtime.peer_game.PeerGame` s play over the simulated network with a one-way
   latency that makes nearly every tick roll back ``max_rollback`` frames (keys change every
   frame, so predictions are wrong). A tick is everything a page's worker asks of Python per
   frame: poll, inputs, rollback and re-simulation, the new frame, rows, render and the ``frame``
   message. Printed: host peer's mean and p95 ms per tick by frames re-simulated, and as a share of
   a 33 ms frame (wall time in the page: Chromium coarsens its clock to 0.1 ms; means over
   hundreds of ticks).
2. **Latency at 30 fps.** Two pages play Gem Gatherers' browser round over real WebRTC data
   channels on loopback, with the one-way latency injected in the mesh (jitter 0, loss 0); for
   each latency, the frames each peer advanced per second of its clock over ``--frames`` confirmed
   frames, and the session's stalled frames. Printed: the highest latency (and every lower one) at
   which both peers *hold 30 fps*: no frame stalled (neither waited for the other's input) and at
   least 29 frames a second (time synchronisation skips a frame now and then).

Steps: Gem Gatherers' ``round_in_browser`` (the example, 2 humans) and ``bench/studies/_walkers.py``
(2 and 4 humans: no example has four).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mugkit.checks.browser import BrowserPython  # noqa: E402
from mugkit.checks.inputs import fixed_plans  # noqa: E402
from mugkit.checks.rollback_browser import BrowserPeers, Netem, Scenario  # noqa: E402
from mugkit.collect import load_step  # noqa: E402

GATHER = "experiments/gather.py::round_in_browser"
WALKERS = {2: "bench/studies/_walkers.py::walkers2", 4: "bench/studies/_walkers.py::walkers4"}
LATENCIES_MS = (0, 50, 100, 150, 200, 250, 300, 350, 400)
HOLDS_FPS = 29.0

#: Runs inside Pyodide (the step loaded by mugkit.checks.browser_side): N peers over the simulated
#: network in one page, the host's tick times by frames re-simulated.
PEERS_IN_PYODIDE = """
import json, time
from mugkit.checks.browser_side import _LOADED
from mugkit.checks.play import make_game
from mugkit.netcode.simnet import Link, SimNetwork
from mugkit.runtime.peer_game import PeerGame

def _bench(ticks, latency_ms):
    experiment, step = _LOADED["step"]
    build = lambda: make_game(step, experiment.policies, 7, experiment.conditions).driver()
    agents = build().agents
    peers = {f"h{i}": a for i, a in enumerate(agents) if a in step.humans}
    games = {me: PeerGame("bench", build(), me, peers, host="h0", seed=7) for me in peers}
    net = SimNetwork(1, Link(latency_ms=latency_ms))
    transports = {me: net.transport(me) for me in games}
    keys = list(step.options.keys)
    for g in games.values():
        g.start()
    by_depth = {}
    for k in range(ticks):
        now = k * 1000 / 30
        net.advance_to(now)
        for me, g in games.items():
            for sender, data in transports[me].receive_all():
                g.receive(sender, data)
            g.key_message(k + 1, [keys[(k + int(me[1:])) % len(keys)]], [], [], None)
            before = g.stats()["frames_resimulated"]
            t0 = time.perf_counter()
            g.tick(now, now / 1000, 0.0)
            g.take_rows()
            spent = time.perf_counter() - t0
            depth = g.stats()["frames_resimulated"] - before
            for to, data in g.take_packets():
                transports[me].send_to(to, data)
            if me == "h0" and k > 60:
                by_depth.setdefault(depth, []).append(spent * 1000)
    return json.dumps(by_depth)
"""


def rollback_cost(node: str, ticks: int, latency_ms: float) -> dict:
    """``{frames re-simulated: [ms per host tick]}`` of ``node``'s peers in one Pyodide page."""
    with BrowserPeers(node, ROOT, 1) as browser:
        if not browser.loaded.get("ok"):
            raise SystemExit(f"{node} did not load in the browser: {browser.loaded}")
        page = browser.pages[0]
        page.evaluate("c => window.mugkitRollback.python(c)", PEERS_IN_PYODIDE)
        text = page.evaluate("c => window.mugkitRollback.python(c)", f"_bench({ticks}, {latency_ms})")
        return {int(k): v for k, v in json.loads(text).items()}


def latency_fps(node: str, frames: int) -> list[dict]:
    """Per injected latency: each peer's frames advanced per second and stalled frames."""
    experiment, step = load_step(node, ROOT)
    plan = fixed_plans(step, frames)[0]
    peers = {f"h{i}": a for i, a in enumerate(step.players)}  # every agent of the example is human
    out = []
    with BrowserPeers(node, ROOT, 2) as browser:
        for latency in LATENCIES_MS:
            reports = browser.play(Scenario(1, plan, frames, Netem(latency, 0, 0.0, 1)), peers)
            fps = [p["played"] * 1000 / p["elapsed_ms"] for p in browser.progress]
            stalled = [(r.get("stats") or {}).get("frames_stalled") for r in reports]
            depth = [(r.get("stats") or {}).get("max_rollback_depth") for r in reports]
            errors = [r.get("error") for r in reports if r.get("error")]
            out.append({"latency_ms": latency, "fps": fps, "stalled": stalled, "max_depth": depth, "errors": errors})
            print(f"  one-way {latency:>3} ms: fps {' / '.join(f'{f:.1f}' for f in fps)}, stalled frames {stalled}, "
                  f"deepest rollback {depth}{', errors ' + str(errors) if errors else ''}", flush=True)
    return out


def chromium_version() -> str:
    from mugkit.checks.browser import find_chromium

    try:
        return subprocess.run([find_chromium() or "chromium", "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except OSError:
        return "Chromium (version unknown)"


def fit(by_depth: dict) -> tuple[float, float]:
    """Least squares ``ms = a + b * frames re-simulated`` over every tick."""
    points = [(d, ms) for d, values in by_depth.items() for ms in values]
    n = len(points)
    mx, my = sum(d for d, _ in points) / n, sum(ms for _, ms in points) / n
    var = sum((d - mx) ** 2 for d, _ in points)
    b = sum((d - mx) * (ms - my) for d, ms in points) / var if var else 0.0
    return my - b * mx, b


def summary(by_depth: dict, window: int) -> str:
    a, b = fit(by_depth)
    fitted = a + window * b
    out = (f"a tick re-simulating {window} frames {fitted:.2f} ms = {fitted / 33.3:.1%} of a 33 ms frame (fit over "
           f"{sum(map(len, by_depth.values()))} ticks: {a:.2f} ms + {b:.3f} ms per frame re-simulated)")
    full = sorted(by_depth.get(window, []))
    if full:
        mean = sum(full) / len(full)
        out += f"; measured at {window}: mean {mean:.2f} ms, p95 {full[int(0.95 * (len(full) - 1))]:.2f} ms, {len(full)} ticks"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--latency-ms", type=float, default=330, help="one-way latency of part 1")
    parser.add_argument("--frames", type=int, default=300, help="confirmed frames per latency in part 2")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {chromium_version()}; {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}); load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"1. a full rollback, host peer's tick in Pyodide ({args.ticks} ticks):")
    # Four peers wait for each other more: a longer latency gives them full rollbacks too.
    for label, node, latency in (("Gem Gatherers, 2 peers", GATHER, args.latency_ms),
                                 ("walkers, 2 peers", WALKERS[2], args.latency_ms),
                                 ("walkers, 4 peers", WALKERS[4], max(args.latency_ms, 500))):
        window = load_step(node, ROOT)[1].options.max_rollback
        print(f"  {label} (one-way {latency:g} ms): {summary(rollback_cost(node, args.ticks, latency), window)}",
              flush=True)
    print(f"   load {os.getloadavg()[0]:.2f}")
    if args.skip_latency:
        return
    print(f"2. Gem Gatherers, 2 Chromium pages over WebRTC on loopback, {args.frames} frames per latency:")
    rows = latency_fps(GATHER, args.frames)
    held = [r["latency_ms"] for r in rows
            if not r["errors"] and min(r["fps"]) >= HOLDS_FPS and not any(r["stalled"])]
    top = max((lat for lat in held if all(lat2 in held for lat2 in LATENCIES_MS if lat2 <= lat)), default=None)
    print(f"  highest one-way latency with both peers at {HOLDS_FPS:g} fps or more and no frame stalled: "
          f"{'none' if top is None else f'{top} ms'}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
