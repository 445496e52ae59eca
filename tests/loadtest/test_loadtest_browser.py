"""`mugkit loadtest --browser K`: bots that are real headless Chromium pages clicking through the
real participant's page, audited like protocol bots from the page's own websocket traffic."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from mugkit.loadtest import LoadTestConfig, run_loadtest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.load]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WALK = os.path.join(ROOT, "tests", "web", "studies", "_walk.py")


@pytest.fixture(autouse=True)
def chromium():
    pytest.importorskip("playwright.async_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")


@pytest.mark.timeout(240)
def test_browser_bots_and_protocol_bots_complete_the_same_study_and_their_data_is_all_there():
    report = run_loadtest(LoadTestConfig([WALK], 4, browser=2, rate=4, stuck_after=40, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (4, 0, 0), d["failures"]
    assert d["browser_bots"] == 2 and report.ok
    # Read off the pages' websockets: each browser bot's answers, consent and every frame it was
    # streamed were acknowledged, and the audit found them in the database.
    assert d["audit"]["checked"]["answers"] == 4 * 3 and d["audit"]["checked"]["events"] == 4
    assert d["audit"]["checked"]["steps"] == 4 * 46 and d["lost_rows"] == 0
    assert d["paths"] == {"completion": 4}


@pytest.mark.timeout(240)
def test_a_browser_bot_plays_a_browser_runtime_game_in_pyodide_and_its_rows_are_audited():
    """The page boots Pyodide, plays the step in its worker and sends rows; the bot reads them off
    the websocket, and the audit finds every acknowledged row, field by field."""
    brief = os.path.join(ROOT, "tests", "loadtest", "studies", "_brief.py")
    report = run_loadtest(LoadTestConfig([brief], 2, browser=1, rate=4, stuck_after=60, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (2, 0, 0), d["failures"]
    # Each bot: 41 streamed frames of the server game, 2 × 21 acknowledged rows of the browser game.
    assert d["audit"]["checked"]["steps"] == 2 * (41 + 42) and d["lost_rows"] == 0
    assert d["audit"]["unacknowledged"] == 0


def test_browser_bots_play_a_two_human_browser_game_over_webrtc_and_every_peers_rows_are_audited(tmp_path):
    """Two Chromium bots in one rollback game: their pages open a data channel on loopback (the
    bots' Chromium has the flag and the permissions), every row is stored once, the peers agree."""
    duet = os.path.join(ROOT, "tests", "loadtest", "studies", "_duet.py")
    report = run_loadtest(LoadTestConfig([duet], 2, browser=2, rate=4, stuck_after=90, progress=False,
                                         data=str(tmp_path / "data")))
    d = report.data
    assert report.ok and d["completed"] == 2 and d["lost_rows"] == 0, report.text()
    assert d["audit"]["checked"]["peers"] == 1 and d["unverified_games"] == 0
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        (detail,), = db.execute("select detail from games").fetchall()
    paths = [path for peer in json.loads(detail)["peers"].values() for path in peer["paths"].values()]
    assert paths == ["direct", "direct"]  # a real data channel, not the server's relay
