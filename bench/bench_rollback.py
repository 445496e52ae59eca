"""What rollback costs per frame, in CPython, for a real env through the GameEnv adapter.

Runs Gem Gatherers (``experiments/envs/gather.py``, the two-player ParallelEnv) when it can be
imported, else a small stub, and measures through :class:`mugkit.netcode.GameRunner` exactly
what a session asks of the game:

- a normal frame: ``SaveState`` (``game.save()``, plus ``game.checksum()`` when the session
  needs it: every 10th frame in a P2P session, every frame in a sync test) and ``AdvanceFrame``;
- a rollback of ``--depth`` frames (default 8, the prediction window): ``LoadState``, then
  ``depth`` times ``AdvanceFrame`` + ``SaveState`` (at most one of them hashed in P2P);
- the worst frame a session can produce: a rollback of ``depth`` plus the normal frame.

Each is shown in ms and as a fraction of a 33.3 ms frame (30 fps). Usage::

    .venv/bin/python bench/bench_rollback.py [--frames 300] [--depth 8] [--pyodide]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from mugkit.netcode import GameRunner, SessionBuilder  # noqa: E402

FRAME_MS = 1000 / 30


def make_game():
    """Gem Gatherers through the adapter, or a stub when either is missing."""
    try:
        from envs.gather import GatherEnv
        from mugkit.runtime.adapter import adapt
        return "Gem Gatherers (GatherEnv via adapt)", lambda: adapt(GatherEnv(render_mode=None), agents=("p0", "p1"))
    except ImportError as e:  # another engineer's module may be missing in a partial checkout
        sys.path.insert(0, str(ROOT / "tests" / "netcode"))
        from netcode_stubs import StubGame
        return f"StubGame (GatherEnv unavailable: {e})", StubGame


def measure(make, frames: int, depth: int, seed: int = 0) -> dict[str, list[float]]:
    """Times each operation ``frames`` times over a game played with random actions."""
    rng = random.Random(seed)
    runner = GameRunner(make(), seed=seed)
    session = SessionBuilder().with_max_rollback(depth).with_check_distance(depth).start_synctest_session()
    times: dict[str, list[float]] = {k: [] for k in ("save", "checksum", "advance", "load")}
    for f in range(frames + depth):
        for h in range(2):
            session.add_local_input(h, rng.randrange(9))
        requests = session.advance_frame()
        # A sync test asks for exactly what a session's worst frame needs: Save(c), Load(c-depth),
        # depth x (Advance, Save), Advance(c). Time each kind separately.
        for r in requests:
            kind = type(r).__name__
            if kind == "SaveState":  # the hash is timed on its own below
                r = dataclasses.replace(r, checksum_needed=False)
            t0 = time.perf_counter()
            runner.fulfil([r])
            dt = (time.perf_counter() - t0) * 1000
            if f >= depth:
                times[{"SaveState": "save", "LoadState": "load", "AdvanceFrame": "advance"}[kind]].append(dt)
        if f >= depth:
            t0 = time.perf_counter()
            runner.checksum()
            times["checksum"].append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--pyodide", action="store_true",
                    help="run the same measurement in Pyodide (Node; `./dev test` installs it from npm)")
    args = ap.parse_args()
    if args.pyodide:
        import subprocess

        script = (f"import runpy, sys\nsys.argv = ['bench_rollback.py', '--frames', '{args.frames}', '--depth', "
                  f"'{args.depth}']\nrunpy.run_path('/repo/bench/bench_rollback.py', run_name='__main__')\n")
        runner = ROOT / "tests" / "pyodide" / "run.mjs"
        sys.exit(subprocess.run(["node", str(runner), str(ROOT)], input=script, text=True, cwd=ROOT).returncode)
    name, make = make_game()
    t = measure(make, args.frames, args.depth)
    mean = {k: statistics.fmean(v) for k, v in t.items()}
    p95 = {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in t.items()}
    d = args.depth
    rows = [
        ("save (driver.save)", mean["save"], p95["save"]),
        ("checksum (driver.checksum)", mean["checksum"], p95["checksum"]),
        ("advance (driver.advance)", mean["advance"], p95["advance"]),
        ("load (driver.load)", mean["load"], p95["load"]),
    ]
    for title, hashes_normal, hashes_rollback in (
            ("P2P, checksum every 10th frame", 0.1, 1), ("hash every save (sync test)", 1, d)):
        rows.append((f"-- {title}", None, None))
        normal = [m["save"] + m["advance"] + hashes_normal * m["checksum"] for m in (mean, p95)]
        rollback = [m["load"] + d * (m["advance"] + m["save"]) + hashes_rollback * m["checksum"] for m in (mean, p95)]
        rows += [("normal frame: save + advance", *normal),
                 (f"rollback of {d}: load + {d} x (advance + save)", *rollback),
                 (f"worst frame: rollback of {d} + normal frame", rollback[0] + normal[0], rollback[1] + normal[1])]
    print(f"game: {name}; {args.frames} frames measured; Python {sys.version.split()[0]}")
    print(f"{'operation':<48} {'mean ms':>8} {'% of 33 ms':>10} {'p95 ms':>8}")
    for label, m, p in rows:
        if m is None:
            print(label)
        else:
            print(f"{label:<48} {m:8.3f} {100 * m / FRAME_MS:9.1f}% {p:8.3f}")
    print("(p95 rows add up per-operation p95s: a pessimistic bound, not a measured p95)")


if __name__ == "__main__":
    main()
