"""Problems of survey questions shared by several types (labels, number ranges) and of their
``visible_if`` conditions, one sentence each that says what to fix (used by
:func:`mugkit.questions.problems` and so by the ``survey`` check)."""

from __future__ import annotations

import difflib
import math
from typing import Any

from .conditions import OPERATORS, ORDERING, conditions_of

__all__ = ["label_problems", "number_problems", "condition_problems"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def label_problems(kind: str, name: str, labels: Any, points: int) -> list[str]:
    """``labels`` of a ``points``-point scale: a list of one string per point."""
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        return [f"{kind} {name!r}: labels must be a list of strings, one per point, got {labels!r:.80}"]
    if len(labels) != points:
        return [f"{kind} {name!r}: {len(labels)} labels for {points} points"]
    return []


def number_problems(kind: str, name: str, low: Any, high: Any, *, optional: bool) -> list[str]:
    """``min`` and ``max`` of a number question: numbers (or None when ``optional``), min < max."""
    out = []
    for which, value in (("min", low), ("max", high)):
        if not (_number(value) or (optional and value is None)):
            need = "a number or None" if optional else "a number"
            out.append(f"{kind} {name!r}: {which} must be {need}, got {value!r}")
    if not out and low is not None and high is not None and not low < high:
        out.append(f"{kind} {name!r}: min {low!r} must be below max {high!r}")
    return out


#: Operators people write from other languages, and mugkit's for them.
_ALIASES = {"=": "==", "is": "==", "eq": "==", "<>": "!=", "ne": "!=", "is not": "!=", "has": "contains",
            "includes": "contains", "=<": "<=", "=>": ">="}


def _did_you_mean(word: Any, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _impossible(ref: Any, value: Any) -> str | None:
    """Why ``value`` can never be an answer to question ``ref``, as "<value> is ..." (None when it can)."""
    kind = type(ref).__name__
    if hasattr(ref, "options"):
        if value not in ref.options:
            return f"{value!r:.60} is not one of the options of {ref.name!r}{_did_you_mean(value, ref.options)}"
    elif kind == "Likert":
        if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ref.points):
            return f"{value!r:.60} is not a point of {ref.name!r} (1 to {ref.points})"
    elif kind in ("Number", "Slider"):
        if not _number(value):
            return f"{value!r:.60} is not a number, and {ref.name!r} is a {kind}"
    elif not isinstance(value, str):
        return f"{value!r:.60} is not text, and {ref.name!r} is a {kind}"
    return None


def _value_problem(ref: Any, op: str, value: Any) -> str | None:
    """Why a condition ``(ref.name, op, value)`` can never hold (None when it can)."""
    kind, name = type(ref).__name__, ref.name
    if kind == "Matrix":
        return f"{name!r} is a Matrix; a condition can use a Likert, Choice, Dropdown, Number, Slider or Text"
    if getattr(ref, "multiple", False) and op != "contains":
        return f"{name!r} takes several options: use ({name!r}, 'contains', option)"
    if op == "contains" and not getattr(ref, "multiple", False):
        return f"'contains' is for a Choice with multiple=True, and {name!r} is a {kind}: use '=='"
    if op in ORDERING and kind not in ("Likert", "Number", "Slider"):
        return f"{op!r} compares numbers, and {name!r} is a {kind}: use '==' or 'in'"
    if op in ("in", "not in"):
        if not isinstance(value, (list, tuple)) or not value:
            return f"{op!r} needs a non-empty list of values, got {value!r:.60}"
        return next((why for v in value if (why := _impossible(ref, v))), None)
    return _impossible(ref, value)


def condition_problems(name: Any, visible_if: Any, earlier: dict, later: set) -> list[str]:
    """Problems of question ``name``'s ``visible_if``: its shape, the question each condition
    names (one of ``earlier``: name -> question; not one of ``later``) and its value."""
    if visible_if is None:
        return []
    if not isinstance(visible_if, (tuple, list)):
        return [f"question {name!r}: visible_if must be (question, operator, value) or a list of them, "
                f"got {visible_if!r:.80}"]
    out = []
    for c in conditions_of(visible_if):
        if not isinstance(c, (tuple, list)) or len(c) != 3 or not isinstance(c[0], str):
            out.append(f"question {name!r}: a condition must be (question, operator, value), got {c!r:.80}")
            continue
        ref, op, value = c
        where = f"question {name!r}: visible_if {tuple(c)!r:.80}"
        if op not in OPERATORS:
            alias = _ALIASES.get(op) if isinstance(op, str) else None
            hint = f" (did you mean {alias!r}?)" if alias else _did_you_mean(op, OPERATORS)
            out.append(f"{where}: unknown operator {op!r}{hint}; "
                       f"use one of {', '.join(OPERATORS)}")
        elif ref == name or ref in later:
            out.append(f"{where}: {ref!r} is not an earlier question; a condition can only use the answers "
                       f"to questions above it")
        elif ref not in earlier:
            out.append(f"{where}: no question is named {ref!r}{_did_you_mean(ref, earlier)}")
        elif (why := _value_problem(earlier[ref], op, value)) is not None:
            out.append(f"{where} can never hold: {why}")
    return out
