"""Attacks on `mugkit serve --workers 2` (a real Redis, real processes), kept as tests.

A participant names the game of each message. With several processes, a game id that is not one
of this process's games is looked up in Redis (its lease) and, when nobody holds it, claimed and
read from storage (mugkit/web/remote.py): so a participant-controlled string reaches Redis keys,
the database and a per-process cache unless it is checked first."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading

import pytest

from serving import STUDIES, WALK, Browser, serve

pytestmark = pytest.mark.slow


class Monitor:
    """Every command Redis runs while it is open (Redis's MONITOR), as text."""

    def __init__(self, url: str):
        import redis

        self.commands: list[str] = []
        self._redis = redis.Redis.from_url(url)
        self._monitor = self._redis.monitor()
        self._monitor.__enter__()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for command in self._monitor.listen():
                self.commands.append(str(command.get("command", "")))
                if self._stop.is_set():
                    return
        except Exception:  # the connection closed under it
            return

    def close(self) -> list[str]:
        self._stop.set()
        self._redis.ping()  # one more command, so the reader wakes up and sees the stop
        self._thread.join(timeout=5)
        return self.commands


def test_a_game_id_that_cannot_be_one_never_reaches_redis(tmp_path, redis_url):
    """Messages naming a made-up, long game id (keys, up to 16 KB; rows, up to 1 MB) are refused
    or ignored without a lease look-up, a claim or a cache entry: each would cost a Redis round trip
    (and a database read) per message, and the ids, kept in the owners' cache, memory."""
    server = serve(WALK, data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])
    marker = "attack" + "x" * 4000

    async def main() -> list[str]:
        b = Browser(server.url, "_walk")
        await b.connect()
        await b.view("page")
        monitor = Monitor(redis_url)
        try:
            for i in range(5):
                await b.sio.emit("keys", {"game": f"{marker}{i}", "seq": i, "held": [], "down": [], "up": []})
            reply = await b.call("rows", {"game": f"{marker}rows", "rows": []})
            assert reply["ok"] is False
            await b.call("ready", {"game": f"{marker}ready", "screen": "ready"})  # after the keys: they were handled
        finally:
            commands = await asyncio.to_thread(monitor.close)
            await b.close()
        return commands

    try:
        commands = asyncio.run(main())
    finally:
        server.stop()
    leaked = [c[:120] for c in commands if "attackxxxx" in c]
    assert commands, "MONITOR saw nothing: the test cannot see what reaches Redis"
    assert leaked == [], f"a made-up game id reached Redis {len(leaked)} times: {leaked[:3]}"


def test_a_burst_of_arrivals_on_both_processes_keeps_the_conditions_balanced(tmp_path, redis_url):
    """Twelve participants arriving at once, spread over two workers, get each of three
    conditions four times: choosing the least-used condition and counting it is one step for the
    whole study (read, then counted, two arrivals read the same counts and took the same one)."""
    server = serve(os.path.join(STUDIES, "_balanced.py"), data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])

    async def arrive() -> None:
        c = Browser(server.url, "_balanced")
        await c.connect()
        await c.view("page")
        await c.close()

    def counts() -> list[int]:
        with sqlite3.connect(os.path.join(server.data, "mugkit.sqlite")) as db:
            conditions = [c for (c,) in db.execute("select condition from participants")]
        return sorted(conditions.count(f'"{name}"') for name in ("red", "blue", "green"))

    async def main() -> list[list[int]]:
        seen = []
        for _ in range(3):  # three bursts, each of twelve at once
            await asyncio.gather(*(arrive() for _ in range(12)))
            seen.append(counts())
        return seen

    try:
        seen = asyncio.run(main())
    finally:
        server.stop()
    assert seen == [[4, 4, 4], [8, 8, 8], [12, 12, 12]]


async def _processes_of(server, pid: str) -> set[str]:
    """The processes holding a socket of participant ``pid`` (as their heartbeats tell)."""
    import json
    import urllib.request

    def stats() -> dict:
        request = urllib.request.Request(f"{server.url}/admin/stats.json", headers={"X-Mugkit-Token": server.token})
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.load(r)

    await asyncio.sleep(1.5)  # a heartbeat
    return {proc for proc, info in (await asyncio.to_thread(stats))["processes"].items()
            if pid in info.get("connected_ids", [])}


