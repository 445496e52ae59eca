"""This server process among the study's processes: its id, its inbox, requests to the others.

Every server process has an id (:data:`PROCESS_ID`: host, pid and a few random bytes, so a
restarted process with a recycled pid is another process). The shared state
(:class:`~mugkit.web.shared.SharedState`) carries plain messages between processes
(``send``/``broadcast``/``inbox``); :class:`Cluster` adds what the server needs on top:

- ``tell(process, kind, message)`` and ``tell_all``: a message, no reply (a participant's sockets
  into a room, wherever they are connected);
- ``request(process, kind, message)``: a message and the handler's reply (a browser game's rows
  landing on a process that does not own the game are acknowledged only once its owner stored
  them);
- a heartbeat every second with this process's figures (:meth:`SharedState.heartbeat`), which the
  one admin view aggregates (``state.processes()``).

Bytes in a message (a peer's relayed packet) travel as base64 and come back as bytes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import socket
import time
from typing import Any, Awaitable, Callable

from .shared import SharedState

__all__ = ["PROCESS_ID", "Cluster", "ClusterError", "HEARTBEAT_SECONDS"]

log = logging.getLogger("mugkit.cluster")

#: This server process, as an owner of games and a receiver of messages.
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
#: Seconds between two heartbeats; a process silent for three of them is taken for dead.
HEARTBEAT_SECONDS = 1.0

Handler = Callable[[dict], Awaitable[dict | None]]


class ClusterError(RuntimeError):
    """A request to another process got no reply in time (it died, or is overloaded)."""


#: The keys of the one-key objects that mean something in a message between processes.
_MARKERS = ("$b64", "$obj")


def encode(value: Any) -> Any:
    """``value`` with every ``bytes`` replaced by ``{"$b64": ...}`` (messages are JSON). An object
    of the page's own with one of those markers as its only key is wrapped in ``{"$obj": ...}``,
    so that it arrives as it was sent (a participant's ``{"$b64": ...}`` is no bytes)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        encoded = {k: encode(v) for k, v in value.items()}
        return {"$obj": encoded} if len(value) == 1 and next(iter(value)) in _MARKERS else encoded
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if len(value) == 1 and "$b64" in value:
            return base64.b64decode(value["$b64"])
        if len(value) == 1 and isinstance(value.get("$obj"), dict):
            return {k: decode(v) for k, v in value["$obj"].items()}
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Cluster:
    """This process among the study's processes: its id, its inbox, requests to other processes.

    Args:
        state: the shared state that carries the messages.
        process_id: this process's id.
        info: ``() -> dict``: this process's figures, sent with every heartbeat.
    """

    def __init__(self, state: SharedState, process_id: str = PROCESS_ID,
                 info: Callable[[], Awaitable[dict] | dict] | None = None):
        self.state = state
        self.id = process_id
        self.info = info
        self._handlers: dict[str, Handler] = {}
        self._waiting: dict[str, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []
        self.started_at = time.time()
        #: The processes alive at the last heartbeat (this one included).
        self.alive_ids: set[str] = {process_id}

    async def start(self) -> None:
        """Listens to this process's inbox and heartbeats every :data:`HEARTBEAT_SECONDS`. Returns
        once it listens: a note to itself has come back, so the broadcasts sent from now on reach
        it (an inbox hears the broadcasts sent after it started reading)."""
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._heartbeats())]
        await self.state.send(self.id, {"hello": True})
        await asyncio.wait_for(asyncio.shield(self._hello), 30)
        await self._beat()  # alive before the first connection lands here

    async def close(self) -> None:
        """Stops listening and beating (a request still waiting fails with :class:`ClusterError`)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # a read blocked in the shared state's client may take a moment to let go
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks = []
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(ClusterError("this server process is stopping"))

    def on(self, kind: str, handler: Handler) -> None:
        """``handler(message)`` answers messages of ``kind``: its result (a dict) is the reply to a
        request (None: an empty reply)."""
        self._handlers[kind] = handler

    async def request(self, process: str, kind: str, message: dict, timeout: float = 5.0) -> dict:
        """Sends ``message`` to ``process``'s ``kind`` handler and returns its reply.

        Raises:
            ClusterError: no reply within ``timeout`` seconds, or the handler failed there.
        """
        if process == self.id:  # no detour through the shared state
            return await self._answer(kind, message) or {}
        request_id = secrets.token_hex(8)
        reply = self._waiting[request_id] = asyncio.get_running_loop().create_future()
        try:
            await self.state.send(process, {"kind": kind, "from": self.id, "request": request_id,
                                            "body": encode(message)})
            return await asyncio.wait_for(reply, timeout)
        except asyncio.TimeoutError:
            raise ClusterError(f"server process {process} did not answer {kind} within {timeout:g} s") from None
        finally:
            self._waiting.pop(request_id, None)

    async def tell(self, process: str, kind: str, message: dict) -> None:
        """Sends ``message`` to ``process``'s ``kind`` handler; no reply."""
        if process == self.id:
            await self._answer(kind, message)
            return
        await self.state.send(process, {"kind": kind, "from": self.id, "body": encode(message)})

    async def tell_all(self, kind: str, message: dict) -> None:
        """Sends ``message`` to the ``kind`` handler of every process, this one's included."""
        await self.state.broadcast({"kind": kind, "from": self.id, "body": encode(message)})

    async def alive(self) -> dict[str, dict]:
        """The study's processes alive now → their last heartbeat's figures."""
        return await self.state.processes()

    # -- inside ------------------------------------------------------------------------------

    async def _answer(self, kind: str, message: dict) -> dict | None:
        handler = self._handlers.get(kind)
        if handler is None:
            raise ClusterError(f"this server process has no handler for {kind!r} messages")
        return await handler(message)

    async def _listen(self) -> None:
        while True:
            try:
                async for envelope in self.state.inbox(self.id):
                    self._dispatch(envelope)
            except asyncio.CancelledError:
                raise
            except Exception:  # the shared state dropped (a Redis restart): listen again
                log.exception("the inbox of %s failed; listening again in a second", self.id)
                await asyncio.sleep(1.0)

    def _dispatch(self, envelope: dict) -> None:
        if envelope.get("hello"):
            if not self._hello.done():
                self._hello.set_result(None)
            return
        if "reply" in envelope:
            waiting = self._waiting.get(envelope["reply"])
            if waiting is not None and not waiting.done():
                if envelope.get("error"):
                    waiting.set_exception(ClusterError(envelope["error"]))
                else:
                    waiting.set_result(decode(envelope.get("body")) or {})
            return
        # Each message is handled in its own task, in arrival order of their starts: a slow
        # handler (a transition waiting for its lock) holds nobody else's message.
        asyncio.get_running_loop().create_task(self._handle(envelope))

    async def _handle(self, envelope: dict) -> None:
        request_id, sender = envelope.get("request"), envelope.get("from")
        try:
            body = await self._answer(envelope.get("kind", ""), decode(envelope.get("body") or {}))
            error = None
        except Exception as exc:
            if request_id is None:
                log.exception("a %s message from %s failed here", envelope.get("kind"), sender)
            body, error = None, f"{type(exc).__name__}: {exc}"
        if request_id is not None and sender:
            try:
                await self.state.send(sender, {"reply": request_id, "body": encode(body or {}), "error": error})
            except Exception:
                log.exception("the reply to %s's %s could not be sent", sender, envelope.get("kind"))

    async def _beat(self) -> None:
        info = self.info() if self.info is not None else {}
        if asyncio.iscoroutine(info):
            info = await info
        await self.state.heartbeat(self.id, {"started_at": self.started_at, **(info or {})},
                                   ttl=3 * HEARTBEAT_SECONDS)
        self.alive_ids = set(await self.state.processes()) | {self.id}

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # a missed beat is logged; the next one may get through
                log.exception("heartbeat of %s failed", self.id)
