"""Desync detection for a :class:`~mugkit.netcode.p2p.P2PSession`: the record of confirmed
states, and the exchange of their checksums with the peers.

Every confirmed state's ``(frame, checksum)`` goes to the record that
``session.drain_confirmed()`` reads; the checksum of every ``checksum_interval``-th one is sent to
each peer and compared with the one the peer sends for the same frame. A difference is a
:class:`~mugkit.netcode.events.DesyncDetected`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from .events import DesyncDetected, EventQueue
from .messages import Checksum

__all__ = ["CONFIRMED_KEPT", "REPORTS_KEPT", "DesyncDetector"]

REPORTS_KEPT = 64            # checksum reports kept for comparison, per side
CONFIRMED_KEPT = 4096        # confirmed (frame, checksum) pairs kept for drain_confirmed()


class DesyncDetector:
    """Confirmed states and checksum reports of one session; desyncs go to ``events``.

    Attributes:
        desyncs: every :class:`DesyncDetected` so far (also pushed to ``events``).
        checksums: frame -> latest saved checksum (filled by :meth:`on_save`).
        harvested: states up to this frame are in the confirmed record.
    """

    def __init__(self, checksum_interval: int, events: EventQueue):
        self.checksum_interval = checksum_interval
        self.desyncs: list[DesyncDetected] = []
        self._events = events
        self.checksums: dict[int, Any] = {}  # frame -> latest saved checksum
        self.harvested = -1                  # states up to here are in the confirmed record
        self._confirmed: deque = deque(maxlen=CONFIRMED_KEPT)
        self._local_reports: dict[int, Any] = {}
        self._remote_reports: dict[tuple, Any] = {}

    def on_save(self, frame: int, checksum: Any) -> None:
        self.checksums[frame] = checksum

    def drain_confirmed(self) -> list[tuple[int, Any]]:
        out = list(self._confirmed)
        self._confirmed.clear()
        return out

    def harvest(self, upto: int, peers: Iterable[Any], send: Callable[[Any, Any], None]) -> list[tuple[int, Any]]:
        """Records the states confirmed up to ``upto`` (their requests are fulfilled by now),
        and exchanges the checksums of every ``checksum_interval``-th one: sent with
        ``send(peer, message)`` to each connected one of ``peers``. Returns the newly
        recorded ``(frame, checksum)`` pairs."""
        new = []
        for k in range(self.harvested + 1, upto + 1):
            if k not in self.checksums:
                continue  # the caller did not save this state (or it is long gone)
            checksum = self.checksums[k]
            self._confirmed.append((k, checksum))
            new.append((k, checksum))
            self.harvested = k
            if k % self.checksum_interval == 0 and checksum is not None:
                self._local_reports[k] = checksum
                for p in peers:
                    if not p.disconnected:
                        send(p, Checksum(k, checksum))
                    remote = self._remote_reports.pop((p.addr, k), None)
                    if remote is not None:
                        self._compare(k, checksum, remote, p.addr)
        self.harvested = max(self.harvested, upto)
        for store in (self._local_reports, self._remote_reports):
            while len(store) > REPORTS_KEPT:
                del store[next(iter(store))]
        return new

    def on_report(self, peer: Hashable, frame: int, checksum: Any) -> None:
        """``peer`` sent the checksum of its state ``frame``."""
        local = self._local_reports.get(frame)
        if local is not None:
            self._compare(frame, local, checksum, peer)
        elif frame > self.harvested:
            self._remote_reports[(peer, frame)] = checksum

    def prune(self, before: int) -> None:
        """Drops the saved checksums of frames below ``before``."""
        for f in [f for f in self.checksums if f < before]:
            del self.checksums[f]

    def _compare(self, frame: int, local: Any, remote: Any, peer: Hashable) -> None:
        if local != remote:
            event = DesyncDetected(frame, local, remote, peer)
            self.desyncs.append(event)
            self._events.push(event)
