"""In-game monitoring (``mk.Monitor``) at the protocol level: a real `mugkit serve`, raw socket.io
clients that behave as the server must not trust (silent, hidden, idle, slow, forging), and the
database the server wrote. The server decides from what it observes: heartbeats, keys, its own
pings."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

import pytest

from serving import STUDIES, Browser, serve

pytestmark = pytest.mark.slow

SOLO, LAG, PAIR, RELIEF, FOCUS, TURNS = (os.path.join(STUDIES, f"_watch_{name}.py")
                                  for name in ("solo", "lag", "pair", "relief", "focus", "turns"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = serve(SOLO, LAG, PAIR, RELIEF, FOCUS, TURNS, data=str(tmp_path_factory.mktemp("watched") / "data"))
    yield served
    served.stop()


class Watched(Browser):
    """A protocol-level participant that also keeps the monitor's messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pings: asyncio.Queue = asyncio.Queue()
        for event in ("monitor_warning", "monitor_notice"):
            self.sio.on(event, self._keeper(event))
        self.sio.on("monitor_ping", lambda data: self.pings.put_nowait(data))

    async def beat(self, game: str, hidden: bool = False, seconds: float = 60.0, focused: bool | None = None) -> None:
        """Heartbeats every half second (hidden or shown; focused unless hidden, or as given)."""
        for _ in range(int(seconds * 2)):
            await self.sio.emit("presence", {"game": game, "hidden": hidden,
                                             "focused": not hidden if focused is None else focused})
            await asyncio.sleep(0.5)

    async def answer_pings(self, delay: float = 0.0) -> None:
        """Answers every ping, ``delay`` seconds late on purpose."""
        while True:
            ping = await self.pings.get()
            await asyncio.sleep(delay)
            await self.sio.emit("monitor_pong", {"game": ping["game"], "id": ping["id"]})


def db_rows(data: str, sql: str, *args) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql, args).fetchall()


def participant(data: str, pid: str) -> tuple:
    return db_rows(data, "select status, outcome_code, reason, reason_text from participants where participant_id = ?",
                   pid)[0]


def events(data: str, pid: str, kind: str) -> list[dict]:
    return [json.loads(d) for (d,) in db_rows(data, "select detail from events where participant_id = ? and kind = ? "
                                                    "order by rowid", pid, kind)]


def game_row(data: str, game: str) -> tuple:
    outcome, reason, detail = db_rows(data, "select outcome, outcome_reason, detail from games where game_id = ?",
                                      game)[0]
    return outcome, reason, json.loads(detail or "{}")


async def into_solo_game(b: Watched) -> dict:
    await b.connect()
    await b.view("page")
    assert await b.call("advance", {"index": 0}) == {"ok": True}
    return await b.view("game")


async def into_pair_game(url: str, experiment: str) -> tuple[Watched, Watched, dict, dict]:
    """Two participants matched into one game of ``experiment``: both, and their game views."""
    a, b = Watched(url, experiment), Watched(url, experiment)
    await a.connect()
    await a.view("waitroom")
    await b.connect()
    game_b = await b.view("game")
    return a, b, await a.view("game"), game_b


def run(main):
    return asyncio.run(main())


def test_a_client_that_sends_nothing_is_warned_then_excluded_as_unresponsive(server):
    async def main():
        b = Watched(server.url, "_watch_solo")
        game = await into_solo_game(b)
        warning = await b.next("monitor_warning")
        ended = await b.view("ended", timeout=15)
        await b.close()
        return b, game, warning, ended

    b, game, warning, ended = run(main)
    assert game["monitor"] == {"heartbeat_ms": 1000, "focus": False, "hidden_seconds": 3, "idle_seconds": 8,
                               "max_rtt_ms": None}
    assert warning["game"] == game["game"] and warning["kind"] == "unresponsive" and warning["seconds_left"] <= 2
    assert ended["status"] == "excluded" and ended["code"] == "EXCL9"
    assert "stopped answering" in ended["html"]
    pid = b.identity["participant"]
    status, code, reason, text = participant(server.data, pid)
    assert (status, code, reason) == ("excluded", "EXCL9", "unresponsive") and "stopped answering" in text
    assert [e["kind"] for e in events(server.data, pid, "monitor_warning")] == ["unresponsive"]
    [excluded] = events(server.data, pid, "excluded")
    assert excluded["reason"] == "unresponsive" and excluded["game"] == game["game"] and excluded["agent"] == "player"
    assert game_row(server.data, game["game"])[:2] == ("excluded", "unresponsive")


