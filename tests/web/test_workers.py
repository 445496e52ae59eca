"""`mugkit serve --workers 2` end to end: real processes, a real Redis (the ``redis_url``
fixture), real socket.io clients and protocol bots, a real database file.

Which worker accepts a connection is the kernel's choice (one listening socket, inherited by
both): the tests that need a socket on a given process reconnect (as a reload does) until it
lands there, reading where it is from ``/admin/stats.json`` (each process lists its connected
participants)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import urllib.request

import pytest

from serving import DUO, STUDIES, WALK, Browser, serve

pytestmark = pytest.mark.slow

DUO_WELCOME = os.path.join(STUDIES, "_duo_welcome.py")
STROLL = os.path.join(STUDIES, "_stroll.py")
LOADTEST_STUDIES = os.path.join(os.path.dirname(STUDIES), "..", "loadtest", "studies")
PAIR = os.path.join(LOADTEST_STUDIES, "_pair.py")
BRIEF = os.path.join(LOADTEST_STUDIES, "_brief.py")   # a browser game, then a server game
DUET = os.path.join(LOADTEST_STUDIES, "_duet.py")     # a browser game of two humans (rollback peers)


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


def stats(server) -> dict:
    request = urllib.request.Request(f"{server.url}/admin/stats.json", headers={"X-Mugkit-Token": server.token})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


async def process_of(server, pid: str) -> str:
    """The process holding a socket of participant ``pid`` (after its heartbeat tells it)."""
    for _ in range(100):
        found = [proc for proc, info in (await asyncio.to_thread(stats, server))["processes"].items()
                 if pid in info.get("connected_ids", [])]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"participant {pid} is connected to no process")


async def until_elsewhere(server, b: Browser, experiment: str, avoid: str, kind: str) -> tuple[Browser, dict, str]:
    """Reconnects ``b`` (a reload) until its socket is on another process than ``avoid``; returns
    the new client, its first view (of ``kind``) and its process."""
    for _ in range(40):
        await b.close()
        b = Browser(server.url, experiment, identity=b.identity)
        await b.connect()
        view = await b.view(kind)
        where = await process_of(server, b.identity["participant"])
        if where != avoid:
            return b, view, where
    raise AssertionError("every reconnection landed on the same process")


@pytest.fixture
def workers(tmp_path, redis_url):
    """A study served by two worker processes on the test Redis."""
    started = []

    def start(*paths: str, grace: float = 20):
        server = serve(*paths, data=str(tmp_path / "data"), grace=grace,
                       extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_two_workers_serve_a_study_that_bots_complete_and_the_admin_shows_both(workers, tmp_path):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = workers(PAIR)
    assert server.token == "t0ken-of-the-study"  # the one token of the study, given to every worker
    report = run_loadtest(LoadTestConfig([PAIR], 20, url=server.url, token=server.token, data=server.data,
                                         progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (20, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and report.ok
    # Every frame of the 10 games stored, both agents (what the bots saw is checked against it: a
    # bot with no screens whose socket is on the other process may see its game from frame 1 on).
    assert rows(server.data, "select count(*) from steps") == [(10 * 2 * 31,)]
    seen = stats(server)
    assert len(seen["processes"]) == 2, seen["processes"].keys()
    assert server.process.pid not in {info["pid"] for info in seen["processes"].values()}  # two workers
    assert seen["cpu_seconds"] == pytest.approx(sum(i["cpu_seconds"] for i in seen["processes"].values()), rel=0.2)
    for _ in range(4):  # whichever worker answers, the (live) page shows both processes
        request = urllib.request.Request(f"{server.url}/admin/live.json", headers={"X-Mugkit-Token": server.token})
        with urllib.request.urlopen(request, timeout=10) as r:
            page = json.load(r)
        assert {p["process"] for p in page["processes"]} == set(seen["processes"])
    server.stop()
    assert server.process.wait(timeout=60) == 0  # the parent exits 0 after a clean stop
    assert not os.path.exists(os.path.join(server.data, "mugkit.running"))


def test_two_players_on_different_processes_play_their_game_to_the_end(workers):
    server = workers(DUO_WELCOME)

    async def main():
        a, b = Browser(server.url, "_duo_welcome"), Browser(server.url, "_duo_welcome")
        await a.connect()
        await a.view("page")
        where_a = await process_of(server, a.identity["participant"])
        await b.connect()
        await b.view("page")
        b, _, where_b = await until_elsewhere(server, b, "_duo_welcome", where_a, "page")
        assert await a.call("advance", {"index": 0}) == {"ok": True}
        await a.view("waitroom")
        assert await b.call("advance", {"index": 0}) == {"ok": True}
        game_b = await b.view("game")
        game_a = await a.view("game")
        for i in range(4):  # each presses a key: keys reach the game wherever it runs
            for c, g in ((a, game_a), (b, game_b)):
                await c.sio.emit("keys", {"game": g["game"], "seq": i, "held": ["ArrowRight"] if i % 2 == 0 else [],
                                          "down": [], "up": [], "t": 1000.0 + i})
            await asyncio.sleep(0.1)
        done = await asyncio.gather(a.view("completion", timeout=30), b.view("completion", timeout=30))
        frames = (len(a.frames), len(b.frames))
        await a.close()
        await b.close()
        return where_a, where_b, game_a, game_b, done, frames

    where_a, where_b, game_a, game_b, done, frames = asyncio.run(main())
    assert where_a != where_b
    assert game_a["game"] == game_b["game"]
    assert [d["code"] for d in done] == ["DUO777", "DUO777"]
    assert min(frames) > 20  # frames reached both players, on both processes
    stored = rows(server.data, "select frame, agent from steps order by frame, agent")
    assert [f for f, _ in stored] == [f for f in range(31) for _ in range(2)]  # every frame, once per agent
    assert rows(server.data, "select outcome from games") == [("completed",)]
    assert rows(server.data, "select count(*) from events where kind in ('game_interrupted', 'game_abandoned')") \
        == [(0,)]
    moved = {agent for agent, action in rows(server.data, "select agent, action from steps") if str(action) == "2"}
    assert len(moved) == 2, moved  # both players' keys reached the game, from both processes


def test_a_participant_who_reconnects_to_the_other_process_mid_game_goes_on(workers):
    server = workers(STROLL)

    async def main():
        b = Browser(server.url, "_stroll")
        await b.connect()
        game = await b.view("game")
        first = await process_of(server, b.identity["participant"])
        b, resumed, second = await until_elsewhere(server, b, "_stroll", first, "game")
        errors = []
        b.sio.on("error", lambda data: errors.append(data))
        ready = await b.call("ready", {"game": game["game"], "screen": "round_over", "episode": 0})
        for seq in range(3):  # keys reach the game on the other process
            await b.sio.emit("keys", {"game": game["game"], "seq": seq, "held": ["ArrowRight"] if seq < 2 else [],
                                      "down": [], "up": [], "t": 1000.0 + seq})
            await asyncio.sleep(0.2)
        done = await b.view("completion", timeout=40)
        await b.close()
        return game, resumed, first, second, ready, done, errors

    game, resumed, first, second, ready, done, errors = asyncio.run(main())
    assert first != second
    assert resumed["game"] == game["game"]  # the same game, its view from the process running it
    assert not any("not in that game" in str(e) for e in errors), errors
    assert "not in that game" not in ready.get("error", ""), ready  # answered by the game's process
    assert done["code"] == "STROLL1"
    assert [r[0] for r in rows(server.data, "select frame from steps order by frame")] == list(range(301))
    assert rows(server.data, "select outcome from games") == [("completed",)]
    assert rows(server.data, "select count(*) from events where kind = 'game_interrupted'") == [(0,)]
    actions = {str(a) for (a,) in rows(server.data, "select action from steps")}
    assert "2" in actions  # the keys sent to the other process moved the walker


def forwarded(server) -> dict:
    """Messages forwarded to the process running their game, summed over the processes, by kind."""
    total: dict = {}
    for info in stats(server)["processes"].values():
        for kind, n in (info.get("forwarded") or {}).items():
            total[kind] = total.get(kind, 0) + n
    return total


def test_browser_games_whose_pages_reload_onto_the_other_process_store_every_row_once(workers):
    """Every bot reloads its page in its first game (a browser game); a reload lands on either
    process, and rows that reach the process not running the game are forwarded to it and
    acknowledged only once stored there: nothing lost, nothing twice, nothing refused."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = workers(BRIEF)
    report = run_loadtest(LoadTestConfig([BRIEF], 12, reloads=12, rate=10, stuck_after=40, url=server.url,
                                         token=server.token, data=server.data, progress=False))
    d = report.data
    assert report.ok and d["completed"] == 12 and d["reloads"] == 12, d["failures"]
    sent = forwarded(server)
    assert sent.get("rows", 0) > 0 and sent.get("resume", 0) > 0, sent  # some reloads did land elsewhere
    per_game = rows(server.data, "select g.runtime, g.outcome, count(s.frame), count(distinct s.episode * 1000 + "
                                 "s.frame) from games g join steps s using (game_id) group by g.game_id")
    assert sorted(r for r in per_game if r[0] == "browser") == [("browser", "completed", 42, 42)] * 12
    assert rows(server.data, "select count(*) from events where kind = 'game_interrupted'") == [(0,)]


