"""Acceptance attacks on the browser runtime's messages (issue 14): a `rows` batch whose values are
valid JSON of the wrong kind is answered, never left without a reply; a window another tab
superseded cannot end the game that tab plays by reporting an error."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from race import RACE, into_browser_game, play_browser_game
from serving import Browser, serve

from mugkit.runtime.values import to_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(RACE, data=str(tmp_path_factory.mktemp("accept_rows") / "data"))
    yield server
    server.stop()


def query(served, sql: str, *params) -> list:
    with sqlite3.connect(f"file:{served.data}/mugkit.sqlite?mode=ro", uri=True) as db:
        return db.execute(sql, params).fetchall()


ODD_ROWS = {
    "an agent that is a list": ({"agent": ["me"]}, "is not an agent of tap"),
    "an agent that is an object": ({"agent": {"a": 1}}, "is not an agent of tap"),
    "hook columns with a number for a name": ({"x": {1: 2}}, "x must be an object of hook columns"),
    "hook columns with a tuple for a name": ({"x": {(1, 2): 3}}, "x must be an object of hook columns"),
}


@pytest.mark.parametrize("change, error", ODD_ROWS.values(), ids=list(ODD_ROWS))
def test_a_rows_batch_of_odd_values_is_answered_with_what_is_wrong(served, change, error):
    async def main():
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        row = {"episode": 0, "frame": 0, "agent": "me", "action": None, **change}
        reply = await b.call("rows", {"game": view["game"], "session": "s1", "batch": 0, "rows": to_json([row])})
        await play_browser_game(b, view)     # the game goes on: nothing of the odd batch was stored
        over = await b.call("game_over", {"game": view["game"], "session": "s1"})
        await b.view("survey")
        await b.close()
        return reply, over

    reply, over = asyncio.run(main())
    assert reply["ok"] is False and error in reply["error"]
    assert over == {"ok": True}


def test_a_superseded_window_cannot_end_the_game_with_an_error(served):
    async def main():
        old = Browser(served.url, "_race")
        view = await into_browser_game(old)
        assert (await old.call("resume", {"game": view["game"], "session": "old-tab"}))["ok"]
        new = Browser(served.url, "_race", identity=dict(old.identity))
        await new.connect()
        await new.view("game")
        assert (await new.call("resume", {"game": view["game"], "session": "new-tab"}))["ok"]
        failed = await old.call("load_failed", {"game": view["game"], "session": "old-tab", "stage": "game",
                                                "reason": "the old tab's env raised"})
        await play_browser_game(new, view, session="new-tab")
        over = await new.call("game_over", {"game": view["game"], "session": "new-tab"})
        await new.view("survey")
        await old.close()
        await new.close()
        return view["game"], failed, over

    game, failed, over = asyncio.run(main())
    assert failed["ok"] is False and failed["superseded"] is True
    assert over == {"ok": True}
    assert query(served, "select outcome, outcome_reason from games where game_id = ?", game) == \
        [("completed", "game_over")]
