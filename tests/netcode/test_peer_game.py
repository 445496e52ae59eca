"""PeerGame: one peer of a browser game with several humans, driven only through its public
methods, over the simulated network (latency, jitter, loss, reordering)."""

from __future__ import annotations

import pytest

from mugkit.netcode import CHECKSUM_INTERVAL
from mugkit.netcode.simnet import Link, SimNetwork
from mugkit.runtime.peer_game import PeerGameError

from peer_harness import TICK, Harness, make_step, new_peer, peers_of, replay

LINK = Link(latency_ms=70, jitter_ms=30, loss=0.1, reorder=0.05)
ROW_KEYS = {"episode", "frame", "agent", "action", "keys", "filled", "reward", "observation", "predicted",
            "rollback_depth", "late_ms", "t_client"}


def play(step, link=LINK, seed=1, **kw):
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(seed, link), **kw)
    h.start()
    assert h.run(), "the peers did not finish"
    return h


def whole_game(step):
    length, episodes = step.options.max_steps, step.options.episodes
    return {(e, f, a) for e in range(episodes) for f in range(length + 1) for a in step.options.players}


def assert_agreed_history(step, h):
    """One row per (episode, frame, agent), no gap; checksums agree and match a run with no network."""
    server = h.server
    assert not server.doubled
    assert set(server.rows) == whole_game(step)
    want, replayed = replay(step, server.rows)
    got = {k: (r["action"], r["reward"], r["observation"]) for k, r in server.rows.items()}
    assert got == want
    for key, by_peer in server.checksums.items():
        values = set().union(*by_peer.values())
        assert values == {replayed[key]}, f"checksums of {key}: {by_peer}, the run without network {replayed[key]}"


@pytest.mark.parametrize("humans, ai", [(2, False), (2, True), (3, True), (4, False)])
def test_peers_confirm_one_history_equal_to_a_run_without_network(humans, ai):
    step = make_step(humans, ai=ai)
    h = play(step)
    assert_agreed_history(step, h)
    host = min(h.games)
    for (episode, frame, agent), row in h.server.rows.items():
        assert set(row) >= ROW_KEYS
        # each peer uploads its own human's rows, and the host the AI's
        owner = next((p for p, a in peers_of(step).items() if a == agent), host)
        assert row["peer"] == owner
        if agent == "bot" or frame == 0:
            assert row["keys"] is None
        else:
            assert isinstance(row["keys"], list) and isinstance(row["filled"], bool)
            assert isinstance(row["predicted"], bool) and row["rollback_depth"] >= 0
    rows = list(h.server.rows.values())
    assert any(r["predicted"] for r in rows) and any(r["rollback_depth"] > 0 for r in rows)
    assert any(r["keys"] for r in rows) and any(r["t_client"] is not None for r in rows)
    for g in h.games.values():
        stats = g.stats()
        assert 0 < stats["max_rollback_depth"] <= step.options.max_rollback
        assert set(stats["rtt_ms"]) == set(h.games) - {g.me} and all(v > 0 for v in stats["rtt_ms"].values())


def test_checksums_every_interval_and_at_each_episode_end():
    step = make_step(2, episodes=3, length=25)
    h = play(step)
    for peer in h.games:
        frames = sorted(k for k, by in h.server.checksums.items() if peer in by)
        # in session frames (episode e starts after e * (length + 1) of them), never further apart than the interval
        session = [e * 26 + f for e, f in frames]
        assert session[0] == 0 and all(b - a <= CHECKSUM_INTERVAL for a, b in zip(session, session[1:]))
        assert {(e, 25) for e in range(3)} <= set(frames)


def test_the_frame_messages_draw_the_game():
    step = make_step(2)
    h = play(step)
    for msgs in h.frames.values():
        assert msgs[0]["frame"] == 0 and {s["id"] for s in msgs[0]["set"]} == {"p0", "p1"}
        assert any("round" in m for m in msgs)
        assert all(m["game"] == "g1" for m in msgs)


