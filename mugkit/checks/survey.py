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
    for questions in call_step(ctx, "survey function"):
        found = problems(questions)
        if found:
            raise CheckFailure(ctx.nodeid, f"{step.location()}: the survey is ill-formed: " + "; ".join(found))
        _render(ctx, questions)


def _render(ctx: CheckContext, questions: list) -> None:
    """Renders the survey as the server sends it to the participant's page."""
    from ..paths import passes_through_user_code
    from ..web.views import survey_view

    try:
        survey_view(ctx.step.name, questions)
    except Exception as exc:
        if not passes_through_user_code(exc):
            raise  # mugkit's own bug: shown with its traceback
        raise CheckFailure(ctx.nodeid, f"{ctx.step.location()}: the survey does not render: "
                           f"{type(exc).__name__}: {exc}") from None
