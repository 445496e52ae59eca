"""``survey``: a survey's questions are well formed (names, texts, options, points, ranges, and
``visible_if`` conditions that name an earlier question and can hold)."""

from __future__ import annotations

from ..questions import problems
from .base import CheckContext, call_step
from .report import CheckFailure

__all__ = ["check_survey"]


def check_survey(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` listing every problem with the survey's questions."""
    step = ctx.step
    found = problems(call_step(ctx, "survey function"))
    if found:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: the survey is ill-formed: " + "; ".join(found))
