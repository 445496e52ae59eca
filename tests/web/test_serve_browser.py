"""`mugkit serve` in Debian's Chromium: real pages, real key presses, a real database. Each page
type and a game are screenshotted into tests/web/screenshots/ (look at them)."""

from __future__ import annotations

import os
import sqlite3

import pytest

from browser_data import through_screens
from serving import serve
from mugkit.web.entry import prolific_like

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"serve-{name}.png"), full_page=True)


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


def ready(page) -> None:
    """Says "ready" on the game's ready screen and waits out the countdown: the game plays."""
    page.wait_for_selector(".mk-screen[data-screen='ready']")
    page.keyboard.press(" ")
    page.wait_for_selector(".mk-game[data-screen='play']", timeout=15_000)


def start_walk(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("text=Welcome")
    page.click("text=Start")
    page.wait_for_selector("text=I agree")
    page.click("text=I agree")
    page.wait_for_selector("canvas")
    ready(page)


def test_one_participant_plays_the_whole_study_with_real_keys(chromium, server):
    page = chromium.new_page(viewport={"width": 1100, "height": 760})
    page.route("https://app.prolific.com/**", lambda route: route.fulfill(body="<p>prolific</p>", content_type="text/html"))
    page.goto(f"{server.url}/_walk/?PROLIFIC_PID={prolific_like('pw1')}&STUDY_ID=s&SESSION_ID=x")
    page.wait_for_selector("text=Welcome")
    shot(page, "page")
    page.click("text=Start")
    page.wait_for_selector("text=I agree")
    shot(page, "consent")
    page.click("text=I agree")
    page.wait_for_selector("canvas")
    ready(page)
    page.keyboard.down("ArrowRight")
    page.wait_for_timeout(500)
    shot(page, "game")
    page.keyboard.up("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("text=The game was fun.", timeout=20_000)
    shot(page, "survey")
    page.click(".sd-rating__item-text >> text='4'")
    page.click("text=both")
    page.click("text=Continue")
    page.wait_for_selector("text=C0DE42")
    shot(page, "completion")
    page.wait_for_url("https://app.prolific.com/submissions/complete?cc=C0DE42", timeout=20_000)
    keys = rows(server.data, "select frame, keys from steps order by frame")
    assert [f for f, _ in keys] == list(range(46))
    assert sum("ArrowRight" in (k or "") for _, k in keys) >= 5  # held for half a second at 30 fps
    assert any("ArrowLeft" in (k or "") for _, k in keys)        # a quick press counts too
    assert rows(server.data, "select status, outcome_code from participants") == [("completed", "C0DE42")]


def test_two_participants_are_matched_and_both_finish(chromium, server):
    one, two = chromium.new_context().new_page(), chromium.new_context().new_page()
    one.goto(f"{server.url}/_duo/")
    one.wait_for_selector(".mk-waitroom-count", timeout=10_000)
    shot(one, "waitroom")
    two.goto(f"{server.url}/_duo/")
    for page in (one, two):
        page.wait_for_selector("canvas", timeout=10_000)
        page.wait_for_selector(".mk-screen[data-screen='ready']")
        page.keyboard.press(" ")
    for page in (one, two):
        page.wait_for_selector(".mk-game[data-screen='play']", timeout=15_000)
    one.keyboard.down("ArrowRight")
    two.keyboard.down("ArrowLeft")
    for page in (one, two):
        page.wait_for_selector("text=DUO777", timeout=20_000)
    agents = rows(server.data, "select count(distinct agent), count(*) from steps")
    assert agents == [(2, 62)]


def test_a_reload_mid_game_resumes_the_same_game(chromium, server):
    page = chromium.new_page()
    start_walk(page, f"{server.url}/_walk/")
    page.wait_for_timeout(400)
    page.reload()
    page.wait_for_selector("canvas")
    page.wait_for_selector("text=The game was fun.", timeout=20_000)   # the clock never waited: it was playing
    assert [r[0] for r in rows(server.data, "select frame from steps order by frame")] == list(range(46))
    assert rows(server.data, "select count(*) from games") == [(1,)]


def test_a_completed_panel_id_is_turned_away_and_a_preview_starts_nothing(chromium, server):
    page = chromium.new_page()
    page.route("https://app.prolific.com/**", lambda route: route.fulfill(body="ok", content_type="text/html"))
    start_walk(page, f"{server.url}/_walk/?PROLIFIC_PID={prolific_like('done1')}")
    page.wait_for_selector("text=The game was fun.", timeout=20_000)
    page.click(".sd-rating__item-text >> text='2'")
    page.click("text=left")
    page.click("text=Continue")
    page.wait_for_selector("text=C0DE42")
    again = chromium.new_context().new_page()
    again.goto(f"{server.url}/_walk/?PROLIFIC_PID={prolific_like('done1')}")
    again.wait_for_selector("text=already taken part")
    shot(again, "refused")
    preview = chromium.new_context().new_page()
    preview.goto(f"{server.url}/_walk/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=h1")
    preview.wait_for_selector("text=Preview")
    shot(preview, "preview")
    assert rows(server.data, "select count(*) from participants") == [(1,)]


def test_two_participants_play_example_b_together_and_both_finish(chromium, tmp_path):
    """experiments/gather.py, as shipped: two strangers are matched, play both rounds (two minutes),
    answer the survey and are sent back to Prolific."""
    from serving import ROOT

    served = serve(os.path.join(ROOT, "experiments", "gather.py"), data=str(tmp_path / "data"))
    try:
        pages = []
        for pid in ("g1", "g2"):
            page = chromium.new_context(viewport={"width": 1000, "height": 760}).new_page()
            page.route("https://app.prolific.com/**", lambda route: route.fulfill(body="ok", content_type="text/html"))
            page.goto(f"{served.url}/gather/?PROLIFIC_PID={prolific_like(pid)}")
            page.get_by_role("button", name="Start").click()
            page.click("button[data-answer='agree']")
            page.get_by_role("button", name="Find a partner").click()
            pages.append(page)
        for page in pages:
            page.wait_for_selector("canvas", timeout=20_000)
        through_screens(pages, ".mk-game[data-screen='play']", 20_000)   # both are ready
        pages[0].keyboard.down("ArrowRight")
        pages[1].keyboard.down("ArrowUp")
        pages[0].wait_for_timeout(1500)
        shot(pages[0], "gather-round")
        through_screens(pages, "text=My partner and I worked well together.", 200_000)
        for page in pages:
            for question in ("My partner and I worked well together.", "The game was fun."):
                page.locator(".sd-question", has_text=question).locator(".sd-rating__item-text >> text='5'").click()
            page.click("text=no difference")
            page.click("text=a human")
            page.click("text=Continue")
            page.wait_for_url("https://app.prolific.com/submissions/complete?cc=C5G6T7H8", timeout=20_000)
        games = rows(served.data, "select outcome, count(*) from games group by outcome")
        assert games == [("completed", 2)]
        per_game = rows(served.data, "select count(*) from steps group by game_id")
        assert [n for (n,) in per_game] == [2 * 1801, 2 * 1801]  # every frame of both rounds, both agents
        assert rows(served.data, "select count(*) from participants where status = 'completed'") == [(2,)]
    finally:
        served.stop()
