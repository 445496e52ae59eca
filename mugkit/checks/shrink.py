"""Shrinking a failing key plan that Hypothesis did not generate (an explored trajectory).

Exploration finds failures with trajectories hundreds of ticks long, most of them wandering.
:func:`shrink` cuts them down by delta debugging: it drops runs of ticks (halves first, then
smaller pieces), then lets go of keys (a run of held keys becomes no key), keeping each change
after which the example still fails. The failure is replayed from the episode's start every
time, so what is left reproduces on its own.
"""

from __future__ import annotations

import time
from typing import Callable

from .inputs import KeyPlan

__all__ = ["shrink", "SHRINK_SECONDS"]

#: Shrinking an explored failure stops after this long (it replays whole games).
SHRINK_SECONDS = 10.0


def _ticks(plan: KeyPlan) -> list[dict]:
    return [{h: plan.held(h, i) for h in plan.frames} for i in range(len(plan))]


def _plan(humans: tuple, ticks: list[dict]) -> KeyPlan:
    return KeyPlan({h: tuple(t[h] for t in ticks) for h in humans}).trimmed(len(ticks))


def shrink(plan: KeyPlan, fails: Callable[[KeyPlan], bool], seconds: float = SHRINK_SECONDS) -> KeyPlan:
    """The smallest plan found within ``seconds`` for which ``fails(plan)`` still holds (``plan``
    itself must fail). ``fails`` must replay from the start: shrinking keeps only changes it
    confirms."""
    humans = tuple(plan.frames)
    best = _ticks(plan.trimmed(len(plan)))
    deadline = time.perf_counter() + seconds

    def attempt(ticks: list[dict]) -> bool:
        nonlocal best
        if time.perf_counter() > deadline:
            return False
        if fails(_plan(humans, ticks)):
            best = ticks
            return True
        return False

    _drop_runs(lambda: best, attempt)
    _release_keys(lambda: best, attempt)
    return _plan(humans, best)


def _drop_runs(best: Callable[[], list], attempt: Callable[[list], bool]) -> None:
    """Removes pieces of ticks, largest first (ddmin over the tick sequence)."""
    size = len(best()) // 2
    while size >= 1:
        i = 0
        while i < len(best()):
            ticks = best()
            if not attempt(ticks[:i] + ticks[i + size:]):
                i += size
        size //= 2


def _release_keys(best: Callable[[], list], attempt: Callable[[list], bool]) -> None:
    """Turns runs of held keys into no key, one run (of one human) at a time."""
    i = 0
    while i < len(best()):
        for h in list(best()[i]):
            ticks = best()
            keys = ticks[i][h] if i < len(ticks) else ()
            if not keys:
                continue
            j = i
            while j < len(ticks) and ticks[j][h] == keys:
                j += 1
            attempt([{**t, h: ()} if i <= k < j else t for k, t in enumerate(ticks)])
        i += 1