def test_a_hidden_peer_plays_the_default_action_filled():
    step = make_step(2, episodes=1, length=90)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(2, LINK))
    h.start()
    h.run(ticks=20)
    h.games["h1"].set_hidden(True)
    h.run(ticks=30)
    h.games["h1"].set_hidden(False)
    assert h.run()
    assert_agreed_history(step, h)
    p1 = [r for (e, f, a), r in sorted(h.server.rows.items()) if a == "p1" and f > 0]
    hidden = [r for r in p1 if r["keys"] == [] and r["filled"]]
    assert len(hidden) >= 25 and all(r["action"] == 0 for r in hidden)
    assert any(r["keys"] and not r["filled"] for r in p1)


def test_a_diverging_env_is_reported_as_a_desync_with_the_frame_and_both_hashes():
    step = make_step(2, episodes=1, length=60, leak=True)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(3, LINK))
    h.start()
    h.run()
    for peer, events in h.events.items():
        desyncs = [e for e in events if e["kind"] == "desync"]
        assert len(desyncs) == 1, events
        d = desyncs[0]
        assert d["peer"] != peer and d["ours"] != d["theirs"] and d["episode"] == 0
        assert d["frame"] == d["session_frame"] + 1 and d["frame"] % CHECKSUM_INTERVAL == 0
    # the server sees it too: the peers' checksums of some frame disagree
    assert any(len(set().union(*by.values())) > 1 for by in h.server.checksums.values())


def test_a_dropped_peer_plays_the_default_action_and_the_others_play_on():
    step = make_step(3, episodes=1, length=90)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(4, LINK))
    h.start()
    h.run(ticks=30)
    h.stopped.add("h2")  # its tab closed: it never speaks again
    h.run(ticks=20)
    for a in ("h0", "h1"):
        h.games[a].drop_peer("h2")
    assert h.run()
    last = []
    for a in ("h0", "h1"):
        gone = [e for e in h.events[a] if e["kind"] == "disconnected"]
        assert {e["peer"] for e in gone} == {"h2"}
        last.append(gone[-1]["frame"])  # a later event may move the frame earlier: the last one stands
        assert any(e["kind"] == "waiting" and "h2" in e["peers"] for e in h.events[a])
        assert h.games[a].stats()["peers"]["h2"] == "gone"
    assert last[0] == last[1]
    survivors = {k: by for k, by in h.server.checksums.items() if set(by) & {"h0", "h1"}}
    assert survivors and all(len(set().union(*(v for p, v in by.items() if p != "h2"))) == 1
                             for by in survivors.values())
    assert {(0, f) for f in range(91)} <= {(e, f) for e, f, a in h.server.rows if a == "p0"}


@pytest.mark.parametrize("humans, who", [(2, "h1"), (2, "h0"), (3, "h1"), (3, "h0")])
def test_a_reloaded_peer_rejoins_and_no_frame_is_missing_or_doubled(humans, who):
    step = make_step(humans, ai=True, episodes=2, length=120)
    net = SimNetwork(5, LINK)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, net, upload_every=7)
    h.start()
    h.run(ticks=100)
    h.stopped.add(who)  # the page reloads: its PeerGame is thrown away, with rows not yet uploaded
    h.run(ticks=90)     # three seconds of loading Python
    assert any(e["kind"] == "waiting" for a in h.games if a != who for e in h.events[a])
    survivors = [a for a in h.games if a != who]
    packages = [h.games[a].rejoin_package(who) for a in survivors]
    fresh = new_peer(step, who, rejoin=True)
    h.games[who] = fresh
    if humans > 2:  # each survivor may hold inputs of the reloaded page that no other holds
        with pytest.raises(PeerGameError, match=r"no package from \['h\d'\]: pass the rejoin_package\(\) of every"):
            fresh.rejoin(packages[:1])
    h.frames[who].append(__import__("json").loads(fresh.rejoin(packages)))
    h.stopped.discard(who)
    assert h.run()
    assert_agreed_history(step, h)
    mine = [r for r in h.server.rows.values() if r["agent"] == peers_of(step)[who]]
    assert {r["peer"] for r in mine} == {who}
    # rows of frames played (not re-simulated) say which keys made the action, or that it was filled in
    assert all(isinstance(r["keys"], list) for r in mine if r["predicted"] is not None and r["frame"] > 0)
    assert any(r["predicted"] is None for r in mine)  # the earlier life's last rows came from the re-simulation


