"""Survey answers a bot gives, made from the SurveyJS model the server sends (the ``survey`` view).

:func:`valid_answers` is valid by construction: a rating inside ``rateMin``…``rateMax``, one of
the ``choices`` (a non-empty subset for a checkbox), a short non-blank text within ``maxLength``;
optional questions are sometimes left out (``None``), as people do. :func:`invalid_answers` breaks
exactly one thing a browser's SurveyJS would have stopped (a rating out of range, an unknown
choice, a missing required answer, an unknown question, a wrong type), which the server must
reject. Only the question types mugkit's surveys produce are known; any other is an error that
names it, so a bot never sends answers it cannot vouch for.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["questions_of", "valid_answers", "invalid_answers", "UnknownQuestion"]

#: Words free-text answers are made of (never blank, never long).
WORDS = ("fine", "the", "game", "was", "fun", "hard", "easy", "partner", "keys", "quick", "slow", "ok")


class UnknownQuestion(ValueError):
    """A question type the bots cannot answer validly; the message names it."""


def questions_of(model: Any) -> list[dict]:
    """The questions of a SurveyJS JSON model, in order (every page, panels flattened).

    Raises:
        UnknownQuestion: the model is not a SurveyJS object with pages of elements.
    """
    if not isinstance(model, dict) or not isinstance(model.get("pages", []), list):
        raise UnknownQuestion(f"not a SurveyJS model: {str(model)[:80]}")
    out: list[dict] = []

    def walk(elements: Any) -> None:
        for element in elements or []:
            if not isinstance(element, dict):
                raise UnknownQuestion(f"not a SurveyJS element: {str(element)[:80]}")
            if element.get("type") == "panel":
                walk(element.get("elements"))
            elif element.get("type") not in ("html", "expression", "image"):
                out.append(element)

    for page in model.get("pages", []):
        walk(page.get("elements") if isinstance(page, dict) else None)
    walk(model.get("elements"))
    return out


def _choice_values(q: dict) -> list:
    return [c.get("value") if isinstance(c, dict) else c for c in q.get("choices") or []]


def _one(q: dict, rng: random.Random) -> Any:
    kind = q.get("type")
    if kind == "rating":
        return rng.randint(int(q.get("rateMin", 1)), int(q.get("rateMax", 5)))
    if kind in ("radiogroup", "dropdown"):
        return rng.choice(_choice_values(q))
    if kind == "checkbox":
        values = _choice_values(q)
        return rng.sample(values, rng.randint(1, len(values)))
    if kind in ("text", "comment"):
        limit = int(q.get("maxLength") or 200)
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))[:limit].strip() or "ok"
    if kind == "boolean":
        return rng.random() < 0.5
    raise UnknownQuestion(f"question {q.get('name')!r} has type {kind!r}, which the bots cannot answer")


def valid_answers(model: Any, rng: random.Random) -> dict:
    """Answers the server must accept: question name → value (``None`` for a skipped optional one).

    Raises:
        UnknownQuestion: a question of a type the bots do not know.
    """
    answers = {}
    for q in questions_of(model):
        skip = not q.get("isRequired", False) and rng.random() < 0.3
        answers[q["name"]] = None if skip else _one(q, rng)
    return answers


def invalid_answers(model: Any, rng: random.Random) -> tuple[dict, str]:
    """Answers the server must reject, and what is wrong with them (one thing, drawn with ``rng``)."""
    questions = questions_of(model)
    answers = valid_answers(model, rng)
    breakers = [lambda: ({**answers, "no_such_question_": "x"}, "an unknown question")]
    for q in questions:
        name, kind = q["name"], q.get("type")
        if q.get("isRequired"):
            breakers.append(lambda n=name: ({**answers, n: None}, f"required {n!r} left out"))
        if kind == "rating":
            breakers.append(lambda n=name, q=q: ({**answers, n: int(q.get("rateMax", 5)) + 1}, f"{n!r} above its scale"))
        elif kind in ("radiogroup", "dropdown", "checkbox"):
            bad = "not one of the choices"
            breakers.append(lambda n=name, k=kind: ({**answers, n: [bad] if k == "checkbox" else bad},
                                                    f"{n!r} not one of its choices"))
        elif kind in ("text", "comment"):
            breakers.append(lambda n=name: ({**answers, n: 12345}, f"{n!r} a number, not text"))
    return rng.choice(breakers)()
