"""Pre-flight: what ``mugkit serve`` checks before it opens, so participants never meet a study
that cannot run.

:func:`preflight` does it all; three parts, each printed at start-up:

- :func:`placements`: where each game step runs (server or browser) and why;
- :func:`confounds`: warnings for a ``mk.counterbalance``/``mk.shuffle`` comparison (or
  ``CONDITIONS``) whose conditions cannot differ as declared, e.g. two steps that differ by
  ``runtime`` when both end up running on the server;
- :func:`run_checks`: a cheap subset of ``mugkit check`` (:data:`CHECKS`, a few frames of every
  game, no exploration), run as ``mugkit check`` runs it, so a failure prints the same report:
  the same wording, node ids and reproduction. Every step is built, every page and survey
  rendered, keys and actions checked against the action spaces, policies loaded, and every game
  step played for :data:`FRAMES` frames in CPython (browser steps too, with the server-only
  packages blocked, as in Pyodide).

The checks run in a child process: they import the experiments and may leave state behind (and a
crash of an env must not take the server down with it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from .flow import Counterbalance, Repeat, Shuffle
from .steps import GameStep

__all__ = ["preflight", "CHECKS", "FRAMES", "Placement", "placements", "placement_lines", "confounds",
           "PreflightResult", "run_checks"]

#: The checks pre-flight runs: cheap, and they catch what would stop a participant.
CHECKS = ("contract", "page", "survey", "screen", "policy")
#: Frames each game step plays (over three seconds at 30 fps); the checks play a few examples of this length.
FRAMES = 100


@dataclass(frozen=True)
class Placement:
    """Where a game step runs (``"server"`` or ``"browser"``) and why, in a few words."""

    where: str
    why: str


def placement(step: GameStep) -> Placement:
    """Where ``step`` runs, as the server decides it (:func:`mugkit.web.browser.games.runs_in_browser`)."""
    from .web.browser.games import runs_in_browser

    humans = len(step.humans)
    if step.runtime != "browser":
        return Placement("server", "runtime='server'")
    if runs_in_browser(step) and humans == 1:
        return Placement("browser", "runtime='browser', one human: the env runs in the participant's browser")
    if runs_in_browser(step):
        return Placement("browser", f"runtime='browser', {_count(humans)} humans: each browser runs the env, kept in "
                                    f"step by the rollback session over WebRTC (or relayed by the server)")
    if humans == 0:
        return Placement("server", "runtime='browser' asked, but no human plays: runs on the server")
    return Placement("server", f"runtime='browser' asked, but {_count(humans)} humans: a browser game has at most "
                               f"four, so it runs on the server")


def _count(n: int) -> str:
    return {2: "two", 3: "three", 4: "four"}.get(n, str(n))


def placements(experiments: dict) -> list[tuple[str, Placement]]:
    """``(node id, placement)`` of every game step of ``experiments`` (name → experiment)."""
    return [(str(e.step_nodeid(s)), placement(s)) for _, e in sorted(experiments.items())
            for s in e.steps if isinstance(s, GameStep)]


def placement_lines(experiments: dict) -> list[str]:
    """What runs where, for the start-up output."""
    found = placements(experiments)
    if not found:
        return []
    return ["game steps:"] + [f"  {nodeid}: {p.where} ({p.why})" for nodeid, p in found]


def confounds(experiments: dict) -> list[str]:
    """Warnings for comparisons whose conditions cannot differ as the experiment declares."""
    out: list[str] = []
    for _, e in sorted(experiments.items()):
        for group in _groups(e.flow):
            out += _runtime_confound(e, group)
        if any(isinstance(c, dict) and "runtime" in c for c in e.conditions):
            out.append(f"warning: {e.nodeid}: CONDITIONS set 'runtime', but where a game runs comes from "
                       f"@mk.scene(runtime=...) alone, so every condition runs the same: to compare runtimes, "
                       f"write one step per runtime and put them in mk.counterbalance(...)")
    return out


def _groups(flow: list) -> list[tuple[str, list[GameStep]]]:
    """``(helper name, its game steps)`` of every ``mk.counterbalance``/``mk.shuffle`` in ``flow``."""
    out = []

    def game_steps(item: Any) -> list[GameStep]:
        if isinstance(item, Repeat):
            return game_steps(item.item)
        if isinstance(item, (Shuffle, Counterbalance)):
            return [s for sub in item.items for s in game_steps(sub)]
        return [item] if isinstance(item, GameStep) else []

    def walk(item: Any) -> None:
        if isinstance(item, Repeat):
            walk(item.item)
        elif isinstance(item, (Shuffle, Counterbalance)):
            name = "mk.counterbalance" if isinstance(item, Counterbalance) else "mk.shuffle"
            out.append((name, [s for sub in item.items for s in game_steps(sub)]))
            for sub in item.items:
                walk(sub)

    for item in flow:
        walk(item)
    return out


def _runtime_confound(experiment: Any, group: tuple[str, list[GameStep]]) -> list[str]:
    helper, steps = group
    asked = {s.runtime for s in steps}
    if len(asked) < 2:
        return []
    where = {s.name: placement(s) for s in steps}
    if len({p.where for p in where.values()}) > 1:
        return []
    runs = next(iter(where.values())).where
    moved = ", ".join(s.name for s in steps if where[s.name].where != s.runtime)
    names = ", ".join(s.name for s in steps)
    return [f"warning: {experiment.nodeid}: {helper}({names}) compares runtime='server' with runtime='browser', "
            f"but all of them run on the {runs} ({moved}: see above), so its conditions do not differ by runtime: "
            f"the comparison is confounded. Compare runtimes with games of one human each"]


@dataclass
class PreflightResult:
    """The outcome of :func:`run_checks`: ``ok``, the checks' report (``mugkit check``'s output),
    its exit code and how long it took."""

    ok: bool
    report: str
    code: int
    seconds: float

    def summary(self) -> str:
        """E.g. "26 checks passed, 1 skipped", from the report's last line."""
        counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) (passed|skipped)", self.report))
        return f"{counts.get('passed', 0)} checks passed" + (f", {counts['skipped']} skipped"
                                                            if counts.get("skipped") else "")