def test_a_packet_of_the_reloaded_page_waiting_for_the_survivors_tick_is_not_played_after_its_package():
    # Over the server's relay a packet arrives between two ticks and waits in the PeerGame for the
    # next one; the reloaded page's last packet can wait there when its package is asked for. The
    # package does not hold the input it carries, so the new life plays another (the default)
    # there: the survivor must drop it, or the two confirm different histories (a desync).
    step = make_step(2, episodes=1, length=60)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(5))
    h.start()
    h.run(ticks=30)
    old = h.games["h1"]
    old.key_message(h.seq + 1, ["ArrowUp"], ["ArrowUp"], [], None)  # an input that is not the default action
    old.tick(h.tick_no * TICK, None, 0.0)  # its last tick: the packet with that input is still on its way
    late = [data for to, data in old.take_packets() if to == "h0"]
    assert late
    h.stopped.add("h1")
    h.run(ticks=30)
    survivor = h.games["h0"]
    for data in late:  # the relay hands it over; the package is asked for before the survivor ticks
        survivor.receive("h1", data)
    package = survivor.rejoin_package("h1")
    fresh = new_peer(step, "h1", rejoin=True)
    h.games["h1"] = fresh
    fresh.rejoin(package)
    h.stopped.discard("h1")
    assert h.run()
    assert not [e for a in h.games for e in h.events[a] if e["kind"] == "desync"]
    assert_agreed_history(step, h)


def test_bad_packets_are_dropped_and_counted_never_raised():
    step = make_step(2, episodes=1, length=60)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(6, Link(latency_ms=30, reorder=0.3)))
    h.start()
    g = h.games["h0"]
    real = []
    h.transports["h1"].send_to = lambda to, data, send=h.transports["h1"].send_to: (real.append(data), send(to, data))
    h.run(ticks=20)
    other = new_peer(step, "h1", game_id="another game")
    other.start()
    foreign = [d for _, d in other.take_packets()]
    head = real[-1][:5]  # the game's tag and the sender's life
    junk = [b"", b"\x00" * 3, head + b"garbage", head + b"MK\x01\x02" + b"\xff" * 40, head[:4] + b"\x07garbage",
            head[:4] + b"\xffMK" + real[-1][7:], head[:4] + b"\x01garbage", real[-1] + b"\x00", b"x" * 100_000,
            head + b"y" * 100_000, None, 12, "text", bytearray(b"MK"), *foreign]
    before = g.stats()["packets_dropped"]
    for data in junk:
        g.receive("h1", data)
    g.receive("h9", real[-1])
    g.receive(None, real[-1])
    g.receive(["h1"], real[-1])
    for data in real[-10:] * 3:  # duplicated and out of order
        g.receive("h1", data)
    h.run()
    assert g.stats()["packets_dropped"] >= before + len(junk)
    assert_agreed_history(step, h)


def test_misuse_gets_a_clear_error():
    step = make_step(2, episodes=1)
    with pytest.raises(PeerGameError, match="me='h7' is not one of the peers"):
        new_peer(step, "h7")
    with pytest.raises(PeerGameError, match="plays 'p1', but agent 0 of the game is 'p0'"):
        from peer_harness import make_driver
        from mugkit.runtime.peer_game import PeerGame
        PeerGame("g", make_driver(step), "h0", {"h0": "p1", "h1": "p1"}, host="h0")
    with pytest.raises(PeerGameError, match="peer 'h01': expected 'h0'..'h1'"):
        PeerGame("g", make_driver(step), "h0", {"h0": "p0", "h01": "p1"}, host="h0")
    with pytest.raises(PeerGameError, match="the host is the peer with the lowest handle"):
        PeerGame("g", make_driver(step), "h0", {"h0": "p0", "h1": "p1"}, host="h1")
    five = make_step(4, ai=True)
    with pytest.raises(PeerGameError, match="at most 4 players, humans and AIs together"):
        new_peer(five, "h0")
    g = new_peer(step, "h0")
    with pytest.raises(PeerGameError, match="before start"):
        g.tick(0)
    g.start()
    with pytest.raises(PeerGameError, match="already started"):
        g.start()
    with pytest.raises(PeerGameError, match="not another peer"):
        g.rejoin_package("h5")
    with pytest.raises(PeerGameError, match="rejoin=True"):
        g.rejoin(b"")


