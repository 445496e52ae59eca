"""Judging what exploration found: its crash, and its trajectories, each failure shrunk.

The property checks (:func:`~mugkit.checks.base.run_property` with ``explored=True``) raise the
crash exploration reached, with the keys that reach it from the reset, shrunk; then run their
property on every trajectory exploration kept. A failure there is shrunk by
:func:`~mugkit.checks.shrink.shrink` — Hypothesis shrinks only what it generated — replaying from
the reset each time, with the trajectory's length of frames (``Found.frames``).
"""

from __future__ import annotations

from typing import Callable

from ..paths import user_frames
from .base import CheckContext, Found, _property
from .explore import UNSTABLE
from .inputs import KeyPlan
from .play import play
from .shrink import shrink

__all__ = ["run_explored", "explored_crash", "UNSTABLE_TRIES"]


def _padded(plan: KeyPlan, ticks: int) -> KeyPlan:
    """``plan`` with no-key ticks added up to ``ticks``, so that playing it reaches that far."""
    return KeyPlan({h: seq + ((),) * (ticks - len(seq)) for h, seq in plan.frames.items()})


#: Tries of an explored trajectory that gave another game when played again (a difference that
#: shows half the time is missed by all of them once in 256).
UNSTABLE_TRIES = 8
#: Tries of each smaller candidate while shrinking such a trajectory.
SHRINK_TRIES = 4


def run_explored(ctx: CheckContext, prop: Callable[[int, KeyPlan], None], playouts: bool = True) -> Found | None:
    """Runs ``prop`` on every trajectory exploration kept (``playouts``: also on the playouts to
    the episode's end); the first failure, shrunk."""
    exploration = ctx.exploration()
    for t in exploration.trajectories if exploration is not None else ():
        if t.playout and not playouts:
            continue
        ticks = max(ctx.frames, t.frames)
        # A trajectory that gave another game when played again may agree by chance (a coin flip
        # that came up the same): it is tried until it differs, a few times at most.
        unstable = t.reached == UNSTABLE
        try:
            for _ in range(UNSTABLE_TRIES if unstable else 1):
                _property(prop)(t.seed, t.plan)
        except Found as found:
            def fails(plan: KeyPlan) -> bool:
                try:
                    for _ in range(SHRINK_TRIES if unstable else 1):
                        _property(prop)(t.seed, _padded(plan, ticks))
                except Found as again:
                    return again.details.keys() == found.details.keys()
                return False

            plan = shrink(t.plan, fails)
            try:
                for _ in range(UNSTABLE_TRIES if unstable else 1):
                    _property(prop)(t.seed, _padded(plan, ticks))
            except Found as final:  # the shrunk example's own details (its frame, its actions)
                found = final
            found.plan, found.frames, found.shrunk = plan, ticks, len(plan) < len(t.plan)
            return found
    return None


def explored_crash(ctx: CheckContext) -> Found | None:
    """The crash exploration found, as a shrunk example (shrunk once per exploration), or None."""
    exploration = ctx.exploration()
    crash = exploration.crash if exploration is not None else None
    if crash is None:
        return None
    if not crash.judged:
        crash.judged = True
        where = (type(crash.error), crash.where)

        def fails(plan: KeyPlan) -> bool:
            try:
                play(ctx.game(crash.seed), _padded(plan, crash.frame), crash.frame)
            except Exception as exc:
                return (type(exc), user_frames(exc)[-1:]) == where
            return False

        if not fails(crash.plan):  # raised only after a restore: the synctest finds the incomplete restore
            exploration.restore_crash = (f"the game raised {type(crash.error).__name__} after a restore during "
                                         f"exploration, but not when the same keys were replayed from the start: "
                                         f"a restore is incomplete")
            crash.found = None
            return None
        plan = shrink(crash.plan, fails)
        found = Found(crash.seed, plan, crash=crash.error)
        try:  # the shrunk example's own exception (its message may name other values)
            play(ctx.game(crash.seed), _padded(plan, crash.frame), crash.frame)
        except Exception as exc:
            found.details["crash"] = exc
        found.frames, found.shrunk = crash.frame, len(plan) < len(crash.plan)
        crash.found = found
    return crash.found
