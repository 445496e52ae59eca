"""Conditions on earlier answers: a question's ``visible_if``.

A condition is a tuple ``(question, operator, value)``: ``("partner", "==", "a computer")``. A
question with a list of them is shown only when all hold. The server decides with
:func:`holds` whether a question was shown (a hidden question is neither required nor accepted),
and the browser evaluates the same rules (mugkit/web/static/client/views/survey.js): keep the two
in step.

A condition on a question that has no answer (left out, or itself hidden) never holds, whatever
its operator: ``("partner", "!=", "a human")`` is false until ``partner`` is answered.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["OPERATORS", "ORDERING", "conditions_of", "holds", "all_hold", "is_empty"]

#: The operators a condition may use.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains")
#: The operators that compare numbers.
ORDERING = ("<", "<=", ">", ">=")


def conditions_of(visible_if: Any) -> list:
    """``visible_if`` as a list of conditions (a single tuple becomes a list of one; None, none).
    The shape is checked by :func:`mugkit.questions.problems`, not here."""
    if visible_if is None:
        return []
    if isinstance(visible_if, tuple):
        return [visible_if]
    return list(visible_if) if isinstance(visible_if, list) else [visible_if]


def is_empty(value: Any) -> bool:
    """True for what counts as no answer: None, an empty string, list or object."""
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def holds(condition: tuple, answers: Mapping[str, Any]) -> bool:
    """Whether one well-formed ``condition`` holds over ``answers`` (question name -> value)."""
    name, op, want = condition
    got = answers.get(name)
    if is_empty(got):
        return False
    if op == "==":
        return got == want
    if op == "!=":
        return got != want
    if op in ORDERING:
        if not (_number(got) and _number(want)):
            return False
        return {"<": got < want, "<=": got <= want, ">": got > want, ">=": got >= want}[op]
    if op in ("in", "not in"):
        try:  # a forged answer of another type (a list for a text question) holds nothing
            return (got in want) == (op == "in")
        except TypeError:
            return False
    if op == "contains":
        return isinstance(got, list) and want in got
    return False


def all_hold(visible_if: Any, answers: Mapping[str, Any]) -> bool:
    """Whether every condition of ``visible_if`` holds (True when there are none)."""
    return all(holds(tuple(c), answers) for c in conditions_of(visible_if))
