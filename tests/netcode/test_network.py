"""Sessions over the simulated network: rollbacks, the prediction window, desyncs, disconnects,
time sync, and hostile packets."""

import random

import pytest

from mugkit.netcode import (AdvanceFrame, Disconnected, SaveState, InputStatus, NetworkInterrupted, SessionBuilder,
                            WaitingForInputs, WaitRecommendation)
from mugkit.netcode.messages import Input, encode_message
from mugkit.netcode.simnet import Link, SimNetwork, reference_history, run_peers

from netcode_stubs import StubGame

TICK = 1000 / 30


def random_actions(players, frames, seed=0, choices=5):
    rng = random.Random(seed)
    return [[rng.randrange(choices) for _ in range(frames)] for _ in range(players)]


def stub_factory(players=2, **kw):
    agents = tuple(f"p{i}" for i in range(players))
    return lambda: StubGame(agents, **kw)


# (a) rollbacks under latency, never deeper than the window; none without latency

def test_no_latency_no_rollback():
    actions = random_actions(2, 120)
    results = run_peers(stub_factory(), actions, 120)
    expected = reference_history(stub_factory(), actions, 120)
    for r in results:
        assert r.history == expected
        assert (r.stats.rollbacks, r.stats.frames_stalled) == (0, 0)


@pytest.mark.parametrize("latency_ms", [100, 180])
def test_latency_causes_rollbacks_within_the_window(latency_ms):
    actions = random_actions(2, 150, seed=latency_ms)
    net = SimNetwork(seed=3, link=Link(latency_ms=latency_ms, jitter_ms=20, loss=0.05))
    results = run_peers(stub_factory(), actions, 150, network=net)
    expected = reference_history(stub_factory(), actions, 150)
    for r in results:
        assert r.history == expected
        assert r.stats.rollbacks > 0
        assert 1 <= r.stats.max_rollback_depth <= 8


def test_latency_beyond_the_window_stalls_instead_of_exceeding_it():
    actions = random_actions(2, 150, seed=5)
    net = SimNetwork(seed=4, link=Link(latency_ms=300, jitter_ms=30))
    results = run_peers(stub_factory(), actions, 150, network=net, max_rollback=4)
    expected = reference_history(stub_factory(), actions, 150)
    for r in results:
        assert r.history == expected
        assert r.stats.frames_stalled > 0
        assert r.stats.max_rollback_depth == 4  # used to the full, never beyond
        assert any(isinstance(e, WaitingForInputs) for e in r.events)


# (b) a planted desync is detected within the checksum interval

def test_planted_desync_is_detected_within_the_checksum_interval():
    games = iter([StubGame(), StubGame(diverge_at=50)])  # only peer 1's game adds 1 at frame 50
    net = SimNetwork(seed=1, link=Link(latency_ms=60, jitter_ms=10))
    results = run_peers(lambda: next(games), random_actions(2, 100), 100, network=net, checksum_interval=10)
    for r in results:
        assert r.desyncs, f"peer {r.peer} missed the desync"
        first = r.desyncs[0]
        assert 50 <= first.frame < 50 + 10
        assert first.local_checksum != first.remote_checksum
        assert first.peer == 1 - r.peer
        assert first in r.events


def test_no_false_desync_from_predicted_frames():
    # Heavy prediction (high latency, random actions): only confirmed frames are compared.
    net = SimNetwork(seed=9, link=Link(latency_ms=200, jitter_ms=50, loss=0.1, reorder=0.1))
    results = run_peers(stub_factory(), random_actions(2, 200, seed=9), 200, network=net, checksum_interval=1)
    assert all(not r.desyncs and r.stats.rollbacks > 0 for r in results)


# (c) three players at the prediction threshold confirm identical histories

@pytest.mark.parametrize("players, max_rollback", [(3, 8), (3, 2), (4, 3)])
def test_many_players_at_the_prediction_threshold_agree(players, max_rollback):
    actions = random_actions(players, 150, seed=players)
    # ~250 ms one way with jitter, loss and reordering: the window fills again and again.
    net = SimNetwork(seed=2, link=Link(latency_ms=250, jitter_ms=60, loss=0.1, reorder=0.1))
    results = run_peers(stub_factory(players), actions, 150, network=net, max_rollback=max_rollback)
    expected = reference_history(stub_factory(players), actions, 150)
    for r in results:
        assert r.history == expected, f"peer {r.peer} diverged"
        assert r.stats.frames_stalled > 0  # the window was full
        assert r.stats.max_rollback_depth <= max_rollback
        assert not r.desyncs
    assert max(r.stats.max_rollback_depth for r in results) == max_rollback  # corrections at the threshold


def test_one_peer_can_play_several_handles():
    # Peer 0 plays handles 0 and 2 (a human and an AI the host computes), peer 1 plays handle 1.
    actions = random_actions(3, 100, seed=7)
    net = SimNetwork(seed=7, link=Link(latency_ms=120, jitter_ms=30, loss=0.1))
    results = run_peers(stub_factory(3), actions, 100, peers=[(0, 2), (1,)], network=net)
    expected = reference_history(stub_factory(3), actions, 100)
    assert [r.history for r in results] == [expected, expected]


def test_any_action_value_survives_the_network():
    rng = random.Random(4)
    pool = [None, True, 1, -0.0, float("nan"), 2**90, [1, 2, 3], (0.5, -1.25), {"move": [1, 0]}, "x"]
    actions = [[rng.choice(pool) for _ in range(80)] for _ in range(2)]
    net = SimNetwork(seed=4, link=Link(latency_ms=90, jitter_ms=30, loss=0.1))
    results = run_peers(stub_factory(), actions, 80, network=net, default_action=None)
    expected = reference_history(stub_factory(), actions, 80, default_action=None)
    assert all(r.history == expected for r in results)


