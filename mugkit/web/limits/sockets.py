"""Limits on the socket.io connection: which pages may open it (Origin), and how much one
connection may send (messages and bytes per second, nesting depth), checked on the raw message
before python-socketio parses it.

A message over a limit is answered, not dropped: a message that asked for an acknowledgement gets
``{"ok": false, "error", "limit"}``; others an ``error`` message (at most one a second, so the
answers cannot become a flood of their own).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import socketio
from socketio import packet

from ...runtime.values import json_structure, nested_deeper_than
from .settings import Limits, RateLog, TokenBucket

__all__ = ["LimitedSocketServer", "origin_check", "OriginGuard", "client_address"]

log = logging.getLogger("mugkit.limits")

#: An event packet's head: namespace, acknowledgement id, event name.
_HEAD = re.compile(r'2(?:(/[^,]{0,100}),)?(\d{1,20})?(?:\["([^"\\]{0,40})")?')
#: A binary event's head: attachments, namespace, acknowledgement id, event name.
_BINARY_HEAD = re.compile(r'5(\d{1,3})-(?:(/[^,]{0,100}),)?(\d{1,20})?(?:\["([^"\\]{0,40})")?')
#: Events handled in the message's own task rather than a new one each (python-socketio's
#: ``async_handlers``): a server game's players send ``keys`` up to every frame, and its handler
#: waits for nothing long, so one connection's next message may wait for it (it keeps their order).
INLINE_EVENTS = frozenset({"keys"})
#: The only events that may carry bytes (one attachment each), and the most bytes it may have:
#: a browser game's packet relayed to a peer (mugkit/web/browser/peers.py's PACKET_BYTES: a session
#: packet and its game tag) and a rejoin package (PACKAGE_BYTES).
BINARY_EVENTS = {"relay": 16 * 1024 + 64, "package": 768 * 1024}


def origin_check(allowed: list[str]):
    """engine.io's ``cors_allowed_origins``: a page of this server (its Origin's host is the
    request's Host, or the ``X-Forwarded-Host`` a proxy set) or one of ``allowed`` (URLs such as
    ``https://lab.example.org``). Clients that send no Origin (not browsers) are not checked here;
    the connection limits hold for them."""
    extra = {o.rstrip("/").lower() for o in allowed}

    def check(origin: str | None, environ: dict) -> bool:
        if not origin:
            return True
        origin = origin.rstrip("/").lower()
        if origin in extra or "*" in extra:
            return True
        hosts = {environ.get("HTTP_HOST", "").lower()}
        hosts |= {h.strip().lower() for h in environ.get("HTTP_X_FORWARDED_HOST", "").split(",") if h.strip()}
        return urlsplit(origin).netloc in hosts
    return check


class OriginGuard:
    """ASGI middleware: a websocket from a page whose Origin :func:`origin_check` refuses gets
    ``403`` with a text saying how to allow it (engine.io's own check would answer an empty 403)."""

    def __init__(self, app: Any, check: Any, log_interval: float):
        self.app, self.check = app, check
        self.refusals = RateLog(log, log_interval)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            environ = {"HTTP_HOST": headers.get(b"host", b"").decode("latin-1"),
                       "HTTP_X_FORWARDED_HOST": headers.get(b"x-forwarded-host", b"").decode("latin-1")}
            if not self.check(origin, environ):
                client = (scope.get("client") or ("unknown",))[0]
                self.refusals.note(str(client), "socket from another origin", origin[:100])
                await _deny(send, 403, f"{origin[:100]} may not open this server's live connection: only its own "
                                       f"pages may (mugkit serve --allow-origin {origin[:100]} allows that origin)")
                return
        await self.app(scope, receive, send)


async def _deny(send: Any, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "websocket.http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "websocket.http.response.body", "body": body})


class _Budget:
    """One connection's message and byte allowances."""

    def __init__(self, limits: Limits, address: str):
        self.address = address
        self.messages = TokenBucket(limits.messages_per_second, limits.message_burst)
        self.bytes = TokenBucket(limits.bytes_per_second, limits.byte_burst)
        self.relays = TokenBucket(limits.relay_per_second, limits.relay_burst)
        self.last_error = 0.0
        self.attachment: tuple | None = None   # (event, most bytes, ack id, namespace) of a binary event announced
        self.refused_ack: tuple | None = None  # (ack id, namespace) of a binary event whose attachment is refused


class LimitedSocketServer(socketio.AsyncServer):
    """python-socketio's server with mugkit's per-connection limits (:class:`~.limits.Limits`).

    Args:
        limits: the limits.
        **kwargs: for :class:`socketio.AsyncServer`.
    """

    def __init__(self, limits: Limits, **kwargs: Any):
        from ..socket_manager import DirectManager

        # A room's emit without a task per recipient (a server game's frames); a client manager
        # given (several processes: a pub/sub manager) is used as given.
        kwargs.setdefault("client_manager", DirectManager())
        super().__init__(**kwargs)
        self.limits = limits
        self.budgets: dict[str, _Budget] = {}
        self.refusals = RateLog(log, limits.log_interval)

    async def _handle_eio_connect(self, eio_sid, environ):
        from ..socket_manager import install_quick_poll

        self.budgets[eio_sid] = _Budget(self.limits, client_address(environ))
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            install_quick_poll(socket)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid, reason):
        self.budgets.pop(eio_sid, None)
        return await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_message(self, eio_sid, data):
        budget = self.budgets.get(eio_sid)
        refused = self._over(budget, data) if budget is not None else None
        if refused is None:
            try:
                return await super()._handle_eio_message(eio_sid, data)
            except (ValueError, RecursionError) as exc:   # not a socket.io packet, or not JSON
                refused = ("malformed", f"malformed message ({type(exc).__name__}): send socket.io events of JSON")
        limit, message = refused
        self._binary_packet.pop(eio_sid, None)  # a binary event whose attachment is refused is dropped whole
        if budget is not None:
            self.refusals.note(budget.address, f"socket message over {limit}", message)
        await self._refuse(eio_sid, budget, data, limit, message)

    async def _handle_event(self, eio_sid, namespace, id, data):
        if id is not None or not data or data[0] not in INLINE_EVENTS:
            return await super()._handle_event(eio_sid, namespace, id, data)
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if self.manager.is_connected(sid, namespace):
            try:
                await self._handle_event_internal(self, sid, eio_sid, data, namespace, id)
            except Exception:  # as a handler's task would: logged, and the connection reads on
                log.exception("the %s handler failed", data[0])

    def _over(self, budget: _Budget, data: Any) -> tuple[str, str] | None:
        """(limit, what to tell the client) when ``data`` passes a limit, else None."""
        lim = self.limits
        if budget.attachment is not None or not isinstance(data, str) or data[:1] in ("5", "6"):
            return self._binary(budget, data)
        head = _HEAD.match(data[:200])
        if head is not None and head.group(3) == "relay":
            if not budget.relays.take():
                return "relay_per_second", (f"too many relayed packets: at most {lim.relay_per_second:g} a second "
                                            f"(bursts of {lim.relay_burst}) on one connection; slow down")
        elif not budget.messages.take():
            return "messages_per_second", (f"too many messages: at most {lim.messages_per_second:g} a second "
                                           f"(bursts of {lim.message_burst}) on one connection; slow down")
        if not budget.bytes.take(len(data)):
            return "bytes_per_second", (f"too much data: at most {lim.bytes_per_second:g} bytes a second "
                                        f"(bursts of {lim.byte_burst}) on one connection; send less, or wait")
        structure = json_structure(data)   # the rows text is a string: not part of it
        if len(structure) > lim.message_structure:
            return "message_structure", (f"message of {len(structure)} characters outside its strings, more than "
                                         f"{lim.message_structure} (limit message_structure): send less")
        if nested_deeper_than(structure, lim.message_depth):
            return "message_depth", (f"message nested deeper than {lim.message_depth} (limit message_depth): "
                                     f"send flatter data")
        return None

    def _binary(self, budget: _Budget, data: Any) -> tuple[str, str] | None:
        """Binary data is taken only as the one attachment of a ``relay`` or ``package`` event
        (:data:`BINARY_EVENTS`), within that event's size; anything else binary is refused."""
        lim = self.limits
        if budget.attachment is not None:   # the attachment announced by the packet before
            (event, most, ack, namespace), budget.attachment = budget.attachment, None
            budget.refused_ack = (ack, namespace) if ack else None
            if not isinstance(data, (bytes, bytearray)) or len(data) > most:
                return "binary", f"{event}: its data must be at most {most} bytes"
            if not budget.bytes.take(len(data)):
                return "bytes_per_second", (f"too much data: at most {lim.bytes_per_second:g} bytes a second "
                                            f"(bursts of {lim.byte_burst}) on one connection; send less, or wait")
            budget.refused_ack = None
            return None
        head = _BINARY_HEAD.match(data[:200]) if isinstance(data, str) else None
        event = head.group(4) if head else None
        if event not in BINARY_EVENTS or head.group(1) != "1" or len(data) > 1000:
            return "binary", "binary messages are refused: mugkit's messages are JSON (but for the bytes of relay and package)"
        bucket = budget.relays if event == "relay" else budget.messages
        if not bucket.take():
            return ("relay_per_second" if event == "relay" else "messages_per_second"), "too many messages; slow down"
        budget.attachment = (event, BINARY_EVENTS[event], head.group(3), head.group(2) or "/")
        return None

    async def _refuse(self, eio_sid: str, budget: _Budget | None, data: Any, limit: str, message: str) -> None:
        head = _HEAD.match(data[:200]) if isinstance(data, str) else None
        namespace, ack = ((head.group(1) if head else None) or "/"), (head.group(2) if head else None)
        binary = _BINARY_HEAD.match(data[:200]) if isinstance(data, str) else None
        if binary is not None:
            head, namespace, ack = None, binary.group(2) or "/", binary.group(3)
        elif budget is not None and budget.refused_ack is not None and not isinstance(data, str):
            (ack, namespace), budget.refused_ack = budget.refused_ack, None
        if ack:
            reply = {"ok": False, "error": message, "limit": limit}
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, data=[reply],
                                                               id=int(ack)))
            return
        now = time.monotonic()
        if budget is not None and now - budget.last_error < 1.0:
            return
        if budget is not None:
            budget.last_error = now
        event = head.group(3) if head and head.group(3) else "message"
        await self._send_packet(eio_sid, self.packet_class(
            packet.EVENT, namespace=namespace, data=["error", {"message": f"{event}: {message}", "limit": limit}]))


def client_address(environ: dict) -> str:
    """The client's address of a socket.io connection (the participant's, as a proxy on this
    machine passes it on in ``X-Forwarded-For``)."""
    client = environ.get("asgi.scope", {}).get("client") or (environ.get("REMOTE_ADDR"),)
    return str(client[0])
