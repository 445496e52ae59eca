"""Exploration: reaching the states people reach before the checks judge them (Go-Explore).

Short generated key plans see only the first second of a game. Every env mugkit plays can be
saved and restored in one call, which makes Go-Explore's recipe cheap (Ecoffet et al., *Nature*
2021): keep an archive of *cells* (:mod:`mugkit.checks.cells`, a coarse signature of the env's
state); again and again restore a cell that was rarely chosen or newly found and play human-like
inputs from it; keep every state that reaches a new cell. A playout then runs on to the episode's
end (``max_steps`` or the env's own end), fast: no rendering, no hashing.

Every cell is reached by a trajectory — the keys held tick by tick from the reset — so the
checks replay from the episode's start what exploration found: determinism, synctest and the
contract's frame invariants run on :attr:`Exploration.trajectories`, and a crash anywhere is
reported with the keys that reach it, shrunk.

Exploration is deterministic for a given budget of frames: its own random choices come from a
generator seeded with the step's node id, so a run reproduces. The budget in seconds only stops
exploration early on a slow env (the report then says so).
"""

from __future__ import annotations

from typing import Any

from .archive import JUDGE_FRAMES
from .budget import Budget
from .explorer import EXPLORE_SEED, Explorer
from .playouts import END_FRAMES
from .results import PLAYOUT, UNSTABLE, Crash, Exploration, Trajectory

__all__ = ["Budget", "Exploration", "Trajectory", "Crash", "explore", "EXPLORE_SEED", "END_FRAMES", "JUDGE_FRAMES",
           "UNSTABLE", "PLAYOUT"]


def explore(ctx: Any, budget: Budget) -> Exploration:
    """Explores the game step of ``ctx`` (a :class:`~mugkit.checks.base.CheckContext`) within
    ``budget`` and returns what it found. A crash of the game ends exploration and is returned
    as :attr:`Exploration.crash`; a crash inside mugkit propagates."""
    return Explorer(ctx, budget).run()