# (d) disconnects

def run_manual(net, sessions, seconds, log):
    """Drives sessions with constant actions for ``seconds``; logs (time, peer, event)."""
    for tick in range(int(seconds * 1000 / TICK)):
        now = tick * TICK
        net.advance_to(now)
        for i, s in enumerate(sessions):
            if net.paused(i, now):
                continue
            s.poll(now)
            for h in s.local_handles:
                s.add_local_input(h, 1)
            for r in s.advance_frame():  # a game with no state: only inputs are looked at
                if isinstance(r, SaveState):
                    r.cell.save(None, None)
                elif isinstance(r, AdvanceFrame):
                    log.append((now, i, r))
            log.extend((now, i, e) for e in s.events())


def two_sessions(net, timeout=5000):
    def make(local, remote):
        return (SessionBuilder().with_disconnect_timeout(timeout).add_local_player(local)
                .add_remote_player(remote, remote).start_p2p_session(net.transport(local)))
    return [make(0, 1), make(1, 0)]


def test_a_silent_peer_is_disconnected_after_the_timeout():
    net = SimNetwork(seed=1, link=Link(latency_ms=30))
    net.pause(1, 2000, 10**9)  # peer 1 goes silent for good at t = 2 s
    sessions = two_sessions(net)
    log = []
    run_manual(net, sessions, 9, log)
    a = sessions[0]
    events = [(t, e) for t, i, e in log if i == 0 and isinstance(e, (NetworkInterrupted, Disconnected))]
    (t_warn, warn), (t_gone, gone) = events
    assert isinstance(warn, NetworkInterrupted) and 2000 + 750 <= t_warn < 2000 + 750 + 2 * TICK
    assert isinstance(gone, Disconnected) and 2000 + 5000 <= t_gone < 2000 + 5000 + 2 * TICK
    assert gone.peer == 1 and gone.handles == (1,)
    assert a.disconnects == [gone] and a.disconnect_frame(1) == gone.frame
    # The survivor goes on: the dropped player's inputs are the default action, flagged.
    later = [r for t, i, r in log if i == 0 and t > t_gone and isinstance(r, AdvanceFrame)]
    assert len(later) > 30
    assert all(r.inputs[1].status is InputStatus.DISCONNECTED and r.inputs[1].action == 0 for r in later)
    assert a.current_frame > gone.frame + 30


def test_three_players_drop_a_silent_peer_at_the_same_frame():
    actions = random_actions(3, 200, seed=11)
    net = SimNetwork(seed=11, link=Link(latency_ms=80, jitter_ms=20, loss=0.05))
    net.pause(2, 2000, 10**9)
    results = run_peers(stub_factory(3), actions, 200, network=net, disconnect_timeout=1500)
    a, b = results[0], results[1]
    assert [d.peer for d in a.disconnects] == [2] and [d.peer for d in b.disconnects] == [2]
    frame = a.session.disconnect_frame(2)
    assert frame == b.session.disconnect_frame(2)
    # Same as a run without network where player 2's inputs stop at that frame.
    cut = [actions[0], actions[1], actions[2][:frame - 2]]  # input delay 2
    expected = reference_history(stub_factory(3), cut, 200)
    assert a.history == expected and b.history == expected


def test_a_short_silence_is_an_interruption_not_a_disconnect():
    net = SimNetwork(seed=1, link=Link(latency_ms=30))
    net.pause(1, 1000, 2000)
    sessions = two_sessions(net)
    log = []
    run_manual(net, sessions, 4, log)
    kinds = [type(e).__name__ for t, i, e in log if i == 0 and not isinstance(e, AdvanceFrame)]
    assert "NetworkInterrupted" in kinds and "NetworkResumed" in kinds and "Disconnected" not in kinds
    assert sessions[0].disconnects == []


# time sync

def test_a_peer_running_ahead_is_told_to_wait():
    net = SimNetwork(seed=1, link=Link(latency_ms=40))
    net.pause(1, 1000, 1500)  # peer 1 falls ~15 frames behind
    results = run_peers(stub_factory(), random_actions(2, 200), 200, network=net)
    recs = [[e for e in r.events if isinstance(e, WaitRecommendation)] for r in results]
    assert recs[0] and all(e.skip_frames >= 3 for e in recs[0])
    assert not recs[1]
    assert results[0].history == results[1].history


# (e) malformed packets are dropped and counted, never raised

def test_malformed_packets_are_dropped_and_counted():
    net = SimNetwork()
    a, b = two_sessions(net)
    evil = net.transport(1)
    bad = [b"", b"garbage", b"MK\x01\x63\x00", b"MK\x09\x02\x00", b"MK\x01\x02\x07\x00",
           encode_message(Input(0, -1, 0, (0,), ((5,),), ((False, 0), (False, -1)))),  # handle 0 is not peer 1's
           encode_message(Input(0, -1, 0, (1,), ((5,),), ((False, 0),))),               # status of 1 player, not 2
           b"MK\x01\x02" + b"\x07\x01" * 60]
    for data in bad:
        evil.send_to(0, data)
    net.transport("stranger").send_to(0, b"MK\x01\x01\x08\x01\x03\x04")
    net.advance_to(0)
    a.poll(0)
    assert a.stats.packets_dropped == len(bad) + 1
    # and the session still works
    b.poll(0)
    net.advance_to(1)
    a.poll(1)
    a.add_local_input(0, 1)
    assert len(a.advance_frame()) == 2
