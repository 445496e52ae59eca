"""One transition at a time: messages that move a participant, sent twice or at once, never move
anyone twice, never skip a step and never start a second game (issue: two `game_over` at once
reached the completion code past the survey; two `advance` stored a survey twice; two connections
started two server games).

Each race runs 50 times against one real `mugkit serve`, every time with a new participant."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from race import RACE, into_browser_game, play_browser_game
from serving import Browser, serve

pytestmark = pytest.mark.slow

ROUNDS = 50


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(RACE, data=str(tmp_path_factory.mktemp("race") / "data"))
    yield server
    server.stop()


def query(served, sql: str, *params) -> list:
    with sqlite3.connect(f"file:{served.data}/mugkit.sqlite?mode=ro", uri=True) as db:
        return db.execute(sql, params).fetchall()


def position(served, pid: str) -> tuple:
    (status, position), = query(served, "select status, json_extract(position, '$.index') from participants "
                                         "where participant_id = ?", pid)
    return status, position


def test_game_over_sent_three_times_at_once_moves_the_participant_one_step(served):
    async def one_round() -> tuple:
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        await play_browser_game(b, view)
        over = {"game": view["game"], "session": "s1"}
        replies = await asyncio.gather(*(b.call("game_over", over) for _ in range(3)))
        survey = await b.view()
        await b.close()
        return replies, survey, b.identity["participant"]

    async def main():
        return [await one_round() for _ in range(ROUNDS)]

    for replies, survey, pid in asyncio.run(main()):
        assert sorted(r["ok"] for r in replies) == [False, False, True], replies
        assert all(r.get("stale") for r in replies if not r["ok"])   # told: nothing to retry
        assert survey["kind"] == "survey" and survey["index"] == 2
        assert position(served, pid) == ("active", 2)                # at the survey, not past it
    assert query(served, "select count(*) from answers") == [(0,)]


def test_advance_sent_twice_at_once_stores_the_survey_once_and_skips_nothing(served):
    async def one_round() -> tuple:
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        await play_browser_game(b, view)
        assert (await b.call("game_over", {"game": view["game"], "session": "s1"}))["ok"]
        survey = await b.view("survey")
        answer = {"index": survey["index"], "answers": {"fun": 3}}
        replies = await asyncio.gather(b.call("advance", answer), b.call("advance", answer))
        game = await b.view("game")                                   # the server game comes next
        await b.close()
        return replies, game, b.identity["participant"]

    async def main():
        return [await one_round() for _ in range(ROUNDS)]

    before = query(served, "select count(*) from answers")[0][0]
    results = asyncio.run(main())
    for replies, game, pid in results:
        assert sorted(r["ok"] for r in replies) == [False, True], replies
        assert [r["error"] for r in replies if not r["ok"]] == ["that step was already left"]
        assert game["runtime"] == "server"
        (answers,), = query(served, "select count(*) from answers where participant_id = ?", pid)
        assert answers == 1
    assert query(served, "select count(*) from answers")[0][0] == before + ROUNDS


def test_two_windows_connecting_at_once_at_a_server_game_start_one_game(served):
    async def to_server_game() -> dict:
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        await play_browser_game(b, view)
        assert (await b.call("game_over", {"game": view["game"], "session": "s1"}))["ok"]
        survey = await b.view("survey")
        # Leave the survey from a second window, so that the first is told nothing new.
        await b.close()
        return b.identity, survey["index"]

    async def one_round() -> tuple:
        identity, index = await to_server_game()
        tabs = [Browser(served.url, "_race", identity=identity) for _ in range(3)]
        await asyncio.gather(*(t.connect() for t in tabs))
        await asyncio.gather(*(t.view("survey") for t in tabs))
        await asyncio.gather(*(t.call("advance", {"index": index, "answers": {"fun": 1}}) for t in tabs))
        games = [await t.view("game") for t in tabs]
        await asyncio.gather(*(t.close() for t in tabs))
        return identity["participant"], {g["game"] for g in games}

    async def main():
        return [await one_round() for _ in range(ROUNDS)]

    for pid, seen in asyncio.run(main()):
        assert len(seen) == 1, seen                                   # every window got the same game
        (games,), = query(served, "select count(*) from players p join games g using (game_id) "
                                  "where p.participant_id = ? and g.runtime = 'server'", pid)
        assert games == 1


def test_a_refused_message_is_answered_so_the_page_does_not_retry_for_ever(served):
    async def main():
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        await play_browser_game(b, view)
        first = await b.call("game_over", {"game": view["game"], "session": "s1"})
        await b.view("survey")
        late = {kind: await b.call(kind, {"game": view["game"], "session": "s1"})
                for kind in ("game_over", "loaded", "load_failed", "resume")}
        stale_advance = await b.call("advance", {"index": 0, "agree": True})
        ahead = await b.call("advance", {"index": 9})
        await b.close()
        return first, late, stale_advance, ahead

    first, late, stale_advance, ahead = asyncio.run(main())
    assert first == {"ok": True}
    for kind, reply in late.items():
        assert reply["ok"] is False and reply["stale"] is True, (kind, reply)
    assert stale_advance["stale"] is True and stale_advance["index"] == 2
    assert ahead == {"ok": False, "error": "that step is not reached yet"}
