"""``screen``: a screening step's own check (the function under ``@mk.screen``) runs before any
participant meets it. It is called as the server calls it: for a participant of each condition,
with answers the surveys before it can give (generated from their questions, seeded, optional
ones sometimes left out, stored as the server stores them), and with the browsers and devices of
real User-Agents; it must return None, True, False or a text, and never raise."""

from __future__ import annotations

import random
from typing import Any

from ..questions import answer_rows
from ..screening import ScreenStep
from ..steps import SurveyStep
from .base import CheckContext
from .report import CheckFailure

__all__ = ["check_screen", "EXAMPLES"]

#: Answer sets tried per participant (with a client each, in turn).
EXAMPLES = 30


def check_screen(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the answers and client the function failed on."""
    from ..games import Participant
    from .play import CHECK_PARTICIPANT

    step: ScreenStep = ctx.step
    people = [Participant("check-0", {}, c) for c in ctx.experiment.conditions] or [CHECK_PARTICIPANT]
    clients = _clients()
    rng = random.Random(f"screen:{ctx.experiment.name}:{step.name}")
    for person in people:
        surveys = _surveys_before(ctx, person)
        for i in range(EXAMPLES if "answers" in step.params else 1):
            answers = _answers(surveys, rng)
            client = clients[i % len(clients)]
            _call(ctx, person, answers, client)


def _surveys_before(ctx: CheckContext, person: Any) -> list:
    """The questions of every survey that comes before the step in the flow (as the participant
    gets them: a survey may ask for ``participant``)."""
    out = []
    for s in ctx.experiment.steps:
        if s is ctx.step:
            break
        if isinstance(s, SurveyStep):
            try:
                out.append(list(s.fn(**({"participant": person} if "participant" in s.params else {}))))
            except Exception:
                continue  # the survey's own check reports it
    return out


def _answers(surveys: list, rng: random.Random) -> dict:
    """Answers as the server hands them to the function: question column → stored value."""
    from ..loadtest.answers import valid_answers
    from ..web.views import survey_view

    out: dict = {}
    for questions in surveys:
        view = survey_view("check", questions)
        given = valid_answers(view["survey"], rng, view.get("conditions"))
        for q in questions:  # an optional question is sometimes left out, as people do
            if not q.required and rng.random() < 0.5:
                given.pop(q.name, None)
        out.update(answer_rows(questions, given))
    return out


def _clients() -> list:
    from ..loadtest.screening import USER_AGENTS
    from ..web.screening import Client, classify

    out = []
    for agent in USER_AGENTS:
        browser, version, os_family, device = classify(agent)
        out.append(Client(agent, browser, version, os_family, device, [1280, 800], [1920, 1080], [20.0, 25.0, 22.0]))
    return out


def _call(ctx: CheckContext, person: Any, answers: dict, client: Any) -> None:
    step = ctx.step
    given = {"participant": person, "answers": answers, "client": client}
    kwargs = {name: given[name] for name in step.params}
    inputs = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
    try:
        verdict = step.fn(**kwargs)
    except Exception as exc:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: the screening function raised {type(exc).__name__}: "
                           f"{exc}\n  called with {inputs}") from None
    if verdict is None or isinstance(verdict, bool) or (isinstance(verdict, str) and verdict.strip()):
        return
    raise CheckFailure(ctx.nodeid, f"{step.location()}: the screening function returned {verdict!r}; it must "
                       f"return None or True (let in), or a text or False (turn away)\n  called with {inputs}")


def _short(value: Any) -> str:
    if hasattr(value, "browser") and hasattr(value, "device"):
        return f"Client(browser={value.browser!r}, device={value.device!r}, os={value.os!r})"
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "..."
