"""Game leases, and taking over the games of a process that died.

Every game a server process starts (on the server, in a browser, between peers) is leased to it
in the shared state (:meth:`SharedState.own_game`, for :data:`~mugkit.web.shared.LEASE_SECONDS`);
the process renews its leases every third of that (:class:`Leases`). A process killed mid-study
(SIGKILL, a machine gone) renews nothing: its leases expire and its games show up as orphaned
(:meth:`SharedState.orphaned_games`). Every process sweeps them every :data:`SWEEP_SECONDS`; the
one whose claim wins takes the game over (:class:`Takeover`):

- **a server game** is rebuilt from its record and replayed up to its last stored frame
  (:mod:`mugkit.web.resume`), then plays on in the same room; its players' pages, reconnecting
  anyway (their socket's process died), get its current frame. Frames the dead process played but
  had not stored were never acknowledged: play resumes after the last stored one. A game that
  cannot be resumed (its replay differs, its step is gone, its env raises) ends with the outcome
  ``interrupted``, reason ``worker_lost``, and its players move on as from any game that ended.
- **a browser game** of one participant lives in their page: its new owner reads what it keeps of
  it from storage (the last stored frame) and answers its messages; nothing restarts in the page.
- **a browser game of several humans** (peers): its new owner rebuilds the group from storage
  (members, host, each agent's last stored frame) and relays, stores and ends it as before.

A process whose lease was lost while it still ran (it stalled longer than a lease: another
process took the game over) stops that game at once, storing nothing more. Its own clock guards
the same: a server game's rows are stored only while the lease is known to hold by this process's
clock (:meth:`Leases.holds`, a margin before it could expire), so a process that wakes from a long
stall does not write frames its game's new owner is writing too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Callable

from .shared import LEASE_SECONDS, MemoryState, SharedState, SharedStateError

if TYPE_CHECKING:
    from .lobby import Lobby

__all__ = ["Leases", "LeaseLost", "Takeover", "interrupt_unowned", "SWEEP_SECONDS", "LEASE_MARGIN"]

log = logging.getLogger("mugkit.takeover")

#: Seconds between two looks at the orphaned games.
SWEEP_SECONDS = 2.0
#: Seconds between two looks at who holds the lease of a game whose owner does not answer.
SETTLE_POLL_SECONDS = 0.5
#: Part of a lease this process trusts by its own clock, counted from the renewal's start: the
#: rest is a margin for rows already queued to commit before another process may claim the game.
LEASE_MARGIN = 0.7


class LeaseLost(RuntimeError):
    """This process no longer holds a game's lease (or cannot tell that it does): it must not
    store more of that game."""


class Leases:
    """This process's game leases.

    Args:
        state: the shared state.
        owner: this process's id (:data:`mugkit.web.cluster.PROCESS_ID`).
        ttl: seconds a lease lasts unless renewed.
        expire: leases can expire (a shared state of several processes). False in one process's
            memory: there a lease lasts until released, whatever this process's clock says.
    """

    def __init__(self, state: SharedState, owner: str, ttl: float = LEASE_SECONDS, expire: bool = True):
        self.state, self.owner, self.ttl, self.expire = state, owner, ttl, expire
        #: game id -> (when its lease ends by this process's clock, when it was claimed), time.monotonic()
        self.held: dict[str, tuple[float, float]] = {}

    async def claim(self, game_id: str) -> bool:
        """Claims ``game_id``; False when another live process holds it."""
        asked = time.monotonic()
        if not await self.state.own_game(game_id, self.owner, self.ttl):
            return False
        self.held[game_id] = (asked + self.ttl * LEASE_MARGIN, asked)
        return True

    def holds(self, game_id: str) -> bool:
        """Whether this process's lease of ``game_id`` surely holds now (by this process's clock)."""
        lease = self.held.get(game_id)
        return lease is not None and (not self.expire or time.monotonic() < lease[0])

    async def renew(self, game_ids: list[str]) -> list[str]:
        """Renews the leases of ``game_ids`` (held ones); returns those lost (another process has
        them now). Raises :class:`SharedStateError` when the shared state cannot be reached."""
        ids = [g for g in game_ids if g in self.held]
        if not ids:
            return []
        asked = time.monotonic()
        lost = set(await self.state.renew_games(self.owner, ids, self.ttl))
        for game_id in ids:
            if game_id in lost:
                self.held.pop(game_id, None)
            elif game_id in self.held:
                self.held[game_id] = (asked + self.ttl * LEASE_MARGIN, self.held[game_id][1])
        return sorted(lost)

    def forget(self, game_id: str) -> None:
        """Stops renewing ``game_id`` without releasing it: its lease expires, and the game shows
        as orphaned for whoever takes it over."""
        self.held.pop(game_id, None)

    async def release(self, game_id: str) -> None:
        """The game is over: its lease is given up."""
        self.held.pop(game_id, None)
        await self.state.release_game(game_id)


class Takeover:
    """Renews this process's leases and takes over orphaned games (see the module's docstring).

    Args:
        lobby: the lobby whose games these are.
        sweep: seconds between two looks at the orphaned games.
    """

    def __init__(self, lobby: "Lobby", sweep: float = SWEEP_SECONDS):
        self.lobby = lobby
        self.leases: Leases = lobby.leases
        self.sweep_seconds = sweep
        #: Games this process stopped without an end (their lease lapsed): offered to the next sweep
        #: here too, in case no other process takes them (a shared state that forgot them).
        self.dropped: set[str] = set()
        self._tasks: list[asyncio.Task] = []
        self._adopting: set[str] = set()

    def start(self) -> None:
        """Starts the renewal and the sweep."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._every(self.leases.ttl / 3, self.renew), name="lease renewal"),
                       loop.create_task(self._every(self.sweep_seconds, self.sweep), name="orphan sweep")]

    async def close(self) -> None:
        """Stops renewing and sweeping (a shutdown: the lobby ends its games itself)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    @staticmethod
    async def _every(seconds: float, work: Callable) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except SharedStateError as exc:  # Redis away: the leases lapse by this process's clock meanwhile
                log.warning("%s failed, tried again in %.1fs: %s", getattr(work, "__name__", work), seconds, exc)
            except Exception:  # must not stop the clock of every other game
                log.exception("%s failed once; it goes on", getattr(work, "__name__", work))

    # -- renewal ---------------------------------------------------------------------------

    async def renew(self) -> list[str]:
        """Renews the leases of the games this process runs and releases those of games no longer
        running here (a browser game that ended); stops the games whose lease was lost. Returns
        the lost ones."""
        running = self.lobby.running_games()
        now = time.monotonic()
        for game_id, (_, claimed) in list(self.leases.held.items()):
            # A game claimed a moment ago may still be starting (not in memory yet).
            if game_id not in running and now - claimed > self.leases.ttl and game_id not in self._adopting:
                await self.leases.release(game_id)
        lost = await self.leases.renew([g for g in self.leases.held])
        for game_id in lost:
            log.warning("game %s: its lease was lost (this process stalled?): another process plays it now; "
                        "it stops here", game_id)
            await self.lobby.drop_game(game_id)
            if await self.lobby.state.game_owner(game_id) is None:
                # Nobody holds it (a shared state that restarted empty forgot it): resumed from
                # storage by whoever claims it first, this process included.
                self.dropped.add(game_id)
        return lost

    def lapsed(self, game_id: str) -> None:
        """A game of this process was stopped because its lease lapsed by this process's clock: it
        is not renewed any more, and the sweep looks at it again (here or elsewhere, whoever
        claims it resumes it from storage)."""
        self.leases.forget(game_id)
        self.dropped.add(game_id)

    # -- the sweep -------------------------------------------------------------------------

    async def sweep(self) -> list[str]:
        """Claims the orphaned games it can and takes them over; returns their ids."""
        candidates = list(dict.fromkeys([*await self.lobby.state.orphaned_games(), *sorted(self.dropped)]))
        taken = []
        for game_id in candidates:
            if game_id in self._adopting or game_id in self.lobby.running_games():
                continue
            self.dropped.discard(game_id)
            if await self.adopt(game_id):
                taken.append(game_id)
        return taken

    async def adopt(self, game_id: str) -> bool:
        """Claims game ``game_id`` and takes it over, when nobody alive holds it and it has no
        outcome; False when another process holds it (or it is over)."""
        lobby = self.lobby
        peers = lobby.peers.groups if lobby.peers is not None else {}
        if game_id in self._adopting or game_id in lobby.games or game_id in peers:
            return True  # being taken over here already, or running here (a browser game's copy here may be old)
        self._adopting.add(game_id)  # before anything is awaited: one takeover per game here
        try:
            if not await self.leases.claim(game_id):
                return False
            row = await self.lobby.storage.get_game(game_id)
            if row is None or row.get("outcome") is not None:
                await self.leases.release(game_id)  # over already (its end was stored, not its release)
                return False
            log.info("game %s: taken over by this process (its owner's lease expired)", game_id)
            if row.get("runtime") == "server":
                await self.lobby.resume_server_game(game_id)
            elif (row.get("detail") or {}).get("peers"):
                await self.lobby.resume_peer_game(row)
            else:
                await self.lobby.resume_browser_game(row)
            return True
        finally:
            self._adopting.discard(game_id)

    async def settle(self, game_id: str, owner: str) -> str | None:
        """The process that runs game ``game_id`` once its ``owner``, which did not answer, is
        settled: while ``owner`` holds the lease (up to a lease, if it died), waits; once nobody
        does, the game is taken over here unless another process was first. Returns the other
        process that runs it then, or None (this one, or nobody: it is over)."""
        deadline = time.monotonic() + self.leases.ttl + 2 * self.sweep_seconds
        holder: str | None = owner
        while holder == owner and time.monotonic() < deadline:
            await asyncio.sleep(SETTLE_POLL_SECONDS)
            holder = await self.lobby.state.game_owner(game_id)
            if holder is None:
                await self.adopt(game_id)
                holder = await self.lobby.state.game_owner(game_id)
        return None if holder in (None, self.leases.owner) else holder

    async def alive(self, game_id: str) -> bool:
        """Whether game ``game_id`` (not running in this process) runs elsewhere or can be taken
        over now (then it is, here): for a participant reconnecting after their game's process died."""
        if game_id in self.lobby.running_games() or game_id in self._adopting:
            return True
        owner = await self.lobby.state.game_owner(game_id)
        if owner is not None and owner != self.leases.owner:
            return True
        return await self.adopt(game_id)


async def interrupt_unowned(storage: Any, state: SharedState) -> list[str]:
    """At start-up: marks ``interrupted`` (reason ``server_stop``) the unfinished server games that
    no live process holds and none will take over (no lease, or one released): games of a study
    stopped whole. Games of live processes go on; orphaned ones are the sweep's. Returns their ids."""
    orphans = set(await state.orphaned_games())
    cut = []
    for row in await storage.games():
        game_id = row["game_id"]
        if row.get("runtime") != "server" or row.get("outcome") is not None or game_id in orphans:
            continue
        if await state.game_owner(game_id) is None:
            await storage.end_game(game_id, "interrupted", ended_at=time.time(), outcome_reason="server_stop")
            cut.append(game_id)
    return cut


def expiring(state: SharedState) -> bool:
    """Whether leases in ``state`` can expire (a shared state of several processes)."""
    return not isinstance(state, MemoryState)
