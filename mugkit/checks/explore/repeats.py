"""The same keys must give the same game: replaying and trying frames from states already reached.

Exploration plays every key sequence once; a tie broken by a fresh random generator, or a clock,
shows only when the same keys are played again from the same state. Three ways, each counting
against the budget's replayed frames:

- :func:`echo` plays a whole rollout again from its cell and compares where it ends;
- :func:`probe`, where two things came closest, plays every joint key choice of the acting humans
  for one frame, :data:`PROBE_REPEATS` times each;
- :func:`closer` brings two things closer on purpose, trying each joint key choice twice.

A difference is kept as an *unstable* trajectory, which the checks judge first.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...runtime.adapter import local_fingerprints
from ..fields import env_fields
from .archive import Cell, plan_of, ticks_of
from .results import UNSTABLE, Trajectory

__all__ = ["echo", "probe", "closer", "ECHO_EVERY"]

#: Every this many rollouts (and every rollout from where two things came closest) is played
#: again from its cell.
ECHO_EVERY = 4
#: A probe plays each joint key choice this many times, and tries at most this many choices.
PROBE_REPEATS = 3
MAX_PROBES = 36
#: How many frames :func:`closer` plays each joint key choice for.
LOOKAHEAD = 1
#: Unstable trajectories kept, at most.
MAX_UNSTABLE = 3


def _unstable(ex: Any, ticks: list) -> None:
    if len(ex.out.unstable) < MAX_UNSTABLE:
        ex.out.unstable.append(Trajectory(ex.seed, plan_of(ex.humans, ticks), UNSTABLE))


def _joint(ex: Any) -> list[dict]:
    """Every joint key choice of the humans acting now (a sample of them, when there are many)."""
    acting = [h for h in ex.humans if h in ex.driver.frame.acting]
    joint = [dict(zip(acting, keys)) for keys in itertools.product(ex.choices, repeat=len(acting))]
    return ex.rng.sample(joint, MAX_PROBES) if len(joint) > MAX_PROBES else joint


def _end(ex: Any) -> str:
    with local_fingerprints():
        return ex.driver.checksum()


def echo(ex: Any, cell: Cell, played: list) -> None:
    """Plays the rollout ``played`` again from ``cell`` and compares where it ends."""
    end = _end(ex)
    ex.driver.load(cell.snapshot)
    try:
        for held in played:
            if ex.step(held) is None:
                break
        again = _end(ex)
    except ex.Crashed:
        again = None  # raised only the second time: as different as it gets
    ex.out.echoed += len(played)
    if again != end:
        _unstable(ex, ticks_of(cell.node) + played)


def probe(ex: Any, cell: Cell) -> None:
    """Where two things came closest, every joint key choice for one frame, a few times each: a
    collision or a tie that an unseeded draw decides gives another frame on some repeat."""
    cell.probed = True
    if cell.done:
        return
    ex.driver.load(cell.snapshot)
    for held in _joint(ex):
        ends = set()
        for _ in range(PROBE_REPEATS):
            ex.driver.load(cell.snapshot)
            if ex.step(held, cell.node) is None:
                break
            ends.add(_end(ex))
            ex.out.echoed += 1
        if len(ends) > 1:
            _unstable(ex, ticks_of(cell.node) + [held])
            return


def closer(ex: Any, pair: tuple, node: Any, segment: list) -> tuple[dict | None, bool]:
    """``(keys, closer)``: the joint key choice that brings the two things of ``pair`` closest
    over the next :data:`LOOKAHEAD` frames, tried from the current state, and whether it brings
    them closer than they are (greedy descent: where random keys wander, a near miss becomes a
    meeting). Each choice is played twice; one that gives two different games is kept as unstable
    (``node`` and ``segment``: the ticks from the reset to now). A choice that crashes the game is
    returned at once: the crash is worth reaching."""
    snapshot = ex.driver.save()
    now = ex.keys.distance(env_fields(ex.driver.unwrapped, ex.restores, ex.config), pair)
    best, nearest = None, None
    for held in _joint(ex):
        ends = set()
        for _ in range(2):
            ex.driver.load(snapshot)
            try:
                for _ in range(LOOKAHEAD):
                    if ex.driver.frame.done or ex.step(held, node, segment) is None:
                        break
                    ex.out.echoed += 1
            except ex.Crashed:
                ex.driver.load(snapshot)
                return held, True
            ends.add(_end(ex))
        if len(ends) > 1:
            _unstable(ex, ticks_of(node) + segment + [held] * LOOKAHEAD)
        apart = ex.keys.distance(env_fields(ex.driver.unwrapped, ex.restores, ex.config), pair)
        ex.out.echoed += 1  # reading the env's fields costs about a frame
        if apart is not None and (nearest is None or apart < nearest):
            best, nearest = held, apart
    ex.driver.load(snapshot)
    return best, best is not None and now is not None and nearest < now
