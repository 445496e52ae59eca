"""How many new participants one client address may create per minute: a script that connects
again and again must not fill the server's memory and the database with participants.

Resumes (a reload, a panel id seen before) create no one and are never limited. The flow asks
:meth:`ArrivalLimit.admit` just before it creates a participant (``Study.enter``'s ``admit``).
"""

from __future__ import annotations

import logging

from .settings import LOCAL_ADDRESSES, RateLog, WindowCounter

__all__ = ["ArrivalLimit", "TooManyArrivals"]

log = logging.getLogger("mugkit.limits")


class TooManyArrivals(Exception):
    """This address created its share of participants this minute; the message says when to
    come back."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ArrivalLimit:
    """At most ``per_minute`` new participants per client address in any 60 seconds.

    Args:
        per_minute: the limit (``--limit arrivals_per_minute=N``).
        log_interval: seconds between two log lines about one address.
    """

    def __init__(self, per_minute: int, log_interval: float = 10.0):
        self.per_minute = per_minute
        self.window = WindowCounter(per_minute, 60.0)
        self.refusals = RateLog(log, log_interval)

    def admit(self, address: str) -> None:
        """Counts one new participant from ``address``.

        Raises:
            TooManyArrivals: ``address`` created ``per_minute`` participants in the last minute.
        """
        if address in LOCAL_ADDRESSES:   # a local proxy that passed no client address on, a load test
            return
        wait = self.window.allow(address)
        if wait:
            self.refusals.note(address, "new participant over arrivals_per_minute")
            raise TooManyArrivals(f"{self.per_minute} participants have started from your network in the last "
                                  f"minute, the most this server allows. Please try again in {wait:.0f} seconds.",
                                  wait)
