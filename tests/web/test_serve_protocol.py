"""`mugkit serve` end to end at the protocol level: a real server process, real socket.io clients,
a real database file."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import urllib.error
import urllib.request

import pytest

from serving import DUO, STUDIES, WALK, Browser, serve

from mugkit.web.entry import prolific_like

P123, P9 = prolific_like("p-123"), prolific_like("p-9")

pytestmark = pytest.mark.slow



def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


async def into_walk_game(b: Browser) -> dict:
    """Connects and goes through the walk study's page and consent; returns the game view."""
    await b.connect()
    assert (await b.view("page"))["title"] == "Welcome"
    assert await b.call("advance", {"index": 0}) == {"ok": True}
    await b.view("consent")
    assert await b.call("advance", {"index": 1, "agree": True}) == {"ok": True}
    return await b.view("game")


async def play_walk(b: Browser) -> dict:
    """Goes through the walk study; returns the completion view."""
    game = await into_walk_game(b)
    for seq in range(3):  # hold ArrowRight for a moment, then let go
        await b.sio.emit("keys", {"game": game["game"], "seq": seq * 2, "held": ["ArrowRight"], "down": ["ArrowRight"],
                                  "up": [], "t": 1000.0 + seq})
        await asyncio.sleep(0.15)
        await b.sio.emit("keys", {"game": game["game"], "seq": seq * 2 + 1, "held": [], "down": [], "up": ["ArrowRight"],
                                  "t": 1100.0 + seq})
    survey = await b.view("survey", timeout=30)
    assert [q["name"] for q in survey["survey"]["pages"][0]["elements"]] == ["fun", "hand", "comments"]
    bad = await b.call("advance", {"index": 3, "answers": {"fun": 9, "hand": "left"}})
    assert bad["ok"] is False and "fun" in bad["error"]
    assert await b.call("advance", {"index": 3, "answers": {"fun": 4, "hand": "both"}}) == {"ok": True}
    return await b.view("completion")


def test_a_participant_goes_through_the_whole_flow_and_every_frame_is_stored(server):
    async def main():
        b = Browser(server.url, "_walk", {"PROLIFIC_PID": P123, "STUDY_ID": "s1", "SESSION_ID": "x9"})
        done = await play_walk(b)
        await b.close()
        return b, done

    b, done = asyncio.run(main())
    assert done["code"] == "C0DE42" and done["redirect"] == "https://app.prolific.com/submissions/complete?cc=C0DE42"
    assert len(b.frames) >= 40 and b.frames[0]["frame"] == 0
    steps = rows(server.data, "select frame, keys, action, filled from steps order by frame")
    assert [r[0] for r in steps] == list(range(46))  # frame 0 (the reset) to max_steps, each once
    assert any(r[1] and "ArrowRight" in r[1] for r in steps)  # the keys pressed are recorded
    assert rows(server.data, "select status, outcome_code, prolific_pid from participants") == \
        [("completed", "C0DE42", P123)]
    assert sorted(r[0] for r in rows(server.data, "select question from answers")) == ["comments", "fun", "hand"]


def test_a_completed_panel_id_is_turned_away_and_an_mturk_preview_starts_nothing(server):
    async def main():
        b = Browser(server.url, "_walk", {"PROLIFIC_PID": P9})
        await play_walk(b)
        await b.close()
        again = Browser(server.url, "_walk", {"PROLIFIC_PID": P9})
        await again.connect()
        refused = await again.view("refused")
        await again.close()
        preview = Browser(server.url, "_walk", {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "h"})
        await preview.connect()
        shown = await preview.view("preview")
        await preview.close()
        return refused, shown

    refused, shown = asyncio.run(main())
    assert "already" in refused["html"]
    assert "Preview" in shown["html"]
    assert rows(server.data, "select count(*) from participants") == [(1,)]


def test_a_reload_mid_game_resumes_the_same_game_without_gap_or_repeat(server):
    async def main():
        b = Browser(server.url, "_walk")
        game = await into_walk_game(b)
        await asyncio.sleep(0.4)
        await b.close()  # the reload: the connection drops ...
        await asyncio.sleep(0.5)
        again = Browser(server.url, "_walk", identity=b.identity)  # ... and comes back with its identity
        await again.connect()
        resumed = await again.view("game")
        await again.view("survey", timeout=30)
        await again.close()
        return game, resumed

    game, resumed = asyncio.run(main())
    assert resumed["game"] == game["game"]
    frames = [r[0] for r in rows(server.data, "select frame from steps order by frame")]
    assert frames == list(range(46))


