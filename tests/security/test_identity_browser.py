"""A participant moves to another browser, in Chromium: the second window asks, the move happens
on a click, and the first window says the study continues elsewhere. Screenshots go to
tests/web/screenshots/ (look at them)."""

from __future__ import annotations

import os

import pytest
from serving import WALK, serve

from mugkit.web.entry import prolific_like

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web", "screenshots")


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"identity-{name}.png"), full_page=True)


def test_a_participant_moves_to_another_browser_and_the_first_window_stops(chromium, tmp_path):
    served = serve(WALK, data=str(tmp_path / "data"))
    link = f"{served.url}/_walk/?PROLIFIC_PID={prolific_like('mover')}&STUDY_ID=s&SESSION_ID=sess"
    try:
        first = chromium.new_context().new_page()
        first.goto(link)
        first.wait_for_selector("text=Welcome")
        first.click("text=Start")
        first.wait_for_selector("text=I agree")
        second = chromium.new_context().new_page()      # another browser: nothing in its storage
        second.goto(link)
        second.wait_for_selector("text=Continue in this browser?")
        shot(second, "transfer")
        second.click("text=Continue here")
        second.wait_for_selector("text=I agree")            # the same step, now here
        first.wait_for_selector("text=This study continues elsewhere")
        first.wait_for_function("document.querySelector('.mk-status').dataset.status === 'offline'")
        assert first.is_hidden(".mk-status")                # no "reconnecting…": it stopped for good
        shot(first, "moved-away")
        second.click("text=I agree")
        second.wait_for_selector("canvas")
        third = chromium.new_context().new_page()           # the same id without the attempt
        third.goto(f"{served.url}/_walk/?PROLIFIC_PID={prolific_like('mover')}")
        third.wait_for_selector("text=already taken part")
        shot(third, "conflict")
    finally:
        served.stop()
