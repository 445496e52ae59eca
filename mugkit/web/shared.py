"""What several server processes will have to agree on, behind one small interface.

One process keeps it in memory (:class:`MemoryState`); a deployment of several processes puts
another implementation of :class:`SharedState` in its place (Redis) without touching the flow.
It holds exactly the state that must not be split between processes:

- **transitions**: one holder at a time per key (a participant, a panel id), so that two
  messages arriving at once never move a participant twice;
- **participants** being served (the registry's cache of their rows);
- **counters**: arrival numbers and condition counts (counterbalancing);
- **waitrooms**: who waits for which game step, and the groups formed from them;
- **game ownership**: which games this server runs.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from typing import Any, AsyncIterator

from .matchmaking import Waitroom

__all__ = ["SharedState", "MemoryState"]


class SharedState(abc.ABC):
    """The state the processes of one study share (see the module's docstring)."""

    @abc.abstractmethod
    def transition(self, key: str) -> contextlib.AbstractAsyncContextManager:
        """An async context manager held by one task at a time per ``key``. The task holding it
        may enter it again (a transition that pushes a view that starts a game)."""

    # -- participants ------------------------------------------------------------------------

    @abc.abstractmethod
    def participant(self, participant_id: str) -> Any | None:
        """The cached participant, or None (then the registry reads storage)."""

    @abc.abstractmethod
    def keep_participant(self, participant: Any) -> None:
        """Caches a participant read or created."""

    @abc.abstractmethod
    def forget_participant(self, participant_id: str) -> None:
        """Drops a participant from the cache (gone for now: storage keeps them)."""

    @abc.abstractmethod
    def cached_participants(self) -> dict[str, Any]:
        """The cached participants by id."""

    # -- counters ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def count(self, counter: str, key: Any = None, by: int = 1) -> int:
        """Adds ``by`` to ``counter[key]``; returns the value before."""

    @abc.abstractmethod
    async def counts(self, counter: str) -> dict:
        """``counter``'s values by key."""

    # -- waitrooms ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def join_waitroom(self, room: tuple, participant_id: str, needed: int, timeout: float) -> list[str] | None:
        """Puts the participant in ``room`` (again: no change); returns a full group, formed
        once, when there is one."""

    @abc.abstractmethod
    async def leave_waitrooms(self, participant_id: str) -> None:
        """Takes the participant out of every waitroom."""

    @abc.abstractmethod
    async def waitroom_status(self, room: tuple, participant_id: str) -> dict:
        """``{"present", "needed", "timeout"}`` for one waiting participant."""

    @abc.abstractmethod
    async def waiting(self) -> dict[tuple, list[str]]:
        """Who waits, per room."""

    @abc.abstractmethod
    async def waitroom_timeouts(self) -> list[str]:
        """The participants whose wait ran out (taken out of their room)."""

    # -- games -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def own_game(self, game_id: str, owner: str) -> bool:
        """Claims ``game_id`` for ``owner``; False when another owner has it."""

    @abc.abstractmethod
    async def release_game(self, game_id: str) -> None:
        """The game is over: nobody owns it."""


class _Reentrant:
    """An asyncio lock that the task holding it may take again."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task | None = None
        self.depth = 0
        self.users = 0


class MemoryState(SharedState):
    """:class:`SharedState` for one server process."""

    def __init__(self) -> None:
        self._locks: dict[str, _Reentrant] = {}
        self._participants: dict[str, Any] = {}
        self._counters: dict[str, dict] = {}
        self._rooms: dict[tuple, Waitroom] = {}
        self._games: dict[str, str] = {}

    @contextlib.asynccontextmanager
    async def transition(self, key: str) -> AsyncIterator[None]:
        me = asyncio.current_task()
        entry = self._locks.setdefault(key, _Reentrant())
        if entry.owner is me and me is not None:
            entry.depth += 1
            try:
                yield
            finally:
                entry.depth -= 1
            return
        entry.users += 1
        try:
            async with entry.lock:
                entry.owner, entry.depth = me, 1
                try:
                    yield
                finally:
                    entry.owner, entry.depth = None, 0
        finally:
            entry.users -= 1
            if entry.users == 0:  # nobody holds or waits: forget it (a lock per key would grow for good)
                self._locks.pop(key, None)

    def participant(self, participant_id: str) -> Any | None:
        return self._participants.get(participant_id)

    def keep_participant(self, participant: Any) -> None:
        self._participants[participant.id] = participant

    def forget_participant(self, participant_id: str) -> None:
        self._participants.pop(participant_id, None)

    def cached_participants(self) -> dict[str, Any]:
        return self._participants

    async def count(self, counter: str, key: Any = None, by: int = 1) -> int:
        values = self._counters.setdefault(counter, {})
        before = values.get(key, 0)
        values[key] = before + by
        return before

    async def counts(self, counter: str) -> dict:
        return dict(self._counters.get(counter, {}))

    async def join_waitroom(self, room: tuple, participant_id: str, needed: int, timeout: float) -> list[str] | None:
        return self._rooms.setdefault(room, Waitroom(needed, timeout)).join(participant_id)

    async def leave_waitrooms(self, participant_id: str) -> None:
        for waitroom in self._rooms.values():
            waitroom.leave(participant_id)

    async def waitroom_status(self, room: tuple, participant_id: str) -> dict:
        waitroom = self._rooms[room]
        return {"present": len(waitroom.waiting), "needed": waitroom.needed,
                "timeout": waitroom.remaining(participant_id)}

    async def waiting(self) -> dict[tuple, list[str]]:
        return {room: list(w.waiting) for room, w in self._rooms.items() if w.waiting}

    async def waitroom_timeouts(self) -> list[str]:
        return [pid for waitroom in self._rooms.values() for pid in waitroom.timed_out()]

    async def own_game(self, game_id: str, owner: str) -> bool:
        return self._games.setdefault(game_id, owner) == owner

    async def release_game(self, game_id: str) -> None:
        self._games.pop(game_id, None)
