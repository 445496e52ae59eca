"""`mugkit loadtest --browser K`: bots that are real headless Chromium pages clicking through the
real participant's page, audited like protocol bots from the page's own websocket traffic."""

from __future__ import annotations

import os

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
