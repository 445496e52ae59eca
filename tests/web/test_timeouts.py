"""Timeouts against a real `mugkit serve`, with socket.io clients (tests/web/serving.py): a timed
page and survey move participants on with their connection closed, across a restart and across
two worker processes; the page's click and the server's clock racing at the deadline move nobody
twice; a waitroom's per-participant timeout records its own outcome."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time

import pytest

from serving import STUDIES, Browser, serve

pytestmark = pytest.mark.slow

TIMED = os.path.join(STUDIES, "_timed.py")                  # intro: 2 s; quiz: 3 s; done
TIMED_LONG = os.path.join(STUDIES, "_timed_browser.py")     # intro: 3 s; quiz: 12 s; done
WAIT = os.path.join(STUDIES, "_timed_wait.py")              # a two-player game; waitroom_timeout=2
GAME = os.path.join(STUDIES, "_timed_game.py")              # rules: 1 s; a two-player server game; done


def rows(data: str, sql: str, *args) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql, args).fetchall()


def wait_for(check, seconds: float = 30.0):
    """Polls ``check()`` until it returns something true (the server's clock runs on its own)."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.2)


def events(data: str, pid: str) -> list:
    return [(step, kind, json.loads(detail) if detail else None) for step, kind, detail in rows(
        data, "select step, kind, detail from events where participant_id = ? order by rowid", pid)]


def test_a_closed_browser_is_moved_through_a_timed_page_and_survey_with_its_answers_so_far(tmp_path):
    server = serve(TIMED, data=str(tmp_path / "data"))

    async def main():
        b = Browser(server.url, "_timed")
        await b.connect()
        page = await b.view("page")
        assert 0 < page["time_left"] <= 2
        survey = await b.view("survey")  # the page left by itself: the server moved them on
        assert 0 < survey["time_left"] <= 3
        too_big = await b.call("draft", {"index": 1, "answers": {"comments": "x" * 20000}})
        assert too_big["ok"] is False and "larger than" in too_big["error"]
        assert await b.call("draft", {"index": 1, "answers": {"fun": 2, "hand": "right"}}) == {"ok": True}
        await b.close()  # and the browser closes before the survey is sent
        return b.identity["participant"]

    try:
        pid = asyncio.run(main())
        data = str(tmp_path / "data")
        wait_for(lambda: rows(data, "select status from participants") == [("completed",)])
    finally:
        server.stop()
    assert events(data, pid) == [("intro", "step_timeout", {"timeout": 2.0}),
                                 ("quiz", "step_timeout", {"timeout": 3.0, "answered": ["fun", "hand"],
                                                           "unanswered": ["comments"]})]
    assert rows(data, "select step, question, value from answers") == [("quiz", "fun", "2"),
                                                                       ("quiz", "hand", '"right"')]
    assert rows(data, "select outcome_code from participants") == [("TIMED1",)]


def test_a_restart_keeps_a_deadline_and_the_next_server_moves_the_participant_on(tmp_path):
    data = str(tmp_path / "data")
    server = serve(TIMED_LONG, data=data)

    async def arrive():
        b = Browser(server.url, "_timed_browser")
        await b.connect()
        await b.view("page")
        assert await b.call("advance", {"index": 0}) == {"ok": True}
        survey = await b.view("survey")
        await b.close()
        return b.identity["participant"], survey["time_left"]

    try:
        pid, left = asyncio.run(arrive())
    finally:
        server.stop()
    (position,), = rows(data, "select position from participants")
    entered = json.loads(position)["entered"]
    assert json.loads(position)["index"] == 1 and left > 0
    assert [e[1] for e in events(data, pid)] == []  # stopped before the survey's 12 s were up

    again = serve(TIMED_LONG, data=data)  # nobody connects to this one
    try:
        wait_for(lambda: rows(data, "select status from participants") == [("completed",)], 60)
    finally:
        again.stop()
    (t, step, kind), = rows(data, "select t, step, kind from events where participant_id = ?", pid)
    assert (step, kind) == ("quiz", "step_timeout") and t >= entered + 12  # the deadline kept, not early


def test_the_click_and_the_clock_racing_at_the_deadline_move_each_participant_once(tmp_path):
    """Eight participants each send ``advance`` around the moment their page's time runs out (from
    just before to just after the server's clock takes it), then the same message again. Whoever
    wins, each is at the survey once: the click acknowledged and no timeout stored, or the
    timeout stored and the click refused as stale."""
    server = serve(TIMED, data=str(tmp_path / "data"))
    data = str(tmp_path / "data")

    async def one(offset: float) -> tuple:
        b = Browser(server.url, "_timed")
        await b.connect()
        page = await b.view("page")
        await asyncio.sleep(max(0.0, page["time_left"] + offset))
        first = await b.call("advance", {"index": 0})
        second = await b.call("advance", {"index": 0})
        await b.view("survey")
        await b.close()
        return b.identity["participant"], first, second

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(one(-0.2 + 0.18 * i) for i in range(8))), 60)

    try:
        results = asyncio.run(main())
    finally:
        server.stop()
    for pid, first, second in results:
        timeouts = [e for e in events(data, pid) if e[1] == "step_timeout"]
        assert second["ok"] is False and second["stale"] is True  # twice: the step was left already
        if first["ok"]:
            assert timeouts == [], (pid, first)
        else:
            assert first["stale"] is True and timeouts == [("intro", "step_timeout", {"timeout": 2.0})], (pid, first)
        (position,), = rows(data, "select position from participants where participant_id = ?", pid)
        assert json.loads(position)["index"] == 1
    print("the click won:", sum(1 for _, f, _ in results if f["ok"]), "of", len(results))


