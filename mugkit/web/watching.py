"""The lobby's games under :mod:`mugkit.web.monitor`: what each runtime tells the monitor, and
what happens to a game when one of its humans is excluded.

- Server games: the idle clock runs while the game plays and waits for that human (not on its
  screens, not while it pauses for someone away; in a turn-based game only on their turn).
- Browser games (one human; several, over WebRTC): their rows tell the server that the game
  plays and which keys were held; a game with several humans and no ``monitor=`` keeps its
  ``hidden_seconds`` limit (the game ends ``hidden``) on the same clock.
- An excluded human's server game goes on with the step's ``takeover`` policy playing their
  agent when it has one (the partners get ``monitor_notice``; ``games.detail.takeovers`` records
  it), else it ends for everyone with outcome ``excluded`` (outcome reason: the reason key) and
  the partners move on, after a notice, with a ``game_excluded`` event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..games import build_ai
from .monitor import Monitors, Seat, partner_notice, peer_hidden_rule

if TYPE_CHECKING:
    from .browser.games import BrowserGame
    from .browser.peers import PeerGroup
    from .gameloop import ServerGame
    from .lobby import Lobby
    from .registry import Participant

__all__ = ["GameWatching"]

log = logging.getLogger("mugkit.monitor")


class GameWatching:
    """The monitor of one lobby's games (see the module's docstring)."""

    def __init__(self, lobby: "Lobby"):
        self.lobby = lobby
        self.monitors = Monitors(lobby.emit, self._exclude, self._store, self._connected)
        if lobby.browser is not None:
            lobby.browser.on_rows = self.monitors.rows
        if lobby.peers is not None:
            lobby.peers.on_rows = self.monitors.rows
            lobby.peers.on_hidden = self.monitors.hidden

    # -- what the monitor asks of the study --------------------------------------------------

    async def _exclude(self, pid: str, reason: str, text: str, detail: dict) -> None:
        p = await self.lobby.registry.get(pid)
        if p is not None and p.game == detail.get("game"):
            await self.lobby.listener.exclude(p, reason, text, detail=detail)

    async def _store(self, pid: str, step: str, repetition: int, kind: str, detail: dict) -> None:
        await self.lobby.storage.add_event(pid, step, kind, detail, repetition=repetition)

    def _connected(self, pid: str) -> bool:
        remote = self.lobby.remote
        return self.lobby.sockets.get(pid, 0) > 0 or (remote is not None and remote.connected_elsewhere(pid))

    # -- games in --------------------------------------------------------------------------

    def server_game(self, game: "ServerGame", step: Any, rep: int) -> None:
        """Watches a server game whose step has ``monitor=``."""
        rule = step.options.monitor
        if rule is None or not game.humans:
            return
        turn_based = game.driver.turn_based

        def playing(seat: Seat) -> bool:
            if game.screen is not None or game.absent or game.outcome is not None or game.driver.episode < 0:
                return False
            return not turn_based or seat.agent in game.driver.waiting_for

        self.monitors.watch(game.game_id, step, rep, game.humans, rule, playing=playing,
                            alive=lambda: self.lobby.games.get(game.game_id) is game)

    def browser_game(self, game: "BrowserGame", rep: int) -> None:
        """Watches a single-player browser game whose step has ``monitor=``."""
        rule = game.step.options.monitor
        if rule is not None:
            self.monitors.watch(game.game_id, game.step, rep, {game.agent: game.participant}, rule,
                                playing=lambda seat: seat.playing,
                                alive=lambda: self.lobby.browser.games.get(game.game_id) is game)

    def peer_game(self, group: "PeerGroup") -> None:
        """Watches a browser game with several humans: its step's ``monitor=``, or the
        ``hidden_seconds`` limit alone (a hidden tab ends the game ``hidden``)."""
        peers = self.lobby.peers
        rule = group.step.options.monitor
        humans = {m.agent: m.participant for m in group.members.values()}
        alive = lambda: peers.groups.get(group.game_id) is group  # noqa: E731
        if rule is not None:
            self.monitors.watch(group.game_id, group.step, group.repetition, humans, rule,
                                playing=lambda seat: seat.playing, alive=alive)
            return

        async def hidden_too_long(seat: Seat, reason: str) -> None:
            member = group.member_of(seat.pid)
            await peers.finish(group, "hidden", "hidden_limit", {"peer": member.handle})

        self.monitors.watch(group.game_id, group.step, group.repetition, humans, peer_hidden_rule(peers.hidden_seconds),
                            playing=lambda seat: False, alive=alive, heartbeats=False, warn=False,
                            on_limit=hidden_too_long)

    def hidden_limit(self, game_id: str) -> float | None:
        """The hidden-tab limit of a watched game, in seconds (None: not watched, or none)."""
        watch = self.monitors.watches.get(game_id)
        return watch.rule.hidden_seconds if watch is not None else None

    # -- an excluded human -----------------------------------------------------------------

    async def server_player_excluded(self, game: "ServerGame", p: "Participant", reason: str) -> None:
        """``p`` (inside their transition) is excluded from server game ``game``: a policy takes
        their agent over when the step says so and partners remain; else the game ends."""
        agent = next((a for a, who in game.humans.items() if who == p.id), None)
        game.excluded[p.id] = {"agent": agent, "reason": reason}
        self.monitors.release(game.game_id, p.id)
        if game.outcome is not None:  # ending already: its own end moves the partners on
            return
        step = self.lobby.experiments[p.experiment].step(p.flow[p.index][0])
        policy = getattr(step.options.monitor, "takeover", None)
        if policy is not None and agent is not None and len(game.humans) > 1 and await self._take_over(
                game, step, p, agent, policy, reason):
            return
        await game.stop("excluded")

    async def _take_over(self, game: "ServerGame", step: Any, p: "Participant", agent: Any, policy: str,
                         reason: str) -> bool:
        try:
            ai = await asyncio.to_thread(build_ai, step, self.lobby.experiments[p.experiment].policies, agent, policy)
        except Exception:
            log.exception("game %s: policy %r could not take over %r; the game ends", game.game_id, policy, agent)
            return False
        # Looked at again after the wait: a partner excluded meanwhile may have left nobody to play with.
        if game.outcome is not None or agent not in game.humans or len(game.humans) < 2:
            return False
        driver = game.driver
        game.take_over(agent, ai)
        game.takeovers[str(agent)] = {"participant": p.id, "policy": policy, "reason": reason,
                                      "episode": driver.episode, "frame": getattr(driver.frame, "index", None),
                                      "at": time.time()}
        log.info("game %s: policy %s plays %r for excluded participant %s", game.game_id, policy, agent, p.id)
        notice = partner_notice(takeover=True)
        for other in list(game.humans.values()):  # (a partner's exclusion may change it meanwhile)
            q = await self.lobby.registry.get(other)
            if q is not None:
                await self.lobby.listener.event(q, "partner_excluded", {"game": game.game_id, "agent": agent,
                                                                        "reason": reason, "takeover": policy})
            await self.lobby.emit("monitor_notice", {"game": game.game_id, "agent": agent, **notice},
                                  room=f"p:{other}")
        return True
