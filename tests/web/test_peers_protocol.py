"""Browser games with several humans at the protocol level: a real `mugkit serve`, real socket.io
clients speaking for each peer (signalling, relay, the ready gate, rows, checksums, rejoin), a real
database file. The peers' rows come from the step's own game played in the test, so the server's
re-simulation verifies them."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time

import pytest

from serving import STUDIES, Browser, serve

from mugkit.collect import load_experiment
from mugkit.games import Participant, build_game
from mugkit.runtime.browser_game import row_dict
from mugkit.runtime.values import from_json, to_json
from mugkit.web.entry import prolific_like

pytestmark = pytest.mark.slow

PEERS = os.path.join(STUDIES, "_peers.py")
PEERS3 = os.path.join(STUDIES, "_peers3.py")


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


class Peer(Browser):
    """A participant whose page would run one peer: keeps the peers' messages too."""

    def __init__(self, url: str, experiment: str, name: str, identity: dict | None = None):
        super().__init__(url, experiment, {"PROLIFIC_PID": prolific_like(name), "STUDY_ID": "s", "SESSION_ID": "x"},
                         identity)
        for event in ("signal", "relay", "peer_go", "peer_notice", "peer_left", "peer_rejoining",
                      "package_request", "package"):
            self.sio.on(event, self._keeper(event))
        self.game: dict = {}

    async def enter(self) -> dict:
        """Connects; returns the game view (after the waitroom)."""
        await self.connect()
        while True:
            view = await self.view(timeout=30)
            if view["kind"] == "game":
                self.game = view
                return view
            assert view["kind"] == "waitroom", view

    @property
    def me(self) -> str:
        return self.game["peer"]["me"]

    async def ask(self, event: str, **data) -> dict:
        return await self.call(event, {"game": self.game["game"], **data})

    async def ready(self, paths: dict | None = None) -> dict:
        others = [h for h in self.game["peer"]["peers"] if h != self.me]
        return await self.ask("peer_ready", paths=paths or {h: "relay" for h in others})


def played(view: dict, path: str) -> list[dict]:
    """Every row of the game a ``game`` view describes, played with no key held (each human's
    default action), as the browser's driver gives them."""
    spec = from_json(view["boot"]["spec"])
    experiment = load_experiment(path)
    step = experiment.step(spec["step"])
    group = [Participant(w["id"], dict(w.get("params") or {}), w.get("condition")) for w in spec["group"]]
    driver = build_game(step, experiment.policies, seed=int(spec["seed"]), participant=group[0],
                        group=group).driver(render=False)
    out, result = [], driver.start()
    while result is not None:
        out += [{**row_dict(r, bool(step.options.record_observations)), "t_client": time.time(), "late_ms": 0.0, "predicted": False,
                 "rollback_depth": 0} for r in result.rows]
        result = driver.tick({})
    return out


def mine(view: dict, all_rows: list[dict]) -> list[dict]:
    """The rows a peer stores: its human's, and the AI agents' when it is the host."""
    peer = view["peer"]
    humans = set(peer["peers"].values())
    agents = {peer["peers"][peer["me"]]} | ({a for a in view["agents"] if a not in humans}
                                           if peer["me"] == peer["host"] else set())
    return [r for r in all_rows if r["agent"] in agents]


def checksums(all_rows: list[dict], every: int = 5) -> list:
    frames = sorted({(r["episode"], r["frame"]) for r in all_rows})
    return [[e, f, 1000 * e + f] for e, f in frames if f % every == 0]


async def send_rows(peer: Peer, batch: list[dict], sums: list, number: int = 0) -> dict:
    return await peer.ask("rows", batch=number, rows=to_json({"rows": batch, "checksums": sums}))


async def play_through(peers: list[Peer], path: str) -> list[dict]:
    """Each peer sends its rows (two batches) and game_over; returns each one's next view."""
    all_rows = played(peers[0].game, path)
    half = len(all_rows) // 2
    for part, number in ((all_rows[:half], 0), (all_rows[half:], 1)):
        for p in peers:
            reply = await send_rows(p, mine(p.game, part), checksums(part), number)
            assert reply["ok"], reply
    replies = [await p.ask("game_over") for p in peers]
    assert all(r["ok"] for r in replies), replies
    return [await p.view(timeout=30) for p in peers]


