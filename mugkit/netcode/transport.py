"""The two-method transport a :class:`~mugkit.netcode.p2p.P2PSession` sends through.

Anything with these methods works: WebRTC data channels in the browser (unordered and
unreliable is best: the session resends inputs itself), the in-process
:mod:`~mugkit.netcode.simnet` in tests, or a socket. Peers are any hashable address.

A transport that knows when a connection closes (a data channel's ``close`` event, a server
seeing a socket go) may also have :meth:`ClosingTransport.closed_peers`: the session then
drops those peers at once instead of waiting ``disconnect_timeout`` for their silence.
"""

from __future__ import annotations

from typing import Hashable, Protocol, runtime_checkable

__all__ = ["Transport", "ClosingTransport"]


@runtime_checkable
class Transport(Protocol):
    """Sends and receives whole packets without blocking."""

    def send_to(self, peer: Hashable, data: bytes) -> None:
        """Sends ``data`` to ``peer``; may lose, delay or reorder it, must not block."""

    def receive_all(self) -> list[tuple[Hashable, bytes]]:
        """Every packet arrived since the last call, as ``(sender, data)``; empty if none."""


@runtime_checkable
class ClosingTransport(Transport, Protocol):
    """A :class:`Transport` that also reports closed connections. The method is optional, so
    it lives in this separate protocol: ``isinstance(t, Transport)`` holds without it."""

    def closed_peers(self) -> list[Hashable]:
        """The peers whose connection closed since the last call (each reported once); empty
        if none. Called by every ``poll()``, after ``receive_all()``."""
