"""Timed steps for the timeout tests (tests/web/test_timeouts.py): a page and a survey with a
``timeout``, then the completion page."""

import mugkit as mk


@mk.scene(timeout=2)
def intro():
    return mk.Page(title="Read this", body="This page moves on by itself after two seconds.", button="Next")


@mk.survey(timeout=3)
def quiz():
    return [mk.Likert("fun", "The study was fun.", points=5),
            mk.Choice("hand", "Which hand do you write with?", ["left", "right"]),
            mk.Text("comments", "Anything else?", required=False)]


@mk.scene
def done():
    return mk.Completion(code="TIMED1")
