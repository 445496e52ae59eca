"""Acceptance finding (issue 14, `mugkit loadtest experiments/ --bots 20`: 8 of 20 bots): keys a page
sent just before its server game ended were answered with an `error` message, "you are not in that
game", which the page shows as an alert on the next step (the survey). Keys of a game the
participant is not in are now ignored; malformed keys are still answered."""

from __future__ import annotations

import asyncio

import pytest
from serving import WALK, Browser, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(WALK, data=str(tmp_path_factory.mktemp("accept_keys") / "data"))
    yield server
    server.stop()


def test_keys_of_a_game_that_just_ended_show_no_error_on_the_next_step(served):
    async def main():
        b = Browser(served.url, "_walk")
        await b.connect()
        await b.view("page")
        assert (await b.call("advance", {"index": 0}))["ok"]
        await b.view("consent")
        assert (await b.call("advance", {"index": 1, "agree": True}))["ok"]
        game = (await b.view("game"))["game"]
        survey = await b.view("survey")
        for seq in range(3):   # late: the game is over, the page has not got the survey yet
            await b.sio.emit("keys", {"game": game, "seq": 100 + seq, "held": [], "down": [], "up": ["ArrowRight"]})
        await b.sio.emit("keys", {"game": game, "seq": -1})   # malformed: still answered
        error = await b.next("error")
        answered = await b.call("advance", {"index": survey["index"], "answers": {"fun": 4, "hand": "both"}})
        await b.close()
        return error, answered

    error, answered = asyncio.run(main())
    assert error["message"].startswith("keys.seq must be an integer")
    assert answered == {"ok": True}
