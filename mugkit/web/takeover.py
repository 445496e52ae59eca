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

from .browser.peers import env_facts
from .registry import Participant
from .resume import CannotResume, rebuild
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
        #: A shutdown began: no more games are taken over here.
        self.stopped = False

    def start(self) -> None:
        """Starts the renewal and the sweep."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._every(self.leases.ttl / 3, self.renew), name="lease renewal"),
                       loop.create_task(self._every(self.sweep_seconds, self.sweep), name="orphan sweep")]

    def stop_sweeping(self) -> None:
        """Takes no more games over (a shutdown begins); the leases are still renewed."""
        self.stopped = True
        for task in self._tasks[1:]:
            task.cancel()

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
        if self.stopped:
            return False  # shutting down: whoever is alive takes it over
        peers = lobby.peers.groups if lobby.peers is not None else {}
        if game_id in self._adopting or game_id in lobby.games or game_id in peers:
            return True  # being taken over here already, or running here (a browser game's copy here may be old)
        self._adopting.add(game_id)  # before anything is awaited: one takeover per game here
        try:
            if not await self.leases.claim(game_id):
                return False
            row = await self.lobby.storage.get_game(game_id)
            if row is not None and row.get("outcome") is not None and self._unverified(row):
                log.info("game %s: its verification is taken over by this process (its owner's lease expired)",
                         game_id)
                self.lobby.browser._background(game_id)  # its lease is released once the verdict is stored
                return True
            if row is None or row.get("outcome") is not None:
                await self.leases.release(game_id)  # over already (its end was stored, not its release)
                return False
            log.info("game %s: taken over by this process (its owner's lease expired)", game_id)
            if row.get("runtime") == "server":
                await self.resume_server_game(game_id)
            elif (row.get("detail") or {}).get("peers"):
                await self.resume_peer_game(row)
            else:
                await self.resume_browser_game(row)
            return True
        finally:
            self._adopting.discard(game_id)

    def _unverified(self, row: dict) -> bool:
        """Whether ended game ``row`` is a browser game whose rows are still to be verified (its
        process died before it stored the verdict)."""
        return row.get("runtime") == "browser" and row.get("verification") == "pending" \
            and self.lobby.browser is not None

    # -- taking a game over (the lease is this process's now) ---------------------------------

    async def resume_server_game(self, game_id: str) -> None:
        """Takes over server game ``game_id`` (its lease is this process's now): rebuilt and
        replayed from its stored rows, it plays on here from the next frame; when it cannot be,
        it ends ``interrupted`` (reason ``worker_lost``) and its players move on."""
        try:
            resumed = await rebuild(self.lobby.storage, self.lobby.experiments, self.lobby.registry, game_id)
        except CannotResume as exc:
            await self._worker_lost(game_id, str(exc))
            return
        except Exception as exc:  # the user's env, policy or render raised while rebuilding
            log.warning("game %s: rebuilding it raised", game_id, exc_info=exc)
            await self._worker_lost(game_id, f"rebuilding it raised {type(exc).__name__}: {exc}"[:500])
            return
        players = {agent: await self._current(pid, game_id) for agent, pid in resumed.humans.items()}
        at = None if resumed.last is None else [resumed.last.episode, resumed.last.frame]
        for p in players.values():
            if p is not None:
                await self.lobby.listener.event(p, "game_resumed", {"game": game_id, "after": at,
                                                              "frames": resumed.frames})
        if resumed.driver.finished:  # every episode was stored: only its end was not
            game = self.lobby.server_game(game_id, resumed.step, resumed.driver, resumed.humans, [])
            await game.on_end(game, "completed")
            return
        screens = [agent for agent, p in players.items() if p is not None and p.screens]
        game = self.lobby.server_game(game_id, resumed.step, resumed.driver, resumed.humans, screens)
        self.lobby.games[game_id] = game
        for pid in resumed.humans.values():
            await self.lobby.join(pid, game.room)
        game.start(resumed=resumed.last)
        log.info("game %s: resumed after episode %s frame %s (%d stored frames replayed)", game_id,
                 *(at or ("-", "-")), resumed.frames)

    async def _worker_lost(self, game_id: str, reason: str) -> None:
        """Game ``game_id``, taken over, cannot go on: it ends ``interrupted`` (``worker_lost``)
        and its players move on."""
        log.warning("game %s: its process died and it cannot be resumed: %s", game_id, reason)
        row = await self.lobby.storage.get_game(game_id) or {}
        columns: dict = {"detail": {**(row.get("detail") or {}), "not_resumed": reason}}
        if row.get("runtime") == "browser" and self.lobby.browser is not None:
            columns["verification"] = "pending"
        await self.lobby.storage.end_game(game_id, "interrupted", ended_at=time.time(), outcome_reason="worker_lost",
                                    **columns)
        await self.lobby.game_hooks.ended(game_id, "interrupted", "worker_lost")
        if columns.get("verification") == "pending":
            self.lobby.browser._background(game_id)
        await self.lobby.ended(game_id)
        for player in await self.lobby.storage.players(game_id):
            p = await self.lobby.registry.get(player["participant_id"]) if player.get("participant_id") else None
            if p is not None:
                await self.lobby.leave_game(p, game_id, "interrupted", {"reason": "worker_lost"})

    async def resume_browser_game(self, row: dict) -> None:
        """Takes over the browser game of one participant in ``row``: what the server keeps of it
        is read from storage (:meth:`BrowserGames.find`); the page plays on. Unless its participant
        sends something within the grace period, it ends ``abandoned`` as any browser game does."""
        game_id = row["game_id"]
        for player in await self.lobby.storage.players(game_id):
            if player.get("participant_id"):
                await self._current(player["participant_id"], game_id)
        if self.lobby.browser is not None:
            self.lobby.browser.games.pop(game_id, None)  # an older copy here: the storage has every row since
        game = await self.lobby.browser.find(game_id, self.lobby.experiments) if self.lobby.browser is not None else None
        if game is None:
            await self._worker_lost(game_id, "this process does not serve the game's experiment or step")
            return
        self.lobby.browser.left(game_id, self.lobby.grace)

    async def resume_peer_game(self, row: dict) -> None:
        """Takes over the browser game of several humans in ``row``: its group is rebuilt from
        storage (members, host, each agent's last stored frame) and relayed, stored and ended here."""
        game_id, detail = row["game_id"], row.get("detail") or {}
        experiment = self.lobby.experiments.get(row["experiment"])
        try:
            step = experiment.step(row["step"]) if experiment is not None else None
        except KeyError:
            step = None
        pids = detail.get("humans") or []
        people = [await self._current(pid, game_id) for pid in pids]
        if self.lobby.peers is None or step is None or len(pids) != len(step.humans) or None in people:
            await self._worker_lost(game_id, "this process does not serve the game's step, or its players are unknown")
            return
        seed = int(row["seed"])
        who = [q.who() for q in people]
        group = self.lobby.peers.create(game_id, row["experiment"], step, row.get("repetition") or 0, seed,
                                  list(zip(step.humans, pids)), who, await env_facts(step, seed, who, game_id))
        last = await self.lobby.storage.last_frame(game_id)
        stored = [(episode, frame, agent, done) for episode in range(last[0] + 1 if last is not None else 0)
                  for frame, agent, *_, done in await self.lobby.storage.step_inputs(game_id, episode)]
        self.lobby.peers.taken_over(group, stored, self.lobby.grace)

    async def _current(self, pid: str, game_id: str) -> Participant | None:
        """Participant ``pid`` of game ``game_id``, taken over: this process's copy of them is
        read again from storage when it is not in that game (another process moved them since)."""
        p = await self.lobby.registry.get(pid)
        if p is not None and p.game != game_id:
            row = await self.lobby.storage.get_participant(pid)
            if row is not None:
                vars(p).update(vars(Participant.from_row(row)))
        return p

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
        if await self.adopt(game_id):
            return True
        # Another process may have claimed it first (then it runs there), or it is over.
        return await self.lobby.state.game_owner(game_id) is not None


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
