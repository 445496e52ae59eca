"""mugkit's own error types, shared by every layer.

A check failure must blame the researcher's env, policy or experiment, never mugkit. When one of
mugkit's own invariants breaks (a request fulfilled out of order, a rollback deeper than its
window), the code raises :class:`InternalError`, which reports say is a bug in mugkit.
"""

from __future__ import annotations

__all__ = ["InternalError"]


class InternalError(Exception):
    """An invariant of mugkit itself does not hold: a bug in mugkit, not in the user's code.

    Raised instead of ``assert`` (which vanishes under ``python -O``) so that a check never
    reports mugkit's own bug as the env failing it.
    """

    def __init__(self, message: str):
        super().__init__(f"internal error in mugkit (please report it): {message}")
