"""What `mugkit check` costs and how far its games go: wall and CPU time, and the states reached.

Usage: .venv/bin/python bench/bench_check_explore.py [--only NAME ...] [--no-parity] [--json OUT]

Targets: the examples (``experiments/*.py``, one CLI run each) and a PettingZoo butterfly env
(``tests/thirdparty/_butterfly.py``: cooperative pong, two human paddles, 280×480×3 pixel
observations, no get_state/set_state; needs ``pettingzoo[butterfly]``). For each:

- time: the wall and CPU seconds (the CLI with its children, the determinism check's fresh
  processes included) of ``python -m mugkit.cli check TARGET -k "not parity" --json F``, and
  once the whole ``experiments/`` folder *with* parity (headless Chromium, run under
  ``flock /tmp/chromium.lock`` like every browser test; ``--no-parity`` skips it);
- states reached, per game step, two ways:
  - **before**: the examples the 40-frame checks played, replayed here: each ``@mk.playthrough``,
    the fixed plans (``fixed_plans``, seed 1) and ten generated plans (``sample_plan``, the same
    segments as the Hypothesis strategy; Hypothesis's own draws are not replayable outside it) —
    counted as distinct *cells* by :func:`cell_signature` (bucketed changed attributes of the
    unwrapped env) and the deepest frame reached;
  - **after, replayed**: the trajectories the exploration keeps (explored again in this process at
    its default budget), replayed and counted the same way, with the same buckets;
  - **after, reported**: what the exploration reports in the ``--json`` output (its own cells),
    read by :func:`exploration_states`.

The script measures the mugkit next to it: its repository root goes first on ``sys.path`` and on
the ``PYTHONPATH`` of the CLI it runs. To measure an older commit with the same venv:

    git worktree add --detach /tmp/wt_before <commit>
    cp bench/bench_check_explore.py /tmp/wt_before/bench/
    cp tests/thirdparty/_butterfly.py /tmp/wt_before/tests/thirdparty/   # if that commit lacks it
    (cd /tmp/wt_before && /path/to/.venv/bin/python bench/bench_check_explore.py)

The machine is shared: run one benchmark at a time, and read the load average printed beside the
times.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

BUTTERFLY = "tests/thirdparty/_butterfly.py"
#: Generated plans replayed per step for the "before" count (the checks' default --mugkit-examples).
EXAMPLES = 10
FRAMES = 40
#: Sequences longer than this (pixel buffers, RNG states) are left out of a cell's signature.
MAX_LEAVES = 64
#: A numeric attribute whose values span more than this many units is cut into this many buckets.
BUCKETS = 8


def targets() -> list[str]:
    """The example experiments, then the butterfly env."""
    found = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "experiments", "*.py"))
                   if not os.path.basename(p).startswith(("test_", "_")))
    return found + [BUTTERFLY]


# --- time --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium_lock():
    """Holds /tmp/chromium.lock, as every Chromium run on this machine does."""
    with open("/tmp/chromium.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_cli(target: str, *extra: str) -> dict:
    """One ``mugkit check`` run: wall and CPU seconds, exit code, and its --json report."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "checks.json")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "mugkit.cli", "check", target, *extra, "-q", "-p", "no:randomly",
                                 "--json", out], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the run's CPU, its reaped children's included
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        report = json.load(open(out, encoding="utf-8")) if os.path.exists(out) else {"checks": [], "notes": []}
    outcomes = [c["outcome"] for c in report["checks"]]
    return {"target": target, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "exit": proc.returncode,
            "passed": outcomes.count("passed"), "failed": len(outcomes) - outcomes.count("passed"),
            "report": report, "tail": output[-3000:] if proc.returncode else ""}


# --- states reached: after (the exploration's own report) --------------------------------------------


def exploration_states(report: dict) -> dict:
    """Step name → ``{"cells", "deepest", …}`` from a ``--json`` report of the exploring checks;
    ``{}`` when the report has none (a commit before exploration).

    >>> THE ONE PLACE THAT READS THE EXPLORATION'S REPORT <<<  ``--json`` holds
    ``"explorations": {"<file>::<step>": {"cells", "deepest_frame", "frames", "seconds",
    "episode_ends", "left_out", "never_changed", …}}`` (``Exploration.to_dict`` in
    ``mugkit/checks/explore.py``); notes saying ``N cells, deepest frame M`` are read as a fallback.
    """
    out: dict = {}
    entry = report.get("explorations", report.get("exploration"))
    if isinstance(entry, dict):
        entry = [{"step": k, **v} for k, v in entry.items() if isinstance(v, dict)]
    for item in entry or []:
        step = str(item.get("step") or item.get("nodeid") or "").split("::")
        name = step[1] if len(step) > 1 else step[0]
        deepest = next((item[k] for k in ("deepest_frame", "deepest") if k in item), None)
        out[name] = {"cells": item.get("cells"), "deepest": deepest, "explored": item.get("frames"),
                     "seconds": item.get("seconds"), "episode_ends": item.get("episode_ends"),
                     "left_out": item.get("left_out"), "never_changed": item.get("never_changed")}
    for note in report.get("notes", []):
        step = re.match(r"[^:\s]+\.py::(\w+)", note)
        cells = re.search(r"(\d+) cells", note)
        deepest = re.search(r"deepest frame (\d+)", note)
        if step and cells and step.group(1) not in out:
            out[step.group(1)] = {"cells": int(cells.group(1)), "deepest": int(deepest.group(1)) if deepest else None}
    return out


