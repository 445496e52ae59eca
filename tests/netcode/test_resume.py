"""A session resumed at a frame of a running game (a reloaded peer rejoining): its misuse is
refused; its use is tested through PeerGame (test_peer_game.py)."""

import pytest

from mugkit.netcode import InvalidRequest, SessionBuilder
from mugkit.netcode.simnet import SimNetwork


def session():
    return SessionBuilder().add_local_player(0).add_remote_player(1, "b").start_p2p_session(SimNetwork().transport("a"))


def test_resume_only_before_the_first_poll_and_at_a_frame():
    s = session()
    with pytest.raises(InvalidRequest, match=r"resume_at\(frame=-1\): expected a frame number >= 0"):
        s.resume_at(-1, {}, {})
    s.poll(0)
    with pytest.raises(InvalidRequest, match="must come before the session's first poll"):
        s.resume_at(5, {}, {})


def test_a_resumed_session_starts_at_its_frame_with_the_inputs_known():
    s = session()
    s.resume_at(10, {0: {8: 1, 9: 2, 10: 3}, 1: {9: 4, 10: 5, 11: 6}}, {"b": 9})
    assert s.current_frame == 10 and s.confirmed_frame == 9
    assert s.held_upto(1) == 11 and s.held_upto(0) >= 10
    assert s.next_local_frame == max(11, 10 + s.input_delay)


def test_restarted_names_a_peer():
    with pytest.raises(InvalidRequest, match=r"restarted\('zz'\): not a peer of this session"):
        session().restarted("zz")