def test_two_worker_processes_move_each_timed_out_participant_on_once(tmp_path, redis_url):
    """With ``--workers 2`` the deadlines are in Redis: each participant, connected to either
    process, is moved on by one of them, once."""
    data = str(tmp_path / "data")
    server = serve(TIMED, data=data, extra=["--workers", "2", "--redis", redis_url])

    async def arrive() -> str:
        b = Browser(server.url, "_timed")
        await b.connect()
        await b.view("page")
        await b.close()
        return b.identity["participant"]

    async def main():
        return await asyncio.gather(*(arrive() for _ in range(10)))

    try:
        pids = asyncio.run(main())
        wait_for(lambda: rows(data, "select count(*) from participants where status = 'completed'") == [(10,)], 60)
    finally:
        server.stop()
    for pid in pids:
        assert [(s, k) for s, k, _ in events(data, pid)] == [("intro", "step_timeout"), ("quiz", "step_timeout")]


def test_with_two_workers_open_pages_go_on_to_their_game_and_a_closed_one_waits_outside_the_waitroom(
        tmp_path, redis_url):
    """The clock may run on the process that does not hold a participant's page: it asks the
    other one. Four open pages are moved on from the rules to their game (two games); a page
    closed before its time ran out joins no waitroom."""
    data = str(tmp_path / "data")
    server = serve(GAME, data=data, extra=["--workers", "2", "--redis", redis_url])

    async def open_page() -> str:
        b = Browser(server.url, "_timed_game")
        await b.connect()
        await b.view("page")
        while (view := await b.view())["kind"] != "game":
            assert view["kind"] == "waitroom", view
        await b.close()
        return b.identity["participant"]

    async def closed_page() -> str:
        b = Browser(server.url, "_timed_game")
        await b.connect()
        await b.view("page")
        await b.close()
        return b.identity["participant"]

    async def main():
        gone = await closed_page()
        return gone, await asyncio.wait_for(asyncio.gather(*(open_page() for _ in range(4))), 60)

    try:
        gone, played = asyncio.run(main())
        wait_for(lambda: [k for _, k, _ in events(data, gone)] == ["step_timeout"])
        time.sleep(2)  # the time a waitroom or game of theirs would take to show
    finally:
        server.stop()
    assert len(rows(data, "select game_id from games")) == 2
    assert sorted(p for (p,) in rows(data, "select participant_id from players")) == sorted(played)
    (position,), = rows(data, "select position from participants where participant_id = ?", gone)
    assert json.loads(position)["index"] == 1 and json.loads(position)["game"] is None


def test_a_waitroom_timeout_records_its_own_outcome_apart_from_a_step_timeout(tmp_path):
    server = serve(WAIT, data=str(tmp_path / "data"))
    data = str(tmp_path / "data")

    async def main():
        b = Browser(server.url, "_timed_wait")
        await b.connect()
        wait = await b.view("waitroom")
        ended = await b.view(timeout=20)
        await b.close()
        return b.identity["participant"], wait, ended

    try:
        pid, wait, ended = asyncio.run(main())
    finally:
        server.stop()
    assert wait["needed"] == 2 and 0 < wait["timeout"] <= 2
    assert ended["kind"] == "completion" and ended["code"] == "ALONE2"
    assert events(data, pid) == [("pair", "waitroom_timeout", None)]
    assert rows(data, "select status, outcome_code, reason from participants") == [("timed_out", "ALONE2", None)]
    assert rows(data, "select count(*) from games") == [(0,)]
