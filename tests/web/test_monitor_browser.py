"""In-game monitoring (``mk.Monitor``) in Debian's Chromium: a hidden tab and an idle player are
warned, then excluded with the reason in the data; the partner of an excluded player is told and
finishes cleanly, or plays on against the policy that took over. Screenshots go to
tests/web/screenshots/monitor-*.png (look at them).

Headless Chromium has no hidden tabs: the page is told it is hidden, as a browser tells it
(``visibilityState`` and a ``visibilitychange`` event), as tests/web/test_browser_multiplayer.py
does."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from browser_data import wait_loaded
from serving import STUDIES, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")
HIDE = """(hidden) => {
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    paths = [os.path.join(STUDIES, f"_watch_{name}.py") for name in ("solo", "pair", "relief", "stride")]
    served = serve(*paths, data=str(tmp_path_factory.mktemp("watched") / "data"))
    yield served
    served.stop()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"monitor-{name}.png"))


def db_rows(data: str, sql: str, *args) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql, args).fetchall()


def excluded(data: str) -> list[tuple]:
    return db_rows(data, "select experiment, status, outcome_code, reason from participants where status = 'excluded' "
                         "order by updated_at")


def into_game(page, url: str) -> None:
    """Opens the study, presses ready, and waits until the game plays."""
    page.goto(url)
    page.wait_for_selector(".mk-game .mk-screen[data-screen='ready']", timeout=20_000)
    page.keyboard.press(" ")
    page.wait_for_selector(".mk-game[data-screen='play']", timeout=20_000)


def test_a_hidden_tab_is_warned_then_excluded_with_the_reason_in_the_data(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.url}/_watch_solo/")
    page.click("[data-kind='page'] .mk-button-primary")
    page.wait_for_selector(".mk-game .mk-screen[data-screen='ready']", timeout=20_000)
    page.keyboard.press(" ")
    page.wait_for_selector(".mk-game[data-screen='play']", timeout=20_000)
    page.evaluate(HIDE, True)
    warning = page.wait_for_selector(".mk-monitor-warning[data-kind='tab_hidden']", timeout=10_000)
    assert "window is hidden" in warning.inner_text()
    assert page.title() == "⚠ Please come back to the study"
    shot(page, "warning-hidden")
    page.wait_for_selector("body[data-view='ended']", timeout=15_000)
    text = page.inner_text(".mk-main")
    assert "hidden for more than 3 seconds" in text and "EXCL9" in text
    shot(page, "excluded")
    assert ("_watch_solo", "excluded", "EXCL9", "tab_hidden") in excluded(server.data)
    page.close()


def test_an_idle_player_is_warned_then_excluded(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.url}/_watch_solo/")
    page.click("[data-kind='page'] .mk-button-primary")
    page.wait_for_selector(".mk-game .mk-screen[data-screen='ready']", timeout=20_000)
    page.wait_for_timeout(9000)   # longer than idle_seconds on the ready screen: that is not idle play
    assert page.query_selector(".mk-monitor-warning") is None
    page.keyboard.press(" ")
    warning = page.wait_for_selector(".mk-monitor-warning[data-kind='idle']", timeout=20_000)
    assert "Are you still there?" in warning.inner_text()
    shot(page, "warning-idle")
    page.wait_for_selector("body[data-view='ended']", timeout=15_000)
    assert "No key was pressed for 8 seconds" in page.inner_text(".mk-main")
    assert ("_watch_solo", "excluded", "EXCL9", "idle") in excluded(server.data)
    page.close()


def _pair(chromium, url: str):
    contexts = [chromium.new_context(viewport={"width": 1000, "height": 760}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.goto(url)
    for page in pages:
        page.wait_for_selector(".mk-game .mk-screen[data-screen='ready']", timeout=30_000)
        page.keyboard.press(" ")
    for page in pages:
        page.wait_for_selector(".mk-game[data-screen='play']", timeout=20_000)
    return contexts, pages


def test_the_partner_of_an_excluded_player_sees_it_and_finishes_cleanly(chromium, server):
    contexts, (stays, leaves) = _pair(chromium, f"{server.url}/_watch_pair/")
    game = stays.get_attribute(".mk-game", "data-game")
    leaves.evaluate(HIDE, True)
    leaves.wait_for_selector("body[data-view='ended']", timeout=15_000)
    card = stays.wait_for_selector("body[data-view='problem'] .mk-card", timeout=15_000)
    assert "Your partner left the game" in card.inner_text() and "not your fault" in card.inner_text()
    shot(stays, "partner-notice")
    stays.click("[data-answer='continue']")
    stays.wait_for_selector("body[data-view='survey']", timeout=10_000)
    outcome = db_rows(server.data, "select outcome, outcome_reason from games where game_id = ?", game)
    assert outcome == [("excluded", "tab_hidden")]
    told = db_rows(server.data, "select detail from events where kind = 'game_excluded'")
    assert [json.loads(d)["game"] for (d,) in told] == [game]
    for c in contexts:
        c.close()


def test_a_policy_takes_over_and_the_partner_plays_on_to_the_end(chromium, server):
    contexts, (stays, leaves) = _pair(chromium, f"{server.url}/_watch_relief/")
    game = stays.get_attribute(".mk-game", "data-game")
    leaves.evaluate(HIDE, True)
    notice = stays.wait_for_selector(".mk-monitor-notice", timeout=15_000)
    assert "The computer plays for them" in notice.inner_text()
    shot(stays, "takeover-notice")
    stays.wait_for_selector("body[data-view='completion']", timeout=30_000)
    assert "RELIEF1" in stays.inner_text(".mk-main")
    [(outcome, detail)] = db_rows(server.data, "select outcome, detail from games where game_id = ?", game)
    assert outcome == "completed" and list(json.loads(detail)["takeovers"].values())[0]["policy"] == "walker"
    for c in contexts:
        c.close()


def test_a_hidden_tab_in_a_browser_runtime_game_is_excluded(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.url}/_watch_stride/")
    wait_loaded(page)
    game = page.get_attribute(".mk-game", "data-game")
    page.keyboard.down("ArrowRight")   # playing: its rows carry the keys
    page.wait_for_timeout(1500)
    page.evaluate(HIDE, True)
    page.wait_for_selector(".mk-monitor-warning[data-kind='tab_hidden']", timeout=10_000)
    page.wait_for_selector("body[data-view='ended']", timeout=15_000)
    page.keyboard.up("ArrowRight")
    assert "EXCL9" in page.inner_text(".mk-main")
    assert db_rows(server.data, "select outcome, outcome_reason from games where game_id = ?", game) == \
        [("excluded", "tab_hidden")]
    assert db_rows(server.data, "select count(*) from steps where game_id = ? and keys like '%ArrowRight%'", game)[0][0] > 0
    page.close()


def test_an_idle_player_of_a_browser_runtime_game_is_excluded(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.url}/_watch_stride/")
    wait_loaded(page)
    game = page.get_attribute(".mk-game", "data-game")
    page.wait_for_selector(".mk-monitor-warning[data-kind='idle']", timeout=20_000)
    shot(page, "warning-idle-browser")
    page.wait_for_selector("body[data-view='ended']", timeout=15_000)
    assert "No key was pressed for 6 seconds" in page.inner_text(".mk-main")
    assert db_rows(server.data, "select outcome, outcome_reason from games where game_id = ?", game) == \
        [("excluded", "idle")]
    page.close()