def test_a_hidden_tab_is_warned_then_excluded_with_its_reason(server):
    async def main():
        b = Watched(server.url, "_watch_solo")
        game = await into_solo_game(b)
        beating = asyncio.ensure_future(b.beat(game["game"], hidden=True))
        warning = await b.next("monitor_warning")
        ended = await b.view("ended", timeout=15)
        beating.cancel()
        await b.close()
        return b, game, warning, ended

    b, game, warning, ended = run(main)
    assert warning["kind"] == "tab_hidden" and "hidden" in warning["text"]
    assert ended["code"] == "EXCL9" and "hidden for more than 3 seconds" in ended["html"]
    assert participant(server.data, b.identity["participant"])[2] == "tab_hidden"
    assert game_row(server.data, game["game"])[:2] == ("excluded", "tab_hidden")


def test_a_tab_shown_again_in_time_clears_the_warning_and_is_not_excluded(server):
    async def main():
        b = Watched(server.url, "_watch_solo")
        game = await into_solo_game(b)
        hidden = asyncio.ensure_future(b.beat(game["game"], hidden=True))
        warning = await b.next("monitor_warning")
        hidden.cancel()
        shown = asyncio.ensure_future(b.beat(game["game"], hidden=False))
        cleared = await b.next("monitor_warning")
        seq = 0
        for _ in range(6):  # and plays (a key pressed and released a second) for longer than the limits
            for down, up in ((["ArrowRight"], []), ([], ["ArrowRight"])):
                await b.sio.emit("keys", {"game": game["game"], "seq": seq, "held": down, "down": down, "up": up})
                seq += 1
                await asyncio.sleep(0.5)
        views = [data for event, data in list(b.inbox._queue) if event == "view"]
        shown.cancel()
        await b.close()
        return b, warning, cleared, views

    b, warning, cleared, views = run(main)
    assert warning["kind"] == "tab_hidden" and cleared == {"game": warning["game"], "kind": "tab_hidden", "clear": True}
    assert views == [], views   # still in the game
    pid = b.identity["participant"]
    assert participant(server.data, pid)[0] == "active"
    assert [e["kind"] for e in events(server.data, pid, "monitor_cleared")] == ["tab_hidden"]


def test_a_window_without_focus_counts_as_hidden_only_where_the_step_says_so(server):
    async def main():
        a = Watched(server.url, "_watch_focus")     # focus_lost=True
        await a.connect()
        game_a = await a.view("game")
        b = Watched(server.url, "_watch_lag")       # focus_lost=False, and no hidden limit at all
        await b.connect()
        game_b = await b.view("game")
        tasks = [asyncio.ensure_future(a.beat(game_a["game"], focused=False)),
                 asyncio.ensure_future(b.beat(game_b["game"], focused=False)), asyncio.ensure_future(b.answer_pings())]
        warning = await a.next("monitor_warning")
        ended = await a.view("ended", timeout=15)
        views_b = [data for event, data in list(b.inbox._queue) if event == "view"]
        for task in tasks:
            task.cancel()
        await a.close()
        await b.close()
        return a, b, warning, ended, views_b

    a, b, warning, ended, views_b = run(main)
    assert warning["kind"] == "tab_hidden" and "not in front" in warning["text"]
    assert "hidden or in the background for more than 3 seconds" in ended["html"]
    assert participant(server.data, a.identity["participant"])[2] == "tab_hidden"
    assert views_b == [] and participant(server.data, b.identity["participant"])[0] == "active"


def test_in_a_turn_based_game_only_the_player_whose_turn_it_is_can_be_idle(server):
    async def main():
        a, b, game_a, game_b = await into_pair_game(server.url, "_watch_turns")
        views = {"b": game_b, "a": game_a}
        first = a if views["a"]["you"] == "player_1" else b
        second = b if first is a else a
        ended = await first.view("ended", timeout=20)
        moved = await second.view("completion", timeout=20)
        await a.close()
        await b.close()
        return first, second, ended, moved

    first, second, ended, moved = run(main)
    assert "No key was pressed for 4 seconds" in ended["html"]
    assert participant(server.data, first.identity["participant"])[2] == "idle"
    assert participant(server.data, second.identity["participant"])[0] == "completed"   # waiting is not idle
    assert events(server.data, second.identity["participant"], "monitor_warning") == []
    assert moved["problem"]["title"] == "Your partner left the game"


