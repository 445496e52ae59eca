"""Survey answers a bot gives, made from the SurveyJS model the server sends (the ``survey`` view).

:func:`valid_answers` is valid by construction: a rating inside ``rateMin``…``rateMax``, one of
the ``choices`` (a non-empty subset for a checkbox), a short non-blank text within ``maxLength``,
a number within ``min``…``max``, a slider value on a step, a point for every matrix row;
optional questions are sometimes left out (``None``), as people do, and a question that the
view's ``conditions`` hide after the answers before it is left out. :func:`invalid_answers` breaks
exactly one thing a browser's SurveyJS would have stopped (a rating out of range, an unknown
choice, a missing required answer, an unknown question, a wrong type), which the server must
reject. Only the question types mugkit's surveys produce are known; any other is an error that
names it, so a bot never sends answers it cannot vouch for.
"""

from __future__ import annotations

import random
from typing import Any

from ..conditions import all_hold

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


def _number(q: dict, rng: random.Random) -> Any:
    """A number for a number box (``text`` with ``inputType: number``) or a slider."""
    low = q.get("min", q["max"] - 50 if "max" in q else 0)
    high = q.get("max", low + 50)
    step = q.get("step") if isinstance(q.get("step"), (int, float)) else 1  # "any": whole numbers will do
    value = low + step * rng.randint(0, int((high - low) // step))
    return int(value) if float(value).is_integer() and isinstance(step, int) else value


def _one(q: dict, rng: random.Random) -> Any:
    kind = q.get("type")
    if kind == "rating":
        return rng.randint(int(q.get("rateMin", 1)), int(q.get("rateMax", 5)))
    if kind in ("radiogroup", "dropdown"):
        return rng.choice(_choice_values(q))
    if kind == "checkbox":
        values = _choice_values(q)
        return rng.sample(values, rng.randint(1, len(values)))
    if kind == "slider" or (kind == "text" and q.get("inputType") == "number"):
        return _number(q, rng)
    if kind in ("text", "comment"):
        limit = int(q.get("maxLength") or 200)
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))[:limit].strip() or "ok"
    if kind == "matrix":
        points = [c.get("value") if isinstance(c, dict) else c for c in q.get("columns") or []]
        return {(r.get("value") if isinstance(r, dict) else r): rng.choice(points) for r in q.get("rows") or []}
    if kind == "boolean":
        return rng.random() < 0.5
    raise UnknownQuestion(f"question {q.get('name')!r} has type {kind!r}, which the bots cannot answer")


def valid_answers(model: Any, rng: random.Random, conditions: dict | None = None) -> dict:
    """Answers the server must accept: question name → value (``None`` for a skipped optional one).
    A question hidden by ``conditions`` (the view's: name → conditions) gets no entry.

    Raises:
        UnknownQuestion: a question of a type the bots do not know.
    """
    answers: dict = {}
    for q in questions_of(model):
        if not all_hold((conditions or {}).get(q["name"]), answers):
            continue
        skip = not q.get("isRequired", False) and rng.random() < 0.3
        answers[q["name"]] = None if skip else _one(q, rng)
    return answers


def invalid_answers(model: Any, rng: random.Random, conditions: dict | None = None) -> tuple[dict, str]:
    """Answers the server must reject, and what is wrong with them (one thing, drawn with ``rng``)."""
    answers = valid_answers(model, rng, conditions)
    breakers = [lambda: ({**answers, "no_such_question_": "x"}, "an unknown question")]
    for q in questions_of(model):
        name, kind = q["name"], q.get("type")
        if name not in answers:
            continue  # hidden by a condition
        if q.get("isRequired"):
            breakers.append(lambda n=name: ({**answers, n: None}, f"required {n!r} left out"))
        if kind == "rating":
            breakers.append(lambda n=name, q=q: ({**answers, n: int(q.get("rateMax", 5)) + 1}, f"{n!r} above its scale"))
        elif kind in ("radiogroup", "dropdown", "checkbox"):
            bad = "not one of the choices"
            breakers.append(lambda n=name, k=kind: ({**answers, n: [bad] if k == "checkbox" else bad},
                                                    f"{n!r} not one of its choices"))
        elif kind == "slider" or q.get("inputType") == "number":
            breakers.append(lambda n=name: ({**answers, n: "12"}, f"{n!r} text, not a number"))
        elif kind in ("text", "comment"):
            breakers.append(lambda n=name: ({**answers, n: 12345}, f"{n!r} a number, not text"))
        elif kind == "matrix":
            breakers.append(lambda n=name: ({**answers, n: {"no_such_row_": 1}}, f"{n!r} rates a row it does not have"))
    return rng.choice(breakers)()
