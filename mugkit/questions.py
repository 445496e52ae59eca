"""Survey questions: what a ``@mk.survey`` function returns a list of.

Each question type says what is wrong with it (:meth:`Question.problems`, for the ``survey``
check), why a value is not a valid answer (:meth:`Question.why_not`, for the server) and how an
answer is stored (:meth:`Question.rows`). :func:`check_answers` validates a whole survey's answers
as the server received them, :func:`answer_rows` turns them into the rows of the ``answers`` table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .conditions import all_hold, is_empty
from .survey_checks import condition_problems, label_problems, number_problems

__all__ = ["Question", "Likert", "Choice", "Dropdown", "Text", "Number", "Slider", "Matrix",
           "problems", "check_answers", "answer_rows", "visible_questions"]

#: The largest integer a browser's JavaScript number holds exactly: a bigger one is refused.
MAX_SAFE = 2 ** 53


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass
class Question:
    """Base of the question types. ``name`` is the column the answer is stored under;
    ``visible_if`` a condition on earlier answers, ``(question, operator, value)``, or a list of
    them that must all hold (see :mod:`mugkit.conditions`)."""

    name: str
    text: str
    required: bool = True
    visible_if: Any = None

    def problems(self) -> list[str]:
        """What is wrong with this question, one sentence each (empty when well formed)."""
        out = []
        if not isinstance(self.name, str) or not self.name.isidentifier():
            out.append(f"question name {self.name!r} must be an identifier (letters, digits, _)")
        if not isinstance(self.text, str) or not self.text.strip():
            out.append(f"question {self.name!r} has no text")
        if not isinstance(self.required, bool):
            out.append(f"question {self.name!r}: required must be True or False, got {self.required!r}")
        return out

    def why_not(self, value: Any) -> str | None:
        """Why ``value`` (not empty) is not a valid answer, for the participant; None when it is."""
        return "this question takes no answer"

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is a valid answer (an empty one only when the question is optional)."""
        if is_empty(value):
            return not self.required
        return self.why_not(value) is None

    def rows(self, value: Any) -> dict[str, Any]:
        """The ``answers`` rows of a valid answer: question column -> value (None when left out)."""
        return {self.name: None if is_empty(value) else value}


def _points_problem(kind: str, name: str, points: Any) -> list[str]:
    if not isinstance(points, int) or isinstance(points, bool) or not 2 <= points <= 11:
        return [f"{kind} {name!r}: points must be an int from 2 to 11, got {points!r}"]
    return []


