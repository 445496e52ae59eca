"""CPU cost of one PeerGame tick in CPython: Gem Gatherers' browser round, two peers over the
simulated network with a one-way latency that makes nearly every tick roll back ``max_rollback``
frames (keys change every frame, so predictions are wrong). A tick is everything the worker asks
of Python per frame: poll, inputs, rollback and re-simulation, the new frame, rows, render and the
``frame`` message.

    PYTHONPATH=. .venv/bin/python bench/bench_peer_tick.py [--ticks 600] [--latency-ms 330]

Prints the mean and p95 CPU ms per tick by rollback depth, and as a share of a 33 ms frame.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from mugkit.browser import peer_game_from_spec
from mugkit.collect import load_experiment
from mugkit.netcode.simnet import Link, SimNetwork

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"]


def peers(step_name: str = "round_in_browser", humans: int = 2) -> dict:
    experiment = load_experiment(os.path.join(ROOT, "experiments", "gather.py"), os.path.join(ROOT, "experiments"))
    step = experiment.step(step_name)
    agents = list(step.options.players)
    group = [{"id": f"pp{i}", "params": {}, "condition": None} for i in range(humans)]
    spec = {"game": "bench", "step": step_name, "seed": 7, "participant": group[0], "group": group}
    addrs = {f"h{i}": a for i, a in enumerate(agents) if a in step.options.humans}
    return {me: peer_game_from_spec(experiment, spec, {"me": me, "peers": addrs, "host": "h0"}) for me in addrs}


def run(ticks: int, latency_ms: float) -> dict:
    games = peers()
    net = SimNetwork(1, Link(latency_ms=latency_ms))
    transports = {a: net.transport(a) for a in games}
    for a, g in games.items():
        g.start()
    by_depth: dict[int, list[float]] = {}
    for k in range(ticks):
        now = k * 1000 / 30
        net.advance_to(now)
        for a, g in games.items():
            for sender, data in transports[a].receive_all():
                g.receive(sender, data)
            g.key_message(k + 1, [KEYS[(k + len(a)) % 4]], [], [], None)
            before = g.stats()
            t0 = time.process_time()
            g.tick(now, now / 1000, 0.0)
            g.take_rows()
            spent = time.process_time() - t0
            after = g.stats()
            for to, data in g.take_packets():
                transports[a].send_to(to, data)
            if a == "h0" and k > 60:
                depth = after["frames_resimulated"] - before["frames_resimulated"]
                by_depth.setdefault(depth, []).append(spent * 1000)
    return by_depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--latency-ms", type=float, default=330)
    args = parser.parse_args()
    by_depth = run(args.ticks, args.latency_ms)
    print(f"Gem Gatherers, 2 peers, one-way latency {args.latency_ms} ms, {args.ticks} ticks; "
          f"Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}")
    print(f"{'frames re-simulated':>20} {'ticks':>6} {'mean ms':>8} {'% of 33 ms':>10} {'p95 ms':>7}")
    for depth in sorted(by_depth):
        ms = sorted(by_depth[depth])
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(f"{depth:>20} {len(ms):>6} {statistics.mean(ms):>8.3f} {statistics.mean(ms) / 33.3:>10.1%} {p95:>7.3f}")


if __name__ == "__main__":
    main()
