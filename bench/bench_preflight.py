"""What `mugkit serve`'s pre-flight costs: wall and CPU seconds of its checks on a folder.

Usage: .venv/bin/python bench/bench_preflight.py [PATH] [--runs N]   (PATH: experiments/ by default)

Times :func:`mugkit.preflight.run_checks` (the child ``mugkit check`` process pre-flight starts),
``--runs`` times, with the load average beside each run: the machine is shared, so read the CPU
seconds (the child's user + system time) as the steadier measure. Target: under 10 s wall for
the examples.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

from mugkit.preflight import run_checks  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("path", nargs="?", default="experiments")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    for i in range(args.runs):
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        result = run_checks([args.path], cwd=ROOT)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"run {i + 1}: {'passed' if result.ok else 'FAILED'} ({result.summary()}), wall {wall:.2f} s, "
              f"CPU {cpu:.2f} s, load average {load:.2f}", flush=True)


if __name__ == "__main__":
    main()
