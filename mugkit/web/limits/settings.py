"""What one client may ask of the server: the limits, their defaults, and the small counters that
enforce them.

Every limit is a field of :class:`Limits`; ``mugkit serve --limit NAME=VALUE`` changes one (see
docs/security/limits.md). A refusal names the limit and what to do, and is logged at most once per
address and interval, with a count (:class:`RateLog`), so a flood cannot fill the disk with log.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["LOCAL_ADDRESSES", "Limits", "LimitError", "parse_limit", "RateLog", "TokenBucket", "WindowCounter", "RepeatFilter"]


#: This machine itself: a reverse proxy in front of the server, or a load test. Not held to the
#: per-address limits (every participant behind a local proxy would share its address); the
#: overall ones still hold. A proxy passes the participant's address on (``X-Forwarded-For``,
#: which uvicorn trusts from 127.0.0.1), and the per-address limit on new participants applies to it.
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})


class LimitError(ValueError):
    """A ``--limit`` option that names no limit or gives it a bad value."""


@dataclass(frozen=True)
class Limits:
    """The server's limits on what clients send (defaults suit one server with a few hundred
    participants; labs behind one NAT address may need more per address)."""

    #: Open TCP connections in all (HTTP and websockets); more are answered 503 with Retry-After.
    connections: int = 2000
    #: Open TCP connections from one client address (a browser uses up to ~7; a lab behind one NAT
    #: address shares this).
    connections_per_address: int = 100
    #: Seconds a client has to send a whole request, headers and body (a slowloris sends them a
    #: byte at a time).
    request_timeout: float = 10.0
    #: Largest request (line, headers and body), in bytes: mugkit's pages take no uploads.
    request_bytes: int = 64 * 1024
    #: Seconds an idle keep-alive HTTP connection stays open (uvicorn's ``timeout_keep_alive``).
    keep_alive: float = 5.0
    #: Largest websocket message, in bytes (engine.io's limit too).
    message_bytes: int = 1_000_000
    #: Socket.io messages one connection may send per second on average ...
    messages_per_second: float = 50.0
    #: ... and in one burst.
    message_burst: int = 200
    #: Bytes one connection may send per second on average ...
    bytes_per_second: float = 4 * 1024 * 1024
    #: ... and in one burst.
    byte_burst: int = 16 * 1024 * 1024
    #: ``relay`` packets one connection may send per second on average (a browser game peer whose
    #: data channels do not open sends each packet to each other peer through the server: 30
    #: frames a second to three peers, and quality reports) ...
    relay_per_second: float = 240.0
    #: ... and in one burst.
    relay_burst: int = 480
    #: Deepest nesting of lists and objects in a socket.io message (its JSON, not the rows text).
    message_depth: int = 16
    #: Characters of a socket.io message outside its strings (its numbers and brackets; mugkit's
    #: messages have a few hundred: a batch of rows is one string).
    message_structure: int = 16 * 1024
    #: New participants one client address may create per minute (resumes do not count).
    arrivals_per_minute: int = 30
    #: ``loaded`` and ``load_failed`` messages stored per browser game (a page sends one per load).
    game_events: int = 50
    #: Frames per episode of a step with no ``max_steps`` (30 fps for two hours).
    frames_per_episode: int = 216_000
    #: Characters of rows one browser game may store in one server run (its batches' tagged JSON):
    #: a page sending big observations must not fill the disk that every game shares.
    game_bytes: int = 256 * 1024 * 1024
    #: Seconds the peers of a browser game with several humans have to load and open their
    #: connections (``peer_ready``) before it is given up (``not_ready``; the ready go back to the waitroom).
    peer_ready_seconds: float = 60.0
    #: Seconds a peer's tab of a browser game with several humans may stay hidden before the game ends.
    hidden_seconds: float = 60.0
    #: Seconds between two log lines about one address's refusals.
    log_interval: float = 10.0

    def with_options(self, options: list[str]) -> "Limits":
        """These limits with ``NAME=VALUE`` options applied.

        Raises:
            LimitError: an unknown name, or a value that is not a positive number.
        """
        changes = dict(parse_limit(o) for o in options)
        return dataclasses.replace(self, **changes)


def parse_limit(option: str) -> tuple[str, Any]:
    """``NAME=VALUE`` → (name, value of the field's type).

    Raises:
        LimitError: an unknown name, or a value that is not a positive number.
    """
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    name, _, text = option.partition("=")
    name = name.strip().replace("-", "_")
    if name not in fields:
        raise LimitError(f"--limit {option}: no limit named {name!r}; limits are {', '.join(fields)}")
    kind = int if isinstance(getattr(Limits, name), int) else float
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise LimitError(f"--limit {option}: {name} must be a positive {'whole ' if kind is int else ''}number")
    return name, value


class RateLog:
    """Logs refusals at most once per key (an address, a reason) and interval, with a count."""

    def __init__(self, logger: logging.Logger, interval: float):
        self.logger, self.interval = logger, interval
        self.seen: dict[tuple, list] = {}   # key -> [count since the last line, time of the last line]

    def note(self, address: str, reason: str, detail: str = "") -> None:
        """One refusal of ``address`` for ``reason``; logged now if none was in this interval."""
        now = time.monotonic()
        entry = self.seen.get((address, reason))
        if entry is None:
            if len(self.seen) > 10_000:   # many addresses: forget the quiet ones
                self.seen = {k: v for k, v in self.seen.items() if now - v[1] < self.interval}
            entry = self.seen[(address, reason)] = [0, now - self.interval]
        entry[0] += 1
        if now - entry[1] >= self.interval:
            self.logger.warning("refused %s: %s (%d time(s) since the last line)%s", address, reason, entry[0],
                                f"; {detail}" if detail else "")
            entry[0], entry[1] = 0, now


class TokenBucket:
    """``rate`` units a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        """Whether ``amount`` may pass now (and spends it if so)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if amount > self.tokens:
            return False
        self.tokens -= amount
        return True


class WindowCounter:
    """Events per key in the last ``seconds`` (a sliding window of timestamps, at most ``limit``
    kept per key)."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.times: dict[str, list] = {}

    def allow(self, key: str) -> float:
        """0 and counts the event when ``key`` is under the limit; else the seconds until it is."""
        now = time.monotonic()
        if len(self.times) > 10_000:
            self.times = {k: v for k, v in self.times.items() if v and now - v[-1] < self.seconds}
        recent = [t for t in self.times.get(key, ()) if now - t < self.seconds]
        if len(recent) >= self.limit:
            self.times[key] = recent
            return max(0.1, self.seconds - (now - recent[0]))
        recent.append(now)
        self.times[key] = recent
        return 0.0


class RepeatFilter(logging.Filter):
    """Lets a log message (by its format string) through at most once per ``interval`` seconds,
    with the count of those held back: a flood of bad requests must not fill the disk."""

    def __init__(self, interval: float):
        super().__init__()
        self.interval = interval
        self.seen: dict[Any, list] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        entry = self.seen.setdefault(record.msg, [0, now - self.interval])
        if now - entry[1] < self.interval:
            entry[0] += 1
            return False
        if entry[0]:
            record.msg = f"{record.msg} ({entry[0]} more like it held back in the last {self.interval:g} s)"
        entry[0], entry[1] = 0, now
        return True
