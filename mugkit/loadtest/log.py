"""What one bot did, as it saw it: the ground truth the data audit compares the database with.

A bot (protocol or browser) writes down who it was told it is, every step it saw, every message it
sent that the server acknowledged (answers, consent, rows of a browser-run game), every frame of a
server-run game it received, and how it ended. Frames are kept as ranges per game and episode, so
a bot's log stays small over a long game.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BotLog", "GameLog", "Outcome"]


@dataclass
class GameLog:
    """One game as a bot played it.

    Attributes:
        game_id: the server's id of the game.
        step: the step's name.
        agent: the bot's agent id.
        runtime: ``"server"`` or ``"browser"`` (as the game view said).
        frames: episode → list of ``[first, last]`` frame ranges received (server runtime).
        rows_acked: rows the server acknowledged (browser runtime): ``(episode, frame, agent) →``
            the CRC of the row as sent (:func:`~mugkit.loadtest.audit.row_digest`).
        rows_unacked: rows sent without an acknowledgement (never counted lost).
        resumed_at: after a reload, where the re-simulated record ended (browser runtime).
        keys_sent: ``keys`` messages sent.
        over: True once the game ended and the bot moved on.
    """

    game_id: str
    step: str
    agent: Any
    runtime: str = "server"
    frames: dict = field(default_factory=dict)
    rows_acked: dict = field(default_factory=dict)
    rows_unacked: int = 0
    resumed_at: list | None = None
    keys_sent: int = 0
    over: bool = False

    def frame(self, episode: int, index: int) -> None:
        """A frame received: extends the current range of its episode or starts a new one."""
        ranges = self.frames.setdefault(episode, [])
        if ranges and ranges[-1][1] + 1 == index:
            ranges[-1][1] = index
        elif not any(a <= index <= b for a, b in ranges):  # out of order or repeated: rare, ranges are few
            ranges.append([index, index])

    def frame_count(self) -> int:
        """Frames received, over every episode."""
        return sum(b - a + 1 for ranges in self.frames.values() for a, b in ranges)


@dataclass
class Outcome:
    """How a bot ended: ``status`` is ``"completed"``, ``"failed"`` or ``"stuck"``; ``step`` where it
    was; ``reason`` in words; ``kind`` the last view's kind; ``code`` the code it was shown."""

    status: str
    step: str
    reason: str = ""
    kind: str = ""
    code: str | None = None


@dataclass
class BotLog:
    """Everything one bot did that the server should have stored (see the module docstring)."""

    bot: int
    experiment: str
    kind: str = "protocol"                     # or "browser"
    participant: str | None = None
    views: list = field(default_factory=list)  # (time, kind, step, index)
    answers: list = field(default_factory=list)   # (step, repetition index, {question: value}) acknowledged
    rejected: list = field(default_factory=list)  # (step, what was wrong, the server's error) for invalid answers
    consents: list = field(default_factory=list)  # step names where consent was acknowledged
    games: dict = field(default_factory=dict)     # game id → GameLog
    latencies: list = field(default_factory=list)  # (event, seconds from send to acknowledgement)
    errors: list = field(default_factory=list)     # (step, message) of the server's ``error`` messages
    sent: int = 0
    received: int = 0
    reloads: int = 0
    reconnects: int = 0          # connections the server dropped, opened again (reconnect)
    retried: int = 0             # messages the server answered 'try again' (its shared state was down)
    connected_at: float | None = None
    finished_at: float | None = None
    outcome: Outcome | None = None
    screen_fail: str | None = None   # built to fail the entry screening this way (--screen-fail), or None

    def view(self, view: dict) -> None:
        """A view the bot acted on (when, kind, step, index)."""
        self.views.append((time.monotonic(), view.get("kind"), view.get("step"), view.get("index")))

    @property
    def step(self) -> str:
        """Where the bot is: the last step it was shown (or "connect")."""
        if not self.views:
            return "connect"
        _, kind, step, _ = self.views[-1]
        return f"{step} ({kind})" if step else str(kind)
