"""Timed steps for the Chromium test of timeouts (tests/web/test_timeouts_browser.py): a page
that moves on after 3 s, a survey after 12 s, then the completion page."""

import mugkit as mk


@mk.scene(timeout=3)
def intro():
    return mk.Page(title="Read this", body="This page moves on by itself.", button="Next")


@mk.survey(timeout=12)
def quiz():
    return [mk.Likert("fun", "The study was fun.", points=5),
            mk.Choice("hand", "Which hand do you write with?", ["left", "right"])]


@mk.scene
def done():
    return mk.Completion(code="TIMED3")