def steps_table(data: str, game: str) -> list:
    return rows(data, f"SELECT episode, frame, agent FROM steps WHERE game_id = '{game}' ORDER BY episode, frame")


async def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise AssertionError("timed out")


@pytest.fixture
def peers_server(tmp_path):
    served = serve(PEERS, PEERS3, data=str(tmp_path / "data"), grace=3,
                   extra=["--limit", "peer_ready_seconds=4", "--limit", "hidden_seconds=2", "--peer-relay", "force"])
    yield served
    served.stop()


def test_two_peers_are_matched_signal_and_relay_through_the_server_and_complete_a_verified_game(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "pa"), Peer(server.url, "_peers", "pb")
        va, vb = await asyncio.gather(a.enter(), b.enter())
        assert va["game"] == vb["game"] and va["runtime"] == "browser"
        assert {va["peer"]["me"], vb["peer"]["me"]} == {"h0", "h1"} and va["peer"]["host"] == "h0"
        assert va["peer"]["peers"] == {"h0": "left", "h1": "right"} and va["peer"]["rejoin"] is False
        assert va["peer"]["ice"] == {"iceServers": [], "iceTransportPolicy": "all"}
        assert va["peer"]["relay"] == "force" and va["peer"]["rejoin_grace_ms"] == 3000
        assert from_json(va["boot"]["spec"])["group"][0]["id"] == from_json(vb["boot"]["spec"])["group"][0]["id"]
        # Signalling and a binary packet, each to the other peer only, named by its sender.
        assert await a.ask("signal", to=b.me, data={"sdp": "v=0 offer", "type": "offer"}) == {"ok": True}
        got = await b.next("signal")
        assert got == {"game": va["game"], "from": a.me, "data": {"sdp": "v=0 offer", "type": "offer"}}
        packet = bytes(range(256)) * 8
        await b.sio.emit("relay", {"game": vb["game"], "to": a.me, "data": packet})
        got = await a.next("relay")
        assert got["from"] == b.me and got["data"] == packet
        # The ready gate: one peer ready is not enough; both are, and both get peer_go.
        assert await a.ready() == {"ok": True}
        await asyncio.sleep(0.3)
        assert not any(event == "peer_go" for event, _ in list(a.inbox._queue))
        assert await b.ready() == {"ok": True}
        await a.next("peer_go")
        await b.next("peer_go")
        ends = await play_through([a, b], PEERS)
        assert [v["kind"] for v in ends] == ["completion", "completion"] and ends[0]["code"] == "PEERS2"
        for p in (a, b):
            await p.close()
        return va["game"]

    game = asyncio.run(main())
    stored = steps_table(server.data, game)
    assert len(stored) == 2 * 2 * 21 and len(set(stored)) == len(stored)   # 2 agents, 2 episodes, frames 0-20
    (outcome, reason, detail), = rows(server.data, f"SELECT outcome, outcome_reason, detail FROM games "
                                                   f"WHERE game_id = '{game}'")
    detail = json.loads(detail)
    assert (outcome, reason) == ("completed", "game_over")
    assert detail["desync"] is None and detail["checksums_agreed"] == len(checksums([{"episode": e, "frame": f}
                                                                                     for e in (0, 1)
                                                                                     for f in range(21)]))
    assert detail["peers"]["h0"]["paths"] == {"h1": "relay"}
    verified = asyncio.run(wait_for(lambda: rows(server.data, f"SELECT verification FROM games WHERE game_id = "
                                                              f"'{game}' AND verification != 'pending'")))
    assert verified == [("verified",)]


def test_three_humans_and_an_ai_complete_with_the_host_storing_the_ai(peers_server):
    server = peers_server

    async def main():
        peers = [Peer(server.url, "_peers3", f"t{i}") for i in range(3)]
        views = await asyncio.gather(*(p.enter() for p in peers))
        assert {v["peer"]["me"] for v in views} == {"h1", "h2", "h3"} and views[0]["peer"]["host"] == "h1"
        for p in peers:
            assert (await p.ready())["ok"]
        for p in peers:
            await p.next("peer_go")
        ends = await play_through(peers, PEERS3)
        assert [v["kind"] for v in ends] == ["completion"] * 3
        return views[0]["game"]

    game = asyncio.run(main())
    stored = steps_table(server.data, game)
    assert len(stored) == 4 * 16 and len(set(stored)) == len(stored)
    assert rows(server.data, f"SELECT outcome FROM games WHERE game_id = '{game}'") == [("completed",)]
    verified = asyncio.run(wait_for(lambda: rows(server.data, f"SELECT verification FROM games WHERE game_id = "
                                                              f"'{game}' AND verification != 'pending'")))
    assert verified == [("verified",)]