def test_two_participants_are_matched_into_one_game_and_both_finish(server):
    async def main():
        a, b = Browser(server.url, "_duo"), Browser(server.url, "_duo")
        await a.connect()
        wait = await a.view("waitroom")
        await b.connect()
        game_b = await b.view("game")
        game_a = await a.view("game")
        done = await asyncio.gather(a.view("completion", timeout=30), b.view("completion", timeout=30))
        await a.close()
        await b.close()
        return wait, game_a, game_b, done

    wait, game_a, game_b, done = asyncio.run(main())
    assert wait["needed"] == 2 and wait["present"] == 1
    assert game_a["game"] == game_b["game"] and {game_a["you"], game_b["you"]} == {"left", "right"}
    assert [d["code"] for d in done] == ["DUO777", "DUO777"]
    assert rows(server.data, "select count(*) from steps") == [(2 * 31,)]


def test_bad_input_is_rejected_and_the_server_keeps_serving(server):
    async def main():
        b = Browser(server.url, "_walk")
        await b.connect()
        await b.view("page")
        errors = []
        for message in ("not an object", {"index": "zero"}, {"index": 0, "answers": "no"}):
            errors.append(await b.call("advance", message))
        errors.append(await b.call("advance", {"index": 0, "padding": "x" * 40_000}))
        await b.sio.emit("keys", {"game": "nope", "seq": -1})
        first = await b.next("error")
        await b.sio.emit("no_such_event", {})
        second = await b.next("error")
        ok = await b.call("advance", {"index": 0})
        await b.close()
        return errors, first, second, ok

    errors, first, second, ok = asyncio.run(main())
    assert all(e["ok"] is False and e["error"] for e in errors), errors
    assert "keys.seq" in first["message"] and "unknown event 'no_such_event'" in second["message"]
    assert ok == {"ok": True}
    for path in ("/static/../serve.py", "/static/%2e%2e/serve.py", "/_walk/files/_walk.py", "/_walk/files/../../x.png"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(server.url + path)
        assert e.value.code == 404, path
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(server.url + "/admin")
    assert e.value.code == 403
    admin = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())  # the token becomes a cookie
    assert b"url=/admin" in admin.open(f"{server.url}/admin?token={server.token}").read()
    assert b"Active participants" in admin.open(f"{server.url}/admin").read()


def test_a_killed_server_keeps_every_acknowledged_row_and_the_participant_goes_on(tmp_path):
    data = str(tmp_path / "data")
    served = serve(WALK, data=data)

    async def first_part():
        b = Browser(served.url, "_walk")
        await into_walk_game(b)
        await asyncio.sleep(0.6)
        return b

    b = asyncio.run(first_part())
    served.stop(signal.SIGKILL)
    stored = rows(data, "select count(*) from steps")[0][0]
    assert stored > 0
    again = serve(WALK, data=data)

    async def second_part():
        back = Browser(again.url, "_walk", identity=b.identity)
        await back.connect()
        view = await back.view()
        await back.close()
        return view

    try:
        view = asyncio.run(second_part())
    finally:
        again.stop()
    assert view["kind"] == "survey"  # the cut game is over; the participant goes on
    assert rows(data, "select outcome from games") == [("interrupted",)]
    assert rows(data, "select count(*) from steps")[0][0] >= stored
    assert any(r[0] == "game_interrupted" for r in rows(data, "select kind from events"))


def test_a_partner_who_leaves_pauses_the_game_then_ends_it_and_the_other_goes_on(tmp_path):
    data = str(tmp_path / "data")
    served = serve(DUO, data=data, grace=1.5)

    async def main():
        a, b = Browser(served.url, "_duo"), Browser(served.url, "_duo")
        await a.connect()
        await a.view("waitroom")
        await b.connect()
        await b.view("game")
        await a.view("game")
        await asyncio.sleep(0.3)
        await b.close()  # b's tab closes for good
        await asyncio.sleep(0.5)
        paused_at = len(a.frames)
        await asyncio.sleep(0.5)
        still = len(a.frames)
        after = await a.view(timeout=10)
        await a.close()
        return paused_at, still, after

    try:
        paused_at, still, after = asyncio.run(main())
    finally:
        served.stop()
    assert still == paused_at  # no frame is played while a player is away
    assert after["kind"] == "completion"
    assert rows(data, "select outcome from games") == [("partner_left",)]
    kinds = [r[0] for r in rows(data, "select kind from events")]
    assert "disconnected" in kinds and "game_partner_left" in kinds


