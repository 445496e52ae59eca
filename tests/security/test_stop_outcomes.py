"""A stop leaves no game without an outcome for good: server games end `interrupted` at once; a
browser game goes on in its browser and gets the grace period after the next start for its page
to come back, else it ends `abandoned`."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from race import RACE, into_browser_game
from serving import Browser, serve

pytestmark = pytest.mark.slow


def outcome(data: str, game: str) -> tuple:
    with sqlite3.connect(f"file:{data}/mugkit.sqlite?mode=ro", uri=True) as db:
        return db.execute("select outcome, outcome_reason from games where game_id = ?", (game,)).fetchone()


def test_a_browser_game_left_open_by_a_stop_ends_abandoned_when_its_page_does_not_come_back(tmp_path):
    data = str(tmp_path / "data")

    async def start_game(url: str) -> str:
        b = Browser(url, "_race")
        view = await into_browser_game(b)
        await b.close()
        return view["game"]

    served = serve(RACE, data=data, grace=10)      # the stop comes well within its grace
    try:
        game = asyncio.run(start_game(served.url))
    finally:
        served.stop()
    assert served.process.returncode == 0
    assert outcome(data, game) == (None, None)          # it goes on in the browser meanwhile
    served = serve(RACE, data=data, grace=1)
    try:
        deadline = time.monotonic() + 30
        while outcome(data, game)[0] is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        served.stop()
    assert outcome(data, game) == ("abandoned", "grace_expired")