def test_an_idle_player_is_warned_then_excluded_and_empty_key_messages_are_no_input(server):
    async def main():
        b = Watched(server.url, "_watch_solo")
        game = await into_solo_game(b)
        beating = asyncio.ensure_future(b.beat(game["game"]))

        async def keepalive():  # key messages that press nothing: not input
            for seq in range(100):
                await b.sio.emit("keys", {"game": game["game"], "seq": seq, "held": [], "down": [], "up": []})
                await asyncio.sleep(0.3)

        faking = asyncio.ensure_future(keepalive())
        warning = await b.next("monitor_warning")
        ended = await b.view("ended", timeout=15)
        beating.cancel()
        faking.cancel()
        await b.close()
        return b, game, warning, ended

    b, game, warning, ended = run(main)
    assert warning["kind"] == "idle"
    assert ended["code"] == "EXCL9" and "No key was pressed for 8 seconds" in ended["html"]
    assert participant(server.data, b.identity["participant"])[2] == "idle"


def test_pongs_delayed_on_purpose_count_as_slow_and_exclude_for_rtt(server):
    async def main():
        b = Watched(server.url, "_watch_lag")
        await b.connect()
        game = await b.view("game")
        answering = asyncio.ensure_future(b.answer_pings(delay=0.3))
        warning = await b.next("monitor_warning")
        ended = await b.view("ended", timeout=15)
        answering.cancel()
        await b.close()
        return b, game, warning, ended

    b, game, warning, ended = run(main)
    assert warning["kind"] == "rtt" and warning["seconds_left"] is None
    assert ended["code"] == "LAG1" or ended["code"] == "EXCL9"
    pid = b.identity["participant"]
    assert participant(server.data, pid)[2] == "rtt"
    [excluded] = events(server.data, pid, "excluded")
    assert sum(1 for ms in excluded["rtt_ms"] if ms is not None and ms > 150) >= 2, excluded


def test_prompt_pongs_pass_and_forged_pongs_are_refused(server):
    async def main():
        b = Watched(server.url, "_watch_lag")
        await b.connect()
        game = await b.view("game")
        early = await b.call("monitor_pong", {"game": game["game"], "id": "guessed"})   # before any ping
        answering = asyncio.ensure_future(b.answer_pings())
        await asyncio.sleep(4)   # eight pings, all answered at once
        views = [data for event, data in list(b.inbox._queue) if event == "view"]
        answering.cancel()
        ping = await b.pings.get()
        other = await b.call("monitor_pong", {"game": "some-other-game", "id": ping["id"]})
        bad = await b.call("monitor_pong", ["not", "an", "object"])
        await b.close()
        return b, early, views, other, bad

    b, early, views, other, bad = run(main)
    assert early["ok"] is False and early["stale"] is True
    assert views == []
    assert other["ok"] is False and "not monitored for you" in other["error"]
    assert bad == {"ok": False, "error": "monitor_pong must be an object with the game's id"}
    assert participant(server.data, b.identity["participant"])[0] == "active"


def test_presence_that_is_forged_malformed_or_flooded_changes_nothing_it_should_not(server):
    async def main():
        a, b = Watched(server.url, "_watch_solo"), Watched(server.url, "_watch_solo")
        game_a, game_b = await into_solo_game(a), await into_solo_game(b)
        # b speaks for a's game: refused, and a (silent) is still excluded as unresponsive.
        forged = await b.call("presence", {"game": game_a["game"], "hidden": False, "focused": True})
        malformed = await b.call("presence", {"game": game_b["game"], "hidden": "no"})
        # a flood of hidden / shown from b: bounded by the socket's rate limit and the event cap
        for i in range(300):
            await b.sio.emit("presence", {"game": game_b["game"], "hidden": i % 2 == 0, "focused": True})
        ended_a = await a.view("ended", timeout=15)
        await a.close()
        await b.close()
        return a, b, forged, malformed, ended_a

    a, b, forged, malformed, ended_a = run(main)
    assert forged["ok"] is False and forged["stale"] is True
    assert malformed == {"ok": False, "error": "presence must carry hidden: true | false and focused: true | false"}
    assert participant(server.data, a.identity["participant"])[2] == "unresponsive"
    assert len(events(server.data, b.identity["participant"], "monitor_warning")) <= 100