def test_forged_rows_and_bad_relays_signals_and_floods_are_refused_and_nothing_breaks(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "fa"), Peer(server.url, "_peers", "fb")
        await asyncio.gather(a.enter(), b.enter())
        # Ready at once: what follows takes longer than the ready gate (4 s) on a busy machine.
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        all_rows = played(a.game, PEERS)
        # Rows of the other peer's agent: refused whole, nothing stored.
        theirs = [r for r in all_rows if r["agent"] == b.game["you"]][:5]
        forged = await send_rows(a, theirs, [])
        assert forged["ok"] is False and "is not yours" in forged["error"], forged
        # An action outside the space, a gap: refused as in single-player games.
        bad = [dict(r, action=7) if r["frame"] == 1 else r for r in mine(a.game, all_rows)[:3]]
        assert "outside" in (await send_rows(a, bad, []))["error"]
        gap = [r for r in mine(a.game, all_rows) if r["frame"] != 1][:3]
        assert "frame by frame" in (await send_rows(a, gap, []))["error"]
        # Signalling to nobody, or to oneself, or too big; a bad path.
        assert "another peer" in (await a.ask("signal", to="h7", data={"candidate": "x"}))["error"]
        assert "another peer" in (await a.ask("signal", to=a.me, data={"candidate": "x"}))["error"]
        big = await a.ask("signal", to=b.me, data={"sdp": "x" * 17000})
        assert big["ok"] is False
        assert "paths" in (await a.ask("peer_ready", paths={b.me: "pigeon"}))["error"]
        # A relay to a peer not in the game, and an oversized one: an error message each, no packet.
        await a.sio.emit("relay", {"game": a.game["game"], "to": "h5", "data": b"\x01\x02"})
        assert "another peer" in (await a.next("error"))["message"]
        await asyncio.sleep(1.1)
        await a.sio.emit("relay", {"game": a.game["game"], "to": b.me, "data": b"\x00" * 20000})
        error = await a.next("error")
        assert error["limit"] == "binary" and "16448 bytes" in error["message"]
        # Bytes in any other message are refused as before; a package nobody asked for, or too big, too.
        binary = await a.call("advance", {"index": 0, "blob": b"\x00" * 10})
        assert binary["ok"] is False and binary["limit"] == "binary"
        assert "asked for no package" in (await a.ask("package", **{"for": b.me, "data": b"x"}))["error"]
        huge = await a.ask("package", **{"for": b.me, "data": b"x" * (800 * 1024)})
        assert huge["ok"] is False and huge["limit"] == "binary"
        assert (await a.ask("peer_status", hidden=False)) == {"ok": True}   # the connection still works
        # A participant of another game cannot relay into this one.
        c, d = Peer(server.url, "_peers", "fc"), Peer(server.url, "_peers", "fd")
        await asyncio.gather(c.enter(), d.enter())
        refused = await c.call("signal", {"game": a.game["game"], "to": a.me, "data": {"candidate": "x"}})
        assert refused["ok"] is False and refused["stale"] is True
        # A flood of relayed packets: the ones over the limit are refused; the rest arrive.
        await asyncio.sleep(1.1)
        for i in range(3000):
            await a.sio.emit("relay", {"game": a.game["game"], "to": b.me, "data": i.to_bytes(2, "big")})
        error = await a.next("error", timeout=10)
        assert error["limit"] == "relay_per_second"
        await asyncio.sleep(1.0)
        received = [d for e, d in list(b.inbox._queue) if e == "relay"]
        assert 100 <= len(received) < 3000
        # The server still answers, and the game still plays to its end.
        ends = await play_through([a, b], PEERS)
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"]

    game = asyncio.run(main())
    stored = steps_table(server.data, game)
    assert len(stored) == 84 and len(set(stored)) == 84


