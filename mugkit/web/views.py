"""What the browser shows for each step: the ``view`` messages of :mod:`mugkit.web.protocol`.

Pages are Markdown (or HTML files), rendered on the server so the client needs no Markdown
library, then cleaned to an allow-list (:mod:`mugkit.web.sanitize`): a page may show participant
values, and those must never run as script. Surveys become SurveyJS models; their answers are validated here again
(:func:`check_answers`), whatever the client let through.
"""

from __future__ import annotations

from typing import Any

from ..pages import Completion, Consent, Page
from ..conditions import conditions_of
from ..questions import Choice, Dropdown, Likert, Matrix, Number, Question, Slider, Text
from ..questions import check_answers as questions_check_answers
from .sanitize import clean_html

__all__ = ["page_view", "paused_view", "survey_view", "check_answers", "fill", "markdown_html"]


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


#: What a paused participant reads, per reason (:attr:`mugkit.web.study.Study.paused`).
PAUSED_TEXT = {
    "the server is stopping": "The study server is restarting. Please keep this page open: the study continues "
                              "here as soon as the server is back. Nothing you have done so far is lost.",
    "storage": "The server cannot save data right now. Please keep this page open: the study continues here as "
               "soon as saving works again. Nothing you have done so far is lost.",
    "unavailable": "The study server is briefly unavailable. Please reload this page in a minute to continue. "
                   "Nothing you have done so far is lost.",
}


def paused_view(reason: str) -> dict:
    """The ``paused`` view: the study cannot go on for now (``reason``: the server is stopping, or
    the storage cannot write); the page waits and is sent its step again when it can."""
    text = PAUSED_TEXT.get(reason, PAUSED_TEXT["storage"])
    return {"kind": "paused", "title": "The study is paused", "html": markdown_html(text), "reason": reason}


def _scale(points: int, labels: list | None) -> dict:
    """A Likert scale: numbered buttons (SurveyJS ``rating``) when only the end points are named
    (or none), else a row of radio buttons with every point's label under it (``radiogroup``
    with number values, which survey.js lays out as a scale)."""
    labels = list(labels or [])
    if not any(labels[1:-1]):
        out: dict = {"type": "rating", "rateMin": 1, "rateMax": points, "displayMode": "buttons",
                     "rateDescriptionLocation": "bottom"}
        if labels and labels[0]:
            out["minRateDescription"] = labels[0]
        if labels and labels[-1]:
            out["maxRateDescription"] = labels[-1]
        return out
    return {"type": "radiogroup", "colCount": 0,
            "choices": [{"value": i + 1, "text": label or "\u00a0"} for i, label in enumerate(labels)]}


def _columns(points: int, labels: list | None) -> list:
    return [{"value": i + 1, "text": (labels[i] if labels and labels[i] else str(i + 1))} for i in range(points)]


def _question(q: Question) -> dict:
    """One question as a SurveyJS element (types checked most specific first)."""
    base = {"name": q.name, "title": q.text, "isRequired": bool(q.required)}
    if isinstance(q, Likert):
        return {**base, **_scale(q.points, q.labels)}
    if isinstance(q, Dropdown):
        return {**base, "type": "dropdown", "choices": list(q.options), "placeholder": "Select…"}
    if isinstance(q, Choice):
        return {**base, "type": "checkbox" if q.multiple else "radiogroup", "choices": list(q.options)}
    if isinstance(q, Text):
        return {**base, "type": "comment" if q.multiline else "text", "maxLength": q.max_length}
    if isinstance(q, Number):
        bounds = {k: v for k, v in (("min", q.min), ("max", q.max)) if v is not None}
        return {**base, "type": "text", "inputType": "number", "step": 1 if q.integer else "any", **bounds}
    if isinstance(q, Slider):
        out = {**base, "type": "slider", "min": q.min, "max": q.max, "step": q.step}
        if q.labels:
            out.update(autoGenerate=False, customLabels=[{"value": v, "text": t} for v, t in sorted(q.labels.items())])
        return out
    if isinstance(q, Matrix):
        return {**base, "type": "matrix", "eachRowRequired": bool(q.required), "columns": _columns(q.points, q.labels),
                "columnMinWidth": f"{62 / q.points:.1f}%",
                "rows": [{"value": item, "text": text} for item, text in q.items.items()]}
    raise TypeError(f"unknown question type {type(q).__name__}")


def survey_view(title: str, questions: list) -> dict:
    """The view of a survey: a SurveyJS model of its questions, on one page, and ``conditions``
    (question name -> its ``visible_if`` conditions as lists) that the page evaluates as the
    server does (:mod:`mugkit.conditions`)."""
    conditions = {q.name: [list(c) for c in conditions_of(q.visible_if)] for q in questions if q.visible_if}
    return {"kind": "survey", "title": title, "conditions": conditions,
            "survey": {"showQuestionNumbers": "off", "completeText": "Continue", "clearInvisibleValues": "onHidden",
                       "pages": [{"name": "page1", "elements": [_question(q) for q in questions]}]}}


def check_answers(questions: list, answers: Any) -> str | None:
    """What is wrong with ``answers`` for ``questions`` (None when they are fine): see
    :func:`mugkit.questions.check_answers`."""
    return questions_check_answers(questions, answers)