def test_a_package_of_another_game_or_peer_or_garbage_is_refused():
    step = make_step(2, episodes=1)
    survivor = new_peer(step, "h0")
    survivor.start()
    package = survivor.rejoin_package("h1")
    for bad, why in [(new_peer(step, "h1", rejoin=True, game_id="g2"), "of game 'g1', this is game 'g2'")]:
        with pytest.raises(PeerGameError, match=why):
            bad.rejoin(package)
    fresh = new_peer(step, "h1", rejoin=True)
    for junk, why in [(b"MKRJ\xff\xff", "malformed"), (b"nope", "not a rejoin package"), ([], "no package"),
                      (package[:-3], "malformed"), (12, "not a rejoin package")]:
        with pytest.raises(PeerGameError, match=why):
            fresh.rejoin(junk)
    with pytest.raises(PeerGameError, match="for 'h1': this is 'h0'"):
        other = new_peer(step, "h0", rejoin=True)
        other.rejoin(package)
    assert fresh.rejoin(package)  # the right package still works after the refusals


def test_the_example_plays_through_open_peer_game_as_built_for_each_peer():
    """Gem Gatherers' browser round, built by peer_game_from_spec as a browser (or a bot) builds
    it: both peers confirm the same frames with the same checksums."""
    import os

    from mugkit.browser import peer_game_from_spec
    from mugkit.collect import load_experiment

    root = os.path.join(os.path.dirname(__file__), "..", "..", "experiments")
    experiment = load_experiment(os.path.join(root, "gather.py"), root)
    group = [{"id": f"pp{i}", "params": {}, "condition": None} for i in range(2)]
    spec = {"game": "g1", "step": "round_in_browser", "seed": 3, "participant": group[0], "group": group}
    addrs = {"h0": "p0", "h1": "p1"}
    games = {me: peer_game_from_spec(experiment, spec, {"me": me, "peers": addrs, "host": "h0"}) for me in addrs}
    h = Harness(games, SimNetwork(7, LINK))
    h.start()
    h.run(ticks=150)
    assert {a for (_, _, a) in h.server.rows} == {"p0", "p1"}
    frames = {(e, f) for (e, f, _) in h.server.rows}
    assert len(frames) > 100
    assert len(h.server.checksums) > 10
    assert all(len(by) == 2 and len(set().union(*by.values())) == 1 for by in h.server.checksums.values()
               if len(by) == 2)
    assert sum(len(by) == 2 for by in h.server.checksums.values()) > 10


def test_a_peer_rejoins_a_game_another_peer_left_for_good():
    step = make_step(3, ai=True, episodes=1, length=150)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(8, LINK), upload_every=5)
    h.start()
    h.run(ticks=30)
    h.stopped.add("h2")
    h.run(ticks=15)
    for a in ("h0", "h1"):
        h.games[a].drop_peer("h2")
    h.run(ticks=30)
    h.stopped.add("h1")
    h.run(ticks=60)
    with pytest.raises(PeerGameError, match="dropped at frame"):
        h.games["h0"].rejoin_package("h2")
    fresh = new_peer(step, "h1", rejoin=True)
    h.games["h1"] = fresh
    fresh.rejoin([h.games["h0"].rejoin_package("h1")])
    h.stopped.discard("h1")
    assert h.run()
    stored = h.server.rows
    assert not h.server.doubled
    for agent in ("p0", "p1", "bot"):
        assert {f for (e, f, a) in stored if a == agent} == set(range(151))
    assert all(len(set().union(*(v for p, v in by.items() if p != "h2"))) == 1
               for by in h.server.checksums.values() if set(by) - {"h2"})
    assert not any(e["kind"] == "desync" for a in h.games for e in h.events[a])
    # the rejoined peer knows h2 is gone, from the same frame as the survivor
    gone = [[(e["peer"], e["frame"]) for e in h.events[a] if e["kind"] == "disconnected"][-1] for a in ("h0", "h1")]
    assert gone[0] == gone[1] and gone[0][0] == "h2"


