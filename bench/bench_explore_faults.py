"""How reliably `mugkit check` at its default settings catches the faults of
``tests/faults/_explore.py`` (issue 15's bar: 20 of 20 runs under different hash seeds).

Usage: .venv/bin/python bench/bench_explore_faults.py [--runs 20] [--jobs 1] [--json OUT]

Runs ``python -m mugkit.cli check tests/faults/_explore.py -k "not parity" --json F`` ``--runs``
times, run ``i`` with ``PYTHONHASHSEED=i`` (1 … 20), and tallies, per fault:

- caught: at least one of its expected checks failed;
- all checks: every expected check failed (crashes: contract, determinism and synctest; ``bump``:
  synctest; ``tie``: determinism and synctest);
- right cause: every expected check failed *and* its report names the key fact — the exception
  type and the planted ``file:line`` for a crash, the field ``stun`` for ``bump``, ``Random()`` and
  the planted line for ``tie``;

and per twin how often every check passed; then the wall and CPU seconds of each run (CPU: the CLI
and its children, the determinism check's fresh processes included).

The script measures the mugkit next to it (its repository root goes first on the CLI's
``PYTHONPATH``). To measure an older commit with the same venv, copy this script and
``tests/faults/_explore.py`` into a worktree of it (see ``bench/bench_heavy_checks.py``).
The machine is shared: ``--jobs 2`` halves the wall time but the runs then compete for the cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE = "tests/faults/_explore.py"
CHECKS = ("contract", "determinism", "synctest")
CRASHES = {"edge": "IndexError", "turns": "ValueError", "last_frame": "KeyError"}
#: fault -> the checks that must fail.
EXPECTED = {**{f: CHECKS for f in CRASHES}, "bump": ("synctest",), "tie": ("determinism", "synctest")}


def planted_line(fault: str) -> int | None:
    """The line marked ``# planted: <fault>`` in the fault file."""
    with open(os.path.join(ROOT, FILE), encoding="utf-8") as f:
        return next((n for n, line in enumerate(f, 1) if f"# planted: {fault}" in line), None)


def facts(fault: str) -> list[str]:
    """What a report of ``fault`` must name."""
    where = f"_explore.py:{planted_line(fault)}"
    if fault in CRASHES:
        return [CRASHES[fault], where]
    if fault == "bump":
        return ["stun"]
    return ["Random()", where]


def report_text(failure: dict | None) -> str:
    """The parts of a --json failure that say what and where."""
    if not failure:
        return ""
    parts = [failure.get("summary") or "", failure.get("cause") or ""]
    parts += [str(x) for x in failure.get("differs") or []] + [str(x) for x in failure.get("raised_at") or []]
    return "\n".join(parts)


def one_run(hash_seed: int) -> dict:
    """One CLI run under ``PYTHONHASHSEED=hash_seed``: its checks, wall and CPU seconds."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "checks.json")
        env = dict(os.environ, PYTHONHASHSEED=str(hash_seed), SDL_VIDEODRIVER="dummy",
                   PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "mugkit.cli", "check", FILE, "-k", "not parity", "-q",
                                 "-p", "no:randomly", "--json", out], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the run's CPU, its reaped children's included
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        checks = {}
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                data = json.load(f)
            for record in data["checks"]:
                step, check = record["nodeid"].split("::")[-2:]
                checks[f"{step}::{check}"] = {"outcome": record["outcome"], "text": report_text(record["failure"]),
                                              "seconds": record["seconds"]}
            notes = data.get("notes", [])
        else:
            notes = []
    return {"hash_seed": hash_seed, "returncode": proc.returncode, "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime, "checks": checks, "notes": notes,
            "tail": output[-2000:] if not checks else ""}


def judge(run: dict, fault: str) -> tuple[bool, bool, bool]:
    """(caught, every expected check failed, …and each named the key facts)."""
    wanted = facts(fault)
    failed = [run["checks"].get(f"{fault}::{c}", {}).get("outcome") == "failed" for c in EXPECTED[fault]]
    right = [ok and all(f in run["checks"][f"{fault}::{c}"]["text"] for f in wanted)
             for ok, c in zip(failed, EXPECTED[fault])]
    return any(failed), all(failed), all(right)


def twin_passes(run: dict, fault: str) -> bool:
    mine = [v["outcome"] for k, v in run["checks"].items() if k.startswith(f"{fault}_twin::")]
    return bool(mine) and all(o == "passed" for o in mine)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", dest="out", help="write every run's results to this file")
    args = parser.parse_args()

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}; mugkit at {ROOT} (commit {commit or '?'})")
    print(f"{args.runs} runs of: mugkit check {FILE} -k 'not parity' --json F, PYTHONHASHSEED=1…{args.runs}, "
          f"{args.jobs} at a time", flush=True)
    runs = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for run in pool.map(one_run, range(1, args.runs + 1)):
            runs.append(run)
            missed = [f for f in EXPECTED if not judge(run, f)[2]] + [f"{f}_twin" for f in EXPECTED
                                                                      if not twin_passes(run, f)]
            print(f"  PYTHONHASHSEED={run['hash_seed']:>2}: exit {run['returncode']}, {run['wall']:6.1f} s wall, "
                  f"{run['cpu']:6.1f} s CPU; "
                  f"{'all as expected' if not missed else 'not as expected: ' + ', '.join(missed)}", flush=True)
            if run["tail"]:
                print(run["tail"])

    n = len(runs)
    print(f"\n{'fault':12} {'caught':>8} {'all checks':>11} {'right cause':>12}   twin passes")
    for fault in EXPECTED:
        verdicts = [judge(run, fault) for run in runs]
        counts = [sum(v[k] for v in verdicts) for k in range(3)]
        twins = sum(twin_passes(run, fault) for run in runs)
        print(f"{fault:12} {counts[0]:>5}/{n} {counts[1]:>8}/{n} {counts[2]:>9}/{n}   {twins:>5}/{n}")
    for what in ("wall", "cpu"):
        values = [run[what] for run in runs]
        print(f"{what} s per run: mean {statistics.mean(values):.1f}, min {min(values):.1f}, max {max(values):.1f}")
    per_check: dict = {}
    for run in runs:
        for name, v in run["checks"].items():
            per_check.setdefault(name, []).append(v["seconds"])
    slowest = sorted(per_check.items(), key=lambda kv: -statistics.mean(kv[1]))[:8]
    print("slowest check items (mean wall s): " + ", ".join(f"{k} {statistics.mean(v):.1f}" for k, v in slowest))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
