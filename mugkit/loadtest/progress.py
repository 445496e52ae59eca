"""Live progress of a load test: a bar with running counts, redrawn in place on a terminal, a line
every few seconds otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from typing import Sequence, TextIO

from .log import BotLog

__all__ = ["Progress"]

WIDTH = 30


class Progress:
    """Draws the state of ``logs`` (the bots started so far) out of ``total`` bots to ``stream``."""

    def __init__(self, total: int, stream: TextIO | None = None, every: float = 5.0):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self.started = time.monotonic()
        self.last_line = 0.0
        self.last_messages = (self.started, 0)

    def line(self, logs: Sequence[BotLog]) -> str:
        """The bar and the running counts, on one line."""
        done = [log for log in logs if log.outcome is not None]
        count = {s: sum(log.outcome.status == s for log in done) for s in ("completed", "failed", "stuck")}
        running = sum(log.connected_at is not None and log.outcome is None for log in logs)
        now, messages = time.monotonic(), sum(log.sent + log.received for log in logs)
        then, before = self.last_messages
        rate = (messages - before) / (now - then) if now > then else 0.0
        self.last_messages = (now, messages)
        filled = int(WIDTH * len(done) / max(1, self.total))
        return (f"[{'#' * filled}{'.' * (WIDTH - filled)}] {len(done)}/{self.total} done · {len(logs)} started · "
                f"{running} running · {count['completed']} completed · {count['failed']} failed · "
                f"{count['stuck']} stuck · {rate:.0f} msg/s · {now - self.started:.0f} s")

    def update(self, logs: Sequence[BotLog], final: bool = False) -> None:
        """Redraws (a terminal) or prints a line when ``every`` seconds passed (or ``final``)."""
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line(logs) + ("\n" if final else ""))
            self.stream.flush()
        elif final or now - self.last_line >= self.every:
            self.last_line = now
            self.stream.write(self.line(logs) + "\n")
            self.stream.flush()