def _point_why_not(value: Any, points: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= points:
        return None
    return f"choose a point from 1 to {points}"


@dataclass(init=False)
class Likert(Question):
    """A rating on ``points`` points; ``labels`` (optional) names each point from low to high
    (``""`` leaves a point unnamed). The answer is an int from 1 to ``points``."""

    points: int = 7
    labels: Sequence[str] | None = None

    def __init__(self, name: str, text: str, points: int = 7, labels: Sequence[str] | None = None,
                 required: bool = True, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.points = points
        self.labels = list(labels) if isinstance(labels, (list, tuple)) else labels

    def problems(self):
        out = super().problems() + _points_problem("Likert", self.name, self.points)
        if self.labels is None or _points_problem("Likert", self.name, self.points):
            return out
        return out + label_problems("Likert", self.name, self.labels, self.points)

    def why_not(self, value):
        return _point_why_not(value, self.points)


@dataclass(init=False)
class Choice(Question):
    """One option of ``options`` (or a list of several, with ``multiple=True``)."""

    options: Sequence[str] = ()
    multiple: bool = False

    def __init__(self, name: str, text: str, options: Sequence[str], multiple: bool = False,
                 required: bool = True, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.options = list(options) if isinstance(options, (list, tuple)) else options
        self.multiple = multiple

    def problems(self):
        out = super().problems()
        kind = type(self).__name__
        if not isinstance(self.options, list) or len(self.options) < 2:
            return out + [f"{kind} {self.name!r}: needs at least two options, got {self.options!r}"]
        if not all(isinstance(o, str) and o for o in self.options):
            out.append(f"{kind} {self.name!r}: options must be non-empty strings, got {self.options!r}")
        elif len(set(self.options)) != len(self.options):
            out.append(f"{kind} {self.name!r}: options repeat: {self.options!r}")
        return out

    def why_not(self, value):
        if not self.multiple:
            return None if isinstance(value, str) and value in self.options else "choose one of the options"
        if not isinstance(value, list) or not all(isinstance(v, str) and v in self.options for v in value):
            return "choose among the options"
        return "choose each option at most once" if len(set(value)) != len(value) else None


@dataclass(init=False)
class Dropdown(Choice):
    """One option of ``options``, picked from a drop-down list (for long lists: countries, ages)."""

    def __init__(self, name: str, text: str, options: Sequence[str], required: bool = True,
                 visible_if: Any = None):
        super().__init__(name, text, options, False, required, visible_if)


@dataclass(init=False)
class Text(Question):
    """Free text, at most ``max_length`` characters (one line, or a box with ``multiline=True``)."""

    multiline: bool = False
    max_length: int = 2000

    def __init__(self, name: str, text: str, required: bool = True, multiline: bool = False,
                 max_length: int = 2000, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.multiline = multiline
        self.max_length = max_length

    def problems(self):
        out = super().problems()
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 1:
            out.append(f"Text {self.name!r}: max_length must be a positive int")
        return out

    def why_not(self, value):
        if not isinstance(value, str):
            return "write text"
        if len(value) > self.max_length:
            return f"write at most {self.max_length} characters"
        return "write an answer" if self.required and not value.strip() else None


@dataclass(init=False)
class Number(Question):
    """A number typed in a box, from ``min`` to ``max`` (either may be None: no bound); a whole
    number with ``integer=True``. The answer is an int or a float."""

    min: float | None = None
    max: float | None = None
    integer: bool = False

    def __init__(self, name: str, text: str, min: float | None = None, max: float | None = None,
                 integer: bool = False, required: bool = True, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.min, self.max, self.integer = min, max, integer

    def problems(self):
        out = super().problems() + number_problems("Number", self.name, self.min, self.max, optional=True)
        if not isinstance(self.integer, bool):
            out.append(f"Number {self.name!r}: integer must be True or False, got {self.integer!r}")
        return out

    def _range(self) -> str:
        what = "a whole number" if self.integer else "a number"
        if self.min is not None and self.max is not None:
            return f"enter {what} from {_fmt(self.min)} to {_fmt(self.max)}"
        if self.min is not None:
            return f"enter {what} of at least {_fmt(self.min)}"
        return f"enter {what} of at most {_fmt(self.max)}" if self.max is not None else f"enter {what}"

    def why_not(self, value):
        if not _number(value) or abs(value) > MAX_SAFE or (self.integer and not isinstance(value, int)):
            return self._range()
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            return self._range()
        return None


@dataclass(init=False)
class Slider(Question):
    """A number picked on a slider from ``min`` to ``max`` in steps of ``step``; ``labels``
    (optional) names points of the scale, ``{value: text}``. The slider has no starting answer:
    the participant must move it (or click the scale) to answer."""

    min: float = 0
    max: float = 100
    step: float = 1
    labels: Mapping[float, str] | None = None

    def __init__(self, name: str, text: str, min: float = 0, max: float = 100, step: float = 1,
                 labels: Mapping[float, str] | None = None, required: bool = True, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.min, self.max, self.step = min, max, step
        self.labels = dict(labels) if isinstance(labels, Mapping) else labels

    def problems(self):
        out, bounds = super().problems(), number_problems("Slider", self.name, self.min, self.max, optional=False)
        if bounds:
            return out + bounds
        span = self.max - self.min
        if not _number(self.step) or self.step <= 0:
            return out + [f"Slider {self.name!r}: step must be a positive number, got {self.step!r}"]
        if abs(span / self.step - round(span / self.step)) > 1e-9:
            out.append(f"Slider {self.name!r}: step {self.step!r} does not divide the range "
                       f"{self.min!r} to {self.max!r}")
        if self.labels is not None:
            if not isinstance(self.labels, dict) or not all(
                    _number(k) and self.min <= k <= self.max and isinstance(v, str) for k, v in self.labels.items()):
                out.append(f"Slider {self.name!r}: labels must be {{value: text}} with values from {self.min!r} "
                           f"to {self.max!r}, got {self.labels!r}")
        return out

    def why_not(self, value):
        where = f"pick a value from {_fmt(self.min)} to {_fmt(self.max)} on the slider"
        if not _number(value) or not self.min <= value <= self.max:
            return where
        steps = (value - self.min) / self.step
        return None if abs(steps - round(steps)) < 1e-9 else where


@dataclass(init=False)
class Matrix(Question):
    """Several statements rated on one scale, as a table: ``items`` maps each statement's name
    (an identifier) to its text; ``points`` and ``labels`` as in :class:`Likert`. The answer is
    ``{item: point}``; it is stored as one row per item, question ``"<name>.<item>"``. With
    ``required=True`` every item needs an answer."""

    items: Mapping[str, str] | None = None
    points: int = 5
    labels: Sequence[str] | None = None

    def __init__(self, name: str, text: str, items: Mapping[str, str], points: int = 5,
                 labels: Sequence[str] | None = None, required: bool = True, visible_if: Any = None):
        super().__init__(name, text, required, visible_if)
        self.items = dict(items) if isinstance(items, Mapping) else items
        self.points = points
        self.labels = list(labels) if isinstance(labels, (list, tuple)) else labels

    def problems(self):
        out = super().problems() + _points_problem("Matrix", self.name, self.points)
        if self.labels is not None and not _points_problem("Matrix", self.name, self.points):
            out += label_problems("Matrix", self.name, self.labels, self.points)
        if not isinstance(self.items, dict) or not self.items:
            return out + [f"Matrix {self.name!r}: items must be a non-empty dict of item name -> statement, "
                          f"got {self.items!r:.80}"]
        for item, statement in self.items.items():
            if not isinstance(item, str) or not item.isidentifier():
                out.append(f"Matrix {self.name!r}: item name {item!r} must be an identifier (letters, digits, _)")
            if not isinstance(statement, str) or not statement.strip():
                out.append(f"Matrix {self.name!r}: item {item!r} has no statement")
        return out

    def why_not(self, value):
        if not isinstance(value, dict) or not all(k in self.items for k in value):
            return "rate the statements shown"
        for item, point in value.items():
            if point is not None and _point_why_not(point, self.points):
                return f"rate each statement from 1 to {self.points}"
        if self.required and any(value.get(item) is None for item in self.items):
            return "rate every statement"
        return None

    def rows(self, value):
        value = value if isinstance(value, dict) else {}
        return {f"{self.name}.{item}": value.get(item) for item in self.items}


def problems(questions: Any) -> list[str]:
    """What is wrong with a survey's list of questions (empty when it is well formed): each
    question's own problems, repeated names, and conditions that name no earlier question or
    compare with a value its question cannot take."""
    if not isinstance(questions, (list, tuple)) or not questions:
        return [f"a survey must return a non-empty list of questions (mk.Likert, mk.Choice, mk.Text, ...), "
                f"got {questions!r:.80}"]
    out = []
    earlier: dict[str, Question] = {}
    for i, q in enumerate(questions):
        if not isinstance(q, (Likert, Choice, Text, Number, Slider, Matrix)):  # the types a page can show
            out.append(f"item {i} is not a question (mk.Likert, mk.Choice, mk.Text, ...): {q!r:.60}")
            continue
        out += q.problems()
        out += condition_problems(q.name, q.visible_if, earlier, later={getattr(x, "name", None)
                                                                        for x in questions[i + 1:]})
        if q.name in earlier:
            out.append(f"two questions are named {q.name!r}: answers are stored by name")
        elif isinstance(q.name, str):
            earlier[q.name] = q
    return out


def visible_questions(questions: Sequence[Question], answers: Mapping[str, Any]) -> list[Question]:
    """The questions shown for ``answers``, in order: each one's condition is evaluated over the
    answers to the questions shown before it (a hidden question counts as not answered)."""
    shown, seen = [], {}
    for q in questions:
        if all_hold(q.visible_if, seen):
            shown.append(q)
            seen[q.name] = answers.get(q.name)
    return shown


def _clip(text: Any, n: int = 40) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n - 1] + "…"


def check_answers(questions: Sequence[Question], answers: Any) -> str | None:
    """What is wrong with ``answers`` (question name -> value) for ``questions``, for the
    participant (None when they are fine): an unknown question, an answer to a question the
    earlier answers hide, a required question left out, or a value the question does not take."""
    if not isinstance(answers, dict):
        return "answers must be an object: question name -> answer"
    names = {q.name for q in questions}
    unknown = sorted(_clip(k) for k in answers if k not in names)
    if unknown:
        return f"unknown question(s): {', '.join(unknown[:5])}"
    shown = {id(q) for q in visible_questions(questions, answers)}
    for q in questions:
        value = answers.get(q.name)
        if id(q) not in shown:
            if not is_empty(value):
                return f"not shown after your earlier answers, so it takes no answer: {q.text}"
        elif is_empty(value):
            if q.required:
                return f"please answer: {q.text}"
        elif (reason := q.why_not(value)) is not None:
            return f"not a valid answer to: {q.text} ({reason})"
    return None


def answer_rows(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The ``answers`` rows of answers that :func:`check_answers` accepted: question column ->
    value, for every question shown (None when left out); a hidden question has no row."""
    rows: dict[str, Any] = {}
    for q in visible_questions(questions, answers):
        rows.update(q.rows(answers.get(q.name)))
    return rows
