"""Events: news from a session, read with ``session.events()``. Unlike requests, the caller may
ignore them; they wait in a bounded queue (the oldest are dropped when it is full)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Hashable

__all__ = [
    "Event", "Synchronized", "NetworkInterrupted", "NetworkResumed", "Disconnected",
    "DesyncDetected", "WaitingForInputs", "WaitRecommendation", "EventQueue",
]


class Event:
    """Base class of all session events."""


@dataclass(frozen=True)
class Synchronized(Event):
    """The first message from ``peer`` arrived: the session can run with it."""
    peer: Hashable


@dataclass(frozen=True)
class NetworkInterrupted(Event):
    """Nothing heard from ``peer`` for a while; it is disconnected in ``disconnect_in_ms``
    unless it is heard from again (GGPO's "network interrupted")."""
    peer: Hashable
    disconnect_in_ms: float


@dataclass(frozen=True)
class NetworkResumed(Event):
    """``peer`` was heard from again after a :class:`NetworkInterrupted`."""
    peer: Hashable


@dataclass(frozen=True)
class Disconnected(Event):
    """``peer`` (playing ``handles``) was silent for ``disconnect_timeout`` ms, its connection
    closed, ``drop_peer`` was called, or another peer reported it gone. From ``frame`` on its
    inputs are the default action with status ``DISCONNECTED`` (from an earlier frame if a
    survivor holding fewer of its inputs says so later: ``session.disconnect_frame(handle)``
    has the final one); it is never reconnected."""
    peer: Hashable
    handles: tuple
    frame: int


@dataclass(frozen=True)
class DesyncDetected(Event):
    """The confirmed state of ``frame`` has another checksum on ``peer``: the games diverged."""
    frame: int
    local_checksum: Any
    remote_checksum: Any
    peer: Hashable


@dataclass(frozen=True)
class WaitingForInputs(Event):
    """The prediction window is full: frame ``frame`` would be more than ``max_rollback`` frames
    ahead of the last confirmed frame ``confirmed_frame``, so the game waits (no AdvanceFrame).
    Emitted once when a wait begins."""
    frame: int
    confirmed_frame: int


@dataclass(frozen=True)
class WaitRecommendation(Event):
    """This peer runs ahead of the others; skip ``skip_frames`` frames (GGPO's time sync: call
    ``advance_frame()`` less often) so that nobody has to stall."""
    skip_frames: int


class EventQueue:
    """A bounded FIFO of events; when full, the oldest event is dropped and counted."""

    def __init__(self, maxlen: int):
        self._q: deque = deque()
        self.maxlen = maxlen
        self.dropped = 0

    def push(self, event: Event) -> None:
        if len(self._q) >= self.maxlen:
            self._q.popleft()
            self.dropped += 1
        self._q.append(event)

    def drain(self) -> list[Event]:
        out = list(self._q)
        self._q.clear()
        return out
