"""What exploring a step found: trajectories to judge, a crash, and the coverage report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..coverage import Coverage
from ..inputs import KeyPlan
from .budget import Budget

__all__ = ["Trajectory", "Crash", "Exploration", "UNSTABLE", "PLAYOUT", "SHARE_OF_EPISODE"]

#: What a trajectory reached when the same keys from the same state gave another game.
UNSTABLE = "a different game when played again"
#: What a playout reaches.
PLAYOUT = "the episode's end"
#: A step whose exploration reached less than this share of its ``max_steps`` says so.
SHARE_OF_EPISODE = 0.5


@dataclass(frozen=True)
class Trajectory:
    """Keys from the reset that reach something exploration found.

    Attributes:
        seed: the game seed (:data:`~mugkit.checks.explore.EXPLORE_SEED`).
        plan: the keys held, tick by tick (replayed with :func:`~mugkit.checks.play.play`).
        reached: what it reaches: ``"new cells"``, ``"a first change"`` (of a field),
            ``"the episode's end"`` (with or without keys), or :data:`UNSTABLE`.
    """

    seed: int
    plan: KeyPlan
    reached: str

    @property
    def frames(self) -> int:
        return len(self.plan)

    @property
    def playout(self) -> bool:
        """A playout to the episode's end (long, and judged by the checks that look at its end)."""
        return self.reached.startswith(PLAYOUT)


@dataclass
class Crash:
    """The game raised during exploration: ``plan`` (from the reset, seed ``seed``) reaches it, at
    ``frame``; ``where`` is the innermost line of the env's code that raised. The error keeps no
    traceback (it would keep the whole archive of snapshots alive): replay the plan to get one."""

    seed: int
    plan: KeyPlan
    error: BaseException
    frame: int
    where: list = field(default_factory=list)
    judged: bool = False  # the checks shrank it (into ``found``, a Found; None: no crash from the reset)
    found: Any = None


@dataclass
class Exploration:
    """What exploring one step found (see :mod:`mugkit.checks.explore`)."""

    seed: int
    budget: Budget
    trajectories: list[Trajectory] = field(default_factory=list)
    cells: int = 0
    deepest: int = 0
    episodes_ended: int = 0
    frames: int = 0
    seconds: float = 0.0
    stopped_by: str = "frames"
    end: str = ""
    max_steps: int | None = None
    coverage: Coverage = field(default_factory=Coverage)
    crash: Crash | None = None
    echoed: int = 0
    unstable: list[Trajectory] = field(default_factory=list)
    restore_crash: str | None = None

    def summary(self, nodeid: Any) -> str:
        """The coverage report of the step, one paragraph (a note of the check run)."""
        end = self.end if self.crash is None else (f"the game raised {type(self.crash.error).__name__} at frame "
                                                   f"{self.crash.frame}")
        parts = [f"{nodeid}: explored {self.frames} frames (+{self.echoed} tried again from states it had reached) "
                 f"in {self.seconds:.1f} s" + (" (stopped by the time budget)" if self.stopped_by == "seconds" else "")
                 + f": {self.cells} cells, deepest frame {self.deepest}, {self.episodes_ended} episode ends; " + end]
        if self.max_steps and self.crash is None and self.deepest < SHARE_OF_EPISODE * self.max_steps:
            parts.append(f"reached only frame {self.deepest} of its {self.max_steps}-frame episode "
                         f"({100 * self.deepest // self.max_steps} %): raise --mugkit-explore, or add an "
                         f"@mk.playthrough or a mk.stand_in that gets further")
        if self.coverage.left_out:
            parts.append("likely restore bug: " + "; ".join(self.coverage.left_out.values()))
        never = self.coverage.never_changed
        if never:
            parts.append(f"never changed: {', '.join(never)}")
        if self.unstable:
            parts.append(f"{len(self.unstable)} rollouts gave another game when played again from the same state "
                         f"with the same keys (an unseeded random draw or a clock, or a restore that leaves something "
                         f"out: the determinism and synctest checks tell which)")
        if self.restore_crash:
            parts.append(self.restore_crash)
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The report as JSON-ready data (``--json``'s ``explorations``)."""
        return {"cells": self.cells, "deepest_frame": self.deepest, "episode_ends": self.episodes_ended,
                "frames": self.frames, "played_again": self.echoed, "unstable": len(self.unstable),
                "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "end": self.end, "max_steps": self.max_steps, "trajectories": len(self.trajectories),
                "never_changed": self.coverage.never_changed, "changed": self.coverage.changed_attributes,
                "left_out": sorted(self.coverage.left_out), "crash": None if self.crash is None else repr(self.crash.error)}
