"""Identity: a panel id alone never gives a browser someone's place (issue: `?PROLIFIC_PID=<someone
else's>` returned their resume key; a forged `keys.seq` took over a server game; declining first
with someone's id locked them out; five arrivals at once made five participants; case, spaces
and zero-width characters made new ones)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from race import RACE, into_browser_game, play_browser_game
from serving import Browser, serve

from mugkit.web.entry import prolific_like

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(RACE, data=str(tmp_path_factory.mktemp("identity") / "data"))
    yield server
    server.stop()


def query(served, sql: str, *params) -> list:
    with sqlite3.connect(f"file:{served.data}/mugkit.sqlite?mode=ro", uri=True) as db:
        return db.execute(sql, params).fetchall()


def link(pid: str, session: str | None = None) -> dict:
    return {"PROLIFIC_PID": pid, "STUDY_ID": "st", **({"SESSION_ID": session} if session else {})}


def test_a_panel_id_alone_gets_no_resume_key_and_no_game(served):
    pid = prolific_like("victim-1")

    async def main():
        victim = Browser(served.url, "_race", link(pid, "real-session"))
        game = await into_browser_game(victim)
        attackers = {}
        for name, query in (("id only", link(pid)), ("wrong session", link(pid, "guess")),
                            ("upper case", link(pid.upper())), ("zero width", link(pid[:5] + "\u200b" + pid[5:])),
                            ("spaces", link(f"  {pid} "))):
            a = Browser(served.url, "_race", query)
            await a.connect()
            attackers[name] = (await a.view(), a.identity)
            # and what a forged message from that window achieves
            attackers[name] += (await a.call("rows", {"game": game["game"], "session": "x", "batch": 0, "rows": "[]"}),
                                await a.call("advance", {"index": 1}))
            await a.close()
        await play_browser_game(victim, game)          # the real participant's game is untouched
        over = await victim.call("game_over", {"game": game["game"], "session": "s1"})
        await victim.close()
        return attackers, over

    attackers, over = asyncio.run(main())
    for name, (view, identity, rows, advance) in attackers.items():
        assert view["kind"] == "refused" and "already taken part" in view["html"], name
        assert identity == {}, name                       # no participant id, no resume key
        assert rows["ok"] is False and advance["ok"] is False, name
    assert over == {"ok": True}
    assert query(served, "select count(*) from participants where prolific_pid = ?", pid) == [(1,)]
    conflicts = query(served, "select detail from events e join participants p using (participant_id) "
                              "where p.prolific_pid = ? and e.kind = 'panel_conflict'", pid)
    assert len(conflicts) == 5                            # each attempt is on record for the researcher


def test_the_same_panel_attempt_in_another_browser_moves_only_between_steps(served):
    pid = prolific_like("mover-1")

    async def main():
        old = Browser(served.url, "_race", link(pid, "sess-1"))
        game = await into_browser_game(old)
        new = Browser(served.url, "_race", link(pid, "sess-1"))
        await new.connect()
        offer = await new.view("transfer")
        mid_game = await new.call("transfer", {})          # in the middle of a game: not now
        refusal = await new.view("refused")
        await play_browser_game(old, game)
        assert (await old.call("game_over", {"game": game["game"], "session": "s1"}))["ok"]
        await old.view("survey")
        moved = await new.call("transfer", {})             # between steps: the move happens
        identity = await new.next("identity")
        there = await new.view("survey")
        told = await old.view("ended")                     # the old window is told, and closed
        await asyncio.sleep(0.3)
        old_connected = old.sio.connected
        stale = Browser(served.url, "_race", identity=old.identity)   # its old resume key is worthless
        await stale.connect()
        stale_view = await stale.view()
        await stale.close()
        answered = await new.call("advance", {"index": there["index"], "answers": {"fun": 5}})
        await new.close()
        return offer, mid_game, refusal, moved, identity, old.identity, told, old_connected, stale_view, answered

    offer, mid_game, refusal, moved, identity, old_identity, told, old_connected, stale_view, answered = \
        asyncio.run(main())
    assert offer["button"] == "Continue here"
    assert mid_game["ok"] is False and "middle of a game" in refusal["html"]
    assert moved == {"ok": True}
    assert identity["participant"] == old_identity["participant"] and identity["resume"] != old_identity["resume"]
    assert "another browser" in told["html"] and old_connected is False
    assert stale_view["kind"] == "consent" and stale_view.get("index") == 0   # a stranger: starts afresh
    assert answered == {"ok": True}
    (detail,), = query(served, "select detail from events where kind = 'device_moved'")
    assert json.loads(detail)["device"] == 1


def test_declining_with_someone_elses_id_is_on_record_and_they_are_told_whom_to_ask(served):
    pid = prolific_like("declined-by-someone-else")

    async def main():
        attacker = Browser(served.url, "_race", link(pid, "fake"))
        await attacker.connect()
        consent = await attacker.view("consent")
        await attacker.call("advance", {"index": consent["index"], "agree": False})
        await attacker.view("ended")
        await attacker.close()
        real = Browser(served.url, "_race", link(pid, "real"))
        await real.connect()
        view = await real.view("refused")
        await real.close()
        return view

    view = asyncio.run(main())
    (participant,), = query(served, "select participant_id from participants where prolific_pid = ?", pid)
    assert participant in view["html"]                   # a reference the researcher can look up
    (detail,), = query(served, "select detail from events where participant_id = ? and kind = 'panel_conflict'",
                       participant)
    assert json.loads(detail)["attempt"] == "real"


def test_five_arrivals_at_once_with_one_new_id_make_one_participant(served):
    pid = prolific_like("five-at-once")

    async def main():
        tabs = [Browser(served.url, "_race", link(pid, "same")) for _ in range(5)]
        await asyncio.gather(*(t.connect() for t in tabs))
        views = [await t.view() for t in tabs]
        await asyncio.gather(*(t.close() for t in tabs))
        return views

    views = asyncio.run(main())
    assert sorted(v["kind"] for v in views).count("consent") == 1
    assert query(served, "select count(*) from participants where prolific_pid = ?", pid) == [(1,)]


@pytest.mark.parametrize("pid", ["abc", "{{%PROLIFIC_PID%}}", "5f3c" * 7, "g" * 24, ""])
def test_a_malformed_panel_id_starts_nothing(served, pid):
    async def main():
        b = Browser(served.url, "_race", link(pid, "s"))
        await b.connect()
        view = await b.view("refused")
        await b.close()
        return view

    assert "not a valid id" in asyncio.run(main())["html"]


def test_a_forged_key_sequence_number_is_refused_and_the_players_keys_still_count(served):
    async def main():
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        await play_browser_game(b, view)
        assert (await b.call("game_over", {"game": view["game"], "session": "s1"}))["ok"]
        survey = await b.view("survey")
        await b.call("advance", {"index": survey["index"], "answers": {"fun": 2}})
        game = (await b.view("game"))["game"]
        keys = lambda seq, held: {"game": game, "seq": seq, "held": held, "down": held, "up": [], "t": 0}
        await b.sio.emit("keys", keys(2**62, []))
        huge = await b.next("error")
        await b.sio.emit("keys", keys(1, []))
        await b.sio.emit("keys", keys(5000, []))
        jump = await b.next("error")
        await b.sio.emit("keys", keys(2, ["ArrowRight"]))
        await asyncio.sleep(0.5)
        await b.close()
        return game, huge, jump

    game, huge, jump = asyncio.run(main())
    assert "keys.seq must be an integer from 0 to" in huge["message"]
    assert "jumps more than 1000" in jump["message"]
    rows = query(served, "select action from steps where game_id = ? and action = 2", game)
    assert rows, "the participant's own keys after the forged ones still move them"


def test_participants_who_leave_are_not_kept_in_memory_and_come_back_where_they_were(served):
    import urllib.request

    def in_memory() -> int:
        request = urllib.request.Request(f"{served.url}/admin/stats.json", headers={"x-mugkit-token": served.token})
        with urllib.request.urlopen(request) as r:
            return json.load(r)["participants"]

    async def main():
        tabs = [Browser(served.url, "_race") for _ in range(30)]
        for t in tabs:
            await t.connect()
            await t.view("consent")
        while_open = in_memory()
        await asyncio.gather(*(t.close() for t in tabs))
        await asyncio.sleep(0.5)
        after = in_memory()
        back = Browser(served.url, "_race", identity=tabs[0].identity)   # read again from storage
        await back.connect()
        consent = await back.view("consent")
        moved = await back.call("advance", {"index": consent["index"], "agree": True})
        game = await back.view("game")
        await back.close()
        return while_open, after, moved, game

    while_open, after, moved, game = asyncio.run(main())
    assert while_open >= 30 and after <= while_open - 30
    assert moved == {"ok": True} and game["runtime"] == "browser"


def test_a_browser_that_kept_someone_elses_place_does_not_give_it_to_the_next_panel_id(served):
    """A lab's shared computer: the next person's link (their own panel id) starts their own study,
    though the browser still holds the previous participant's resume key."""
    first_pid, next_pid = prolific_like("lab-first"), prolific_like("lab-next")

    async def main():
        first = Browser(served.url, "_race", link(first_pid, "a"))
        await into_browser_game(first)
        await first.close()
        again = Browser(served.url, "_race", link(first_pid, "a"), identity=first.identity)
        await again.connect()
        resumed = await again.view()
        await again.close()
        nxt = Browser(served.url, "_race", link(next_pid, "b"), identity=first.identity)
        await nxt.connect()
        view = await nxt.view()
        await nxt.close()
        return first.identity, resumed, view, nxt.identity

    first_identity, resumed, view, next_identity = asyncio.run(main())
    assert resumed["kind"] == "game"                      # the same person in the same browser goes on
    assert view["kind"] == "consent" and view["index"] == 0
    assert next_identity["participant"] != first_identity["participant"]
    assert query(served, "select count(*) from participants where prolific_pid in (?, ?)", first_pid, next_pid) == \
        [(2,)]
