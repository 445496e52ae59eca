"""A bot's player for a browser game with several humans (a ``game`` view with a ``peer`` block).

It does what a participant's page and worker do, with the same Python: it builds the peer the
view describes (:func:`mugkit.browser.peer_game_from_spec`: the step, the seed, the group, its
handle) and plays it with :class:`mugkit.runtime.peer_game.PeerGame`, whose packets go through the
server's ``relay`` (a bot opens no data channel). Its steps: ``loaded``; after a reload
``rejoin`` and a package from every survivor; ``peer_ready`` (every path ``"relay"``); on
``peer_go`` the clock ticks at the step's fps, feeding ``keys`` from the checks' plan generator;
the confirmed rows and checksums go out every 250 ms as ``rows`` batches (acknowledged rows are
written into the bot's log for the audit), the session's events as ``peer_event``; a survivor
answers ``package_request`` with its :meth:`~mugkit.runtime.peer_game.PeerGame.rejoin_package`.
Once the game is finished and every batch acknowledged it sends ``game_over``, and ticks on
(the other peers may still need its acknowledgements) until the next view comes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ..runtime.values import from_json
from .audit import acknowledged
from .browser_runtime import BrowserRuntime

__all__ = ["PeerRuntime", "PEER_EVENTS"]

#: Server → page messages of a browser game with several humans that the player handles.
PEER_EVENTS = ("relay", "peer_go", "package_request", "package", "peer_left", "peer_notice", "peer_rejoining",
               "signal")


class PeerRuntime(BrowserRuntime):
    """Plays one peer of a browser game with several humans in the bot's process."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.peer = self.view["peer"]
        self.game_obj: Any = None
        self.go = asyncio.Event()
        self.packages: dict[str, bytes] = {}
        self.packages_in = asyncio.Event()
        self.left: list[str] = []
        self.relayed = 0

    def _open(self) -> Any:
        from ..browser import peer_game_from_spec

        if self.experiment is None:
            raise ValueError("the bot does not know this experiment, so it cannot run its browser game")
        return peer_game_from_spec(self.experiment, from_json(self.view["boot"]["spec"]), self.peer)

    async def on_peer(self, event: str, data: Any) -> None:
        """A peers' message from the server (:data:`PEER_EVENTS`)."""
        if not isinstance(data, dict) or data.get("game") != self.game:
            return
        game = self.game_obj
        if event == "relay" and game is not None:
            game.receive(data.get("from"), data.get("data"))
        elif event == "peer_go":
            self.go.set()
        elif event == "package":
            self.packages[data.get("from")] = data.get("data")
            self.packages_in.set()
        elif event == "package_request" and game is not None:
            package = game.rejoin_package(data.get("for"))
            await self.link.call("package", {"game": self.game, "for": data.get("for"), "data": package})
        elif event == "peer_left":
            self.left.append(data.get("peer"))
            if game is not None:
                game.drop_peer(data.get("peer"))
        self.progress()

    async def run(self) -> None:
        """Builds, readies, plays and ends the game; raises when the server refuses a message."""
        started = time.monotonic()
        game = await asyncio.to_thread(self._open)
        await self._acked("loaded", {"game": self.game, "stages": {"build": round((time.monotonic() - started) * 1000)},
                                     "bytes": 0, "cached": True})
        if self.resuming is not None:  # a reloaded page sends the batches it kept first
            kept, self.batch = self.resuming
            self.outbox.extend(kept)
            if self.outbox:
                self.sending = asyncio.get_running_loop().create_task(self._send())
        if self.peer.get("rejoin"):
            await self._rejoin(game)
        else:
            game.start()
        self.game_obj = game
        others = [h for h in self.peer["peers"] if h != self.peer["me"]]
        await self._acked("peer_ready", {"game": self.game, "paths": {h: "relay" for h in others}})
        await self.go.wait()
        self.progress()
        await self._play(game)
        self._queue(game.take_rows())
        while self.outbox:
            self._check_sender()
            await self._tick_once(game)
        self._check_sender()
        await self._acked("game_over", {"game": self.game})
        while True:  # the others may still need this peer's acknowledgements: tick until the next view
            await self._tick_once(game)

    async def _rejoin(self, game: Any) -> None:
        """After a reload: every survivor's package, then the re-simulation (its rows are sent
        again; the server keeps the copies it has)."""
        reply = await self._acked("rejoin", {"game": self.game})
        wanted = set(reply.get("from") or [])
        while not wanted <= set(self.packages):
            self.packages_in.clear()
            await asyncio.wait_for(self.packages_in.wait(), 30)
        game.rejoin([self.packages[h] for h in sorted(wanted)])
        self.log.resumed_at = game.position

    async def _tick_once(self, game: Any) -> None:
        await asyncio.sleep(1.0 / float(self.view.get("fps") or 30))
        game.tick(time.monotonic() * 1000.0, time.time(), 0.0)
        await self._flush(game)

    async def _tick(self, game: Any, late_ms: float) -> None:
        played = game.tick(time.monotonic() * 1000.0, time.time(), late_ms) is not None
        # A turn-based frame waits for a press: the plan moves on anyway (its next span presses).
        if played or game.driver.turn_based:
            self.tick_index += 1
        if played:
            self.progress()
        await self._flush(game)

    async def _between_batches(self, game: Any) -> None:
        events = game.take_events()
        if events is not None:
            await self._acked("peer_event", {"game": self.game, "events": json.loads(events)})

    async def _flush(self, game: Any) -> None:
        """Sends the session's packets through the server."""
        for to, data in game.take_packets():
            self.relayed += 1
            await self.emit("relay", {"game": self.game, "to": to, "data": data})

    async def _send(self) -> None:
        """Sends the oldest batch until none is left; acknowledged rows go into the bot's log."""
        while self.outbox:
            number, text = self.outbox[0]
            reply = await self._acked("rows", {"game": self.game, "batch": number, "rows": text})
            self.outbox.pop(0)
            # Rows a rejoined peer re-simulated (``predicted`` None) repeat what the server holds
            # mostly: it drops those, so they are not the bot's to audit.
            acknowledged(self.log, [r for r in from_json(text)["rows"] if r.get("predicted") is not None])
            self.progress()
            if reply.get("last") is None:
                raise ValueError(f"the rows acknowledgement has no 'last': {reply}")

    def stop(self) -> None:
        if self.sending is not None:
            self.sending.cancel()
        self.log.rows_unacked += sum(len(from_json(text)["rows"]) for _, text in self.outbox)
        self.outbox = []