def test_one_participant_joining_a_waitroom_from_two_processes_at_once_is_placed_once(tmp_path, redis_url):
    """Two sockets of one participant, on the two workers, press "Start" at once into a waitroom
    of two-player games; two more participants come: the first is in one game only, and one of
    the others waits (placed twice, they would be matched with both)."""
    server = serve(os.path.join(STUDIES, "_duo_welcome.py"), data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])

    async def main() -> tuple[str, set]:
        a = Browser(server.url, "_duo_welcome")
        await a.connect()
        await a.view("page")
        pid = a.identity["participant"]
        for _ in range(40):  # a second tab of the same participant, until it lands on the other worker
            a2 = Browser(server.url, "_duo_welcome", identity=a.identity)
            await a2.connect()
            await a2.view("page")
            if len(await _processes_of(server, pid)) == 2:
                break
            await a2.close()
        else:
            raise AssertionError("every second socket landed on the same worker")
        replies = await asyncio.gather(a.call("advance", {"index": 0}), a2.call("advance", {"index": 0}))
        assert sorted(r["ok"] for r in replies) == [False, True], replies  # one of the two moved them
        others = [Browser(server.url, "_duo_welcome") for _ in range(2)]
        for c in others:
            await c.connect()
            await c.view("page")
            await c.call("advance", {"index": 0})
        await asyncio.sleep(3)
        for c in (a, a2, *others):
            await c.close()
        return pid, {c.identity["participant"] for c in others}

    try:
        pid, others = asyncio.run(main())
        with sqlite3.connect(os.path.join(server.data, "mugkit.sqlite")) as db:
            players = [p for (p,) in db.execute("select participant_id from players where participant_id is not null")]
    finally:
        server.stop()
    assert players.count(pid) == 1, players
    assert len(set(players) & others) == 1, players


def test_messages_naming_another_participants_game_on_the_other_worker_are_refused_there(tmp_path, redis_url):
    """A participant on one worker names another participant's browser game, which runs on the
    other worker: each message is forwarded to the game's owner, which checks who sends it (not
    trusting the forwarding process): no rows stored, no record read back, no event recorded."""
    import json
    import urllib.request

    brief = os.path.join(os.path.dirname(STUDIES), "..", "loadtest", "studies", "_brief.py")
    server = serve(brief, data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])

    def forwarded() -> dict:
        request = urllib.request.Request(f"{server.url}/admin/stats.json", headers={"X-Mugkit-Token": server.token})
        with urllib.request.urlopen(request, timeout=10) as r:
            infos = json.load(r)["processes"].values()
        return {kind: sum((i.get("forwarded") or {}).get(kind, 0) for i in infos) for kind in ("rows", "resume")}

    async def main() -> tuple[str, str, list, dict]:
        a = Browser(server.url, "_brief")
        await a.connect()
        await a.view("page")
        assert await a.call("advance", {"index": 0}) == {"ok": True}
        await a.view("consent")
        assert await a.call("advance", {"index": 1, "agree": True}) == {"ok": True}
        game = (await a.view("game"))["game"]
        owner = await _processes_of(server, a.identity["participant"])
        for _ in range(40):
            c = Browser(server.url, "_brief")
            await c.connect()
            await c.view("page")
            if await _processes_of(server, c.identity["participant"]) != owner:
                break
            await c.close()
        else:
            raise AssertionError("every connection landed on the game's worker")
        replies = [await c.call("rows", {"game": game, "batch": 0, "rows": "[]"}),
                   await c.call("resume", {"game": game}),
                   await c.call("loaded", {"game": game, "stages": {}}),
                   await c.call("game_over", {"game": game}),
                   await c.call("ready", {"game": game, "screen": "ready"})]
        await asyncio.sleep(1.5)  # a heartbeat with the figures
        sent = await asyncio.to_thread(forwarded)
        for b in (a, c):
            await b.close()
        return game, c.identity["participant"], replies, sent

    try:
        game, intruder, replies, sent = asyncio.run(main())
        with sqlite3.connect(os.path.join(server.data, "mugkit.sqlite")) as db:
            steps = db.execute("select count(*) from steps where game_id = ?", (game,)).fetchone()[0]
            events = db.execute("select kind from events where participant_id = ? and kind like 'game%'",
                                (intruder,)).fetchall()
    finally:
        server.stop()
    assert sent["rows"] >= 1 and sent["resume"] >= 1, sent  # they did reach the owner
    assert all(r.get("ok") is False and r.get("stale") for r in replies), replies
    assert not any("record" in r for r in replies), replies
    assert steps == 0 and events == [], (steps, events)
