"""The two-method transport a :class:`~mugkit.netcode.p2p.P2PSession` sends through.

Anything with these methods works: WebRTC data channels in the browser (unordered and
unreliable is best: the session resends inputs itself), the in-process
:mod:`~mugkit.netcode.simnet` in tests, or a socket. Peers are any hashable address.
"""

from __future__ import annotations

from typing import Hashable, Protocol, runtime_checkable

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """Sends and receives whole packets without blocking."""

    def send_to(self, peer: Hashable, data: bytes) -> None:
        """Sends ``data`` to ``peer``; may lose, delay or reorder it, must not block."""

    def receive_all(self) -> list[tuple[Hashable, bytes]]:
        """Every packet arrived since the last call, as ``(sender, data)``; empty if none."""
