"""A worker of `mugkit serve --workers 2` killed with SIGKILL mid-run, under protocol bots, on
Redis and SQLite or PostgreSQL: its server games are taken over by the other process from their
stored rows and play on, its participants reconnect and complete, browser games carry on, and the
load test's audit finds every acknowledged row (docs/scale.md, "When a process dies")."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import urllib.request

import pytest

from serving import serve

import mugkit as mk
from mugkit.runtime.values import from_json

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
SURVIVE = os.path.join(HERE, "..", "loadtest", "studies", "_survive.py")
BOTS = 20
#: The file :class:`DiesAtAGameEnd` creates once, holding the id of the game whose end killed it.
ONCE = "MUGKIT_TEST_DIE_ONCE"
#: The runtime of the games at whose end :class:`DiesAtAGameEnd` kills its process.
AT_END_OF = "MUGKIT_TEST_DIE_AT_END_OF"


def rows(data: str, sql: str) -> list:
    """``sql``'s rows from the study's database: a PostgreSQL URL, or a data folder's SQLite file."""
    if data.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(data) as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


def stats(server) -> dict:
    request = urllib.request.Request(f"{server.url}/admin/stats.json", headers={"X-Mugkit-Token": server.token})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def mid_game(info: dict) -> list:
    """The server games a process runs that are well under way."""
    return [g["game"] for g in info.get("game_list", []) if g["runtime"] == "server" and (g.get("frame") or 0) > 20]


def in_browsers(info: dict) -> list:
    """The browser games a process holds."""
    return [g["game"] for g in info.get("game_list", []) if g["runtime"] == "browser"]