def test_a_turn_based_aec_game_waits_for_each_player_and_says_whose_turn_it_is(tmp_path):
    served = serve(os.path.join(STUDIES, "_ttt.py"), data=str(tmp_path / "data"))

    async def press(b: Browser, game: str, key: str, seq: int) -> None:
        await b.sio.emit("keys", {"game": game, "seq": seq, "held": [key], "down": [key], "up": [], "t": 0.0})
        await b.sio.emit("keys", {"game": game, "seq": seq + 1, "held": [], "down": [], "up": [key], "t": 1.0})

    async def main():
        a, b = Browser(served.url, "_ttt"), Browser(served.url, "_ttt")
        await a.connect()
        await a.view("waitroom")
        await b.connect()
        vb, va = await b.view("game"), await a.view("game")
        first, second = (a, b) if va["you"] == "player_1" else (b, a)
        await asyncio.sleep(0.5)
        waited = [f["frame"] for f in first.frames]
        turn_before = first.frames[-1]["turn"]
        await press(second, va["game"], "5", 0)  # not second's turn: nothing happens
        await asyncio.sleep(0.3)
        await press(first, va["game"], "5", 0)
        await asyncio.sleep(0.5)
        turn_after = first.frames[-1]["turn"]
        await a.close()
        await b.close()
        return vb, waited, turn_before, turn_after, first.frames[-1]

    try:
        vb, waited, turn_before, turn_after, last = asyncio.run(main())
    finally:
        served.stop()
    assert vb["turn_based"] is True
    assert waited == [0] and turn_before == "player_1"  # the first frame waits for player_1
    assert turn_after == "player_2" and last["frame"] == 1
    assert rows(str(tmp_path / "data"), "select frame, agent, action from steps where frame = 1 and action is not null") \
        == [(1, '"player_1"', "4")]


def test_a_timed_out_participant_gets_the_timeout_code_in_the_page_and_the_redirect():
    from mugkit import Completion
    from mugkit.web.views import page_view

    page = Completion(code="DONE1", timeout_code="WAIT1", redirect="https://example.org/?cc={code}&t={token}")
    view = page_view(page, code="WAIT1", token="tok")
    assert view["code"] == "WAIT1" and "WAIT1" in view["html"] and "DONE1" not in view["html"]
    assert view["redirect"] == "https://example.org/?cc=WAIT1&t=tok"


def test_an_rgb_array_env_streams_images_and_a_lonely_waitroom_times_out_with_its_code(tmp_path):
    # --no-preflight: its lonely step raises on purpose (no partner ever arrives), which pre-flight refuses.
    served = serve(os.path.join(STUDIES, "_pixels.py"), data=str(tmp_path / "data"), extra=["--no-preflight"])

    async def main():
        b = Browser(served.url, "_pixels")
        await b.connect()
        await b.view("game")
        wait = await b.view("waitroom", timeout=20)
        ended = await b.view(timeout=20)
        await b.close()
        return b.frames, wait, ended

    try:
        frames, wait, ended = asyncio.run(main())
    finally:
        served.stop()
    images = [f["image"] for f in frames if f["image"]]
    assert images and all(i.startswith("data:image/jpeg;base64,") for i in images)
    assert wait["needed"] == 2
    assert ended["kind"] == "completion" and ended["code"] == "ALONE1"
    assert ended["redirect"] == "https://example.org/?cc=ALONE1"
    data = str(tmp_path / "data")
    assert rows(data, "select status, outcome_code from participants") == [("timed_out", "ALONE1")]
    stored = rows(data, "select count(*), count(observation) from steps")[0]
    assert stored[0] > 5 and stored[0] == stored[1]  # every frame, with its (compressed) observation
