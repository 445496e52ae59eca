"""What the browser shows for each step: the ``view`` messages of :mod:`mugkit.web.protocol`.

Pages are Markdown (or HTML files), rendered on the server so the client needs no Markdown
library, then cleaned to an allow-list (:mod:`mugkit.web.sanitize`): a page may show participant
values, and those must never run as script. Surveys become SurveyJS models; their answers are validated here again
(:func:`check_answers`), whatever the client let through.
"""

from __future__ import annotations

import html
from typing import Any

from ..pages import Completion, Consent, Page
from ..questions import Choice, Likert, Question, Text
from .sanitize import clean_html

__all__ = ["page_view", "survey_view", "check_answers", "fill", "markdown_html"]


def markdown_html(text: str) -> str:
    """``text`` as HTML: a body that already is HTML (starts with ``<``) is taken as HTML, anything
    else as Markdown; either way cleaned by :func:`~mugkit.web.sanitize.clean_html` (no script,
    no event handlers, no ``javascript:`` links)."""
    if text.lstrip().startswith("<"):
        return clean_html(text)
    import markdown

    return clean_html(markdown.markdown(text, extensions=["extra", "sane_lists"]))


def fill(text: str, code: str | None, token: str | None) -> str:
    """``{code}`` and ``{token}`` filled in (and nothing else: researchers' braces stay)."""
    return text.replace("{code}", code or "").replace("{token}", token or "")


def page_view(page: Any, *, code: str | None = None, token: str | None = None) -> dict:
    """The view of what a page scene returned: ``Page``, ``Consent`` or ``Completion``."""
    if isinstance(page, Consent):
        return {"kind": "consent", "title": page.title, "html": markdown_html(page.body), "agree": page.agree,
                "decline": page.decline}
    if isinstance(page, Completion):
        code = code or page.code  # a timed-out participant's own code, where given
        return {"kind": "completion", "title": page.title, "code": code, "html": markdown_html(fill(page.body, code, token)),
                "redirect": fill(page.redirect, code, token) if page.redirect else None, "mturk": None}
    if isinstance(page, Page):
        return {"kind": "page", "title": page.title, "html": markdown_html(page.body), "button": page.button}
    raise TypeError(f"a page scene must return mk.Page, mk.Consent or mk.Completion, got {type(page).__name__}")


def _question(q: Question) -> dict:
    base = {"name": q.name, "title": q.text, "isRequired": bool(getattr(q, "required", True))}
    if isinstance(q, Likert):
        out = {**base, "type": "rating", "rateMin": 1, "rateMax": q.points}
        labels = list(getattr(q, "labels", None) or [])
        if labels:
            out["minRateDescription"], out["maxRateDescription"] = labels[0], labels[-1]
        return out
    if isinstance(q, Choice):
        return {**base, "type": "checkbox" if q.multiple else "radiogroup", "choices": list(q.options)}
    if isinstance(q, Text):
        return {**base, "type": "comment" if getattr(q, "multiline", False) else "text"}
    raise TypeError(f"unknown question type {type(q).__name__}")


def survey_view(title: str, questions: list) -> dict:
    """The view of a survey: a SurveyJS model of its questions, on one page."""
    return {"kind": "survey", "title": title,
            "survey": {"showQuestionNumbers": "off", "completeText": "Continue",
                       "pages": [{"name": "page1", "elements": [_question(q) for q in questions]}]}}


def check_answers(questions: list, answers: Any) -> str | None:
    """What is wrong with ``answers`` for ``questions`` (None when they are fine): unknown names,
    a required question left out, a value the question does not accept."""
    if not isinstance(answers, dict):
        return "answers must be an object: question name -> answer"
    names = {q.name for q in questions}
    unknown = sorted(str(k) for k in answers if k not in names)
    if unknown:
        return f"unknown question(s): {', '.join(html.escape(k) for k in unknown[:5])}"
    for q in questions:
        value = answers.get(q.name)
        if value is None or value == "" or value == []:
            if getattr(q, "required", True):
                return f"please answer: {q.text}"
            continue
        if not q.accepts(value):
            return f"not a valid answer to: {q.text}"
    return None
