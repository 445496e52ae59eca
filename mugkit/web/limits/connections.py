"""Connection limits at the TCP level, where uvicorn reads requests: a cap on open connections
overall and per client address, a deadline for a whole request (a slowloris sends its headers, or
its body, a byte at a time), and a cap on its size.

These cannot be ASGI middleware: the app is called only once a request's headers are complete,
so a client that sends them one byte a minute, or opens thousands of connections and sends
nothing, never reaches it. uvicorn offers ``limit_concurrency`` (one global count: one client can
still fill it) and a keep-alive timeout (between requests only). So :func:`protocols` gives
uvicorn's own HTTP and websocket protocol classes with the limits added: a connection over a cap
is answered ``503`` with ``Retry-After`` and closed without being parsed; a request not complete
in ``request_timeout`` seconds gets ``408``, and one of more than ``request_bytes`` ``431``
(headers) or ``413`` (body). mugkit's pages take no uploads: every request is small.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from .settings import LOCAL_ADDRESSES, Limits, RateLog

__all__ = ["ConnectionCounter", "protocols"]

log = logging.getLogger("mugkit.limits")


class ConnectionCounter:
    """Open connections, overall and per client address. A connection is counted from its first
    byte to its close, through the upgrade from HTTP to websocket."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.open: dict[Any, str] = {}          # transport -> client address
        self.per_address: dict[str, int] = {}
        self.refusals = RateLog(log, limits.log_interval)

    def admit(self, transport: Any, address: str) -> str | None:
        """Counts the connection; or the reason it is refused (nothing counted)."""
        if len(self.open) >= self.limits.connections:
            return f"the server has {self.limits.connections} connections open (limit connections)"
        if address not in LOCAL_ADDRESSES and self.per_address.get(address, 0) >= self.limits.connections_per_address:
            return (f"{self.limits.connections_per_address} connections are open from this address "
                    f"(limit connections_per_address)")
        self.open[transport] = address
        self.per_address[address] = self.per_address.get(address, 0) + 1
        return None

    def release(self, transport: Any) -> None:
        """The connection closed (safe to call twice)."""
        address = self.open.pop(transport, None)
        if address is None:
            return
        left = self.per_address[address] - 1
        if left:
            self.per_address[address] = left
        else:
            del self.per_address[address]


def _response(status: str, text: str, retry_after: int | None = None) -> bytes:
    body = (text + "\n").encode()
    head = [f"HTTP/1.1 {status}", "content-type: text/plain; charset=utf-8", f"content-length: {len(body)}",
            "connection: close"] + ([f"retry-after: {retry_after}"] if retry_after else [])
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def protocols(limits: Limits) -> tuple[type, type, ConnectionCounter]:
    """uvicorn's HTTP and websocket protocol classes (``http=``, ``ws=``) with ``limits`` added,
    and the counter they share."""
    counter = ConnectionCounter(limits)

    class LimitedHttp(HttpToolsProtocol):
        _request_timer = None
        _request_bytes = 0
        _reading = False          # a request is arriving (its first byte came; not all of it yet)
        _headers_done = False     # ... and its headers are complete (its body is arriving)
        _refused = False
        _answer = b""

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            address = self.client[0] if self.client else "unknown"
            refused = counter.admit(transport, address)
            if refused is not None:
                # Answered when the request comes (a response before it confuses clients); closed
                # within two seconds whatever the client does.
                counter.refusals.note(address, "connection over a cap", refused)
                self._refused = True
                self._answer = _response("503 Service Unavailable", f"Too many connections: {refused}. Try again "
                                         f"in a few seconds.", retry_after=5)
                self.loop.call_later(2.0, self.transport.close)
                return
            self._start_request()

        def _start_request(self) -> None:
            self._reading, self._headers_done, self._request_bytes = True, False, 0
            if self._request_timer is None:
                self._request_timer = self.loop.call_later(limits.request_timeout, self._too_slow)

        def _stop_request(self) -> None:
            self._reading = False
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None

        def _too_slow(self) -> None:
            self._request_timer = None
            if not self._reading or self._refused:
                return
            counter.refusals.note(self.client[0] if self.client else "unknown", "request too slow")
            if self._headers_done and self.cycle.response_started:   # answered already; the body crawls
                self._stop_request()
                self.transport.close()
                return
            self._close_with("408 Request Timeout", f"The request did not arrive whole within "
                             f"{limits.request_timeout:g} seconds (limit request_timeout).")

        def _close_with(self, status: str, text: str, retry_after: int | None = None) -> None:
            # Answer, then close a moment later: what the client sends meanwhile is read and
            # dropped, so the close is not a reset that could lose the answer on its way.
            self._stop_request()
            self._refused = True
            self.transport.write(_response(status, text, retry_after))
            self.loop.call_later(0.5, self.transport.close)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                if self._answer:
                    self.transport.write(self._answer)
                    self._answer = b""
                    self.loop.call_later(0.5, self.transport.close)
                return
            if self._reading:
                self._request_bytes += len(data)
                if self._request_bytes > limits.request_bytes:
                    counter.refusals.note(self.client[0] if self.client else "unknown", "request too large")
                    status = "413 Content Too Large" if self._headers_done else "431 Request Header Fields Too Large"
                    self._close_with(status, f"Request larger than {limits.request_bytes} bytes (limit request_bytes).")
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_request()

        def on_headers_complete(self) -> None:
            self._headers_done = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._stop_request()
            super().on_message_complete()

        def handle_websocket_upgrade(self) -> None:
            self._stop_request()   # the websocket's own limits hold from here on
            super().handle_websocket_upgrade()

        def connection_lost(self, exc) -> None:
            self._stop_request()
            counter.release(self.transport)
            super().connection_lost(exc)

    class LimitedWebSocket(WebSocketsSansIOProtocol):
        def connection_lost(self, exc) -> None:
            counter.release(self.transport)
            super().connection_lost(exc)

    return LimitedHttp, LimitedWebSocket, counter