def test_a_group_not_ready_in_time_sends_the_ready_back_to_the_waitroom_and_the_others_on(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "ra"), Peer(server.url, "_peers", "rb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"]
        back = await a.view(timeout=15)        # the ready gate (4 s) ran out
        gone = await b.view(timeout=15)
        assert back["kind"] == "waitroom" and gone["kind"] == "ended"
        return a.game["game"]

    game = asyncio.run(main())
    assert rows(server.data, f"SELECT outcome, outcome_reason FROM games WHERE game_id = '{game}'") == [
        ("not_ready", "not_ready")]
    events = rows(server.data, "SELECT detail FROM events WHERE kind = 'game_not_ready'")
    assert sorted(json.loads(d)["ready"] for d, in events) == [False, True]


def test_checksums_that_differ_are_a_desync_recorded_with_the_first_frame_and_both_hashes(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "da"), Peer(server.url, "_peers", "db")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        all_rows = played(a.game, PEERS)[:20]
        assert (await send_rows(a, mine(a.game, all_rows), [[0, 5, 111], [0, 0, 1]]))["ok"]
        assert (await send_rows(b, mine(b.game, all_rows), [[0, 0, 1], [0, 5, 222]]))["ok"]
        ends = [await p.view(timeout=15) for p in (a, b)]
        assert all(v["kind"] == "completion" for v in ends), ends
        return a.game["game"], a.me, b.me

    game, ha, hb = asyncio.run(main())
    (outcome, reason, detail), = rows(server.data, f"SELECT outcome, outcome_reason, detail FROM games "
                                                   f"WHERE game_id = '{game}'")
    assert (outcome, reason) == ("desync", "checksum_mismatch")
    assert json.loads(detail)["desync"] == {"episode": 0, "frame": 5, "hashes": {ha: 111, hb: 222}, "seen_by": "server"}
    assert len(rows(server.data, "SELECT 1 FROM events WHERE kind = 'game_desync'")) == 2


