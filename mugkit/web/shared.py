"""What several server processes will have to agree on, behind one small interface.

One process keeps it in memory (:class:`MemoryState`); a deployment of several processes puts
another implementation of :class:`SharedState` in its place (Redis) without touching the flow.
It holds exactly the state that must not be split between processes:

- **transitions**: one holder at a time per key (a participant, a panel id), so that two
  messages arriving at once never move a participant twice;
- **participants** being served (the registry's cache of their rows);
- **counters**: arrival numbers and condition counts (counterbalancing);
- **waitrooms**: who waits for which game step, and the groups formed from them;
- **game ownership**: which process runs which game, as leases that expire when their process
  dies (``own_game``/``renew_games``: the owner renews every ``LEASE_SECONDS / 3``);
- **processes**: which are alive (heartbeats) and what they run, and **messages** between them;
- **step deadlines**: when each participant at a page or survey with a ``timeout`` must be moved
  on, and the answers their survey page sent so far (mugkit/web/timeouts.py).

A shared state that cannot be reached raises :class:`SharedStateError`: the caller refuses or
retries, and acknowledges nothing that depended on the failed operation.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from typing import Any, AsyncIterator, Awaitable, Callable

from .matchmaking import Waitroom

__all__ = ["SharedState", "MemoryState", "SharedStateError", "LEASE_SECONDS", "open_state"]

#: Seconds a game's lease lasts unless its owner renews it (every ``LEASE_SECONDS / 3``).
LEASE_SECONDS = 10.0


class SharedStateError(RuntimeError):
    """The shared state cannot be reached (Redis down or restarting): try again later. The
    message names where it was expected."""


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

    async def touched(self, participant_id: str) -> None:
        """This process just stored a change of the participant (maybe outside their own
        transition: a partner's put them in a game): other processes read them again at their
        next transition. One process has nothing to do."""

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

    # -- start-up ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def first(self, name: str) -> bool:
        """True for the first caller of ``name`` in this shared state's life (e.g. counting the
        stored arrivals into the counters once per study, not once per process). A fresh shared
        state (a Redis restarted empty) answers True again."""

    # -- processes ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def heartbeat(self, process: str, info: dict, ttl: float) -> None:
        """``process`` is alive for ``ttl`` more seconds; ``info`` (JSON) is what it runs (its
        stats, for the one admin view)."""

    @abc.abstractmethod
    async def processes(self) -> dict[str, dict]:
        """The processes alive now → their last ``info``."""

    # -- game leases -------------------------------------------------------------------------

    @abc.abstractmethod
    async def own_game(self, game_id: str, owner: str, ttl: float = LEASE_SECONDS) -> bool:
        """Claims ``game_id`` for ``owner`` for ``ttl`` s (True), unless another live owner holds
        it (False). ``owner`` claiming again renews its lease."""

    @abc.abstractmethod
    async def renew_games(self, owner: str, game_ids: list[str], ttl: float = LEASE_SECONDS) -> list[str]:
        """Extends ``owner``'s leases; returns the ids it no longer holds (it must stop those games)."""

    @abc.abstractmethod
    async def game_owner(self, game_id: str) -> str | None:
        """Who holds ``game_id``'s lease now (None: nobody alive)."""

    @abc.abstractmethod
    async def orphaned_games(self) -> list[str]:
        """Games claimed and never released whose lease expired: their process died."""

    @abc.abstractmethod
    async def release_game(self, game_id: str) -> None:
        """The game is over: nobody owns it (and it is not orphaned)."""

    # -- messages between processes ----------------------------------------------------------

    @abc.abstractmethod
    async def send(self, process: str, message: dict) -> None:
        """Delivers ``message`` (JSON-able; bytes as base64 by the caller) to ``process``'s inbox."""

    @abc.abstractmethod
    async def broadcast(self, message: dict) -> None:
        """Delivers ``message`` to every process's inbox (this one's too)."""

    @abc.abstractmethod
    def inbox(self, process: str) -> AsyncIterator[dict]:
        """The messages sent to ``process`` (also those sent before it listened) and the broadcasts
        made once it is iterated, in order, for as long as it runs."""

    # -- step deadlines (mugkit/web/timeouts.py) ---------------------------------------------

    @abc.abstractmethod
    async def set_deadline(self, participant_id: str, index: int, at: float) -> None:
        """The participant must leave step ``index`` by ``at`` (``time.time()``); replaces their
        earlier deadline (a participant is at one step at a time)."""

    @abc.abstractmethod
    async def due_deadlines(self, now: float) -> list[tuple[str, int]]:
        """``(participant, step index)`` of the deadlines at or before ``now``, taken out: each is
        returned to one caller only (one process of several)."""

    @abc.abstractmethod
    async def keep_draft(self, participant_id: str, index: int, answers: dict, ttl: float) -> None:
        """The answers a timed survey's page sent so far (replacing earlier ones), kept ``ttl`` s."""

    @abc.abstractmethod
    async def draft(self, participant_id: str, index: int) -> dict | None:
        """The answers kept for the participant's survey at step ``index``, or None."""

    async def close(self) -> None:
        """Lets go of connections (nothing to do in memory)."""