def test_a_worker_that_dies_is_restarted_and_the_other_workers_game_goes_on(workers):
    """SIGKILL to the worker that does not run the game: the parent logs it and starts another,
    whose start-up leaves the running game alone (it is not marked interrupted); the game plays
    to its end with every frame stored."""
    import signal
    import time

    server = workers(STROLL)

    async def main():
        b = Browser(server.url, "_stroll")
        await b.connect()
        game = await b.view("game")
        here = await process_of(server, b.identity["participant"])
        processes = (await asyncio.to_thread(stats, server))["processes"]
        other = next(info["pid"] for proc, info in processes.items() if proc != here)
        os.kill(other, signal.SIGKILL)
        done = await b.view("completion", timeout=40)
        await b.close()
        return game, processes, other, done

    game, before, killed, done = asyncio.run(main())
    assert done["code"] == "STROLL1"
    assert [r[0] for r in rows(server.data, "select frame from steps order by frame")] == list(range(301))
    assert rows(server.data, "select outcome from games") == [("completed",)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the restarted worker beats; the dead one's heartbeat expired
        pids = {info["pid"] for info in stats(server)["processes"].values()}
        if len(pids) == 2 and killed not in pids:
            break
        time.sleep(0.5)
    assert len(pids) == 2 and killed not in pids, pids
    assert any(f"(pid {killed}) died" in line for line in server.output + _more_output(server)), server.output[-5:]


def _more_output(server) -> list:
    """The server's output printed since it started (read without blocking for long)."""
    import select

    lines = []
    while select.select([server.process.stdout], [], [], 0.5)[0]:
        line = server.process.stdout.readline()
        if not line:
            break
        lines.append(line)
    return lines


@pytest.mark.load
@pytest.mark.timeout(900)
def test_400_bots_across_two_workers_on_redis_and_postgres_complete_and_nothing_is_lost(tmp_path, redis_url,
                                                                                     postgres_url):
    """The issue's acceptance run: `mugkit loadtest --url` with 400 bots against `mugkit serve
    --workers 2 --redis URL --database URL`, audited in PostgreSQL."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = serve(PAIR, data=str(tmp_path / "data"), extra=["--workers", "2", "--redis", redis_url, "--database",
                                                             postgres_url, "--limit", "connections_per_address=2000",
                                                             "--limit", "arrivals_per_minute=100000"])
    try:
        report = run_loadtest(LoadTestConfig([PAIR], 400, rate=10, url=server.url, token=server.token,
                                             database=postgres_url, progress=False))
        seen = stats(server)
    finally:
        server.stop()
    d = report.data
    print(report.text())
    trouble = [line for line in server.output if any(w in line for w in ("ERROR", "WARNING", "died", "Error"))]
    assert (d["completed"], d["failed"], d["stuck"]) == (400, 0, 0), \
        json.dumps(d["failures"][:5], indent=1) + "".join(trouble[:20])
    assert d["lost_rows"] == 0 and d["audit"]["checked"]["steps"] >= 400 * 30 and report.ok  # each bot its frames
    assert len(seen["processes"]) == 2
    assert sum(sum((i.get("forwarded") or {}).values()) for i in seen["processes"].values()) > 0


def test_peer_games_whose_members_are_on_both_processes_complete_over_the_relay(workers):
    """Browser games of two humans (rollback peers relaying through the server): a member whose
    socket is not on the process that formed the game has every message — signal, relay, ready,
    rows, rejoin and package — forwarded there; every game completes, verified, every row once."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = workers(DUET)
    report = run_loadtest(LoadTestConfig([DUET], 6, reloads=2, rate=10, stuck_after=40, url=server.url,
                                         token=server.token, data=server.data, progress=False))
    d = report.data
    assert report.ok and d["completed"] == 6, report.text()
    sent = forwarded(server)
    assert sent.get("relay", 0) > 0 and sent.get("rows", 0) > 0, sent  # members on the other process
    games = rows(server.data, "select g.outcome, g.verification, count(s.frame), count(distinct s.episode * 1000 + "
                              "s.frame) from games g join steps s using (game_id) group by g.game_id")
    assert len(games) == 3 and all(g[0] == "completed" and g[2] == 2 * g[3] for g in games), games


def test_conditions_stay_balanced_when_arrivals_land_on_both_processes(workers):
    """Counterbalancing counts are the study's, not each process's: 12 arrivals spread over two
    workers get each of three conditions 4 times."""
    server = workers(os.path.join(STUDIES, "_balanced.py"))

    async def main():
        clients, where = [], set()
        for _ in range(12):  # one after the other: each takes the least-used condition at its arrival
            c = Browser(server.url, "_balanced")
            await c.connect()
            await c.view("page")
            where.add(await process_of(server, c.identity["participant"]))
            clients.append(c)
        for c in clients:
            await c.close()
        return where

    where = asyncio.run(main())
    assert len(where) == 2  # arrivals reached both processes
    conditions = [str(c) for (c,) in rows(server.data, "select condition from participants")]
    assert sorted(conditions.count(f'"{name}"') for name in ("red", "blue", "green")) == [4, 4, 4], conditions
