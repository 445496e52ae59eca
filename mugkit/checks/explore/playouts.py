"""Playouts: on to the episode's end, fast (nothing drawn, nothing hashed, cells not kept).

One plays on from the deepest cell with people's keys; one plays from the reset with no key
pressed (AIs play as ever): the ending nobody plays for — a draw at 0:0 — is the one a game most
often forgets; and when the step has ``mk.stand_in`` policies, one plays from the reset with them
playing all the way.
"""

from __future__ import annotations

import time
from typing import Any

from .archive import plan_of, ticks_of
from .results import PLAYOUT, Trajectory

__all__ = ["playout", "idle_playout", "stand_in_playout", "END_FRAMES"]

#: A playout stops at this frame when the episode has not ended.
END_FRAMES = 3000
#: The playout with keys looks at the env's fields every this many frames (and at its last), for
#: the coverage report.
FIELDS_EVERY = 16


def _seconds(ex: Any) -> float:
    return max(ex.budget.seconds, 1)


def playout(ex: Any) -> Trajectory | None:
    """Plays on from the deepest cell to the episode's end (or :data:`END_FRAMES`) with people's
    keys; sets the report's ``end``. An episode that exploration already played to ``max_steps``
    is not played again."""
    cells = list(ex.archive.cells.values())
    ended = [c for c in cells if c.done]
    max_steps = ex.out.max_steps
    if ended and max_steps is not None and any(c.frame >= max_steps for c in ended):
        best = min(ended, key=lambda c: c.frame)
        ex.out.end = f"the episode's end reached at frame {best.frame}"
        return Trajectory(ex.seed, plan_of(ex.humans, ticks_of(best.node)), PLAYOUT)
    start = max(cells, key=lambda c: (not c.done, c.frame))
    if start.done:
        ex.out.end = f"the episode's end reached at frame {start.frame}"
        return Trajectory(ex.seed, plan_of(ex.humans, ticks_of(start.node)), PLAYOUT)
    ex.restore(start)
    segment: list = []
    began = time.perf_counter()
    while not ex.driver.frame.done and ex.driver.frame.index < END_FRAMES:
        held, _ = ex.held(start.node, segment)
        if ex.step(held, start.node, segment) is None:
            break
        segment.append(held)
        if time.perf_counter() - began > _seconds(ex):
            break
        if len(segment) % FIELDS_EVERY == 0 or ex.driver.frame.done:
            ex.keys.observe(ex.fields(), ex.driver.frame.index)  # coverage only: no cells here
    frame = ex.driver.frame.index
    ex.out.deepest = max(ex.out.deepest, frame)
    if ex.driver.frame.done:
        ex.out.episodes_ended += 1
        ex.out.end = f"the episode's end reached at frame {frame}"
    elif frame >= END_FRAMES:
        ex.out.end = f"no episode end within {END_FRAMES} frames"
    else:
        ex.out.end = f"the playout stopped by the time budget at frame {frame}, before the episode's end"
    return Trajectory(ex.seed, plan_of(ex.humans, ticks_of(start.node) + segment), PLAYOUT)


def idle_playout(ex: Any) -> Trajectory | None:
    """Plays from the reset to the episode's end (or :data:`END_FRAMES`) with no key pressed."""
    return _from_reset(ex, lambda: {h: () for h in ex.humans if h in ex.driver.frame.acting},
                       f"{PLAYOUT} with no key pressed")


def stand_in_playout(ex: Any) -> Trajectory | None:
    """Plays from the reset to the episode's end (or :data:`END_FRAMES`) with the ``mk.stand_in``
    policies playing their humans all the way (the others with people's keys): the furthest a
    purposeful player gets. None when the step has no stand-ins."""
    if not ex.stand_ins.policies:
        return None

    def held() -> dict:
        keys = ex.presser.keys(ex.driver)
        ex.stand_ins.press(ex.driver, keys)
        return keys

    return _from_reset(ex, held, f"{PLAYOUT} with the stand-ins playing", look=True)


def _from_reset(ex: Any, held: Any, reached: str, look: bool = False) -> Trajectory | None:
    """Plays from the reset with ``held()`` keys each frame until the episode ends (``look``:
    noting the env's fields now and then, for the coverage report)."""
    root = ex.archive.root()
    if root is None:
        return None
    ex.restore(root)
    segment: list = []
    began = time.perf_counter()
    while not ex.driver.frame.done and ex.driver.frame.index < END_FRAMES:
        keys = held()
        if ex.step(keys, None, segment) is None:
            break
        segment.append(keys)
        if time.perf_counter() - began > _seconds(ex):
            break
        if look and (len(segment) % FIELDS_EVERY == 0 or ex.driver.frame.done):
            ex.keys.observe(ex.fields(), ex.driver.frame.index)
    ex.out.deepest = max(ex.out.deepest, ex.driver.frame.index)
    if ex.driver.frame.done:
        ex.out.episodes_ended += 1
    return Trajectory(ex.seed, plan_of(ex.humans, segment), reached)
