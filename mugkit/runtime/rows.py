"""What the frame driver gives out per frame: step rows (the ``steps`` table) and the frame result.

Row ``f`` of an agent says what step ``f`` did and produced: the action the agent took to reach
frame ``f`` (None at frame 0, right after the reset, and for an agent that did not act), the keys
that were active, whether the action was filled in, and the reward, flags, observation and info
of frame ``f``. So the observation an action was decided from is in the agent's row ``f - 1``,
and nothing is stored twice.

Rows hold the env's own objects (an observation array is not copied): write them out before the
driver steps again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

__all__ = ["StepRow", "FrameResult"]


@dataclass
class StepRow:
    """One agent in one frame (API.md §6 ``steps``, without the ids and times the caller adds).

    Attributes:
        episode, frame: the episode (from 0) and the frame within it (0: right after the reset).
        agent: the agent id, as the env gives it.
        action: the action that led to this frame (None at frame 0 or when the agent did not act).
        keys: a human's active key names, sorted (None for an AI).
        filled: the action was not chosen this frame: a human with no mapped key active (the
            step's ``fill``), or an AI between its decisions or waiting for a late answer.
        decided_at: for an AI, the frame whose observation its action was decided from (a late
            answer shows as an earlier frame); None for humans.
        reward, terminated, truncated, observation, info: the env's output for this agent.
        x: the ``on_step`` hook's columns (written as ``x_<name>``).
        predicted, rollback_depth: browser rollback games only (None elsewhere): whether the frame
            was first simulated with a predicted input, and the deepest rollback that re-ran it.
    """

    episode: int
    frame: int
    agent: Hashable
    action: Any = None
    keys: tuple | None = None
    filled: bool = False
    decided_at: int | None = None
    reward: Any = 0
    terminated: bool = False
    truncated: bool = False
    observation: Any = None
    info: Any = None
    x: dict = field(default_factory=dict)
    predicted: bool | None = None
    rollback_depth: int | None = None

    def to_dict(self) -> dict:
        """The row as columns: hook values become ``x_<name>``."""
        out = {k: v for k, v in vars(self).items() if k != "x"}
        out.update({f"x_{k}": v for k, v in self.x.items()})
        return out


@dataclass
class FrameResult:
    """What one :meth:`~mugkit.runtime.driver.FrameDriver.tick` (or ``advance``/``start``) produced.

    Attributes:
        episode, frame: where the game is now.
        rows: one :class:`StepRow` per agent in the frame.
        actions: the joint action stepped with (agent → action; empty after a reset).
        image: the env drawn (shapes, or an RGB array), when the driver renders; else None.
        episode_over: this frame ends the episode (the next tick starts the next one, if any).
        finished: every episode is over; the driver does nothing more.
        episode_x: what ``on_episode_start`` (at a reset) or ``on_episode_end`` returned, if a dict.
    """

    episode: int
    frame: int
    rows: list
    actions: dict
    image: Any = None
    episode_over: bool = False
    finished: bool = False
    episode_x: dict | None = None