def test_the_partner_of_an_excluded_player_is_told_and_goes_on(server):
    async def main():
        a, b, _, game_b = await into_pair_game(server.url, "_watch_pair")
        beating = [asyncio.ensure_future(a.beat(game_b["game"])), asyncio.ensure_future(b.beat(game_b["game"], True))]
        ended_b = await b.view("ended", timeout=15)
        next_a = await a.view("survey", timeout=15)
        for task in beating:
            task.cancel()
        await a.close()
        await b.close()
        return a, b, game_b, ended_b, next_a

    a, b, game, ended_b, next_a = run(main)
    assert ended_b["code"] == "EXCL9"
    assert next_a["problem"]["title"] == "Your partner left the game" and "not your fault" in next_a["problem"]["html"]
    assert participant(server.data, a.identity["participant"])[0] == "active"
    [told] = events(server.data, a.identity["participant"], "game_excluded")
    assert told["game"] == game["game"] and told["reason"] == "tab_hidden" and told["agent"] == game["you"]
    assert events(server.data, b.identity["participant"], "game_excluded") == []
    assert game_row(server.data, game["game"])[:2] == ("excluded", "tab_hidden")


def test_a_policy_takes_over_an_excluded_players_agent_and_the_game_completes(server):
    async def main():
        a, b, _, game_b = await into_pair_game(server.url, "_watch_relief")
        beating = [asyncio.ensure_future(a.beat(game_b["game"])), asyncio.ensure_future(b.beat(game_b["game"], True))]
        ended_b = await b.view("ended", timeout=15)
        notice = await a.next("monitor_notice")
        for seq in range(10):   # the excluded player tries to steer their agent again: ignored
            await b.sio.emit("keys", {"game": game_b["game"], "seq": 1000 + seq, "held": ["ArrowLeft"],
                                      "down": ["ArrowLeft"], "up": []})
            await asyncio.sleep(0.1)
        done_a = await a.view("completion", timeout=30)
        for task in beating:
            task.cancel()
        await a.close()
        await b.close()
        return a, b, game_b, ended_b, notice, done_a

    a, b, game, ended_b, notice, done_a = run(main)
    assert ended_b["code"] == "EXCL9" and done_a["code"] == "RELIEF1"
    assert notice["agent"] == game["you"] and "computer plays for them" in notice["html"]
    outcome, reason, detail = game_row(server.data, game["game"])
    assert (outcome, reason) == ("completed", "game_over")
    took = detail["takeovers"][game["you"]]
    assert took["policy"] == "walker" and took["participant"] == b.identity["participant"]
    assert took["reason"] == "tab_hidden"
    [told] = events(server.data, a.identity["participant"], "partner_excluded")
    assert told["takeover"] == "walker"
    # After the takeover the policy's rows: no keys, always action 2.
    after = db_rows(server.data, "select action, keys from steps where game_id = ? and agent = ? and frame > ? "
                                 "order by frame", game["game"], json.dumps(game["you"]), took["frame"] + 1)
    assert after and all(row == ("2", None) for row in after), after[:5]
    before = db_rows(server.data, "select keys from steps where game_id = ? and agent = ? and frame between 1 and ?",
                     game["game"], json.dumps(game["you"]), took["frame"])
    assert before and all(keys is not None for (keys,) in before)   # a human's rows until then


