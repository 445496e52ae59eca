"""The lobby: grouping participants into games, and the games of both runtimes.

A participant who reaches a game step gets its view from :meth:`Lobby.game_view`: a game on the
server (:class:`~mugkit.web.gameloop.ServerGame`, after a waitroom when the step has several
humans) or one in their browser (:mod:`mugkit.web.browser.games`). When a game ends, the lobby
moves its players on through the flow (:class:`Listener`). Every change of a participant's place
runs inside their transition (:meth:`Registry.transition`) and checks that the game is still
theirs, so an end reported twice or at once moves nobody twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Protocol

from ..collect import Experiment
from ..games import build_game, game_seed
from ..runtime.values import from_json
from .limits.decoding import SMALL_LIMITS
from ..steps import GameStep
from .browser.games import BrowserGame, BrowserGames, RowError, runs_in_browser
from .browser.peers import PeerError, PeerGames, PeerGroup, env_facts
from .ice import ice_config
from .cluster import PROCESS_ID
from .entry import new_id
from .game_hooks import GameHooks
from .gameloop import GRACE_SECONDS, OUTCOME_REASONS, SCREENS, ServerGame
from .logs import GAME
from .ticks import TickTotals
from .browser.verify import report_unverified as verify_report
from .problems import game_problem, new_ref
from .protocol import ProtocolError, parse_keys
from .registry import Participant, Registry
from .shared import SharedState, SharedStateError
from .takeover import LeaseLost, Leases, Takeover, expiring
from .monitor import partner_notice
from .watching import GameWatching

__all__ = ["Lobby", "Listener", "GameOver", "game_message", "agent_name"]

#: Stages of a browser game's loading whose failure is the study's (its code, its models), not the
#: participant's connection: the game ends (outcome ``error``) and the participant goes on.
STUDY_STAGES = ("experiment", "models", "game")
#: Failed loads of one browser game (a connection problem: the page offers to reload) after which
#: the game is given up (outcome ``error``) and the participant goes on.
MAX_LOAD_FAILURES = 2

log = logging.getLogger("mugkit.study")


class GameOver(Exception):
    """A participant's game (``p.game``) runs nowhere any more, though they are still at its step:
    it ended and they were not moved on yet (its process died between storing the end and moving
    them, or the end is moving them now). The flow moves them on; no new game starts for the step."""

    def __init__(self, game_id: str):
        super().__init__(f"game {game_id} is over")
        self.game_id = game_id


class Listener(Protocol):
    """What the lobby asks of the flow."""

    async def push(self, p: Participant, problem: dict | None = None) -> None:
        """Sends ``p`` the view of where they are now (after ``problem``, when their game failed)."""

    async def event(self, p: Participant, kind: str, detail: dict | None = None) -> None:
        """Stores a flow event of ``p`` at their current step."""

    async def waitroom_timed_out(self, p: Participant, game: str | None = None, detail: dict | None = None) -> None:
        """``p`` waited for partners in vain (in a waitroom, or for their game's players to be ready)."""

    async def not_counted(self, p: Participant, game_id: str) -> dict:
        """``p``'s game ``game_id`` does not count (``verify="require"``); returns their view."""

    async def exclude(self, p: Participant, reason: str, text: str, by: str = "server",
                      detail: dict | None = None) -> bool:
        """Ends the study for ``p`` (status ``excluded``): the monitor's verdict."""


def agent_name(agent: Any) -> str:
    """An agent id in words, for participants: ``"player_1"`` → "Player 1", ``0`` → "Player 1"."""
    if isinstance(agent, int) and not isinstance(agent, bool):
        return f"Player {agent + 1}"
    if isinstance(agent, tuple):
        return " ".join(agent_name(a) for a in agent)
    words = str(agent).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "Player"


def game_message(step: GameStep, game_id: str, **fields: Any) -> dict:
    """A ``game`` view (protocol.py): the step's canvas, clock and keys, the screens around it
    (docs/participants.md), the agents' names, and ``fields``."""
    options = step.options
    labels = options.labels or {}
    return {"kind": "game", "game": game_id, "width": options.width, "height": options.height, "fps": options.fps,
            "keys": sorted({k for combo, _ in options.combos for k in combo}),
            "names": [[agent, labels.get(agent) or agent_name(agent)] for agent in step.players],
            "named": [agent for agent in step.players if agent in labels],
            "max_steps": options.max_steps if options.time_left else None,
            "screens": {"ready": options.ready, "countdown": options.countdown, "round_over": options.round_over},
            # What the page reports while the game runs (mugkit/web/monitor.py), or None.
            "monitor": options.monitor.as_view() if options.monitor is not None else None,
            **fields}


class Lobby:
    """Waitrooms and running games.

    Args:
        experiments: name → collected experiment.
        registry: the participants.
        state: the state shared between server processes (waitrooms, game ownership).
        seed: the study seed.
        emit: ``(event, data, room) -> awaitable``: the socket layer's emit.
        join: ``(participant id, room) -> awaitable``: puts a participant's sockets in a room.
        listener: the flow.
        grace: seconds a game waits for a player whose connection dropped.
        browser: the browser runtime (None: every game runs on the server).
    """

    def __init__(self, experiments: dict[str, Experiment], registry: Registry, state: SharedState, seed: int,
                 emit: Callable[..., Awaitable], join: Callable[[str, str], Awaitable], listener: Listener,
                 grace: float = GRACE_SECONDS, browser: BrowserGames | None = None):
        self.experiments = experiments
        self.registry = registry
        self.storage = registry.storage
        self.state = state
        self.seed = seed
        self.emit = emit
        self.join = join
        self.listener = listener
        self.grace = grace
        self.browser = browser
        self.games: dict[str, ServerGame] = {}
        #: Every tick of this process's server games: lateness, frame rates (mugkit/web/ticks.py).
        self.ticks = TickTotals()
        #: The plugins' mugkit_game_started / mugkit_game_ended, once per game (game_hooks.py).
        self.game_hooks = GameHooks(registry)
        if browser is not None:
            browser.on_end = self.game_hooks.ended
            browser.on_verified = self._verified
        #: Browser games with several humans (mugkit/web/browser/peers.py).
        self.peers: PeerGames | None = None
        if browser is not None:
            self.peers = PeerGames(self.storage, emit, ice_config, browser)
            self.peers.on_end = self._peer_game_over
        self.sockets: dict[str, int] = {}          # participant id -> open sockets
        self._starting: dict[str, asyncio.Future] = {}
        self._ticker: asyncio.Task | None = None
        self._owner = PROCESS_ID                   # this process, as an owner of games
        #: This process's game leases, and the games of dead processes it takes over (takeover.py).
        self.leases = Leases(state, PROCESS_ID, expire=expiring(state))
        self.takeover = Takeover(self)
        #: Messages of games other processes own (mugkit/web/remote.py); None: one process.
        self.remote: Any = None
        self._snapshots: dict[str, dict] = {}      # game id -> its frame, from the process running it
        #: In-game monitoring (``mk.Monitor``; mugkit/web/monitor.py, mugkit/web/watching.py).
        self.watching = GameWatching(self)

    def start(self) -> None:
        """Starts the waitrooms' clock, the renewal of this process's game leases and the sweep of
        games whose process died."""
        self._ticker = asyncio.get_running_loop().create_task(self._tick_waitrooms())
        self.takeover.start()

    async def close(self, outcome: str = "interrupted") -> None:
        """Stops the waitroom clock and every server game (ended with ``outcome``)."""
        if self._ticker is not None:
            self._ticker.cancel()
        self.takeover.stop_sweeping()
        if self.peers is not None:
            await self.peers.close()
        await self.watching.monitors.close()
        for game in list(self.games.values()):
            await game.stop(outcome)
        # Only now: the leases are renewed while the games end (their outcome is stored under them).
        await self.takeover.close()

    # -- where a participant's game is ---------------------------------------------------------

    async def counts(self, game_id: str) -> bool:
        """Whether an ended game counts towards completion (a browser game of a
        ``verify="require"`` step only when it completed and verified)."""
        return self.browser is None or await self.browser.counts(game_id)

    async def game_alive(self, p: Participant) -> bool:
        """Whether ``p``'s game (``p.game``) still runs: on this server, starting, or in their browser."""
        if p.game is None:
            return False
        if p.game in self.games or p.game in self._starting or self._peer_group(p, p.game) is not None:
            return True
        if self.remote is not None and await self.remote.elsewhere(p.game) is not None:
            return True  # it runs on another process: the participant's socket landed here
        if await self._browser_game(p, p.game) is not None:
            return True
        # Its process died (its lease expired): it is taken over now, here, when it can be.
        return await self.takeover.alive(p.game)

    async def game_view(self, p: Participant, step: GameStep, rep: int) -> dict:
        """The view of ``p`` at game step ``step``: their game (started when it is time), or the
        waitroom. Called inside ``p``'s transition."""
        owner = await self.remote.elsewhere(p.game) if self.remote is not None and p.game else None
        if owner is not None:  # their game runs on another process: its view comes from there
            view = await self.remote.view(owner, p)
            if view is None:  # it did not answer (it died?): once its lease expires, the game is taken over
                owner = await self.takeover.settle(p.game, owner)
                view = await self.remote.view(owner, p) if owner is not None else None
            if view is not None:
                snapshot = view.pop("snapshot", None)
                if snapshot is not None:
                    if len(self._snapshots) > 1000:  # a view pushed, never seated: not kept for good
                        self._snapshots.clear()
                    self._snapshots[view["game"]] = snapshot
                return view
        if self.browser is not None and runs_in_browser(step):
            if len(step.humans) > 1:
                return await self._peer_game_view(p, step, rep)
            return await self._browser_game_view(p, step, rep)
        if p.game in self._starting:  # their group's game is being built by a partner's transition
            await asyncio.shield(self._starting[p.game])
        game = self.games.get(p.game or "")
        if game is None and p.game is not None and await self.takeover.alive(p.game):
            game = self.games.get(p.game)
            if game is None:  # it runs in another process
                return await self._remote_game_view(p, step, p.game)
        if game is None:
            self._no_game(p)
            group = await self._group(p, step, rep)
            if group is None:
                return {"kind": "waitroom", **await self.state.waitroom_status((p.experiment, step.name, rep), p.id)}
            game = await self._start_game(p.experiment, step, rep, group, p)
        return game_message(step, game.game_id, turn_based=game.driver.turn_based, you=self._agent_of(game, p.id),
                            agents=list(game.driver.agents), runtime="server", screen=game.screen)

    @staticmethod
    def _no_game(p: Participant) -> None:
        """Before a new game starts for ``p``: they must not be in one still. A game of theirs that
        runs nowhere (here, elsewhere, taken over) is over: :class:`GameOver`."""
        if p.game is not None:
            raise GameOver(p.game)

    def snapshot(self, game_id: str) -> dict | None:
        """The current frame of server game ``game_id`` for a player who (re)joins, or None."""
        game = self.games.get(game_id)
        if game is None:
            return self._snapshots.pop(game_id, None)  # a game on another process (game_view)
        return game.snapshot()

    def _game_seed(self, experiment: str, step: GameStep, rep: int, who: list[str]) -> int:
        return game_seed(self.seed, experiment, step.name if not rep else f"{step.name}#{rep}", who)

    # -- connections -----------------------------------------------------------------------

    def connected(self, p: Participant) -> None:
        """One more socket of ``p`` is open."""
        self.sockets[p.id] = self.sockets.get(p.id, 0) + 1
        if self.remote is not None:
            self.remote.tell_presence(p, self.sockets[p.id])
        self.present(p)

    def present(self, p: Participant) -> None:
        """``p`` has a socket open (here, or on another process): their game goes on."""
        if self.browser is not None and p.game:
            self.browser.back(p.game)  # their browser game's grace clock stops
        group = self._peer_group(p, p.game)
        if group is not None:
            self.peers.back(group, group.member_of(p.id))
        game = self.games.get(p.game or "")
        if game is not None:
            game.back(self._agent_of(game, p.id))

    async def disconnected(self, p: Participant) -> None:
        """One socket of ``p`` closed: with none left, they leave waitrooms and their game pauses."""
        left = self.sockets.get(p.id, 1) - 1
        if left > 0:
            self.sockets[p.id] = left
            return
        self.sockets.pop(p.id, None)
        if self.remote is not None:
            self.remote.tell_presence(p, 0)
            if self.remote.connected_elsewhere(p.id):
                return  # their game is here, and they are connected to another process
        await self.state.leave_waitrooms(p.id)
        await self.absent(p)

    async def absent(self, p: Participant) -> None:
        """``p`` has no socket open on any process: their game pauses (or its grace clock runs)."""
        if self.browser is not None and p.game:
            self.browser.left(p.game, self.grace)  # their browser game ends unless they are back in time
        group = self._peer_group(p, p.game)
        if group is not None:  # the others play on for the grace period, then the game ends
            self.peers.away(group, group.member_of(p.id), self.grace)
            await self.listener.event(p, "disconnected", {"game": group.game_id})
            return
        game = self.games.get(p.game or "")
        if game is not None:
            game.left(self._agent_of(game, p.id))
            await self.listener.event(p, "disconnected", {"game": game.game_id})
        else:
            # Nobody needs them in memory until they come back (storage has them), so arrivals
            # that leave at once cannot fill it; a transition reads a dropped copy again.
            self.registry.forget(p)

    @staticmethod
    def _agent_of(game: ServerGame, pid: str) -> Any:
        return next((agent for agent, who in game.humans.items() if who == pid), None)

    # -- server games --------------------------------------------------------------------------

    async def _group(self, p: Participant, step: GameStep, rep: int) -> list[Participant] | None:
        if len(step.humans) == 1:
            return [p]
        ids = await self.state.join_waitroom((p.experiment, step.name, rep), p.id, len(step.humans),
                                             step.options.waitroom_timeout)
        if ids is None:
            await self._waitroom_news()
            return None
        group = [await self.registry.get(pid) for pid in ids]
        return [q for q in group if q is not None]

    async def _start_game(self, name: str, step: GameStep, rep: int, group: list[Participant],
                          asking: Participant) -> ServerGame:
        """Builds and starts the game of ``group``; every member but ``asking`` (who gets the view
        as an answer) is sent the game view."""
        game_id = new_id()
        # Marked at once, before anything is awaited: a member's own message arriving meanwhile
        # waits for this game instead of starting another.
        starting = self._starting[game_id] = asyncio.get_running_loop().create_future()
        for q in group:
            q.game = game_id
        try:
            game = await self._build_game(game_id, name, step, rep, group)
        except BaseException:
            for q in group:
                q.game = None
            raise
        finally:
            self._starting.pop(game_id, None)
            starting.set_result(None)
        for q in group:
            if q is not asking:
                await self.listener.push(q)
        return game

    async def _build_game(self, game_id: str, name: str, step: GameStep, rep: int,
                          group: list[Participant]) -> ServerGame:
        GAME.set(game_id)  # the log lines of its start name it (mugkit/web/logs.py)
        experiment = self.experiments[name]
        who = [q.id for q in group]
        seed = self._game_seed(name, step, rep, who)
        built = await asyncio.to_thread(build_game, step, experiment.policies, seed=seed, participant=group[0].who(),
                                        group=[q.who() for q in group])
        humans = dict(zip(step.humans, who))
        # The screens (ready, countdown, round over) wait only for pages that show them: a bot or
        # a protocol client is not waited for.
        screens = [agent for agent, q in zip(step.humans, group) if q.screens]
        game = self.server_game(game_id, step, built.driver(render=True), humans, screens)
        await self.leases.claim(game_id)
        await self.storage.add_game({"game_id": game_id, "experiment": name, "step": step.name, "repetition": rep,
                                     "runtime": "server", "seed": seed, "started_at": time.time(),
                                     "detail": {"step_runtime": step.runtime}})
        await self.storage.add_players([{"game_id": game_id, "agent": agent, "participant_id": humans.get(agent),
                                         "policy": None if agent in humans else step.players[agent]}
                                        for agent in built.env.agents])
        self.games[game_id] = game
        for q in group:
            await self.registry.move(q, q.index, game_id)
            await self.join(q.id, game.room)
        game.start()
        self.watching.server_game(game, step, rep)
        log.info("game %s: %s::%s started for %s", game_id, name, step.name, ", ".join(who))
        self.game_hooks.started(game_id, name, step.name, "server", humans,
                                {a: step.players[a] for a in built.env.agents if a not in humans})
        return game

    def server_game(self, game_id: str, step: GameStep, driver: Any, humans: dict, screens: list) -> ServerGame:
        """The clock of a server game (not started)."""
        keep = step.options.record_observations

        def store_rows(rows: list, t: float, tc: Any, late: Any) -> Awaitable:
            # Only while this process surely holds the game: after a stall longer than its lease,
            # another process may be playing it on from the stored frames (takeover.py).
            if not self.leases.holds(game_id):
                lost = asyncio.get_running_loop().create_future()
                lost.set_exception(LeaseLost(f"this process's lease of game {game_id} lapsed (its renewal is "
                                             f"overdue): the game stops here, and is resumed from its stored frames"))
                return lost
            return self.storage.add_steps(game_id, rows, t_server=t, t_client=tc, late_ms=late, keep_observations=keep)

        return ServerGame(game_id, driver, humans, self.emit, store_rows, self._game_over, grace=self.grace,
                          screens=screens, totals=self.ticks)

    async def _game_over(self, game: ServerGame, outcome: str) -> None:
        self.games.pop(game.game_id, None)
        if not self.leases.holds(game.game_id):
            # Its lease lapsed (a stall): nothing more of it is stored here; the sweep resumes it.
            log.warning("game %s: stopped without an end: this process's lease of it lapsed", game.game_id)
            self.takeover.lapsed(game.game_id)
            return
        # The outcome first, then the lease: a process starting meanwhile must not find the game
        # without either (it would mark it interrupted).
        self.watching.monitors.unwatch(game.game_id)
        columns = await self._end_columns(game, outcome)
        await self.storage.end_game(game.game_id, outcome, ended_at=time.time(), **columns)
        await self.game_hooks.ended(game.game_id, outcome, columns["outcome_reason"])
        try:
            await self.leases.release(game.game_id)
        except SharedStateError as exc:  # its lease expires by itself; its outcome is stored
            log.error("game %s: its lease could not be released: %s", game.game_id, exc)
        log.info("game %s: over (%s)", game.game_id, outcome)
        for agent, pid in game.humans.items():
            p = await self.registry.get(pid)
            if p is None:
                continue
            while True:  # its players must move on: once the shared state (Redis) answers again
                try:
                    await self._move_on(p, game, agent, outcome)
                    break
                except SharedStateError as exc:
                    log.error("game %s: its player %s waits for the shared state to move on: %s", game.game_id, pid, exc)
                    await asyncio.sleep(1.0)

    async def _end_columns(self, game: ServerGame, outcome: str) -> dict:
        """A server game's ``outcome_reason`` (an exclusion's reason key), and its takeovers."""
        excluded = next(iter(game.excluded.values()), None)
        columns = {"outcome_reason": excluded["reason"] if outcome == "excluded" and excluded
                   else OUTCOME_REASONS.get(outcome)}
        if game.takeovers:
            row = await self.storage.get_game(game.game_id) or {}
            columns["detail"] = {**(row.get("detail") or {}), "takeovers": dict(game.takeovers)}
        return columns

    async def _move_on(self, p: Participant, game: ServerGame, agent: Any, outcome: str) -> None:
        if p.id in game.excluded:
            return  # the flow ends the study for them
        if outcome == "excluded":
            why = next(iter(game.excluded.values()), {})
            await self.leave_game(p, game.game_id, outcome, {"agent": why.get("agent"), "reason": why.get("reason")})
            return
        if outcome == "not_ready":
            await self.listener.waitroom_timed_out(p, game.game_id, {"ready": agent in game.ready_agents})
        else:
            await self.leave_game(p, game.game_id, outcome, {"ref": game.error_ref} if game.error_ref else None)

    async def leave_game(self, p: Participant, game_id: str, outcome: str, detail: dict | None = None) -> bool:
        """``p``'s game ``game_id`` ended with ``outcome``: noted (with ``detail``) when not
        completed; on to the next step — after the neutral problem notice when the game failed
        (``error``: ``detail["ref"]`` is its reference). False (nothing done) when ``p`` is no
        longer in that game."""
        async with self.registry.transition(p):
            if p.game != game_id or p.status != "active":
                return False
            problem = partner_notice() if outcome == "excluded" else None
            if outcome == "error":
                detail = {"ref": new_ref(), **(detail or {})}
                # A browser game that failed while loading (the experiment's code) never started.
                problem = game_problem(detail["ref"], started=detail.get("stage") in (None, "game"))
            if outcome != "completed":
                await self.listener.event(p, f"game_{outcome}", {"game": game_id, **(detail or {})})
            await self.registry.move(p, p.index + 1)
            await self.listener.push(p, problem)
        return True

    async def abandon(self, p: Participant, ref: str) -> None:
        """Ends ``p``'s game, which failed while its view was being made (inside ``p``'s
        transition): outcome ``error``."""
        game = self.games.get(p.game or "")
        if game is not None:
            game.on_end = None  # the flow moves its player on itself
            await game.stop("error")
            self.games.pop(game.game_id, None)
            await self.storage.end_game(game.game_id, "error", ended_at=time.time(), outcome_reason="server_error")
            await self.game_hooks.ended(game.game_id, "error", "server_error")
            await self.leases.release(game.game_id)
            return
        browser = await self._browser_game(p, p.game)
        if browser is not None:
            await self.browser.finish(browser, "error", "server_error")
        group = self._peer_group(p, p.game)
        if group is not None:
            await self.peers.finish(group, "error", "server_error")

    async def player_excluded(self, p: Participant, reason: str) -> None:
        """``p`` (inside their transition) is excluded while in game ``p.game``: the game ends
        with outcome ``excluded`` (``games.outcome_reason``: ``reason``) and its other players
        move on to their next step after a notice (event ``game_excluded``) — or, in a server
        game whose step has ``mk.Monitor(takeover=...)``, that policy plays on for ``p``
        (mugkit/web/watching.py). A game another process runs (``--workers``) is told there:
        its owner ends it or lets the policy play on (mugkit/web/remote.py)."""
        owner = await self._elsewhere(p.game) if p.game else None
        if owner is not None:
            reply = await self.remote.forward(owner, p, "excluded", {"game": p.game, "reason": reason})
            if not (reply or {}).get("ok"):
                log.error("participant %s: excluded, but process %s running their game %s did not end it: %s",
                          p.id, owner, p.game, (reply or {}).get("error"))
            return
        game = self.games.get(p.game or "")
        if game is not None:  # a policy may play on for them (mk.Monitor(takeover=...))
            await self.watching.server_player_excluded(game, p, reason)
            return
        self.watching.monitors.release(p.game or "", p.id)
        browser = await self._browser_game(p, p.game)
        if browser is not None and await self.browser.finish(browser, "excluded", reason) is not None:
            await self.ended(browser.game_id)
        group = self._peer_group(p, p.game)
        if group is not None:
            group.excluded = p.id
            await self.peers.finish(group, "excluded", reason, {"agent": group.member_of(p.id).agent, "reason": reason})

    async def ready(self, p: Participant, data: Any) -> dict:
        """A ``ready`` message: ``p`` pressed "ready" (``screen: "ready"``) or dismissed the
        round-over screen (``"round_over"``) of their game; stored as a ``game_ready`` event (the
        time the participant was ready). A server game's clock waits for it."""
        if not isinstance(data, dict) or not isinstance(data.get("game"), str) or data.get("screen") not in SCREENS:
            return {"ok": False, "error": f"ready must be an object with the game's id and a screen in {SCREENS}"}
        owner = await self._elsewhere(data["game"])
        if owner is not None:
            return await self.remote.forward(owner, p, "ready", data)
        return await self._ready(p, data)

    async def _ready(self, p: Participant, data: dict) -> dict:
        if p.game != data["game"]:
            return {"ok": False, "stale": True, "error": "you are not in that game (it is over, or not yours)"}
        episode = data.get("episode") if isinstance(data.get("episode"), int) else None
        game = self.games.get(p.game)
        if game is not None and not game.on_ready(self._agent_of(game, p.id), data["screen"]):
            return {"ok": False, "stale": True, "error": "that screen is not shown now"}
        group = self._peer_group(p, p.game)
        if group is not None:
            readies = group.member_of(p.id).readies
            if (data["screen"], episode) in readies or len(readies) > group.step.options.episodes:
                return {"ok": False, "stale": True, "error": "that screen was answered already"}
            readies.add((data["screen"], episode))
        elif game is None and not await self._browser_ready(p, data["screen"], episode):
            return {"ok": False, "stale": True, "error": "that screen was answered already"}
        await self.listener.event(p, "game_ready", {"game": p.game, "screen": data["screen"], "episode": episode})
        return {"ok": True}

    async def _browser_ready(self, p: Participant, screen: str, episode: int | None) -> bool:
        """Whether a browser game's ``ready`` is new: once per screen and episode (its clock runs
        in the page, so the server only records it), never more than the game has screens."""
        game = await self._browser_game(p, p.game)
        if game is None or (screen, episode) in game.readies or len(game.readies) > game.step.options.episodes:
            return False
        game.readies.add((screen, episode))
        return True

    async def keys(self, p: Participant, data: Any) -> str | None:
        """A ``keys`` message; an error text for the client when it is not valid."""
        try:
            keys = parse_keys(data)
        except ProtocolError as exc:
            return str(exc)
        if keys.game not in self.games:
            owner = await self._elsewhere(keys.game)
            if owner is not None:  # the game runs on another process: no answer is awaited
                self.remote.forwarded["keys"] = self.remote.forwarded.get("keys", 0) + 1
                await self.remote.cluster.tell(owner, "game", {"pid": p.id, "kind": "keys", "data": data})
                return None
        return self._keys(p, keys)

    def _keys(self, p: Participant, keys: Any) -> str | None:
        game = self.games.get(keys.game)
        if game is None or p.id not in game.humans.values():
            # Keys of a game that just ended (the page sent them before its next view came): nothing
            # to do, and nothing to say — an error would show on the next step's page.
            return None
        error = game.on_keys(self._agent_of(game, p.id), keys)
        if error is None and (keys.down or keys.up):  # a press or release: input (holding a key is not)
            self.watching.monitors.keys(game.game_id, p.id)
        return error

    # -- games on other processes (mugkit/web/remote.py) ---------------------------------------

    async def _elsewhere(self, game_id: str) -> str | None:
        """The other process that runs ``game_id``, or None (this one, or one process only)."""
        return await self.remote.elsewhere(game_id) if self.remote is not None else None

    async def monitor_message(self, p: Participant, kind: str, data: Any) -> dict:
        """A monitored game's ``presence`` or ``monitor_pong`` (mugkit/web/monitor.py); its ack."""
        owner = await self._elsewhere(data["game"]) if isinstance(data, dict) and isinstance(
            data.get("game"), str) else None
        if owner is not None:
            return await self.remote.forward(owner, p, kind, data)
        return await self.watching.monitors.message(p.id, kind, data)

    async def local_message(self, p: Participant, kind: str, data: Any, page: str | None = None) -> dict | None:
        """A message another process forwarded here, as the game's owner; its answer."""
        if kind in ("presence", "monitor_pong"):
            return await self.watching.monitors.message(p.id, kind, data)
        if kind == "excluded":  # (another process's, never a page's: it excluded p, whose game runs here)
            if p.game == data["game"]:
                await self.player_excluded(p, data["reason"])
            return {"ok": True}
        if kind == "keys":
            try:
                return {"error": self._keys(p, parse_keys(data))}
            except ProtocolError as exc:
                return {"error": str(exc)}
        if kind == "ready":
            return await self._ready(p, data)
        if kind in ("rows", "resume", "loaded", "load_failed", "game_over") and not (
                self.peers is not None and data["game"] in self.peers.groups):
            return await self._browser_message(p, kind, data)
        size = len(json.dumps(data.get("data"))) if kind not in ("relay", "package") else 0
        return await self._peer_message(p, kind, data, size, page=page)

    # -- games in the browser ------------------------------------------------------------------

    async def _browser_game(self, p: Participant, game_id: str) -> BrowserGame | None:
        if self.browser is None:
            return None
        game = await self.browser.find(game_id, self.experiments)
        return game if game is not None and game.participant == p.id else None

    async def _browser_game_view(self, p: Participant, step: GameStep, rep: int) -> dict:
        game = await self._browser_game(p, p.game) if p.game else None
        seed = self._game_seed(p.experiment, step, rep, [p.id])
        if game is None:
            self._no_game(p)
            game = BrowserGame(new_id(), p.id, p.experiment, step, step.humans[0])
            await self.leases.claim(game.game_id)
            await self.storage.add_game({"game_id": game.game_id, "experiment": p.experiment, "step": step.name,
                                         "repetition": rep, "runtime": "browser", "seed": seed,
                                         "started_at": time.time(), "detail": {"step_runtime": step.runtime}})
            await self.storage.add_players([{"game_id": game.game_id, "agent": agent,
                                             "participant_id": p.id if agent == game.agent else None,
                                             "policy": None if agent == game.agent else policy}
                                            for agent, policy in step.players.items()])
            await self.browser.add(game)
            self.watching.browser_game(game, rep)
            await self.registry.move(p, p.index, game.game_id)
            log.info("game %s: %s::%s started in the browser of %s", game.game_id, p.experiment, step.name, p.id)
            self.game_hooks.started(game.game_id, p.experiment, step.name, "browser", {game.agent: p.id},
                                    {a: policy for a, policy in step.players.items() if a != game.agent})
        return game_message(step, game.game_id, turn_based=bool(step.options.turn_based), you=game.agent,
                            agents=list(step.players), runtime="browser", boot=self.browser.boot(game, seed, p.who()))

    async def browser_message(self, p: Participant, kind: str, data: Any) -> dict:
        """A browser runtime's ``rows``, ``resume``, ``loaded``, ``load_failed`` or ``game_over``
        message; the acknowledgement (``{"ok": False, "error"}`` for a bad one, nothing lost;
        ``"stale": True`` when the game is over or not this participant's: nothing to retry)."""
        if not isinstance(data, dict) or not isinstance(data.get("game"), str):
            return {"ok": False, "error": f"{kind} must be an object with the game's id"}
        owner = await self._elsewhere(data["game"])
        if owner is not None:
            return await self.remote.forward(owner, p, kind, data)
        return await self._browser_message(p, kind, data)

    async def _browser_message(self, p: Participant, kind: str, data: dict) -> dict:
        if self.peers is not None and data["game"] in self.peers.groups and kind in ("rows", "game_over", "loaded",
                                                                                      "load_failed"):
            return await self.peer_message(p, kind, data)
        game = await self._browser_game(p, data["game"])
        if game is None or p.game != game.game_id:
            return {"ok": False, "stale": True, "error": "you are not in that game (it is over, or not yours)"}
        self.browser.back(game.game_id)  # a message of theirs: they are there (the grace clock stops)
        try:
            if kind == "rows":
                return await self.browser.rows(game, data)
        except RowError as exc:
            return {"ok": False, "error": str(exc)}
        if kind == "resume":
            return {"ok": True, "record": await self.browser.record_json(game, data.get("session"))}
        if kind in ("loaded", "load_failed"):
            return await self._browser_load_news(p, game, kind, data)
        return await self._browser_game_over(p, game, data)

    async def _browser_load_news(self, p: Participant, game: BrowserGame, kind: str, data: dict) -> dict:
        if game.events >= self.browser.game_events:  # each is an event row: a script could fill the database
            return {"ok": False, "limit": "game_events",
                    "error": f"{kind} refused: {self.browser.game_events} loaded/load_failed messages are stored for "
                             f"this game already (limit game_events)"}
        game.events += 1
        detail = {k: data.get(k) for k in ("stages", "bytes", "cached", "stage", "package", "reason") if k in data}
        if kind == "loaded":
            detail.update(_start_figures(data))
        if kind == "loaded" and isinstance(data.get("diverged"), str):
            await self._resume_diverged(p, game, data["diverged"][:2000])
        # The env, a policy or a hook raised (stage "game"), or the experiment did not load: the
        # game ends as on the server, and the participant goes on (the page sent every row before
        # saying so). Only the page now playing the game may end it.
        if kind == "load_failed":
            game.load_failures += 1
            ref = new_ref()
            log.warning("participant %s, game %s: the browser runtime failed at %s%s (reference %s): %s", p.id,
                        game.game_id, data.get("stage"), f" (package {data['package']})" if data.get("package") else "",
                        ref, str(data.get("reason"))[:500])
            detail["ref"] = ref
            if data.get("stage") != "game":  # a crash mid-play is the game_error event alone
                await self.listener.event(p, f"game_{kind}", {"game": game.game_id, **detail})
            if data.get("stage") in STUDY_STAGES or game.load_failures >= MAX_LOAD_FAILURES:
                # Reloading cannot help (the study's code), or did not: the participant goes on.
                if not game.plays_here(data):
                    return {"ok": False, "superseded": True, "error": "this game continues in another window or tab"}
                if not await self._browser_game_end(p, game, "error", detail, reason="client_error"):
                    return {"ok": False, "stale": True, "error": "that game is already over"}
                return {"ok": True, "ref": ref, "ended": True}
            return {"ok": True, "ref": ref}
        await self.listener.event(p, f"game_{kind}", {"game": game.game_id, **detail})
        return {"ok": True}

    async def _resume_diverged(self, p: Participant, game: BrowserGame, diverged: str) -> None:
        """A reloaded page's re-simulation did not give the stored actions or rewards: the env or a
        policy is not deterministic (``mugkit check`` says which). The game goes on; the data say
        from which frame on it is not one continuous play."""
        log.warning("participant %s, game %s: the resumed game's replay differs from its stored rows (%s); "
                    "run mugkit check on the step: its env or a policy is not deterministic", p.id, game.game_id,
                    diverged)
        try:
            where: Any = from_json(diverged, SMALL_LIMITS)  # the browser's text: decoded within limits
        except (ValueError, KeyError, TypeError):
            where = diverged  # kept as sent
        await self.listener.event(p, "game_resume_diverged", {"game": game.game_id, "diverged": where})

    async def _browser_game_over(self, p: Participant, game: BrowserGame, data: dict) -> dict:
        if not game.plays_here(data):
            return {"ok": False, "superseded": True, "error": "this game continues in another window or tab"}
        if not game.over:
            return {"ok": False, "error": "the rows of the last episode are not stored yet: send them first"}
        if not await self._browser_game_end(p, game, "completed", reason="game_over"):
            return {"ok": False, "stale": True, "error": "that game is already over"}
        return {"ok": True}

    async def _browser_game_end(self, p: Participant, game: BrowserGame, outcome: str,
                                detail: dict | None = None, *, reason: str) -> bool:
        """Ends ``p``'s browser game (``reason``: ``games.outcome_reason``) and moves them on;
        False when it ended meanwhile (the same message twice, at once)."""
        async with self.registry.transition(p):
            if p.game != game.game_id:
                return False
            counts = await self.browser.finish(game, outcome, reason)
            if counts is None:  # ending already (the grace clock ran out meanwhile)
                return False
            await self.ended(game.game_id)
            # verify="require", and not both completed and verified. (A crash the page reports is
            # the page's word, which a participant could forge to skip the game: it does not count.)
            if not counts:
                await self.listener.not_counted(p, game.game_id)
                await self.listener.push(p)
                return True
            return await self.leave_game(p, game.game_id, outcome, detail)

    # -- browser games with several humans (mugkit/web/browser/peers.py) ---------------------

    def _peer_group(self, p: Participant, game_id: str | None) -> PeerGroup | None:
        group = self.peers.groups.get(game_id or "") if self.peers is not None else None
        return group if group is not None and group.member_of(p.id) is not None else None

    async def _peer_game_view(self, p: Participant, step: GameStep, rep: int) -> dict:
        if p.game in self._starting:  # their group's game is being built by a partner's transition
            await asyncio.shield(self._starting[p.game])
        group = self._peer_group(p, p.game)
        if group is None:
            self._no_game(p)
            members = await self._group(p, step, rep)
            if members is None:
                return {"kind": "waitroom", **await self.state.waitroom_status((p.experiment, step.name, rep), p.id)}
            group = await self._start_peer_game(p.experiment, step, rep, members, p)
        member = group.member_of(p.id)
        boot = self.browser.boot(BrowserGame(group.game_id, p.id, p.experiment, step, member.agent), group.seed,
                                 p.who(), group=group.who)
        return game_message(step, group.game_id, turn_based=bool(step.options.turn_based), you=member.agent,
                            agents=list(step.players), runtime="browser", boot=boot,
                            peer={**self.peers.view(group, p.id, self.grace),
                                  "hidden_limit_s": self.watching.hidden_limit(group.game_id)})

    async def _start_peer_game(self, name: str, step: GameStep, rep: int, group: list[Participant],
                               asking: Participant) -> PeerGroup:
        """Stores the game of ``group`` (its peers play it in their browsers) and sends every
        member but ``asking`` (who gets the view as an answer) the game view."""
        game_id = new_id()
        starting = self._starting[game_id] = asyncio.get_running_loop().create_future()
        for q in group:
            q.game = game_id
        try:
            who = [q.id for q in group]
            seed = self._game_seed(name, step, rep, who)
            humans = list(zip(step.humans, who))
            people = [q.who() for q in group]
            await self.leases.claim(game_id)
            peers = self.peers.create(game_id, name, step, rep, seed, humans, people,
                                      await env_facts(step, seed, people, game_id))
            self.watching.peer_game(peers)
            await self.storage.add_game({"game_id": game_id, "experiment": name, "step": step.name, "repetition": rep,
                                         "runtime": "browser", "seed": seed, "started_at": time.time(),
                                         "detail": {"step_runtime": step.runtime, "humans": who,
                                                    "peers": {m.handle: m.participant for m in peers.members.values()},
                                                    "host": peers.host}})
            owner = dict(humans)
            await self.storage.add_players([{"game_id": game_id, "agent": agent, "participant_id": owner.get(agent),
                                             "policy": None if agent in owner else policy}
                                            for agent, policy in step.players.items()])
            for q in group:
                await self.registry.move(q, q.index, game_id)
                await self.join(q.id, f"g:{game_id}")
        except BaseException:
            for q in group:
                q.game = None
            if self.peers is not None:
                self.peers.groups.pop(game_id, None)
            raise
        finally:
            self._starting.pop(game_id, None)
            starting.set_result(None)
        log.info("game %s: %s::%s started in the browsers of %s", game_id, name, step.name, ", ".join(who))
        self.game_hooks.started(game_id, name, step.name, "browser", dict(humans),
                                {a: policy for a, policy in step.players.items() if a not in owner})
        for q in group:
            if q is not asking:
                await self.listener.push(q)
        return peers

    async def peer_message(self, p: Participant, kind: str, data: Any, size: int = 0, page: str | None = None,
                           page_open: Callable[[str], bool] | None = None) -> dict | None:
        """A message of a browser game with several humans (``signal``, ``relay``, ``peer_ready``,
        ``peer_status``, ``peer_event``, ``rows``, ``game_over``, ``rejoin``, ``package``,
        ``loaded``, ``load_failed``); its acknowledgement (None for ``relay``, a datagram).
        ``page``: the sending connection; the last to send ``peer_ready`` or ``rejoin`` plays the
        game, and while it is open (``page_open``) another window's ``peer_status`` and
        ``peer_event`` are refused (an earlier tab, hidden, would end the game for everyone; its
        session's events are of a game replaced)."""
        if not isinstance(data, dict) or not isinstance(data.get("game"), str):
            return {"ok": False, "error": f"{kind} must be an object with the game's id"}
        owner = await self._elsewhere(data["game"])
        if owner is not None:  # the page that sent it is on this process: the owner cannot look at it
            return await self.remote.forward(owner, p, kind, data, page=page)
        return await self._peer_message(p, kind, data, size, page, page_open)

    async def _peer_message(self, p: Participant, kind: str, data: dict, size: int = 0, page: str | None = None,
                            page_open: Callable[[str], bool] | None = None) -> dict | None:
        group = self._peer_group(p, data["game"])
        if group is None or p.game != group.game_id or group.ending:
            return {"ok": False, "stale": True, "error": "you are not in that game (it is over, or not yours)"}
        member, peers = group.member_of(p.id), self.peers
        if member.away:  # a message of theirs: they are there (e.g. a game taken over from a dead process)
            peers.back(group, member)
        if kind in ("peer_status", "peer_event") and None not in (page, member.page) and page != member.page:
            if page_open is not None and page_open(member.page):
                return {"ok": False, "superseded": True, "error": "this game continues in another window or tab"}
            member.page = page  # the same page on a new connection (the old one dropped)
        try:
            if kind == "relay":
                return await peers.relay(group, member, data)
            handlers = {"signal": lambda: peers.signal(group, member, data, size),
                        "peer_ready": lambda: peers.ready(group, member, data),
                        "peer_status": lambda: peers.status(group, member, data),
                        "peer_event": lambda: peers.events(group, member, data),
                        "rows": lambda: peers.rows(group, member, data),
                        "game_over": lambda: peers.game_over(group, member),
                        "rejoin": lambda: peers.rejoin(group, member),
                        "package": lambda: peers.package(group, member, data),
                        "loaded": lambda: self._peer_loaded(p, group, kind, data),
                        "load_failed": lambda: self._peer_loaded(p, group, kind, data)}
            reply = await handlers[kind]()
            if kind in ("peer_ready", "rejoin") and reply.get("ok") and page is not None:
                member.page = page
            return reply
        except (PeerError, RowError) as exc:
            return {"ok": False, "error": str(exc)}

    async def _peer_loaded(self, p: Participant, group: PeerGroup, kind: str, data: dict) -> dict:
        """``loaded`` / ``load_failed`` of a peer: stored (within ``game_events``); a failure of
        the study's own code ends the game for everyone (``error``)."""
        member = group.member_of(p.id)
        if member.events >= self.browser.game_events:
            return {"ok": False, "limit": "game_events", "error": f"{kind} refused: limit game_events"}
        member.events += 1
        detail = {k: data.get(k) for k in ("stages", "bytes", "cached", "stage", "package", "reason") if k in data}
        if kind == "loaded":
            detail.update(_start_figures(data))
        else:
            detail["ref"] = new_ref()
            log.warning("participant %s, game %s: the browser runtime failed at %s (reference %s): %s", p.id,
                        group.game_id, data.get("stage"), detail["ref"], str(data.get("reason"))[:500])
        await self.listener.event(p, f"game_{kind}", {"game": group.game_id, "peer": member.handle, **detail})
        if kind == "load_failed" and data.get("stage") in STUDY_STAGES:
            await self.peers.finish(group, "error", "client_error", {"ref": detail["ref"], "stage": data.get("stage")})
            return {"ok": True, "ref": detail["ref"], "ended": True}
        return {"ok": True, **({"ref": detail["ref"]} if "ref" in detail else {})}

    async def _peer_game_over(self, group: PeerGroup, outcome: str, reason: str, summary: dict, detail: dict) -> None:
        """A browser game with several humans ended: stored (and verified, when it has rows), and
        its members moved on; after ``not_ready``, the ready ones go back to the waitroom."""
        game_id = group.game_id
        row = await self.storage.get_game(game_id) or {}
        columns = {"ended_at": time.time(), "outcome_reason": reason, "detail": {**(row.get("detail") or {}), **summary}}
        played = bool(group.last)
        counts = True
        if played and group.step.options.verify == "require":
            result = await self.browser.verifier.verify_game(self.storage, self.browser.paths, game_id, outcome)
            await verify_report(self.storage, game_id, result)
            columns.update(verification=result["verification"], verification_detail=result["detail"],
                           timing=result["timing"])
            counts = outcome == "completed" and result["verification"] == "verified"
        elif played:
            columns["verification"] = "pending"
        await self.storage.end_game(game_id, outcome, **columns)
        await self.game_hooks.ended(game_id, outcome, reason)
        if played and group.step.options.verify != "require":
            self.browser._background(game_id)
        await self.ended(game_id)
        for member in group.members.values():
            p = await self.registry.get(member.participant)
            if p is None:
                continue
            if member.participant == group.excluded:
                continue  # the flow ends the study for them
            if outcome == "not_ready":
                await self._not_ready(p, game_id, bool(detail.get("ready", {}).get(member.handle)))
            elif not counts and outcome != "excluded":  # a partner's exclusion cut it short: not theirs
                async with self.registry.transition(p):
                    if p.game == game_id:
                        await self.listener.not_counted(p, game_id)
                        await self.listener.push(p)
            else:
                await self.leave_game(p, game_id, outcome, {"peer": member.handle, **detail})

    async def _not_ready(self, p: Participant, game_id: str, ready: bool) -> None:
        """Not every peer of ``p``'s game was ready in time: ready, ``p`` waits for partners again
        (the waitroom); not ready, ``p`` moves on as after a waitroom timeout."""
        if not ready:
            await self.listener.waitroom_timed_out(p, game_id, {"ready": False})
            return
        async with self.registry.transition(p):
            if p.game != game_id:
                return
            await self.listener.event(p, "game_not_ready", {"game": game_id, "ready": True, "repooled": True})
            await self.registry.move(p, p.index)
            await self.listener.push(p)

    # -- games of a process that died (takeover.py) ------------------------------------------

    def running_games(self) -> set[str]:
        """The games this process runs now (on the server, starting, in browsers, between peers)."""
        running = set(self.games) | set(self._starting)
        if self.browser is not None:
            running |= set(self.browser.games) | self.browser.verifying
        if self.peers is not None:
            running |= set(self.peers.groups)
        return running

    async def ended(self, game_id: str) -> None:
        """Game ``game_id``'s end is stored: its lease is released — or kept while its rows are
        verified here, so that if this process dies meanwhile, whoever takes the lease over
        verifies them (:meth:`Takeover.adopt`)."""
        if self.browser is None or game_id not in self.browser.verifying:
            await self.leases.release(game_id)

    async def _verified(self, game_id: str, stored: bool) -> None:
        if game_id not in self.leases.held:
            return  # not leased here (a game a stopped study left unverified)
        if stored or not self.leases.expire:
            await self.leases.release(game_id)
        else:  # the storage failed: the lease lapses, and a sweep (here or elsewhere) verifies it again
            self.leases.forget(game_id)

    async def drop_game(self, game_id: str) -> None:
        """Stops game ``game_id`` here at once, storing nothing more of it and moving nobody: its
        lease was lost, and another process plays it on."""
        game = self.games.pop(game_id, None)
        if game is not None:
            game.on_end = None
            await game.stop("interrupted")
        if self.browser is not None and self.browser.games.pop(game_id, None) is not None:
            self.browser.back(game_id)  # its grace clock is the new owner's
        group = self.peers.groups.pop(game_id, None) if self.peers is not None else None
        if group is not None:
            for task in group.timers.values():
                task.cancel()
            group.timers.clear()
        self.leases.forget(game_id)

    async def _remote_game_view(self, p: Participant, step: GameStep, game_id: str) -> dict:
        """The view of ``p``'s server game that another process runs (its frames reach them there)."""
        agent = next((q["agent"] for q in await self.storage.players(game_id) if q.get("participant_id") == p.id),
                     None)
        await self.join(p.id, f"g:{game_id}")
        return game_message(step, game_id, turn_based=bool(step.options.turn_based), you=agent,
                            agents=list(step.players), runtime="server", screen=None)

    # -- waitrooms -------------------------------------------------------------------------

    async def _waitroom_news(self) -> None:
        for room, waiting in (await self.state.waiting()).items():
            for pid in waiting:
                if self.remote is not None and not self.sockets.get(pid):
                    continue  # connected to another process, which tells them (not every process)
                await self.emit("waitroom", await self.state.waitroom_status(room, pid), room=f"p:{pid}")

    async def _tick_waitrooms(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                for pid in await self.state.waitroom_timeouts():
                    p = await self.registry.get(pid)
                    if p is not None:
                        await self.listener.waitroom_timed_out(p)
                await self._waitroom_news()
            except SharedStateError as exc:  # Redis down: said once a second until it is back
                log.error("the waitroom clock waits for the shared state: %s", exc)
            except Exception:  # a failure here must not stop the clock of every other waitroom
                log.exception("the waitroom clock failed once; it goes on")


def _start_figures(data: dict) -> dict:
    """A ``loaded`` message's ``warm``, ``games`` and ``start_ms`` (protocol.py), as stored: a
    bool, and non-negative numbers or None (whatever else a page sends)."""
    def number(v: Any) -> float | None:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e12
        return v if ok else None

    return {"warm": data.get("warm") is True, "games": number(data.get("games")),
            "start_ms": number(data.get("start_ms"))}
