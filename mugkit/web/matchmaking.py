"""Grouping participants for multiplayer games: one waitroom per game step, first come first served.

A participant who reaches a step with ``n`` humans joins its waitroom; as soon as ``n`` are
there, the first ``n`` leave it together as a group. Whoever waited ``waitroom_timeout`` seconds
without a group moves on with the step's own outcome (``"waitroom_timeout"``). The waitroom is
in memory: a group is formed by one server process (several processes need a shared one, which
the Redis-backed deployment will bring).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Waitroom"]


@dataclass
class Waitroom:
    """The participants waiting for one game step.

    Attributes:
        needed: humans per game.
        timeout: seconds anyone waits at most.
        waiting: participant id → when they arrived (``time.monotonic()``), in arrival order.
    """

    needed: int
    timeout: float
    waiting: dict = field(default_factory=dict)

    def join(self, participant_id: str, now: float | None = None) -> list[str] | None:
        """Adds a participant (again: no change); returns a full group when there is one."""
        self.waiting.setdefault(participant_id, time.monotonic() if now is None else now)
        if len(self.waiting) < self.needed:
            return None
        group = list(self.waiting)[: self.needed]
        for pid in group:
            del self.waiting[pid]
        return group

    def leave(self, participant_id: str) -> None:
        """Takes a participant out (they left the study, or their wait timed out)."""
        self.waiting.pop(participant_id, None)

    def timed_out(self, now: float | None = None) -> list[str]:
        """The participants who waited longer than the timeout (they are taken out)."""
        now = time.monotonic() if now is None else now
        out = [pid for pid, since in self.waiting.items() if now - since > self.timeout]
        for pid in out:
            del self.waiting[pid]
        return out

    def remaining(self, participant_id: str, now: float | None = None) -> float:
        """Seconds ``participant_id`` may still wait."""
        now = time.monotonic() if now is None else now
        return max(0.0, self.timeout - (now - self.waiting.get(participant_id, now)))
