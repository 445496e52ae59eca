"""Acceptance attack on two tabs (issue 14): tab A sends a large batch of rows while tab B asks to
`resume` the same game. The server checked A's session before waiting for the game's lock, and
answered `resume` without that lock, so B could get a record that missed A's batch while A's
batch was stored after all — B then re-simulated from an older frame and the stored game mixed
two plays (9 rounds of 20 before the fix). Now A's batch is either in B's record or refused as
superseded."""

from __future__ import annotations

import asyncio
import os

import pytest
from serving import Browser, serve

from mugkit.runtime.values import from_json, to_json

pytestmark = pytest.mark.slow

INBROWSER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studies", "_inbrowser.py")
ROUNDS = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(INBROWSER, data=str(tmp_path_factory.mktemp("accept_resume") / "data"))
    yield server
    server.stop()


def honest_rows(view: dict) -> list:
    from mugkit.browser import game_from_spec
    from mugkit.collect import collect

    game = game_from_spec(collect([INBROWSER])[0], from_json(view["boot"]["spec"]))
    game.start()
    t = 0.0
    while not game.finished:
        game.tick(t, 0.0)
        t += 1 / 30
    return from_json(game.take_rows())


async def two_tabs(served, delay: float) -> tuple:
    a = Browser(served.url, "_inbrowser")
    await a.connect()
    view = await a.view("game")
    game, rows = view["game"], honest_rows(view)
    assert (await a.call("resume", {"game": game, "session": "A"}))["ok"]
    assert (await a.call("rows", {"game": game, "session": "A", "batch": 0, "rows": to_json(rows[:50])}))["ok"]
    b = Browser(served.url, "_inbrowser", identity=dict(a.identity))
    await b.connect()
    await b.view("game")

    async def resume_b():
        await asyncio.sleep(delay)
        return await b.call("resume", {"game": game, "session": "B"})

    ack, resumed = await asyncio.gather(
        a.call("rows", {"game": game, "session": "A", "batch": 1, "rows": to_json(rows[50:1500])}), resume_b())
    await a.close()
    await b.close()
    return ack, from_json(resumed["record"])["last"]


def test_a_batch_stored_while_another_tab_resumes_is_in_its_record_or_refused(served):
    async def main():
        return [await two_tabs(served, delay=0.004 * (i % 10)) for i in range(ROUNDS)]

    for ack, record_last in asyncio.run(main()):
        if ack["ok"]:
            assert record_last == ack["last"] == [0, 1499]     # B re-simulates from A's newest frame
        else:
            assert ack["superseded"] is True and record_last == [0, 49]


def test_resume_answers_the_newest_record_however_often_it_is_asked(served):
    """`resume` is answered from one encoding per stored frame (a flood of them held every game on
    the server up by a whole episode's encoding each): the answer still follows every new batch."""
    async def main():
        a = Browser(served.url, "_inbrowser")
        await a.connect()
        view = await a.view("game")
        game, rows = view["game"], honest_rows(view)
        lasts = []
        for batch, (start, end) in enumerate([(0, 50), (50, 51), (51, 900)]):
            assert (await a.call("rows", {"game": game, "session": "A", "batch": batch,
                                          "rows": to_json(rows[start:end])}))["ok"]
            answers = [await a.call("resume", {"game": game, "session": "A"}) for _ in range(3)]
            assert answers[0] == answers[1] == answers[2]
            record = from_json(answers[0]["record"])
            lasts.append((record["last"], len(record["frames"])))
        await a.close()
        return lasts

    assert asyncio.run(main()) == [([0, 49], 49), ([0, 50], 50), ([0, 899], 899)]
