"""Pausing the study while its storage cannot write (a full disk), and going on once it can.

The storage never fails or forgets a write because the disk is full: its writes wait and are
retried (mugkit/web/storage/writer.py), and :attr:`~mugkit.web.storage.Storage.failure` says why.
Participants must not sit in front of a frozen game meanwhile. So, while the storage reports a
failure, :class:`StoragePause`:

- logs why (an error line) and sets the flow's ``paused``, which the admin page shows and which
  makes every participant's view the ``paused`` view (no new game or step starts);
- ends every server game with the outcome ``"storage_failed"`` (stored once the disk takes writes
  again; its players then go on to their next step) and sends its players the ``paused`` view;
- sends the ``paused`` view to everyone else connected, except players of a game in their own
  browser: it goes on there and keeps its rows until the server acknowledges them ("saving…").

Once the storage writes again, everyone told is sent their step again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .views import paused_view

__all__ = ["StoragePause", "STORAGE_FAILED", "CHECK_SECONDS"]

log = logging.getLogger("mugkit.serve")

#: The outcome of a game ended because its rows could not be stored.
STORAGE_FAILED = "storage_failed"
#: Seconds between two looks at the storage's health.
CHECK_SECONDS = 0.5


class StoragePause:
    """Watches ``study.storage.failure`` and pauses / resumes ``study`` (see the module docstring)."""

    def __init__(self, study: Any):
        self.study = study
        self.told: set[str] = set()   # participants sent the paused view
        self.ending: set = set()      # tasks ending games (they wait for the disk)

    async def run(self) -> None:
        """Watches until cancelled."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            failure = self.study.storage.failure
            if failure is not None and self.study.paused is None:
                await self.pause(failure)
            elif failure is None and self.study.paused == "storage":
                await self.resume()

    async def pause(self, failure: str) -> None:
        study = self.study
        study.flow.paused = "storage"
        log.error("the study is paused: the storage cannot write (%s). Free disk space (or fix the disk, or bring "
                  "the PostgreSQL database back); the study goes on by itself once writes succeed, and no "
                  "acknowledged data are lost", failure)
        for game in list(study.games.values()):
            # Its end waits for the disk (its rows and its outcome are stored first): not awaited here.
            task = asyncio.get_running_loop().create_task(game.stop(STORAGE_FAILED))
            self.ending.add(task)
            task.add_done_callback(self.ending.discard)
        in_browser = set(getattr(study.browser, "games", {}) or {})
        for pid, sockets in list(study.lobby.sockets.items()):
            p = await study.participant(pid)
            if sockets > 0 and p is not None and p.game not in in_browser:
                self.told.add(pid)
                # Not through a transition: one may be waiting for the disk. Paused, the view is this.
                await study.flow.emit("view", paused_view("storage"), room=f"p:{pid}")

    async def resume(self) -> None:
        study = self.study
        if self.ending:  # the games' rows and outcomes first: their ends move their players on
            await asyncio.gather(*self.ending, return_exceptions=True)
        study.flow.paused = None
        log.warning("the storage writes again: the study goes on")
        told, self.told = self.told, set()
        for pid in told:
            p = await study.participant(pid)
            if p is not None and study.lobby.sockets.get(pid, 0) > 0:
                await self._push(p)

    async def _push(self, p: Any) -> None:
        async with self.study.registry.transition(p):  # one change of a participant at a time
            await self.study.flow.push(p)
