"""Survey questions: what a ``@mk.survey`` function returns a list of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["Question", "Likert", "Choice", "Text", "problems"]


@dataclass
class Question:
    """Base of the question types. ``name`` is the column the answer is stored under."""

    name: str
    text: str
    required: bool = True

    def problems(self) -> list[str]:
        """What is wrong with this question, one sentence each (empty when well formed)."""
        out = []
        if not isinstance(self.name, str) or not self.name.isidentifier():
            out.append(f"question name {self.name!r} must be an identifier (letters, digits, _)")
        if not isinstance(self.text, str) or not self.text.strip():
            out.append(f"question {self.name!r} has no text")
        return out

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is a valid answer (None only when the question is optional)."""
        return value is None and not self.required


@dataclass
class Likert(Question):
    """A rating on ``points`` points; ``labels`` (optional) names each point from low to high."""

    points: int = 7
    labels: Sequence[str] | None = None

    def __init__(self, name: str, text: str, points: int = 7, labels: Sequence[str] | None = None,
                 required: bool = True):
        super().__init__(name, text, required)
        self.points = points
        self.labels = list(labels) if labels is not None else None

    def problems(self):
        out = super().problems()
        if not isinstance(self.points, int) or isinstance(self.points, bool) or not 2 <= self.points <= 11:
            out.append(f"Likert {self.name!r}: points must be an int from 2 to 11, got {self.points!r}")
        elif self.labels is not None and len(self.labels) != self.points:
            out.append(f"Likert {self.name!r}: {len(self.labels)} labels for {self.points} points")
        return out

    def accepts(self, value):
        return super().accepts(value) or (isinstance(value, int) and not isinstance(value, bool)
                                          and 1 <= value <= self.points)


@dataclass
class Choice(Question):
    """One option of ``options`` (or several, with ``multiple=True``)."""

    options: Sequence[str] = ()
    multiple: bool = False

    def __init__(self, name: str, text: str, options: Sequence[str], multiple: bool = False,
                 required: bool = True):
        super().__init__(name, text, required)
        self.options = list(options)
        self.multiple = multiple

    def problems(self):
        out = super().problems()
        if len(self.options) < 2:
            out.append(f"Choice {self.name!r}: needs at least two options, got {self.options!r}")
        if not all(isinstance(o, str) and o for o in self.options):
            out.append(f"Choice {self.name!r}: options must be non-empty strings, got {self.options!r}")
        elif len(set(self.options)) != len(self.options):
            out.append(f"Choice {self.name!r}: options repeat: {self.options!r}")
        return out

    def accepts(self, value):
        if super().accepts(value):
            return True
        if self.multiple:
            return (isinstance(value, list) and all(v in self.options for v in value)
                    and (bool(value) or not self.required))
        return value in self.options


@dataclass
class Text(Question):
    """Free text, at most ``max_length`` characters."""

    multiline: bool = False
    max_length: int = 2000

    def __init__(self, name: str, text: str, required: bool = True, multiline: bool = False,
                 max_length: int = 2000):
        super().__init__(name, text, required)
        self.multiline = multiline
        self.max_length = max_length

    def problems(self):
        out = super().problems()
        if not isinstance(self.max_length, int) or self.max_length < 1:
            out.append(f"Text {self.name!r}: max_length must be a positive int")
        return out

    def accepts(self, value):
        return super().accepts(value) or (isinstance(value, str) and len(value) <= self.max_length
                                          and (bool(value.strip()) or not self.required))


def problems(questions: Any) -> list[str]:
    """What is wrong with a survey's list of questions (empty when it is well formed)."""
    if not isinstance(questions, (list, tuple)) or not questions:
        return [f"a survey must return a non-empty list of mk.Likert/mk.Choice/mk.Text, got {questions!r:.80}"]
    out = []
    names: set = set()
    for i, q in enumerate(questions):
        if not isinstance(q, Question):
            out.append(f"item {i} is not a question (mk.Likert, mk.Choice or mk.Text): {q!r:.60}")
            continue
        out += q.problems()
        if q.name in names:
            out.append(f"two questions are named {q.name!r}: answers are stored by name")
        names.add(q.name)
    return out
