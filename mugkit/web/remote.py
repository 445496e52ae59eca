"""Messages for games that another server process owns.

With several server processes (``mugkit serve --workers N``, or several machines on one Redis), a
participant's socket lands on any process, but each game lives in one: the process holding its
lease (``state.game_owner``). A message for a game — a server game's ``keys`` and ``ready``, a
browser game's rows and news, a peer game's messages — that arrives at another process is
forwarded to the owner (:meth:`Cluster.request`), and the owner's reply is the answer the page
gets. So is the view of a participant whose game runs elsewhere (a reload that lands on another
process), and their presence: the owner pauses a game, or starts its grace clock, only when the
participant has no socket open on *any* process.

A game nobody holds (a browser game left open by a stopped server) is claimed by the process its
next message reaches, which then reads it afresh from storage.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from .cluster import Cluster, ClusterError
from .lobby import GameOver
from .registry import Participant

if TYPE_CHECKING:
    from .lobby import Lobby

__all__ = ["RemoteGames"]

log = logging.getLogger("mugkit.remote")

#: Seconds a looked-up owner of a game is remembered (keys arrive 30 times a second).
OWNER_CACHE_SECONDS = 1.0
#: Seconds a forwarded message waits for the owner's answer.
FORWARD_TIMEOUT = 10.0
#: What a game id can be (``entry.new_id``: 12 URL-safe characters; some room to spare). A message
#: naming anything else is no game's: it is answered here, never looked up in the shared state
#: (the participant's string would be a Redis key, a claim and a database read per message).
GAME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RemoteGames:
    """Forwards the messages of games owned elsewhere, and answers those forwarded here.

    Args:
        lobby: this process's lobby (its games, and the local handling of their messages).
        cluster: this process among the study's processes.
    """

    def __init__(self, lobby: "Lobby", cluster: Cluster):
        self.lobby = lobby
        self.cluster = cluster
        self._owners: dict[str, tuple[float, str | None]] = {}
        #: participant id -> process -> (sequence, sockets open there), for games owned here.
        self.presence: dict[str, dict[str, tuple[int, int]]] = {}
        self._sequence = 0
        #: Messages forwarded to other processes and answered here for them, by kind (the admin's figures).
        self.forwarded: dict[str, int] = {}
        self.answered: dict[str, int] = {}
        cluster.on("game", self._on_message)
        cluster.on("game_view", self._on_view)
        cluster.on("presence", self._on_presence)

    @property
    def me(self) -> str:
        return self.cluster.id

    # -- where a game is ---------------------------------------------------------------------

    def _held_here(self, game_id: str) -> bool:
        lobby = self.lobby
        return game_id in lobby.games or game_id in lobby._starting or (
            lobby.peers is not None and game_id in lobby.peers.groups)

    async def elsewhere(self, game_id: str | None) -> str | None:
        """The other live process that owns ``game_id``, or None: it is this process's (a game
        nobody holds is claimed here, and read afresh from storage)."""
        if not isinstance(game_id, str) or not GAME_ID.fullmatch(game_id) or self._held_here(game_id):
            return None
        cached = self._owners.get(game_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < OWNER_CACHE_SECONDS:
            owner = cached[1]
        else:
            owner = await self.lobby.state.game_owner(game_id)
            if len(self._owners) > 10_000:
                self._owners.clear()
            self._owners[game_id] = (now, owner)
        if owner is None:
            # Nobody alive holds it (its process died): taken over here, unless another process
            # was first (mugkit/web/takeover.py reads it afresh from storage).
            await self.lobby.takeover.adopt(game_id)
            owner = await self.lobby.state.game_owner(game_id)
            self._owners[game_id] = (now, owner)
        return owner if owner not in (None, self.me) else None

    # -- this process asks -------------------------------------------------------------------

    async def forward(self, owner: str, p: Participant, kind: str, data: Any, page: str | None = None) -> dict | None:
        """``p``'s message ``kind`` for a game ``owner`` runs; the owner's answer."""
        self.forwarded[kind] = self.forwarded.get(kind, 0) + 1
        try:
            reply = await self.cluster.request(owner, "game", {"pid": p.id, "kind": kind, "data": data, "page": page},
                                               timeout=FORWARD_TIMEOUT)
        except ClusterError as exc:
            self._owners.pop(data.get("game") if isinstance(data, dict) else None, None)
            log.warning("participant %s: %s for a game on %s: %s", p.id, kind, owner, exc)
            # Not stale: the page keeps its rows and sends them again (to the game's next owner).
            return {"ok": False, "retry": True,
                    "error": "the server process running this game did not answer: trying again"}
        return reply.get("reply")

    async def view(self, owner: str, p: Participant) -> dict | None:
        """The game view of ``p`` from the process running their game (and its current frame, kept
        for :meth:`snapshot`); None when that process no longer has the game."""
        try:
            reply = await self.cluster.request(owner, "game_view", {"pid": p.id, "game": p.game},
                                               timeout=FORWARD_TIMEOUT)
        except ClusterError as exc:
            log.warning("participant %s: their game %s on %s: %s", p.id, p.game, owner, exc)
            return None
        return reply.get("view")

    def tell_presence(self, p: Participant, sockets: int) -> None:
        """``p`` has ``sockets`` open on this process: their game's owner, elsewhere, is told
        (in the background; the sequence number keeps a late message from undoing a newer one)."""
        if not p.game:
            return
        self._sequence += 1
        message = {"pid": p.id, "game": p.game, "process": self.me, "sequence": self._sequence, "sockets": sockets}
        asyncio.get_running_loop().create_task(self._tell_presence(message))

    async def _tell_presence(self, message: dict) -> None:
        try:
            owner = await self.elsewhere(message["game"])
            if owner is not None:
                await self.cluster.tell(owner, "presence", message)
        except Exception:
            log.exception("the presence of participant %s could not be told", message["pid"])

    def connected_elsewhere(self, pid: str) -> bool:
        """Whether participant ``pid`` has a socket open on another process (as its owner was told)."""
        seen = self.presence.get(pid, {})
        # A process that died told nobody its sockets closed: only the living count.
        return any(sockets > 0 for process, (_, sockets) in seen.items()
                   if process != self.me and process in self.cluster.alive_ids)

    # -- this process answers ------------------------------------------------------------------

    async def participant(self, pid: str, game_id: Any) -> Participant | None:
        """Participant ``pid`` as this process holds them, read again from storage when the copy
        here is not in ``game_id`` (another process moved them since)."""
        lobby = self.lobby
        p = await lobby.registry.get(pid)
        if p is not None and p.game != game_id:
            row = await lobby.storage.get_participant(pid)
            # Only a later change than this copy's (another process's, even one killed before it
            # could tell the others): this copy may hold a move made here and not committed yet.
            if row is not None and p.newer(row):
                vars(p).update(vars(Participant.from_row(row)), screens=p.screens)
        return p

    async def _on_message(self, message: dict) -> dict:
        data = message.get("data")
        p = await self.participant(message["pid"], data.get("game") if isinstance(data, dict) else None)
        if p is None:
            return {"reply": {"ok": False, "stale": True, "error": "you are not in that game (it is over, or not yours)"}}
        self.answered[message["kind"]] = self.answered.get(message["kind"], 0) + 1
        return {"reply": await self.lobby.local_message(p, message["kind"], data, message.get("page"))}

    async def _on_view(self, message: dict) -> dict:
        p = await self.participant(message["pid"], message["game"])
        if p is None or p.game != message["game"] or not await self.lobby.game_alive(p):
            return {"view": None}
        here = self.lobby.listener.step_of(p)
        if here is None:
            return {"view": None}
        try:
            view = await self.lobby.game_view(p, *here)
        except GameOver:  # it ended just now: the asking process moves them on
            return {"view": None}
        snapshot = self.lobby.snapshot(message["game"])
        return {"view": {**view, "snapshot": snapshot} if snapshot is not None else view}

    async def _on_presence(self, message: dict) -> None:
        pid, process = message["pid"], message["process"]
        seen = self.presence.setdefault(pid, {})
        if seen.get(process, (-1, 0))[0] >= message["sequence"]:
            return None  # an older message arriving after a newer one
        seen[process] = (message["sequence"], message["sockets"])
        p = await self.participant(pid, message["game"])
        if p is None or p.game != message["game"]:
            return None
        if message["sockets"] > 0:
            self.lobby.present(p)
        elif not self.connected_elsewhere(pid) and self.lobby.sockets.get(pid, 0) == 0:
            await self.lobby.absent(p)
        return None