@pytest.mark.parametrize("storage", ["sqlite", "postgres"])
def test_a_worker_killed_mid_run_loses_nothing_and_its_games_are_taken_over(tmp_path, redis_url, storage, request):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    database = request.getfixturevalue("postgres_url") if storage == "postgres" else None
    server = serve(SURVIVE, data=str(tmp_path / "data"), grace=40,
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study",
                          *(["--database", database] if database else [])])
    where = database or server.data
    try:
        outcome: dict = {}

        def load() -> None:
            try:
                outcome["report"] = run_loadtest(LoadTestConfig(
                    [SURVIVE], BOTS, rate=3, stuck_after=90, reconnect=True, url=server.url, token=server.token,
                    data=None if database else server.data, database=database, progress=False))
            except BaseException as exc:  # shown by the assertion below
                outcome["error"] = exc

        bots = threading.Thread(target=load)
        bots.start()
        # The victim: a worker with server games under way and browser games, all cut at once.
        victim, cut, browsers = None, [], []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and bots.is_alive():
            for info in stats(server)["processes"].values():
                if len(mid_game(info)) >= 2 and in_browsers(info):
                    victim, cut, browsers = info, mid_game(info), in_browsers(info)
            if victim is not None:
                break
            time.sleep(0.2)
        assert victim is not None, "no worker ran server games and browser games at once"
        os.kill(victim["pid"], signal.SIGKILL)
        bots.join(timeout=400)
        assert not bots.is_alive() and "error" not in outcome, outcome.get("error")
        report = outcome["report"]
    finally:
        server.stop()
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (BOTS, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and report.ok, d["audit"]
    # The killed worker's games that were under way were taken over and played on from their rows.
    resumed = {from_json(detail)["game"] for (detail,) in rows(where, "select detail from events "
                                                                          "where kind = 'game_resumed'")}
    missing = set(cut) - resumed
    assert not missing, [(rows(where, f"select outcome, outcome_reason from games where game_id = '{g}'"),
                          [line for line in server.output if g in line]) for g in missing]
    # Its browser games went on in their pages, and were stored and ended by the process that
    # took them over: each completed, with every row of its frames once (the audit checked each
    # acknowledged row, and that the server's re-simulation verified each game).
    listed = ", ".join(f"'{game_id}'" for game_id in browsers)
    carried = rows(where, "select g.outcome, g.verification, count(*), count(distinct s.frame) from games g "
                                f"join steps s using (game_id) where g.game_id in ({listed}) group by g.game_id")
    assert carried == [("completed", "verified", 151, 151)] * len(browsers)
    assert rows(where, "select count(*) from games where outcome is null") == [(0,)]
    assert sorted(rows(where, "select runtime, outcome, count(*) from games group by runtime, outcome")) == \
        [("browser", "completed", BOTS), ("server", "completed", BOTS)], twice(where, server)
    # Every frame of every server game stored once, those of the games taken over too.
    per_game = rows(where, "select s.game_id, count(*), count(distinct s.frame), min(s.frame), max(s.frame) "
                                 "from steps s join games g using (game_id) where g.runtime = 'server' "
                                 "group by s.game_id")
    assert len(per_game) == BOTS and all(r[1:] == (241, 241, 0, 240) for r in per_game), per_game


def twice(where: str, server) -> list:
    """What happened to each participant who played a step's game more than once: their events,
    games and the server's log lines about them (for a failure's message)."""
    told = []
    for (pid,) in rows(where, "select p.participant_id from players p join games g using (game_id) "
                              "where p.participant_id is not null group by p.participant_id, g.step "
                              "having count(*) > 1"):
        told.append({"participant": pid,
                     "events": rows(where, f"select step, kind, t, detail from events where participant_id = '{pid}' "
                                           "order by id"),
                     "games": rows(where, "select game_id, runtime, outcome, outcome_reason, started_at, ended_at "
                                          f"from games join players using (game_id) where participant_id = '{pid}'"),
                     "log": [line for line in server.output if pid in line]})
    return told


SURVIVE_PEERS = os.path.join(os.path.dirname(SURVIVE), "_survive_peers.py")


def test_a_worker_killed_mid_game_of_two_browser_peers_leaves_their_game_to_the_other_process(tmp_path, redis_url):
    """The game of two peers runs in their pages; the killed worker relayed and stored it. Its
    pages reconnect, and the process that takes the game over relays, stores and ends it."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = serve(SURVIVE_PEERS, data=str(tmp_path / "data"), grace=40,
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])
    try:
        outcome: dict = {}

        def load() -> None:
            try:
                outcome["report"] = run_loadtest(LoadTestConfig(
                    [SURVIVE_PEERS], 8, rate=4, stuck_after=90, reconnect=True, url=server.url, token=server.token,
                    data=server.data, progress=False))
            except BaseException as exc:  # shown by the assertion below
                outcome["error"] = exc

        bots = threading.Thread(target=load)
        bots.start()
        victim, cut = None, []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and bots.is_alive():
            for info in stats(server)["processes"].values():
                games = [g["game"] for g in info.get("game_list", []) if g["runtime"] == "browser (peers)"]
                if games:
                    victim, cut = info, games
            if victim is not None:
                break
            time.sleep(0.2)
        assert victim is not None, "no worker ran a game of peers"
        time.sleep(2)  # well into the game
        os.kill(victim["pid"], signal.SIGKILL)
        bots.join(timeout=400)
        assert not bots.is_alive() and "error" not in outcome, outcome.get("error")
        report = outcome["report"]
    finally:
        server.stop()
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (8, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and report.ok, d["audit"]
    assert rows(server.data, "select outcome, count(*) from games group by outcome") == [("completed", 4)]
    # Every frame of both agents stored once in every game, the one taken over too.
    per_game = dict(rows(server.data, "select game_id, count(distinct frame || agent) from steps group by game_id"))
    assert set(cut) <= set(per_game) and set(per_game.values()) == {2 * 451}, (cut, per_game)


class DiesAtAGameEnd:
    """A plugin (``--plugin test_takeover_workers:DiesAtAGameEnd``) that kills its own server
    process at the end of the first game of the run in runtime ``$MUGKIT_TEST_DIE_AT_END_OF``: the
    end is stored, the game's lease is not released yet and its player not moved on. Once in the
    run, whichever worker it is: the file ``$MUGKIT_TEST_DIE_ONCE`` is created exclusively, with
    the game's id."""

    @mk.hookimpl
    def mugkit_game_ended(self, game):
        if game["runtime"] != os.environ[AT_END_OF]:
            return
        try:
            fd = os.open(os.environ[ONCE], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, game["game_id"].encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("runtime", ["server", "browser"])
def test_a_worker_killed_between_a_game_end_and_moving_its_player_on_starts_no_second_game(tmp_path, redis_url,
                                                                                           monkeypatch, runtime):
    """The game's end is stored by a worker that dies before it moves the player on. The player
    reconnects to another process, which waits for the dead one's lease, finds the game over and
    moves them on: they do not play the step again, and no event says their game was cut."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    once = tmp_path / "died-at"
    monkeypatch.setenv(ONCE, str(once))
    monkeypatch.setenv(AT_END_OF, runtime)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    bots = 4
    server = serve(SURVIVE, data=str(tmp_path / "data"), grace=40,
                   extra=["--workers", "2", "--redis", redis_url, "--plugin", "test_takeover_workers:DiesAtAGameEnd"])
    try:
        report = run_loadtest(LoadTestConfig([SURVIVE], bots, rate=2, stuck_after=120, reconnect=True, url=server.url,
                                             token=server.token, data=server.data, progress=False))
    finally:
        server.stop()
    assert once.exists(), "no worker died at a game's end"
    ended = once.read_text()
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (bots, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and report.ok, d["audit"]
    assert rows(server.data, f"select outcome from games where game_id = '{ended}'") == [("completed",)]
    assert twice(server.data, server) == []
    assert sorted(rows(server.data, "select runtime, outcome, count(*) from games group by runtime, outcome")) == \
        [("browser", "completed", bots), ("server", "completed", bots)]
    (player,) = rows(server.data, f"select participant_id from players where game_id = '{ended}' "
                                  "and participant_id is not null")
    said = rows(server.data, f"select kind, detail from events where participant_id = '{player[0]}' "
                             f"and detail like '%{ended}%' and kind not in ('game_loaded', 'game_ready')")
    assert said == [], said  # it completed: no game_interrupted
    assert rows(server.data, "select count(*) from games where verification = 'pending'") == [(0,)]
