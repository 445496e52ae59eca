"""Timeouts in Debian's Chromium against a real `mugkit serve` (tests/web/studies/_timed_browser.py):
the page shows the time left and is moved on by the server while open; a survey answered in part
sends its answers so far; the browser then closes, and the server moves its participant on and
stores those answers. Screenshots (into $MUGKIT_SURVEY_SHOTS, by default tests/web/screenshots/):
the timer on a page and on a survey."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest

from serving import ROOT, STUDIES, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMED = os.path.join(STUDIES, "_timed_browser.py")   # intro: 3 s; quiz: 12 s; done
SHOTS = os.environ.get("MUGKIT_SURVEY_SHOTS") or os.path.join(ROOT, "tests", "web", "screenshots")


def rows(data: str, sql: str, *args) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql, args).fetchall()


def test_a_page_timeout_moves_a_closed_browsers_participant_on_and_keeps_its_answers_so_far(chromium, tmp_path):
    data = str(tmp_path / "data")
    server = serve(TIMED, data=data)
    try:
        context = chromium.new_context(viewport={"width": 1000, "height": 760})
        page = context.new_page()
        page.goto(f"{server.url}/_timed_browser/")
        page.wait_for_selector(".mk-step-timer")
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, "timeout-page.png"))
        # Nobody presses "Next": the server moves the open page on to the survey, which has a timer too.
        page.wait_for_selector(".sd-question[data-name='fun']", timeout=30_000)
        assert page.locator(".mk-step-timer").is_visible()
        pid = json.loads(page.evaluate("localStorage.getItem('mugkit:_timed_browser:identity')"))["participant"]
        page.locator(".sd-question[data-name='fun']").get_by_text("4", exact=True).click()
        time.sleep(1.5)  # the page sends its answers so far at most every 0.7 s
        page.mouse.move(0, 0)
        page.screenshot(path=os.path.join(SHOTS, "timeout-survey.png"))
        left = int(page.locator(".mk-step-timer").get_attribute("data-left"))
        assert 0 < left <= 12
        context.close()  # the participant closes the browser with the survey half answered

        deadline = time.monotonic() + 40
        while rows(data, "select status from participants") != [("completed",)]:
            assert time.monotonic() < deadline, "the server did not move the closed browser's participant on"
            time.sleep(0.3)
    finally:
        server.stop()
    found = rows(data, "select step, kind, detail from events where participant_id = ? and kind = 'step_timeout' "
                       "order by rowid", pid)
    assert [(s, k) for s, k, _ in found] == [("intro", "step_timeout"), ("quiz", "step_timeout")]
    assert json.loads(found[1][2]) == {"timeout": 12.0, "answered": ["fun"], "unanswered": ["hand"]}
    assert rows(data, "select step, question, value from answers") == [("quiz", "fun", "4")]


def test_a_consent_page_that_times_out_says_why_and_shows_the_decline_code(chromium, tmp_path):
    data = str(tmp_path / "data")
    server = serve(os.path.join(STUDIES, "_timed_consent.py"), data=data)   # consent: 2 s
    try:
        page = chromium.new_page(viewport={"width": 1000, "height": 600})
        page.goto(f"{server.url}/_timed_consent/")
        page.wait_for_selector("body[data-view='ended']", timeout=30_000)
        text = page.inner_text(".mk-main")
        page.screenshot(path=os.path.join(SHOTS, "timeout-consent.png"))
        page.close()
    finally:
        server.stop()
    assert "The time to answer the consent page ran out" in text and "CDECLINE" in text
    assert "TIMED2" not in text and "WAITED" not in text
    assert rows(data, "select status, outcome_code from participants") == [("timed_out", "CDECLINE")]
