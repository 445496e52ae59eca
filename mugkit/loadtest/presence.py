"""What a bot's page reports in a monitored game (``mk.Monitor``; mugkit/web/monitor.py), as a
participant's page does: a presence heartbeat every ``heartbeat_ms`` (visible and focused), and a
``monitor_pong`` for every ``monitor_ping``. Without them the server would rightly exclude every
bot as ``unresponsive``."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

__all__ = ["BotPresence"]


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
