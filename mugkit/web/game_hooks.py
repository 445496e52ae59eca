"""The plugins' game hooks, ``mugkit_game_started`` and ``mugkit_game_ended``
(mugkit/web/plugins.py): called by the lobby once per game, for games on the server, in one
participant's browser and between peers (several humans' browsers).

``game`` is a plain dict: ``game_id``, ``experiment``, ``step``, ``runtime`` (``"server"`` or
``"browser"``, as stored in ``games.runtime``), ``humans`` (how many people play) and ``players``
(agent → participant id, or the policy's name). ``mugkit_game_ended`` is called by the process that
stores the outcome, after it is stored, with ``outcome`` and ``reason`` (``games.outcome`` and
``games.outcome_reason``); its ``game`` is read back from storage, so a game another process
started (a takeover) or one that went on across a restart is described the same way. A game whose
outcome is written by the next start (``interrupted``: a server game cut by a crash of the whole
study, a game between peers cut by any stop) gets no ``mugkit_game_ended``.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["GameHooks", "game_info"]

log = logging.getLogger("mugkit.plugins")


def game_info(game_id: str, experiment: str, step: str, runtime: str, players: dict, humans: int) -> dict:
    """A game as the hooks get it (see the module's docstring); agents as text."""
    players = {a if isinstance(a, str) else str(a): who for a, who in players.items()}
    return {"game_id": game_id, "experiment": experiment, "step": step, "runtime": runtime, "humans": humans,
            "players": players}


class GameHooks:
    """Calls the game hooks of the registry's plugins (``registry.hook``).

    Args:
        registry: the study's registry (its ``plugins`` and ``storage``).
    """

    def __init__(self, registry: Any):
        self.registry = registry

    def _wanted(self, hook: str) -> bool:
        plugins = self.registry.plugins
        return plugins is not None and bool(getattr(plugins.manager.hook, hook).get_hookimpls())

    def started(self, game_id: str, experiment: str, step: str, runtime: str, humans: dict, policies: dict) -> None:
        """Game ``game_id`` started: ``humans`` agent → participant id, ``policies`` agent → policy."""
        if not self._wanted("mugkit_game_started"):
            return
        game = game_info(game_id, experiment, step, runtime, {**policies, **humans}, len(humans))
        self.registry.hook("mugkit_game_started", game=game)

    async def ended(self, game_id: str, outcome: str, reason: str | None) -> None:
        """Game ``game_id`` ended with ``outcome`` (stored already)."""
        if not self._wanted("mugkit_game_ended"):
            return  # no plugin listens: nothing to read back
        storage = self.registry.storage
        try:
            row = await storage.get_game(game_id) or {}
            players = await storage.players(game_id)
        except Exception:  # the game's end is stored: its players must move on, hook or not
            log.exception("game %s: its mugkit_game_ended hook is not called: the game could not be read back",
                          game_id)
            return
        game = game_info(game_id, row.get("experiment"), row.get("step"), row.get("runtime"),
                         {q["agent"]: q.get("participant_id") or q.get("policy") for q in players},
                         sum(1 for q in players if q.get("participant_id")))
        self.registry.hook("mugkit_game_ended", game=game, outcome=outcome, reason=reason)