def run_checks(paths: list[str], cwd: str | None = None) -> PreflightResult:
    """Runs ``mugkit check PATHS`` with :data:`CHECKS` and :data:`FRAMES` frames (one generated
    example, no exploration) in a child process; ``ok`` when every check passed (or none applies)."""
    start = time.monotonic()
    command = [sys.executable, "-m", "mugkit.cli", "check", *paths, "--mugkit-checks", ",".join(CHECKS),
               "--mugkit-frames", str(FRAMES), "--mugkit-examples", "1", "--mugkit-explore", "0", "-q", "--no-header"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "dummy")})
    ok = proc.returncode in (0, 5)  # 5: no checks collected (nothing to check)
    return PreflightResult(ok, (proc.stdout + proc.stderr).rstrip(), proc.returncode, time.monotonic() - start)


def preflight(paths: list[str], experiments: dict, checks: bool = True) -> bool:
    """What ``mugkit serve`` does before it opens: prints where each game step runs and any
    confounded comparison; with ``checks``, runs :func:`run_checks`. Returns False when the study
    must be refused, after printing ``mugkit check``'s report of its failures and a last line (to
    stderr) saying how to fix them or skip the checks."""
    for line in placement_lines(experiments) + confounds(experiments):
        print(line, flush=True)
    if not checks:
        print("pre-flight checks skipped (--no-preflight)", flush=True)
        return True
    print(f"pre-flight: building every step, rendering every page and survey, playing {FRAMES} frames of every "
          f"game …", flush=True)
    result = run_checks(paths)
    if result.ok:
        print(f"pre-flight passed: {result.summary()} in {result.seconds:.1f} s", flush=True)
        return True
    print(result.report, flush=True)
    print(f"mugkit serve: refusing to start: participants would meet the problem(s) above. Fix what each names "
          f"(`mugkit check {' '.join(paths)}` checks again, and more), or start with --no-preflight to serve anyway.",
          file=sys.stderr, flush=True)
    return False
