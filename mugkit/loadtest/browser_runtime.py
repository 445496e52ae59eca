"""A bot's player for a game that runs in the participant's browser (``runtime="browser"``).

It does what the browser runtime does (mugkit/web/static/client/runtime/), with the same Python:
it builds the game the ``boot``'s spec describes (experiment step, game id, seed, agent,
participant) with :func:`mugkit.games.build_game` and wraps its frame driver in
:class:`mugkit.runtime.browser_game.BrowserGame`, the object the browser's worker calls inside
Pyodide. Its clock ticks at the step's fps on absolute deadlines, feeding ``keys`` from the checks'
plan generator; every 250 ms the rows played so far go out as a ``rows`` batch, one batch at a
time and in order, and each batch the server acknowledges (after commit) is written into the
bot's log as row digests for the audit. Once every episode is played and every batch
acknowledged, it sends ``game_over``; the server then sends the next view.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..checks.inputs import sample_plan
from .presence import lively
from ..runtime.values import from_json
from .audit import acknowledged
from .players import PLAN_FRAMES, Player, Untried

__all__ = ["BrowserRuntime", "ROWS_EVERY"]

#: Seconds between two ``rows`` batches (the browser worker's ROWS_EVERY_MS).
ROWS_EVERY = 0.25


class BrowserRuntime(Player):
    """Plays a browser-runtime game in the bot's process and sends its rows as a browser would."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.outbox: list = []          # batches not yet acknowledged: (number, text)
        self.batch = 0
        self.sending: asyncio.Task | None = None
        self.plan = lively(sample_plan(self.step, PLAN_FRAMES, self.rng), self.view)
        self.tick_index = 0
        self.untried = Untried(self.step, self.rng)

    def carry(self) -> Any:
        """The batches not yet acknowledged and the next batch number: a browser keeps them in
        ``localStorage`` over a reload."""
        kept, self.outbox = self.outbox, []
        return kept, self.batch

    def stop(self) -> None:
        """Batches never acknowledged are counted (not lost: the server never said it kept them)."""
        if self.sending is not None:
            self.sending.cancel()
        self.log.rows_unacked += sum(len(from_json(text)) for _, text in self.outbox)
        self.outbox = []

    def _open(self) -> Any:
        """The game the boot describes, built as the browser builds it (mugkit.browser.open_game)."""
        from ..browser import game_from_spec

        if self.experiment is None:
            raise ValueError("the bot does not know this experiment, so it cannot run its browser game")
        return game_from_spec(self.experiment, from_json(self.view["boot"]["spec"]))

    async def run(self) -> None:
        """Builds, plays and ends the game; raises when the server refuses a message."""
        started = time.monotonic()
        game = await asyncio.to_thread(self._open)
        await self._acked("loaded", {"game": self.game, "stages": {"build": round((time.monotonic() - started) * 1000)},
                                     "bytes": 0, "cached": True})
        if self.resuming is not None:
            await self._resume(game)
        else:
            game.start()
        self.progress()
        await self._play(game)
        self._queue(game.take_rows())
        while self.outbox:
            self._check_sender()
            await asyncio.sleep(0.05)
        self._check_sender()
        self.finishing = True
        await self._acked("game_over", {"game": self.game})

    async def _resume(self, game: Any) -> None:
        """After a reload, as the browser does: the kept batches first, then the server's record of
        the episode, re-simulated frame by frame (its rows are not sent again)."""
        kept, self.batch = self.resuming
        for number, text in kept:
            self.outbox.append((number, text))
        if self.outbox:
            self.sending = asyncio.get_running_loop().create_task(self._send())
        while self.outbox:
            self._check_sender()
            await asyncio.sleep(0.05)
        reply = await self._acked("resume", {"game": self.game})
        if reply.get("record") is None:
            game.start()
            return
        game.resume(reply["record"])
        while game.replaying:
            game.replay_step()
        self.log.resumed_at = game.position

    def _check_sender(self) -> None:
        """Raises what ended the sending task (a refused batch, no acknowledgement)."""
        if self.sending is not None and self.sending.done() and not self.sending.cancelled():
            if self.sending.exception() is not None:
                raise self.sending.exception()

    async def _play(self, game: Any) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / float(self.view.get("fps") or 30)
        deadline = loop.time() + period
        rows_at = loop.time()
        while not game.finished:
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            late = loop.time() - deadline
            # As the browser's worker: absolute deadlines; after a long stall, count again from now.
            deadline = deadline + period if late < 5 * period else loop.time() + period
            self._press(game)
            await self._tick(game, max(0.0, late * 1000.0))
            if loop.time() - rows_at >= ROWS_EVERY:
                rows_at = loop.time()
                self._check_sender()
                self._queue(game.take_rows())
                await self._between_batches(game)

    async def _tick(self, game: Any, late_ms: float) -> None:
        """Plays one frame, as the worker does."""
        played = game.tick(time.time(), late_ms) is not None
        # A turn-based game waits: the plan moves on anyway, so a press the action mask
        # forbids (or a plan span of no key) is followed by another, as the server game's
        # Turns bot does, instead of the same press for ever.
        if played or game.driver.turn_based:
            self.tick_index += 1
        if played:
            self.untried.played()
            self.progress()

    async def _between_batches(self, game: Any) -> None:
        """What else the page sends with each batch of rows (nothing here)."""

    def _press(self, game: Any) -> None:
        """What the page would pass to the worker: held keys on change (a press on a turn)."""
        if self.tick_index >= len(self.plan):
            self.plan, self.tick_index = sample_plan(self.step, PLAN_FRAMES, self.rng), 0
        held = self.plan.held(self.you, self.tick_index)
        # The driver knows (an AEC env is always turn-based; the view says only the step's option).
        if game.driver.turn_based:
            # The plan paces the presses; which keys is drawn from those not yet refused this turn.
            if self.you in getattr(game.driver, "waiting_for", ()) and held:
                keys = list(self.untried.draw())
                game.key_message(self.seq, [], keys, keys, time.time() * 1000.0)
                self.seq += 1
            return
        change = self.hold(held)
        if change is not None:
            down, up = change
            game.key_message(self.seq, list(held), list(down), list(up), time.time() * 1000.0)
            self.seq += 1

    def _queue(self, text: str | None) -> None:
        if text is None:
            return
        self.outbox.append((self.batch, text))
        self.batch += 1
        if self.sending is None or self.sending.done():
            self.sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        """Sends the oldest batch until none is left; an acknowledged batch's rows go into the log."""
        while self.outbox:
            number, text = self.outbox[0]
            reply = await self._acked("rows", {"game": self.game, "batch": number, "rows": text})
            self.outbox.pop(0)
            acknowledged(self.log, from_json(text))
            self.progress()
            if reply.get("last") is None:
                raise ValueError(f"the rows acknowledgement has no 'last': {reply}")

    async def _acked(self, event: str, data: dict) -> dict:
        reply = await self.link.call(event, data)  # (a "try again" answer is sent again by the bot)
        if not reply.get("ok"):
            raise ValueError(f"the server refused {event}: {reply.get('error')}")
        return reply
