"""What a bot's page reports in a monitored game (``mk.Monitor``; mugkit/web/monitor.py), as a
participant's page does: a presence heartbeat every ``heartbeat_ms`` (visible and focused), and a
``monitor_pong`` for every ``monitor_ping``. Without them the server would rightly exclude every
bot as ``unresponsive``. And a bot's key plan never holds the same keys (or none) for more than a
third of ``idle_seconds`` (:func:`lively`): a participant who plays changes keys."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from ..checks.inputs import KeyPlan

__all__ = ["BotPresence", "lively"]


class BotPresence:
    """The reports of one bot in one monitored game; ``emit``: the bot's unacknowledged send."""

    def __init__(self, game: str, monitor: dict, emit: Callable[[str, dict], Awaitable]):
        self.game, self.emit = game, emit
        self.every = max(0.25, float(monitor.get("heartbeat_ms") or 1000) / 1000.0)
        self.task: asyncio.Task | None = None

    def start(self) -> "BotPresence":
        self.task = asyncio.get_running_loop().create_task(self._beat())
        return self

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _beat(self) -> None:
        while True:
            await self.emit("presence", {"game": self.game, "hidden": False, "focused": True})
            await asyncio.sleep(self.every)

    async def ping(self, data: Any) -> None:
        """A ``monitor_ping``: answered at once."""
        if isinstance(data, dict) and data.get("game") == self.game and isinstance(data.get("id"), str):
            await self.emit("monitor_pong", {"game": self.game, "id": data["id"]})


def lively(plan: KeyPlan, view: dict) -> KeyPlan:
    """``plan`` with every run of the same keys (or of none) cut after a third of the game's
    ``idle_seconds`` by one frame of other keys; ``plan`` itself when the game is not watched for
    idleness (or is turn-based: a bot presses on each of its turns)."""
    idle = (view.get("monitor") or {}).get("idle_seconds")
    keys = [k for k in view.get("keys") or () if isinstance(k, str)]
    if not idle or not keys or view.get("turn_based"):
        return plan
    most = max(1, int(idle * float(view.get("fps") or 30) / 3))

    def cut(seq: tuple) -> tuple:
        out, run = list(seq), 0
        for i in range(1, len(out)):
            run = run + 1 if out[i] == out[i - 1] else 0
            if run >= most:
                out[i], run = ((keys[0],) if not out[i] else ()), 0
        return tuple(out)

    return KeyPlan({agent: cut(seq) for agent, seq in plan.frames.items()})
