"""``mk.Monitor``: what the server watches in a game step, and when it excludes a participant.

A game step's ``monitor=mk.Monitor(...)`` option (docs/exclusion-in-game.md). The server decides
from what it observes itself — the page's presence heartbeats, key messages or uploaded rows, and
its own pings — never from a verdict the page sends. Pure data: the experiment module that
declares it is also imported in the participant's browser (Pyodide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Monitor", "monitor_problems", "HEARTBEAT_SECONDS", "HEARTBEAT_GAP", "MAX_WINDOW"]

#: Seconds between a page's presence heartbeats during a monitored game.
HEARTBEAT_SECONDS = 1.0
#: Seconds without a heartbeat after which a page counts as away (it stopped reporting).
HEARTBEAT_GAP = 3.0
#: Largest ``n`` of ``rtt_violations=(k, n)``.
MAX_WINDOW = 20


@dataclass(frozen=True)
class Monitor:
    """In-game monitoring of every human of a game step (``@mk.scene(monitor=mk.Monitor(...))``).

    Each limit set to None is off. Past a limit the participant is excluded (status
    ``excluded``, the completion's ``exclusion_code``, ``participants.reason``); ``warn_seconds``
    before it, their page shows a warning with the time left.

    Attributes:
        hidden_seconds: seconds the game's tab may stay hidden (or, with ``focus_lost``, the window
            without focus) in one stretch. A page that stops sending its heartbeats counts as
            away too: reason ``unresponsive`` instead of ``tab_hidden``.
        idle_seconds: seconds of play without any input (keys in a server game, key-driven rows in
            a browser game) while the game waits for it: reason ``idle``.
        max_rtt_ms: the server pings the page every ``ping_seconds``; when ``k`` of the last ``n``
            round trips (``rtt_violations=(k, n)``) are slower than this or unanswered: reason
            ``rtt``.
        rtt_violations: ``(k, n)`` for ``max_rtt_ms``.
        warn_seconds: the warning shows this long before an exclusion for ``hidden_seconds`` or
            ``idle_seconds`` (less than each limit set); the connection warning shows after
            ``k - 1`` slow round trips.
        focus_lost: a visible window without focus (another window in front) counts as hidden.
        ping_seconds: seconds between the server's pings (``max_rtt_ms``).
        takeover: the name of a ``@mk.policy`` (or ``"random"``) that plays an excluded human's
            agent for the rest of the game, so that their partners play on. Server games with two
            or more humans only. None: the game ends for everyone (outcome ``excluded``) and the
            partners go on to their next step.
    """

    hidden_seconds: float | None = 10
    idle_seconds: float | None = 60
    max_rtt_ms: float | None = None
    rtt_violations: tuple = (3, 5)
    warn_seconds: float = 5
    focus_lost: bool = False
    ping_seconds: float = 2
    takeover: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.rtt_violations, list):  # written as [3, 5]: kept as a tuple (hashable)
            object.__setattr__(self, "rtt_violations", tuple(self.rtt_violations))

    def as_view(self) -> dict:
        """What the page needs: which reports to send, and how often."""
        return {"heartbeat_ms": round(HEARTBEAT_SECONDS * 1000), "focus": self.focus_lost,
                "hidden_seconds": self.hidden_seconds, "idle_seconds": self.idle_seconds,
                "max_rtt_ms": self.max_rtt_ms}


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and math.isfinite(v)


def _limit_problems(m: Monitor) -> list[str]:
    out = []
    for name in ("hidden_seconds", "idle_seconds", "max_rtt_ms"):
        v = getattr(m, name)
        if v is not None and not _positive(v):
            out.append(f"monitor {name} must be a positive number or None (off), got {v!r}")
    if not any(getattr(m, n) is not None for n in ("hidden_seconds", "idle_seconds", "max_rtt_ms")):
        out.append("monitor watches nothing: set hidden_seconds, idle_seconds or max_rtt_ms (or leave monitor= out)")
    warn = m.warn_seconds
    if not isinstance(warn, (int, float)) or isinstance(warn, bool) or not 0 <= warn < math.inf:
        out.append(f"monitor warn_seconds must be a number of seconds >= 0, got {warn!r}")
    else:
        for name in ("hidden_seconds", "idle_seconds"):
            limit = getattr(m, name)
            if _positive(limit) and warn >= limit:
                out.append(f"monitor warn_seconds ({warn!r}) must be less than {name} ({limit!r}): the warning shows "
                           f"warn_seconds before the exclusion")
    pair = m.rtt_violations
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            and 1 <= pair[0] <= pair[1] <= MAX_WINDOW):
        out.append(f"monitor rtt_violations must be (k, n): k slow round trips of the last n, "
                   f"1 <= k <= n <= {MAX_WINDOW}, got {pair!r}")
    if not _positive(m.ping_seconds) or not 0.5 <= m.ping_seconds <= 60:
        out.append(f"monitor ping_seconds must be from 0.5 to 60 seconds, got {m.ping_seconds!r}")
    if not isinstance(m.focus_lost, bool):
        out.append(f"monitor focus_lost must be True or False, got {m.focus_lost!r}")
    return out


def monitor_problems(m: Any, humans: list, runtime: str) -> list[str]:
    """Problems of a game step's ``monitor=`` option, each saying what to fix (empty: fine).
    ``takeover`` is checked against the experiment's policies at collection."""
    if m is None:
        return []
    if not isinstance(m, Monitor):
        return [f"monitor must be mk.Monitor(...), got {type(m).__name__} {m!r:.60}"]
    out = _limit_problems(m)
    if not humans:
        out.append("monitor= watches humans, and this step has none (players= names no mk.HUMAN)")
    if m.takeover is not None:
        if not isinstance(m.takeover, str) or not m.takeover:
            out.append(f"monitor takeover must be the name of a @mk.policy or 'random', got {m.takeover!r}")
        elif runtime != "server":
            out.append("monitor takeover works in server games only (runtime='server'): in the browser the excluded "
                       "player's page runs their agent; leave takeover out, and the game ends for everyone")
        elif len(humans) < 2:
            out.append("monitor takeover needs two or more humans: with one, nobody is left to play with; leave "
                       "takeover out")
    return out
