"""``survey``: a survey's questions are well formed (names, texts, options, points)."""

from __future__ import annotations

from ..questions import problems
from .base import CheckContext
from .play import CHECK_PARTICIPANT
from .report import CheckFailure

__all__ = ["check_survey"]


def check_survey(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` listing every problem with the survey's questions."""
    step = ctx.step
    kwargs = {"participant": CHECK_PARTICIPANT} if "participant" in step.params else {}
    try:
        questions = step.fn(**kwargs)
    except Exception as exc:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: the survey function raised {type(exc).__name__}: {exc}")
    found = problems(questions)
    if found:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: the survey is ill-formed: " + "; ".join(found))