# --- states reached: before (the 40-frame examples, replayed) ----------------------------------------


def _leaves(x, path: str, out: dict) -> None:
    """Flattens a state view to ``path → scalar``; long sequences and arrays are left out."""
    if hasattr(x, "tolist") and hasattr(x, "size"):
        if x.size > MAX_LEAVES:
            return
        x = x.tolist()
    if isinstance(x, dict):
        for k, v in x.items():
            _leaves(v, f"{path}.{k}", out)
    elif isinstance(x, (list, tuple)):
        if len(x) <= MAX_LEAVES:
            for i, v in enumerate(x):
                _leaves(v, f"{path}[{i}]", out)
    elif isinstance(x, (set, frozenset)):
        out[path] = tuple(sorted(map(repr, x)))
    elif x is None or isinstance(x, (bool, int, float, str)):
        out[path] = x


def attributes(game) -> dict:
    """Every attribute of the unwrapped env, flattened (``path → scalar``)."""
    from mugkit.runtime import state

    view = getattr(state, "hash_view", state.state_view)  # hash_view: no copies, used at once
    env = game.env.env
    out: dict = {}
    _leaves(view(getattr(env, "unwrapped", env)), "", out)
    return out


def cell_signature(frames: list[dict]) -> list[tuple]:
    """One cell per frame: the attributes that changed anywhere in ``frames``, numbers cut into
    :data:`BUCKETS` buckets of their range (exact when the range is that small: counters, flags),
    other values as they are. The lead may swap this for the exploration's own cells."""
    paths = sorted({p for f in frames for p in f})
    changing = [p for p in paths if len({repr(f.get(p)) for f in frames}) > 1]
    ranges = {}
    for p in changing:
        nums = [f[p] for f in frames if isinstance(f.get(p), (int, float)) and not isinstance(f.get(p), bool)]
        if nums:
            ranges[p] = (min(nums), max(nums))

    def bucket(p, v):
        if p in ranges and isinstance(v, (int, float)) and not isinstance(v, bool):
            lo, hi = ranges[p]
            return v if hi - lo <= BUCKETS else min(BUCKETS - 1, int((v - lo) * BUCKETS / (hi - lo)))
        return v if isinstance(v, (str, bool, int, float, type(None), tuple)) else repr(v)

    return [tuple(bucket(p, f.get(p)) for p in changing) for f in frames]


def old_examples(step) -> list:
    """``(seed, plan)`` of what the 40-frame checks generated: the fixed plans, and
    :data:`EXAMPLES` plans drawn like the generated ones (playthroughs come on top)."""
    import mugkit.checks.inputs as inputs

    rng = random.Random(0)
    out = [(1, plan) for plan in inputs.fixed_plans(step, FRAMES)]
    out += [(rng.randrange(2**32), inputs.sample_plan(step, FRAMES, rng)) for _ in range(EXAMPLES)]
    return out


def _replay(game, plan, frames: int) -> list[dict]:
    """The attributes of every frame of ``plan`` played from the reset (see :func:`attributes`)."""
    from mugkit.checks.play import tick

    driver = game.driver()
    driver.start()
    out = [attributes(game)]
    for i in range(max(frames, len(plan))):
        if driver.frame.done or tick(game, driver, plan, i) is None:
            break
        out.append(attributes(game))
    return out


def _explored_examples(experiment, step, target: str) -> list | None:
    """``(seed, plan)`` of every trajectory the exploration of ``step`` keeps (its default budget,
    run in this process), or None on a commit without exploration."""
    try:
        from mugkit.checks.base import CheckContext
        from mugkit.checks.explore import Budget  # noqa: F401  (absent before exploration)
        from mugkit.nodeid import NodeId
    except ImportError:
        return None
    ctx = CheckContext(experiment, step, NodeId.parse(f"{target}::{step.name}::synctest"), ROOT)
    exploration = ctx.exploration()
    return [(t.seed, t.plan) for t in exploration.trajectories] if exploration else None