class _Reentrant:
    """An asyncio lock that the task holding it may take again."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task | None = None
        self.depth = 0
        self.users = 0


@contextlib.asynccontextmanager
async def reentrant(locks: dict[str, _Reentrant], key: str, take: Callable[[], Awaitable[Any]] | None = None,
                    give: Callable[[Any], Awaitable[None]] | None = None) -> AsyncIterator[None]:
    """Holds ``locks[key]`` (made on first use, forgotten when nobody holds or waits for it: a lock
    per key would grow for good); the task holding it may enter it again. ``take()`` runs once the
    local lock is held and ``give(taken)`` when it is let go (a lock shared with other processes)."""
    me = asyncio.current_task()
    entry = locks.setdefault(key, _Reentrant())
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
            taken = await take() if take is not None else None
            entry.owner, entry.depth = me, 1
            try:
                yield
            finally:
                entry.owner, entry.depth = None, 0
                if give is not None:
                    await give(taken)
    finally:
        entry.users -= 1
        if entry.users == 0:
            locks.pop(key, None)


class MemoryState(SharedState):
    """:class:`SharedState` for one server process. Its leases never expire (the process that
    would hold them is the one alive); its messages go through a queue per process id."""

    def __init__(self) -> None:
        self._locks: dict[str, _Reentrant] = {}
        self._participants: dict[str, Any] = {}
        self._counters: dict[str, dict] = {}
        self._rooms: dict[tuple, Waitroom] = {}
        self._games: dict[str, str] = {}
        self._firsts: set[str] = set()
        self._alive: dict[str, tuple[float, dict]] = {}   # process -> (until, info), time.monotonic()
        self._inboxes: dict[str, asyncio.Queue] = {}
        self._deadlines: dict[str, tuple[float, int]] = {}    # participant -> (at, step index)
        self._drafts: dict[str, tuple[int, dict, float]] = {}  # participant -> (index, answers, until)

    def transition(self, key: str) -> contextlib.AbstractAsyncContextManager:
        return reentrant(self._locks, key)

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

    async def first(self, name: str) -> bool:
        if name in self._firsts:
            return False
        self._firsts.add(name)
        return True

    async def heartbeat(self, process: str, info: dict, ttl: float) -> None:
        self._alive[process] = (time.monotonic() + ttl, dict(info))

    async def processes(self) -> dict[str, dict]:
        now = time.monotonic()
        return {process: dict(info) for process, (until, info) in self._alive.items() if until > now}

    async def own_game(self, game_id: str, owner: str, ttl: float = LEASE_SECONDS) -> bool:
        return self._games.setdefault(game_id, owner) == owner

    async def renew_games(self, owner: str, game_ids: list[str], ttl: float = LEASE_SECONDS) -> list[str]:
        return [game_id for game_id in game_ids if self._games.get(game_id) != owner]

    async def game_owner(self, game_id: str) -> str | None:
        return self._games.get(game_id)

    async def orphaned_games(self) -> list[str]:
        return []  # one process: the owner of every lease is this one, alive

    async def release_game(self, game_id: str) -> None:
        self._games.pop(game_id, None)

    def _queue(self, process: str) -> asyncio.Queue:
        return self._inboxes.setdefault(process, asyncio.Queue())

    async def send(self, process: str, message: dict) -> None:
        self._queue(process).put_nowait(message)

    async def broadcast(self, message: dict) -> None:
        for queue in self._inboxes.values():
            queue.put_nowait(message)

    async def inbox(self, process: str) -> AsyncIterator[dict]:
        queue = self._queue(process)
        while True:
            yield await queue.get()


    async def set_deadline(self, participant_id: str, index: int, at: float) -> None:
        self._deadlines[participant_id] = (float(at), int(index))

    async def due_deadlines(self, now: float) -> list[tuple[str, int]]:
        due = [(pid, index) for pid, (at, index) in self._deadlines.items() if at <= now]
        for pid, _ in due:
            del self._deadlines[pid]
        return due

    async def keep_draft(self, participant_id: str, index: int, answers: dict, ttl: float) -> None:
        now = time.monotonic()
        for pid in [pid for pid, (_, _, until) in self._drafts.items() if until <= now]:
            del self._drafts[pid]  # abandoned drafts do not pile up
        self._drafts[participant_id] = (int(index), dict(answers), now + ttl)

    async def draft(self, participant_id: str, index: int) -> dict | None:
        kept = self._drafts.get(participant_id)
        if kept is None or kept[0] != index or kept[2] <= time.monotonic():
            return None
        return dict(kept[1])


def open_state(redis_url: str | None, study: str) -> SharedState:
    """The shared state of study ``study``: on Redis at ``redis_url``, else in this process's memory."""
    if not redis_url:
        return MemoryState()
    from .shared_redis import RedisState  # only a deployment with Redis needs the redis package
    return RedisState(redis_url, study)
