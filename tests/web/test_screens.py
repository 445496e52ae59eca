"""The screens around games and the neutral problem screens, in Debian's Chromium with real key
presses and a real database (docs/participants.md). Screenshots go to /tmp/shots-screens/ (look
at them)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from serving import ROOT, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDIES = os.path.join(ROOT, "tests", "web", "screens_studies")
SHOTS = os.environ.get("MUGKIT_SHOTS", "/tmp/shots-screens")
PROLIFIC = "https://app.prolific.com/**"


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


def events(data: str, kind: str) -> list[dict]:
    return [json.loads(d or "{}") for (d,) in rows(data, f"select detail from events where kind = '{kind}' order by t")]


def _no_preflight() -> list[str]:
    """These studies are broken on purpose: a `serve` that checks studies first must be told not to."""
    out = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT).stdout
    return ["--no-preflight"] if "--no-preflight" in out else []


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # Named with _ so that `pytest tests/` does not check them (two are broken on purpose).
    paths = [os.path.join(STUDIES, f"_{name}.py") for name in ("rounds", "pair", "broken", "inbrowser")]
    server = serve(*paths, data=str(tmp_path_factory.mktemp("data")), extra=_no_preflight())
    yield server
    server.stop()


def screen(page, kind: str, timeout: float = 20_000):
    return page.wait_for_selector(f".mk-screen[data-screen='{kind}']", timeout=timeout)


def test_a_server_game_waits_for_ready_counts_down_and_shows_each_round_score(chromium, served):
    page = chromium.new_page(viewport={"width": 1000, "height": 720})
    page.goto(f"{served.url}/_rounds/")
    screen(page, "ready")
    assert page.inner_text(".mk-brand") == "Walking study"   # the module's TITLE, not "Study"
    page.wait_for_timeout(1200)
    assert page.get_attribute(".mk-game", "data-frame") == "0"   # the clock waits for the participant
    shot(page, "server-ready")
    page.keyboard.press(" ")
    screen(page, "countdown")
    shot(page, "server-countdown")
    page.wait_for_selector(".mk-screen", state="hidden", timeout=10_000)
    page.keyboard.down("ArrowRight")
    page.wait_for_timeout(700)
    hud = page.inner_text(".mk-hud")
    assert "You play" in hud and "Blue" in hud and "Time left" in hud and "blue" not in hud
    shot(page, "server-hud")
    screen(page, "round_over")
    page.keyboard.up("ArrowRight")
    text = page.inner_text(".mk-screen")
    assert "Round 1 of 2 over" in text and "Your score" in text and "steps right" in text and "Computer" in text
    shot(page, "server-round-over")
    page.click(".mk-screen [data-answer=continue]")
    screen(page, "countdown")
    screen(page, "round_over")
    assert "Game over" in page.inner_text(".mk-screen")
    shot(page, "server-game-over")
    page.wait_for_timeout(1500)
    assert page.query_selector("text=ROUNDS1") is None   # the next view waits for the screen
    page.click(".mk-screen [data-answer=continue]")
    page.wait_for_selector("text=ROUNDS1")
    pid = rows(served.data, "select participant_id from participants where experiment = '_rounds'")[0][0]
    ready = [json.loads(d) for (d,) in rows(served.data, f"select detail from events where kind = 'game_ready' "
                                                         f"and participant_id = '{pid}' order by t")]
    assert [(e["screen"], e["episode"]) for e in ready] == [("ready", None), ("round_over", 0)]
    game = rows(served.data, "select game_id, outcome from games where step = 'rounds'")
    assert [g[1] for g in game] == ["completed"]
    # The clock started after the participant was ready: frame 1 is stored later than the event.
    (ready_at,) = rows(served.data, f"select min(t) from events where kind = 'game_ready' and participant_id = '{pid}'")[0]
    (first,) = rows(served.data, f"select min(t_server) from steps where game_id = '{game[0][0]}' and frame = 1")[0]
    assert first > ready_at + 0.9   # the 2-second countdown came between


def test_two_players_start_when_both_are_ready(chromium, served):
    one, two = (chromium.new_context(viewport={"width": 900, "height": 680}).new_page() for _ in range(2))
    one.goto(f"{served.url}/_pair/")
    two.goto(f"{served.url}/_pair/")
    for page in (one, two):
        screen(page, "ready")
    one.keyboard.press(" ")
    screen(one, "waiting")
    assert "Waiting for the other players" in one.inner_text(".mk-screen")
    shot(one, "pair-waiting-for-partner")
    two.click("text=I’m ready")
    for page in (one, two):
        page.wait_for_selector(".mk-screen", state="hidden", timeout=10_000)
    assert "You play" in two.inner_text(".mk-hud")
    shot(two, "pair-playing")
    for page in (one, two):
        screen(page, "round_over")
        page.click(".mk-screen [data-answer=continue]")
        page.wait_for_selector("text=PAIR77", timeout=20_000)


def test_a_player_who_never_readies_ends_the_game_and_earns_no_code(chromium, served):
    one, two = (chromium.new_context().new_page() for _ in range(2))
    one.goto(f"{served.url}/_pair/")
    two.goto(f"{served.url}/_pair/")
    for page in (one, two):
        screen(page, "ready")
    one.keyboard.press(" ")
    # waitroom_timeout=6: the ready player gets the timeout code; the one who never readied, none.
    one.wait_for_selector("text=PAIRTIME", timeout=20_000)
    two.wait_for_selector("text=This study has ended for you", timeout=20_000)
    assert "PAIRTIME" not in two.inner_text("main") and "PAIR77" not in two.inner_text("main")
    shot(one, "pair-not-ready-timeout")
    shot(two, "pair-not-ready-excluded")
    statuses = rows(served.data, "select status, outcome_code, reason from participants where participant_id in "
                                 "(select participant_id from events where kind = 'game_not_ready') order by status")
    assert statuses == [("excluded", None, "not_ready"), ("timed_out", "PAIRTIME", None)]
    outcomes = rows(served.data, "select outcome, outcome_reason from games where step = 'pair' and outcome != 'completed'")
    assert outcomes == [("not_ready", "not_ready")]
    assert sorted(e["ready"] for e in events(served.data, "game_not_ready")) == [False, True]


def test_failures_on_the_study_side_show_a_neutral_notice_and_what_happens_next(chromium, served):
    page = chromium.new_page(viewport={"width": 1000, "height": 720})
    page.route(PROLIFIC, lambda route: route.fulfill(body="<p>prolific</p>", content_type="text/html"))
    page.goto(f"{served.url}/_broken/")
    page.wait_for_selector("text=could not be started")
    body = page.inner_text("main")
    assert "technical problem on our side" in body and "nothing to do with your computer" in body
    first_ref = page.inner_text(".mk-ref")
    assert re.fullmatch(r"E-[A-Z0-9]{6}", first_ref)
    shot(page, "problem-game-could-not-start")
    page.click("[data-answer=continue]")
    screen(page, "ready")      # the game waited behind the notice
    page.keyboard.press(" ")
    page.wait_for_selector("text=The game stopped because of a technical problem", timeout=20_000)
    crash_ref = page.inner_text(".mk-ref")
    shot(page, "problem-game-crashed")
    page.click("[data-answer=continue]")
    page.wait_for_selector(".mk-view-problem >> text=BUGERR")
    text = page.inner_text("main")
    assert "could not be shown" in text and "Return to app.prolific.com" in text
    assert "your computer" not in text.replace("nothing to do with your computer", "")
    shot(page, "problem-page-missing")
    page.click("text=Return to app.prolific.com")
    page.wait_for_url("https://app.prolific.com/submissions/complete?cc=BUGERR")
    # The data: what failed, with the reference the participant saw; the log: the tracebacks.
    failed = events(served.data, "step_failed")
    assert [e["ref"] for e in failed][0] == first_ref and "map file" in failed[0]["error"]
    assert "instructions_that_do_not_exist.md" in failed[1]["error"]
    assert [e["ref"] for e in events(served.data, "game_error")] == [crash_ref]
    assert rows(served.data, "select outcome from games where step = 'crashes'") == [("error",)]
    assert rows(served.data, "select status, outcome_code from participants where experiment = '_broken'") == \
        [("error", "BUGERR")]
    log = "".join(served.output)
    for ref in (first_ref, crash_ref, failed[1]["ref"]):
        assert ref in log
    assert "Traceback" in log and "the walker fell over at frame 50" in log


def test_browser_games_show_the_screens_and_their_failures_move_the_participant_on(chromium, served):
    page = chromium.new_page(viewport={"width": 1000, "height": 720})
    page.goto(f"{served.url}/_inbrowser/")
    screen(page, "ready", timeout=120_000)    # after loading Pyodide
    shot(page, "browser-ready")
    page.wait_for_timeout(800)
    assert page.get_attribute(".mk-game", "data-frame") == "0"   # the worker's clock waits
    page.keyboard.press(" ")
    page.wait_for_selector(".mk-screen", state="hidden", timeout=10_000)
    page.keyboard.down("ArrowRight")
    screen(page, "round_over")
    page.keyboard.up("ArrowRight")
    assert "Round 1 of 2 over" in page.inner_text(".mk-screen")
    shot(page, "browser-round-over")
    frame = page.get_attribute(".mk-game", "data-frame")
    page.wait_for_timeout(800)
    assert page.get_attribute(".mk-game", "data-frame") == frame   # held between the rounds
    page.keyboard.press("Enter")
    screen(page, "round_over")
    assert "Game over" in page.inner_text(".mk-screen")
    page.click(".mk-screen [data-answer=continue]")
    # The next game raises at frame 50 in the browser: a neutral notice, then on.
    page.wait_for_selector("text=The game stopped because of a technical problem", timeout=120_000)
    assert "did not load on your computer" not in page.inner_text("main")
    shot(page, "browser-problem-crashed")
    page.click("[data-answer=continue]")
    # A key mapped outside the action space: the game cannot start — the study's bug, not theirs.
    page.wait_for_selector("text=could not be started", timeout=120_000)
    shot(page, "browser-problem-bad-key")
    page.click("[data-answer=continue]")
    page.wait_for_selector("text=BROWSER1")
    outcomes = dict(rows(served.data, "select step, outcome from games where experiment = '_inbrowser'"))
    assert outcomes == {"rounds": "completed", "crashes": "error", "bad_key": "error"}
    refs = [e["ref"] for e in events(served.data, "game_error") if e.get("stage") in ("game", "experiment")]
    assert len(refs) == 2 and all(ref in "".join(served.output) for ref in refs)
