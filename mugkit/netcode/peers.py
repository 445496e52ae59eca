"""The remote peers of a :class:`~mugkit.netcode.p2p.P2PSession` and their liveness: a peer is
synchronized when first heard from, interrupted after ``disconnect_notify_start`` ms of silence
(resumed when heard again), and timed out after ``disconnect_timeout`` ms.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from .events import EventQueue, NetworkInterrupted, NetworkResumed, Synchronized
from .timesync import TimeSync

__all__ = ["Peer"]

_INF = math.inf


class Peer:
    """What the session knows about one remote peer."""

    def __init__(self, addr: Hashable, handles: tuple, now: float):
        self.addr = addr
        self.handles = handles
        self.synchronized = False
        self.disconnected = False
        self.interrupted = False
        self.last_recv = now
        self.last_input_send = -_INF
        self.last_ack_sent = -2
        self.last_hello = -_INF
        self.last_quality = -_INF
        self.acked = -1              # last frame of our local inputs the peer holds
        self.sent_until = -1         # last local frame already sent to it
        self.reports: dict[int, float] = {}  # handle -> last frame it holds (inf: it dropped the player)
        self.time_sync = TimeSync()

    def heard(self, now: float, events: EventQueue) -> None:
        """A valid packet from this peer arrived at ``now``."""
        self.last_recv = now
        if not self.synchronized:
            self.synchronized = True
            events.push(Synchronized(self.addr))
        if self.interrupted:
            self.interrupted = False
            events.push(NetworkResumed(self.addr))

    def timed_out(self, now: float, timeout: float, notify_start: float, events: EventQueue) -> bool:
        """True when the peer was silent for ``timeout`` ms; after ``notify_start`` ms of silence
        it is reported interrupted (once)."""
        silent = now - self.last_recv
        if silent >= timeout:
            return True
        if silent >= notify_start and not self.interrupted:
            self.interrupted = True
            events.push(NetworkInterrupted(self.addr, timeout - silent))
        return False