def test_a_peer_that_reloads_within_the_grace_rejoins_and_no_frame_is_missing_or_doubled(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "ja"), Peer(server.url, "_peers", "jb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        all_rows = played(a.game, PEERS)
        first = all_rows[: len(all_rows) // 3]
        for p in (a, b):
            assert (await send_rows(p, mine(p.game, first), checksums(first)))["ok"]
        # b reloads: its connection closes, a new page comes back with its identity.
        identity = b.identity
        await b.close()
        await asyncio.sleep(0.5)
        b2 = Peer(server.url, "_peers", "jb", identity=identity)
        view = await b2.enter()
        assert view["game"] == a.game["game"] and view["peer"]["rejoin"] is True
        assert (await b2.ask("rejoin")) == {"ok": True, "from": [a.me]}
        assert (await a.next("peer_rejoining"))["peer"] == b2.me
        assert (await a.next("package_request"))["for"] == b2.me
        assert (await a.ask("package", **{"for": b2.me, "data": b"state" * 100})) == {"ok": True}
        got = await b2.next("package")
        assert got["from"] == a.me and got["data"] == b"state" * 100
        # A package nobody asked for is refused.
        assert (await a.ask("package", **{"for": b2.me, "data": b"again"}))["ok"] is False
        # The rejoined page sends its rows again from a little before where the server stands.
        rest = all_rows[len(all_rows) // 3 - 6:]
        for p in (a, b2):
            assert (await send_rows(p, mine(p.game, rest), checksums(rest), 1))["ok"]
        replies = [await p.ask("game_over") for p in (a, b2)]
        assert all(r["ok"] for r in replies), replies
        ends = [await p.view(timeout=30) for p in (a, b2)]
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"]

    game = asyncio.run(main())
    stored = steps_table(server.data, game)
    assert len(stored) == 84 and len(set(stored)) == 84
    assert rows(server.data, f"SELECT outcome FROM games WHERE game_id = '{game}'") == [("completed",)]


def test_a_peer_gone_past_the_grace_ends_the_game_partner_left(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "ga"), Peer(server.url, "_peers", "gb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        await b.close()
        left = await a.next("peer_left", timeout=15)   # grace: 3 s
        assert left == {"game": a.game["game"], "peer": b.me}
        after = await a.view(timeout=15)
        assert after["kind"] == "completion"
        return a.game["game"]

    game = asyncio.run(main())
    assert rows(server.data, f"SELECT outcome, outcome_reason FROM games WHERE game_id = '{game}'") == [
        ("partner_left", "grace_expired")]


def test_a_stalled_peer_dropped_by_the_session_timeout_ends_the_game_partner_left(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "sta"), Peer(server.url, "_peers", "stb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        bad = await a.ask("peer_event", events=[{"kind": "teleported"}])
        assert bad["ok"] is False and "kind" in bad["error"]
        assert (await a.ask("peer_event", events=[{"kind": "waiting", "peers": [b.me]}])) == {"ok": True}
        gone = {"kind": "disconnected", "peer": b.me, "frame": 40, "position": [0, 39]}
        assert (await a.ask("peer_event", events=[gone])) == {"ok": True}
        assert await a.next("peer_left", timeout=15) == {"game": a.game["game"], "peer": b.me}   # says why
        ends = [await p.view(timeout=15) for p in (a, b)]
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"]

    game = asyncio.run(main())
    assert rows(server.data, f"SELECT outcome, outcome_reason FROM games WHERE game_id = '{game}'") == [
        ("partner_left", "session_timeout")]
    kinds = [json.loads(d)["kind"] for d, in rows(server.data, "SELECT detail FROM events WHERE kind = 'peer_event'")]
    assert kinds == ["waiting", "disconnected"]


def test_a_hidden_tab_is_noticed_by_the_others_and_ends_the_game_past_the_limit(peers_server):
    server = peers_server

    async def main():
        a, b = Peer(server.url, "_peers", "ha"), Peer(server.url, "_peers", "hb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        assert (await a.ask("peer_status", hidden=True, rtt_ms={b.me: 42.5})) == {"ok": True}
        assert await b.next("peer_notice") == {"game": a.game["game"], "peer": a.me, "hidden": True}
        assert (await a.ask("peer_status", hidden=False)) == {"ok": True}
        assert (await b.next("peer_notice"))["hidden"] is False
        assert "rtt_ms" in (await a.ask("peer_status", rtt_ms={"h9": 1}))["error"]
        assert a.game["peer"]["hidden_limit_s"] == 2
        assert (await a.ask("peer_status", hidden=True)) == {"ok": True}   # and it stays hidden (2 s)
        ends = [await p.view(timeout=15) for p in (a, b)]
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"], a.me, b.me

    game, ha, hb = asyncio.run(main())
    assert rows(server.data, f"SELECT outcome, outcome_reason FROM games WHERE game_id = '{game}'") == [
        ("hidden", "hidden_limit")]
    (detail,), = rows(server.data, f"SELECT detail FROM games WHERE game_id = '{game}'")
    assert {h: p["rtt_ms"] for h, p in json.loads(detail)["peers"].items()} == {ha: {hb: 42.5}, hb: None}
    stored = [json.loads(d) for d, in rows(server.data, "SELECT detail FROM events WHERE kind = 'peer_status'")]
    assert stored[0]["rtt_ms"] == {"h1": 42.5} or stored[0]["rtt_ms"] == {"h0": 42.5}


def test_a_server_restart_ends_a_running_game_of_several_humans_interrupted(tmp_path):
    data = str(tmp_path / "data")
    server = serve(PEERS, data=data)

    async def first():
        a, b = Peer(server.url, "_peers", "sa"), Peer(server.url, "_peers", "sb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        some = played(a.game, PEERS)[:10]
        assert (await send_rows(a, mine(a.game, some), []))["ok"]
        return a.game["game"], a.identity

    try:
        game, identity = asyncio.run(first())
    finally:
        server.stop()
    server = serve(PEERS, data=data)
    try:
        async def again():
            a = Peer(server.url, "_peers", "sa", identity=identity)
            await a.connect()
            return await a.view(timeout=20)

        view = asyncio.run(again())
        assert view["kind"] != "game" or view["game"] != game
    finally:
        server.stop()
    assert rows(data, f"SELECT outcome, outcome_reason FROM games WHERE game_id = '{game}'") == [
        ("interrupted", "server_stop")]


@pytest.fixture
def hostile_server(tmp_path):
    # Loose message limits, so that a test can send more messages than a peer's event quota.
    served = serve(PEERS, data=str(tmp_path / "data"), grace=3,
                   extra=["--limit", "messages_per_second=5000", "--limit", "message_burst=5000",
                          "--peer-relay", "force"])
    yield served
    served.stop()


def test_hostile_peers_cannot_break_the_game_fill_the_events_table_or_fake_a_rejoin(hostile_server):
    server = hostile_server

    async def main():
        a, b = Peer(server.url, "_peers", "xa"), Peer(server.url, "_peers", "xb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        await a.next("peer_go")
        await b.next("peer_go")
        # A page that did not reload cannot ask the others for packages (each survivor's
        # rejoin_package drops the asker's packets of its current life: the game would stall).
        fake = await a.ask("rejoin")
        assert fake["ok"] is False and "reload" in fake["error"], fake
        await asyncio.sleep(0.3)
        assert not any(event == "package_request" for event, _ in list(b.inbox._queue))
        # Malformed values where a handle belongs: refused with a message, the server still answers.
        for peer in (["h1"], {"x": 1}, 3.5, None):
            reply = await a.ask("peer_event", events=[{"kind": "disconnected", "peer": peer, "frame": 4}])
            assert reply["ok"] is False and "peer" in reply["error"], reply
        # Checksums of frames the game cannot have: refused (they would push the real ones out).
        all_rows = played(a.game, PEERS)
        far = await send_rows(a, [], [[99, 0, 1]])
        assert far["ok"] is False and "episode" in far["error"], far
        far = await send_rows(a, [], [[0, 10**9, 1]])
        assert far["ok"] is False and "frame" in far["error"], far
        # The same status, readiness or notice over and over: a bounded number of event rows.
        for _ in range(700):
            await a.sio.emit("peer_status", {"game": a.game["game"], "hidden": False})
            await a.sio.emit("peer_ready", {"game": a.game["game"], "paths": {b.me: "relay"}})
        assert (await a.ask("peer_status", rtt_ms={b.me: 5})) == {"ok": True}
        # A checksum only one peer sends is not compared: the game's detail counts it.
        assert (await send_rows(a, [], [[0, 3, 7]]))["ok"]
        # The game still plays to its end.
        ends = await play_through([a, b], PEERS)
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"], a.me, len(all_rows)

    game, ha, n = asyncio.run(main())
    (outcome, detail), = rows(server.data, f"SELECT outcome, detail FROM games WHERE game_id = '{game}'")
    assert outcome == "completed" and json.loads(detail)["checksums_unmatched"] == 1
    assert len(steps_table(server.data, game)) == n
    stored = [json.loads(d) for d, in rows(server.data, "SELECT detail FROM events WHERE kind IN "
                                                        "('peer_status', 'peer_ready', 'peer_event', 'peer_rejoin')")]
    assert len([e for e in stored if e["peer"] == ha]) <= 1000


def test_an_earlier_tab_of_a_peer_cannot_end_the_game_once_a_new_tab_rejoined(hostile_server):
    server = hostile_server

    async def main():
        a, b = Peer(server.url, "_peers", "ta"), Peer(server.url, "_peers", "tb")
        await asyncio.gather(a.enter(), b.enter())
        assert (await a.ready())["ok"] and (await b.ready())["ok"]
        # The participant opens the study in a second tab, which rejoins; the first stays open.
        a2 = Peer(server.url, "_peers", "ta", identity=a.identity)
        view = await a2.enter()
        assert view["game"] == a.game["game"] and view["peer"]["rejoin"] is True
        assert (await a2.ask("rejoin"))["ok"]
        # The first tab, now hidden behind the second, says so; or its replaced session reports b gone.
        hidden = await a.ask("peer_status", hidden=True)
        assert hidden["ok"] is False and hidden["superseded"] is True, hidden
        gone = await a.ask("peer_event", events=[{"kind": "disconnected", "peer": b.me, "frame": 9}])
        assert gone["ok"] is False and gone["superseded"] is True, gone
        await asyncio.sleep(0.3)
        assert not any(event == "peer_notice" for event, _ in list(b.inbox._queue))
        # The new tab's own status is taken; so is the first tab's once the new one is closed
        # (as the same page's on a new connection, after a network drop).
        assert (await a2.ask("peer_status", hidden=False)) == {"ok": True}
        await a2.close()
        await asyncio.sleep(0.5)
        assert (await a.ask("peer_status", hidden=False)) == {"ok": True}
        ends = await play_through([a, b], PEERS)
        assert [v["kind"] for v in ends] == ["completion", "completion"]
        return a.game["game"]

    game = asyncio.run(main())
    assert rows(server.data, f"SELECT outcome FROM games WHERE game_id = '{game}'") == [("completed",)]