def states(target: str) -> dict:
    """Step name → ``{"before": …, "after_replayed": …}``, each ``{"cells", "deepest", "frames"}``
    by :func:`cell_signature`: *before* over the 40-frame examples (playthroughs and
    :func:`old_examples`), *after_replayed* over the trajectories exploration keeps, replayed from
    the reset (None before exploration). Both are bucketed over the ranges of both, so their
    cells compare."""
    from mugkit.checks.play import make_game
    from mugkit.collect import load_experiment
    from mugkit.steps import GameStep

    experiment = load_experiment(os.path.join(ROOT, target), ROOT)
    out = {}
    for step in experiment.steps:
        if not isinstance(step, GameStep):
            continue
        old = [(p.seed, p.plan(step.humans)) for p in getattr(experiment, "playthroughs", [])
               if p.step is step] + old_examples(step)
        new = _explored_examples(experiment, step, target)
        runs = {"before": old, "after_replayed": new}
        frames = {k: [_replay(make_game(step, experiment.policies, seed, experiment.conditions), plan, FRAMES)
                      for seed, plan in examples] for k, examples in runs.items() if examples is not None}
        flat = {k: [f for run in v for f in run] for k, v in frames.items()}
        cells = cell_signature([f for v in flat.values() for f in v])
        out[step.name], start = {}, 0
        for k in runs:
            if k not in flat:
                out[step.name][k] = None
                continue
            mine = cells[start:start + len(flat[k])]
            start += len(flat[k])
            out[step.name][k] = {"cells": len(set(mine)), "deepest": max(len(run) - 1 for run in frames[k]),
                                 "frames": len(flat[k]), "runs": len(frames[k])}
    return out


# --- the report ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="targets whose path contains one of these (e.g. chase _butterfly)")
    parser.add_argument("--no-parity", action="store_true", help="skip the whole-experiments run with parity")
    parser.add_argument("--json", dest="out", help="write the results to this file")
    args = parser.parse_args()

    import mugkit

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")
    print(f"mugkit: {os.path.dirname(mugkit.__file__)} (commit {commit or '?'})", flush=True)
    chosen = [t for t in targets() if not args.only or any(o in t for o in args.only)]
    if BUTTERFLY in chosen:
        try:
            import pettingzoo.butterfly  # noqa: F401
        except ImportError:
            print(f"{BUTTERFLY}: skipped (pip install 'pettingzoo[butterfly]')")
            chosen.remove(BUTTERFLY)
    results = {"commit": commit, "runs": [], "steps": {}}
    title = 'mugkit check TARGET -k "not parity"'
    print(f"\n{title:44} {'wall s':>7} {'CPU s':>7} {'passed':>7} {'failed':>7} "
          f"{'load':>5}")
    for target in chosen:
        run = run_cli(target, "-k", "not parity")
        print(f"{target:44} {run['wall']:7.1f} {run['cpu']:7.1f} {run['passed']:7} {run['failed']:7} "
              f"{os.getloadavg()[0]:5.2f}", flush=True)
        if run["tail"]:
            print(run["tail"])
        after = exploration_states(run["report"])
        reached = states(target)
        for step in sorted(set(reached) | set(after)):
            results["steps"][f"{target}::{step}"] = {**reached.get(step, {}), "after": after.get(step)}
        results["runs"].append({k: v for k, v in run.items() if k != "report"} | {"notes": run["report"]["notes"]})
    if not args.no_parity and not args.only:
        with chromium_lock():
            run = run_cli("experiments/")
        print(f"{'experiments/ (parity included)':44} {run['wall']:7.1f} {run['cpu']:7.1f} {run['passed']:7} "
              f"{run['failed']:7} {os.getloadavg()[0]:5.2f}", flush=True)
        if run["tail"]:
            print(run["tail"])
        results["runs"].append({k: v for k, v in run.items() if k != "report"})

    print(f"\n{'states reached (step)':44} {'before':>16} {'after, replayed':>16} {'after, reported':>16}")
    print(f"{'':44} {'cells deepest':>16} {'cells deepest':>16} {'cells deepest':>16}")
    for name, s in results["steps"].items():
        cols = [s.get("before") or {}, s.get("after_replayed") or {}, s["after"] or {}]
        print(f"{name:44} " + " ".join(f"{c.get('cells', '-')!s:>7} {c.get('deepest', '-')!s:>8}" for c in cols))
    print(f"before: playthroughs, fixed plans and {EXAMPLES} generated {FRAMES}-frame plans replayed; after, replayed: "
          f"the trajectories the exploration keeps, replayed — both counted by this script's cell_signature over "
          f"the ranges of both; after, reported: the exploration's own cells ('-': none)")
    for name, s in results["steps"].items():
        a = s["after"] or {}
        if a.get("explored") is not None:
            print(f"  {name}: explored {a['explored']} frames in {a['seconds']} s, {a['episode_ends']} episode ends; "
                  f"left out of the snapshot: {a['left_out'] or 'nothing'}; never changed: {a['never_changed'] or '-'}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=repr)


if __name__ == "__main__":
    main()