def test_a_silent_peer_of_a_browser_game_is_excluded_and_its_partner_goes_on(tmp_path):
    from test_peers_protocol import Peer

    served = serve(os.path.join(STUDIES, "_watch_peers.py"), data=str(tmp_path / "data"),
                   extra=["--peer-relay", "force"])

    async def main():
        a, b = Peer(served.url, "_watch_peers", "a"), Peer(served.url, "_watch_peers", "b")
        views = await asyncio.gather(a.enter(), b.enter())
        assert [await p.ready() for p in (a, b)] == [{"ok": True}, {"ok": True}]
        beating = asyncio.ensure_future(Watched.beat(a, a.game["game"]))   # a reports; b says nothing
        hidden = await a.ask("peer_status", hidden=False)
        ended_b = await b.view("ended", timeout=20)
        next_a = await a.view(timeout=20)
        beating.cancel()
        await a.close()
        await b.close()
        return a, b, views, hidden, ended_b, next_a

    try:
        a, b, views, hidden, ended_b, next_a = asyncio.run(main())
        assert [v["peer"]["hidden_limit_s"] for v in views] == [3, 3]   # the monitor's limit, not the server's
        assert [v["monitor"]["hidden_seconds"] for v in views] == [3, 3]
        assert hidden == {"ok": True}
        assert ended_b["code"] == "EXCL9"
        assert next_a["kind"] == "completion" and next_a["problem"]["title"] == "Your partner left the game"
        assert participant(served.data, b.identity["participant"])[2] == "unresponsive"
        [told] = events(served.data, a.identity["participant"], "game_excluded")
        assert told["reason"] == "unresponsive" and told["game"] == a.game["game"]
        assert game_row(served.data, a.game["game"])[:2] == ("excluded", "unresponsive")
    finally:
        served.stop()


def test_partners_excluded_at_once_leave_no_game_played_by_policies_alone(server):
    """Both players of a takeover game go silent together: the first is taken over, the second
    leaves nobody to play with, so the game ends ``excluded`` and both see their ended page."""
    async def main():
        a, b, _, game = await into_pair_game(server.url, "_watch_relief")
        ended = await asyncio.gather(a.view("ended", timeout=20), b.view("ended", timeout=20))
        await a.close()
        await b.close()
        return a, b, game, ended

    a, b, game, ended = run(main)
    assert [e["code"] for e in ended] == ["EXCL9", "EXCL9"]
    assert [participant(server.data, p.identity["participant"])[2] for p in (a, b)] == ["unresponsive"] * 2
    outcome, reason, _ = game_row(server.data, game["game"])
    assert (outcome, reason) == ("excluded", "unresponsive")


def test_load_test_bots_report_presence_and_answer_pings_so_none_is_excluded():
    """`mugkit loadtest` over monitored studies: its bots send heartbeats and pongs as a page does
    (without them every bot would be excluded as unresponsive, and the run would fail)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mugkit.cli", "loadtest", "_watch_relief.py", "_watch_lag.py",
                          "_watch_solo.py", "_watch_stride.py", "--bots", "8"], cwd=STUDIES, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # "ended" would be an excluded bot: each one reached its completion page.
    assert "completed 8, failed 0, stuck 0" in out.stdout and "ended by: completion 8" in out.stdout, out.stdout


def test_a_bots_key_plan_never_idles_longer_than_a_third_of_the_limit():
    from mugkit.checks.inputs import KeyPlan
    from mugkit.loadtest.presence import lively

    plan = KeyPlan({"p": ((),) * 100 + (("ArrowLeft",),) * 100})
    view = {"fps": 10, "keys": ["ArrowLeft", "ArrowRight"], "monitor": {"idle_seconds": 3}}
    cut = lively(plan, view).frames["p"]
    runs, run = [], 1
    for before, now in zip(cut, cut[1:]):
        run = run + 1 if now == before else 1
        runs.append(run)
    assert max(runs) <= 10 and len(cut) == 200
    assert lively(plan, {**view, "monitor": None}) is plan and lively(plan, {**view, "turn_based": True}) is plan


def test_exclusions_by_the_monitor_are_counted_by_reason_in_metrics(server):
    """/metrics (prometheus_client's own parser) counts each stored in-game exclusion by reason."""
    from serving import scrape, total

    async def main():
        b = Watched(server.url, "_watch_solo")
        await into_solo_game(b)
        await b.view("ended", timeout=15)   # silent: excluded as unresponsive
        await b.close()

    run(main)
    stored = dict(db_rows(server.data, "select reason, count(*) from participants where status = 'excluded' "
                                       "group by reason"))
    samples = scrape(server.url, server.token)
    assert stored.get("unresponsive", 0) >= 1
    counted = {reason: total(samples, "mugkit_exclusions_total", status="excluded", reason=reason) for reason in stored}
    assert counted == {reason: float(n) for reason, n in stored.items()}, (counted, stored)