def test_a_rejoin_late_in_a_long_game_re_simulates_from_a_recent_episode_start():
    from mugkit.runtime.peer_game import PACKAGE_MARGIN
    from mugkit.runtime.values import from_json

    step = make_step(2, episodes=5, length=100)
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(9, LINK), upload_every=9)
    h.start()
    h.run(ticks=470)
    h.stopped.add("h1")
    h.run(ticks=40)
    fresh = new_peer(step, "h1", rejoin=True)
    h.games["h1"] = fresh
    fresh.rejoin(h.games["h0"].rejoin_package("h1"))
    text = fresh.take_rows()
    h.server.upload("h1", text)
    replayed = [r for r in from_json(text)["rows"] if r["predicted"] is None]
    episodes = {r["episode"] for r in replayed}
    # from the start of the episode PACKAGE_MARGIN frames back: not from the game's start
    assert min(episodes) >= 1 and len(replayed) >= PACKAGE_MARGIN
    assert [r["frame"] for r in replayed if r["episode"] == min(episodes)][0] == 0
    h.stopped.discard("h1")
    assert h.run()
    assert_agreed_history(step, h)


def test_a_stalled_peer_is_dropped_after_the_grace_and_the_others_play_on():
    step = make_step(2, episodes=1, length=150)
    games = {a: new_peer(step, a, options={"rejoin_grace_ms": 2000}) for a in peers_of(step)}
    net = SimNetwork(10, LINK)
    h = Harness(games, net)
    h.start()
    h.run(ticks=30)
    net.pause("h1", h.tick_no * 1000 / 30, 10**9)  # a frozen laptop: no packets, no ticks
    h.run(ticks=40)  # under the grace: waiting, not dropped
    kinds = [e["kind"] for e in h.events["h0"]]
    assert "waiting" in kinds and "interrupted" in kinds and "disconnected" not in kinds
    h.stopped.add("h1")
    assert h.run()
    gone = [e for e in h.events["h0"] if e["kind"] == "disconnected"]
    assert gone and gone[-1]["peer"] == "h1" and gone[-1]["position"][0] == 0
    assert {f for (e, f, a) in h.server.rows if a == "p0"} == set(range(151))


def test_an_ai_is_asked_on_the_host_only_and_its_answers_reach_every_peer():
    from peer_harness import POLICIES

    asked = []  # one counter per policy made: one per peer, in the order the peers are made

    def chaser():
        calls = [0]
        asked.append(calls)

        def act(observation):
            calls[0] += 1
            return int(observation) % 5
        return act

    POLICIES["chaser"] = chaser
    step = make_step(3, ai="chaser", episodes=1, length=60)
    h = play(step)
    assert_agreed_history(step, h)
    host, *others = asked[:3]
    assert host[0] >= 60 and all(c[0] == 0 for c in others)
    bot = [r for (e, f, a), r in sorted(h.server.rows.items()) if a == "bot" and f > 0]
    assert {r["peer"] for r in bot} == {"h0"} and len({r["action"] for r in bot}) > 1


@pytest.mark.parametrize("ai", ["random", False])
def test_the_servers_verification_agrees_with_what_the_peers_played_ai_players_included(ai):
    """The server re-simulates a game of several humans from the stored rows: a random AI's
    actions were decided by the host from frames that were maybe predicted, so verification
    plays them as stored (asking the policy again would give other actions)."""
    from mugkit.runtime import verification

    from peer_harness import make_driver

    step = make_step(humans=2, ai=ai, episodes=2, length=40)
    h = play(step)
    rows = [dict(r, decided_at=None, info=r.get("info")) for _, r in sorted(h.server.rows.items())]
    humans = [a for a in step.options.players if a in step.options.humans]
    verdict = verification.replay(make_driver(step), rows, None, humans=humans)
    assert verdict.agrees, verdict.difference
    assert verdict.complete and verdict.frames == 2 * 41
    # And a forged AI action is caught: its reward or observation no longer follows.
    if ai:
        forged = [dict(r) for r in rows]
        target = next(r for r in forged if r["agent"] == "bot" and r["frame"] == 10)
        target["action"] = 1 - target["action"] if isinstance(target["action"], int) else target["action"]
        assert not verification.replay(make_driver(step), forged, None, humans=humans).agrees
