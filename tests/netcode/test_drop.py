"""Dropping a peer at once: ``drop_peer(addr)``, and transports that report closed
connections (``closed_peers()``), instead of waiting for the disconnect timeout."""

import random

import pytest

from mugkit.netcode import (ClosingTransport, Disconnected, GameRunner, InputStatus, InvalidRequest,
                            NetworkInterrupted, PeerLoop, SessionBuilder, Transport)
from mugkit.netcode.simnet import Link, SimNetwork, reference_history

from netcode_stubs import StubGame

TICK = 1000 / 30


def random_actions(players, frames, seed=0):
    rng = random.Random(seed)
    return [[rng.randrange(5) for _ in range(frames)] for _ in range(players)]


def make_loops(net, actions):
    """One PeerLoop per player over ``net``; player ``i`` is peer ``i``."""
    n = len(actions)
    agents = tuple(f"p{i}" for i in range(n))
    loops = []
    for i in range(n):
        b = SessionBuilder().with_num_players(n).with_event_queue_size(10_000).add_local_player(i)
        for j in range(n):
            if j != i:
                b.add_remote_player(j, j)
        source = lambda k, frame, seq=actions[i]: seq[k] if k < len(seq) else 0
        loops.append(PeerLoop(b.start_p2p_session(net.transport(i)),
                              GameRunner(StubGame(agents), always_checksum=True), {i: source}))
    return loops


def drive(net, loops, until_ms, at=None):
    """Ticks every live peer until ``until_ms``; ``at(now)`` runs before each tick's polls.
    Returns, per peer, [(now, TickResult)]."""
    log = [[] for _ in loops]
    for tick in range(int(until_ms / TICK)):
        now = tick * TICK
        net.advance_to(now)
        if at:
            at(now)
        for i, loop in enumerate(loops):
            if not net.closed(i, now):
                log[i].append((now, loop.tick(now)))
    return log


def first(log, kind):
    return next((now, e) for now, t in log for e in t.events if isinstance(e, kind))


def confirmed(log):
    return [c for _, t in log for c in t.confirmed]


def test_drop_peer_disconnects_at_once_from_the_frame_after_its_last_input():
    actions = random_actions(2, 200, seed=1)
    net = SimNetwork(seed=1, link=Link(latency_ms=150))
    loops = make_loops(net, actions)
    a = loops[0].session
    dropped = []
    def drop(now):
        if now >= 2000 and not dropped:
            dropped.append((a.current_frame, a.confirmed_frame))
            a.drop_peer(1)
            assert [type(e) for e in a.events()] == [Disconnected]  # queued at once
    log = drive(net, loops, 4000, at=drop)
    (current, confirmed_then), d = dropped[0], a.disconnect_frame(1)
    assert a.disconnects == [Disconnected(1, (1,), d)]
    assert confirmed_then < d < current  # later frames were simulated with predictions...
    stream = confirmed(log[0])
    assert all(c.rollback_depth > 0 for c in stream[d:current])  # ...and so were rolled back
    assert [c.inputs[1].status for c in stream[:d]] == [InputStatus.CONFIRMED] * d
    assert [c.actions[1] for c in stream[2:d]] == actions[1][:d - 2]  # input delay 2
    assert all(c.inputs[1].status is InputStatus.DISCONNECTED and c.actions[1] == 0 for c in stream[d:])
    assert len(stream) > current + 50  # and the survivor goes on alone
    a.drop_peer(1)  # once dropped, dropping again does nothing
    assert len(a.disconnects) == 1 and a.events() == []
    with pytest.raises(InvalidRequest, match=r"^drop_peer\('nobody'\): not a peer of this session \(peers: \[1\]\)$"):
        a.drop_peer("nobody")


def test_a_closed_connection_is_a_disconnect_on_the_next_poll():
    actions = random_actions(3, 200, seed=4)
    net = SimNetwork(seed=4, link=Link(latency_ms=80, jitter_ms=20, loss=0.05))
    assert isinstance(net.transport(0), ClosingTransport)
    net.close(2, 2000)
    loops = make_loops(net, actions)
    log = drive(net, loops, 5000)
    frames = []
    for i in (0, 1):
        now, event = first(log[i], Disconnected)
        assert 2000 <= now < 2000 + TICK and event.peer == 2  # the first poll after the close
        assert not any(isinstance(e, NetworkInterrupted) for _, t in log[i] for e in t.events)
        frames.append(loops[i].session.disconnect_frame(2))
    assert loops[0].session.disconnect_timeout == 5000  # long before the timeout
    # Both survivors drop player 2 at the same frame and confirm the same history: the run
    # without network where player 2's inputs stop there.
    assert frames[0] == frames[1]
    cut = [actions[0], actions[1], actions[2][:frames[0] - 2]]  # input delay 2
    expected = reference_history(lambda: StubGame(("p0", "p1", "p2")), cut, 100)
    for i in (0, 1):
        assert [c.checksum for c in confirmed(log[i])[:100]] == expected[1:]
        assert not loops[i].session.desyncs


def test_each_survivor_learns_of_the_close_once():
    net = SimNetwork()
    ends = [net.transport(i) for i in range(3)]
    net.close(2, 10)
    net.advance_to(5)
    assert [e.closed_peers() for e in ends] == [[], [], []]
    net.advance_to(10)
    assert [e.closed_peers() for e in ends] == [[2], [2], [0, 1]]
    assert [e.closed_peers() for e in ends] == [[], [], []]
    ends[2].send_to(0, b"late")
    ends[0].send_to(2, b"late")
    net.advance_to(20)
    assert ends[0].receive_all() == [] and ends[2].receive_all() == [] and net.lost == 2


def test_a_plain_transport_needs_no_closed_peers():
    net = SimNetwork()

    class Plain:  # the two required methods only
        def __init__(self, peer):
            self.inner = net.transport(peer)

        def send_to(self, peer, data):
            self.inner.send_to(peer, data)

        def receive_all(self):
            return self.inner.receive_all()

    assert isinstance(Plain(0), Transport) and not isinstance(Plain(0), ClosingTransport)
    a = SessionBuilder().add_local_player(0).add_remote_player(1, 1).start_p2p_session(Plain(0))
    net.close(1, 0)
    a.poll(0)
    a.poll(1000)
    assert a.disconnects == []  # only the timeout can tell


def test_survivors_agree_when_only_one_of_them_drops_a_peer():
    # Peer 2's packets reach peer 0 fast and peer 1 slowly. Peer 0 drops peer 2 at a frame
    # peer 1 has no inputs for yet; peer 1 must not take that frame (it would simulate the
    # missing inputs as predictions for good), but its own, and peer 0 must move back to it.
    actions = random_actions(3, 300, seed=5)
    net = SimNetwork(seed=5, link=Link(latency_ms=10))
    net.set_link(2, 1, Link(latency_ms=250), both_ways=False)
    loops = make_loops(net, actions)
    a, b = loops[0].session, loops[1].session
    log = drive(net, loops, 6000, at=lambda now: now >= 2000 and a.drop_peer(2))
    told, d = a.disconnects[0].frame, a.disconnect_frame(2)
    assert b.disconnect_frame(2) == d < told  # peer 0 held more inputs, and gave them up
    final = [[(c.frame, c.inputs, c.checksum) for c in confirmed(log[i])[:150]] for i in (0, 1)]
    assert final[0] == final[1] and not a.desyncs and not b.desyncs
    cut = [actions[0], actions[1], actions[2][:d - 2]]
    expected = reference_history(lambda: StubGame(("p0", "p1", "p2")), cut, 150)
    assert [checksum for _, _, checksum in final[0]] == expected[1:]
