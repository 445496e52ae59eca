"""Exact request sequences, GGRS style, through the public session API."""

import pytest

from mugkit.netcode import (AdvanceFrame, InvalidRequest, LoadState, MismatchedChecksum,
                            SaveState, SessionBuilder, WaitingForInputs)
from mugkit.netcode.simnet import SimNetwork

C, P = "confirmed", "predicted"


def describe(requests):
    """Requests as plain tuples, fulfilling every SaveState with checksum ``frame * 10``."""
    out = []
    for r in requests:
        if isinstance(r, SaveState):
            r.cell.save(f"state{r.frame}", r.frame * 10)
            out.append(("save", r.frame))
        elif isinstance(r, LoadState):
            assert r.cell.load() == f"state{r.frame}"
            out.append(("load", r.frame))
        else:
            assert isinstance(r, AdvanceFrame)
            out.append(("advance", r.frame, tuple((i.action, i.status.value) for i in r.inputs)))
    return out


def connected_pair(input_delay=0, max_rollback=8):
    """Two sessions, handle 0 on "a", handle 1 on "b", on a perfect network, synchronized."""
    net = SimNetwork()
    def make(local, remote, peer, addr):
        return (SessionBuilder().with_input_delay(input_delay).with_max_rollback(max_rollback)
                .add_local_player(local).add_remote_player(remote, peer).start_p2p_session(net.transport(addr)))
    a, b = make(0, 1, "b", "a"), make(1, 0, "a", "b")
    exchange(net, a, b)
    return net, a, b


def exchange(net, *sessions, now=0):
    for _ in range(2):  # out, then the answers
        net.advance_to(now)
        for s in sessions:
            s.poll(now)


def step(session, action):
    session.add_local_input(session.local_handles[0], action)
    return describe(session.advance_frame())


def test_no_frame_before_peers_are_synchronized():
    net = SimNetwork()
    a = SessionBuilder().add_local_player(0).add_remote_player(1, "b").start_p2p_session(net.transport("a"))
    a.poll(0)
    assert not a.running
    assert step(a, 5) == []


def test_first_frames_predict_the_default_action():
    _, a, _ = connected_pair()
    assert a.running
    assert step(a, 5) == [("save", 0), ("advance", 0, ((5, C), (0, P)))]
    assert step(a, 6) == [("save", 1), ("advance", 1, ((6, C), (0, P)))]


def test_input_delay_fills_the_first_frames_with_the_default_action():
    _, a, _ = connected_pair(input_delay=2)
    assert step(a, 5) == [("save", 0), ("advance", 0, ((0, C), (0, P)))]
    assert step(a, 6) == [("save", 1), ("advance", 1, ((0, C), (0, P)))]
    assert step(a, 7) == [("save", 2), ("advance", 2, ((5, C), (0, P)))]


def test_a_wrong_prediction_rolls_back_and_resimulates_in_order():
    net, a, b = connected_pair()
    step(a, 5)
    step(a, 6)
    assert step(b, 9) == [("save", 0), ("advance", 0, ((0, P), (9, C)))]
    exchange(net, a, b, now=1)
    assert step(a, 7) == [
        ("load", 0),
        ("advance", 0, ((5, C), (9, C))), ("save", 1),
        ("advance", 1, ((6, C), (9, P))), ("save", 2),   # prediction: the last confirmed input, 9
        ("advance", 2, ((7, C), (9, P))),
    ]
    assert a.stats.rollbacks == 1 and a.stats.max_rollback_depth == 2


def test_a_right_prediction_needs_no_rollback():
    net, a, b = connected_pair()
    step(a, 5)
    step(b, 0)  # equals the predicted default
    exchange(net, a, b, now=1)
    assert step(a, 5) == [("save", 1), ("advance", 1, ((5, C), (0, P)))]
    assert a.stats.rollbacks == 0


def test_the_prediction_window_is_never_exceeded():
    _, a, _ = connected_pair(max_rollback=2)
    assert step(a, 1) == [("save", 0), ("advance", 0, ((1, C), (0, P)))]
    assert step(a, 1) == [("save", 1), ("advance", 1, ((1, C), (0, P)))]
    assert step(a, 1) == []  # frame 2 would be 3 frames past the last confirmed frame -1
    assert step(a, 1) == []
    waits = [e for e in a.events() if isinstance(e, WaitingForInputs)]
    assert waits == [WaitingForInputs(frame=2, confirmed_frame=-1)]  # once per wait
    assert a.stats.frames_stalled == 2 and a.current_frame == 2


def test_missing_local_input_is_an_invalid_request():
    _, a, _ = connected_pair()
    with pytest.raises(InvalidRequest, match=r"^no local input for handles \[0\]: call add_local_input"):
        a.advance_frame()
    with pytest.raises(InvalidRequest, match=r"^handle=1: not a local player \(local: \[0\]\)$"):
        a.add_local_input(1, 0)


def synctest(check_distance=2, input_delay=0, players=1):
    return (SessionBuilder().with_num_players(players).with_check_distance(check_distance)
            .with_input_delay(input_delay).start_synctest_session())


def test_sync_test_request_order():
    s = synctest()
    def frame(action):
        s.add_local_input(0, action)
        return describe(s.advance_frame())
    assert frame(1) == [("save", 0), ("advance", 0, ((1, C),))]
    assert frame(2) == [("save", 1), ("advance", 1, ((2, C),))]
    assert frame(3) == [("save", 2), ("load", 0), ("advance", 0, ((1, C),)), ("save", 1),
                        ("advance", 1, ((2, C),)), ("save", 2), ("advance", 2, ((3, C),))]
    assert frame(4) == [("save", 3), ("load", 1), ("advance", 1, ((2, C),)), ("save", 2),
                        ("advance", 2, ((3, C),)), ("save", 3), ("advance", 3, ((4, C),))]


def test_sync_test_raises_on_a_random_checksum():
    s = synctest()
    counter = iter(range(10**6))
    with pytest.raises(MismatchedChecksum) as e:
        for _ in range(5):
            s.add_local_input(0, 0)
            for r in s.advance_frame():
                if isinstance(r, SaveState):
                    r.cell.save(None, next(counter))  # a new checksum every time: never deterministic
    assert e.value.frame == 1 and e.value.mismatched_frames == [1, 2]
    assert str(e.value).startswith("frame 1: checksum 1 when first simulated, 3 after rollback")
    assert s.mismatches == [e.value]


def test_only_exchanged_checksums_are_asked_for():
    net = SimNetwork()
    a = (SessionBuilder().with_checksum_interval(3).with_input_delay(0).add_local_player(0)
         .add_remote_player(1, "b").start_p2p_session(net.transport("a")))
    b = (SessionBuilder().add_local_player(1).add_remote_player(0, "a").start_p2p_session(net.transport("b")))
    exchange(net, a, b)
    needed = []
    for _ in range(7):
        a.add_local_input(0, 0)
        needed += [r.frame for r in a.advance_frame() if isinstance(r, SaveState) and r.checksum_needed]
    assert needed == [0, 3, 6]
