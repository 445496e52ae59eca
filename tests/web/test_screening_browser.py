"""Entry screening in Debian's Chromium (mugkit/web/screening.py, client views/screen.js): the page
reports its window and answers the server's pings; the server decides from the User-Agent it saw.
Screenshots go to tests/web/screenshots/ (screening*.png, screened-out-*.png): look at them."""

from __future__ import annotations

import concurrent.futures
import json
import os
import sqlite3

import pytest

from serving import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "screening_studies", "_gate.py")
ROOMY = os.path.join(HERE, "screening_studies", "_roomy.py")
SHOTS = os.path.join(HERE, "screenshots")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
# Holds the page's screen_report back for 3 s, so the "checking" screen stays up for its screenshot.
SLOW_REPORT = """
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string" && data.includes('"screen_report"')) setTimeout(() => send.call(this, data), 3000);
  else send.call(this, data);
};
"""


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    served = serve(GATE, ROOMY, data=str(tmp_path_factory.mktemp("gate")))
    yield served
    served.stop()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def stored(data: str) -> list:
    """(status, reason, code, user agent, screening event detail) of every participant, oldest first."""
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        out = []
        for pid, status, reason, code, agent in db.execute(
                "SELECT participant_id, status, reason, outcome_code, user_agent FROM participants ORDER BY rowid"):
            detail = db.execute("SELECT detail FROM events WHERE participant_id = ? AND kind IN ('screened', "
                                "'screened_out')", (pid,)).fetchone()
            out.append((status, reason, code, agent, json.loads(detail[0]) if detail else None))
    return out


def answer_age(page, age: str) -> None:
    page.wait_for_selector("[data-name='age'] input", timeout=20_000).fill(age)
    page.click("text=Continue")


def test_a_browser_on_the_block_list_is_turned_away_with_the_screening_code(chromium, gate):
    context = chromium.new_context(user_agent=FIREFOX, viewport={"width": 1000, "height": 720})
    page = context.new_page()
    page.goto(f"{gate.url}/_gate/")
    answer_age(page, "34")
    page.wait_for_selector("body[data-view='ended']", timeout=20_000)
    text = page.inner_text(".mk-card")
    assert "This study cannot be done in Firefox." in text
    assert "SGATE1" in page.inner_text(".mk-code")
    shot(page, "screened-out-browser")
    context.close()
    status, reason, code, agent, detail = stored(gate.data)[-1]
    assert (status, reason, code, agent) == ("screened_out", "browser", "SGATE1", FIREFOX)
    assert detail["browser"] == "firefox" and detail["window"] == [1000, 720]  # the page did report


def test_a_passing_browser_goes_on_and_its_measures_are_stored(chromium, gate):
    context = chromium.new_context(viewport={"width": 1000, "height": 720})
    context.add_init_script(SLOW_REPORT)
    page = context.new_page()
    page.goto(f"{gate.url}/_gate/")
    answer_age(page, "34")
    page.wait_for_selector("body[data-view='screen']", timeout=20_000)
    assert "Checking your browser" in page.inner_text(".mk-card")
    shot(page, "screening")
    page.wait_for_selector("text=You passed the entry check.", timeout=20_000)
    context.close()
    status, reason, code, agent, detail = stored(gate.data)[-1]
    assert (status, reason) == ("active", None) and "HeadlessChrome" in agent
    assert detail["passed"] is True and detail["browser"] == "chrome" and detail["device"] == "desktop"
    assert detail["window"] == [1000, 720] and len(detail["rtt_ms"]) == 3
    assert all(x is not None and x < 250 for x in detail["rtt_ms"])


@pytest.mark.parametrize("viewport, age, reason, words", [
    ({"width": 700, "height": 500}, "34", "window", "at least 800 × 600 pixels; yours was 700 × 500"),
    ({"width": 1000, "height": 720}, "16", "check", "This study is for adults only."),
])
def test_a_small_window_or_the_researchers_own_check_turns_away_with_why(chromium, gate, viewport, age, reason,
                                                                          words):
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{gate.url}/_gate/")
    answer_age(page, age)
    page.wait_for_selector("body[data-view='ended']", timeout=20_000)
    assert words in page.inner_text(".mk-card")
    shot(page, f"screened-out-{reason}")
    context.close()
    assert stored(gate.data)[-1][:3] == ("screened_out", reason, "SGATE1")


def test_a_small_window_is_asked_to_grow_and_goes_on_once_it_has(chromium, gate):
    context = chromium.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.goto(f"{gate.url}/_roomy/")
    page.wait_for_selector("text=Please maximise this window", timeout=20_000)
    assert "800 × 600 pixels" in page.inner_text(".mk-screen-size")
    shot(page, "screening-window-too-small")
    page.set_viewport_size({"width": 1000, "height": 700})
    page.wait_for_selector("text=Your window is large enough.", timeout=20_000)
    context.close()
    status, reason, _, _, detail = stored(gate.data)[-1]
    assert (status, reason, detail["passed"], detail["window"]) == ("active", None, True, [1000, 700])


def test_a_window_that_cannot_grow_is_reported_when_the_participant_says_so(chromium, gate):
    context = chromium.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.goto(f"{gate.url}/_roomy/")
    page.click("text=I cannot make it larger", timeout=20_000)
    page.wait_for_selector("body[data-view='ended']", timeout=20_000)
    assert "at least 900 × 650 pixels; yours was 800 × 600" in page.inner_text(".mk-card")
    context.close()
    assert stored(gate.data)[-1][:3] == ("screened_out", "window", "SROOMY1")


def test_chromium_load_test_bots_pass_the_screening_beside_protocol_bots_built_to_fail_it():
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    screened = os.path.join(os.path.dirname(HERE), "loadtest", "studies", "_screened.py")
    config = LoadTestConfig([screened], 4, browser=2, screen_fail=2, rate=10, stuck_after=30, progress=False)
    # In a thread of its own: this module's Playwright (sync API) keeps an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        report = pool.submit(run_loadtest, config).result()
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"], d["lost_rows"]) == (4, 0, 0, 0), report.text()
    assert d["browser_bots"] == 2 and d["expected_exclusions"]["screened_out"] == 2 and report.ok
