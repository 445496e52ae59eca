"""Game state cells take their frame from the session (``expect``), and a LoadState for a state
that is not there is an error that says whose fault it is: the caller's (InvalidRequest) or
mugkit's own (InternalError, never a bare AssertionError)."""

import pytest

from mugkit.netcode import GameStateCell, InvalidRequest, LoadState, SaveState, SessionBuilder
from mugkit.netcode.simnet import SimNetwork
from mugkit.runtime.errors import InternalError


def test_a_cell_saves_under_the_frame_the_session_expects():
    saved = []
    cell = GameStateCell(lambda frame, checksum: saved.append((frame, checksum)))
    assert (cell.frame, cell.expected_frame) == (-1, -1)
    cell.expect(7)
    assert (cell.frame, cell.expected_frame) == (-1, 7)
    cell.save("state", "abc")
    assert (cell.frame, cell.load(), cell.checksum, saved) == (7, "state", "abc", [(7, "abc")])


def synctest_frames(session, n, save=lambda r: r.cell.save(f"state{r.frame}", r.frame)):
    """Runs ``n`` frames of a one-player sync test, fulfilling SaveState with ``save``."""
    for _ in range(n):
        session.add_local_input(0, 0)
        for r in session.advance_frame():
            if isinstance(r, SaveState):
                save(r)
            elif isinstance(r, LoadState):
                assert r.cell.load() == f"state{r.frame}"


def test_an_unfulfilled_save_is_the_callers_error():
    session = SessionBuilder().with_num_players(1).start_synctest_session()
    skip_frame_0 = lambda r: None if r.frame == 0 else r.cell.save(f"state{r.frame}", r.frame)
    synctest_frames(session, 2, save=skip_frame_0)
    with pytest.raises(InvalidRequest, match=r"^SaveState\(0\) was not fulfilled: call request.cell.save"):
        synctest_frames(session, 1)


def test_a_cell_that_never_held_the_frame_is_an_internal_error():
    session = SessionBuilder().with_num_players(1).start_synctest_session()
    # A contrived misuse of the session's side of the cell: frame 0's cell is re-filed under
    # another frame, as if the session had lost track of its cells.
    def refile_frame_0(r):
        if r.frame == 0:
            r.cell.expect(99)
        r.cell.save(f"state{r.frame}", r.frame)
    synctest_frames(session, 2, save=refile_frame_0)
    with pytest.raises(InternalError, match=r"^internal error in mugkit \(please report it\): state of frame 0 "
                                            r"is not saved \(the cell holds frame 99") as e:
        synctest_frames(session, 1)
    assert not isinstance(e.value, AssertionError)


def test_a_p2p_rollback_to_an_unsaved_state_is_the_callers_error():
    net = SimNetwork()
    def make(local, remote):
        return (SessionBuilder().with_input_delay(0).add_local_player(local)
                .add_remote_player(remote, remote).start_p2p_session(net.transport(local)))
    a, b = make(0, 1), make(1, 0)
    for _ in range(2):  # hello, then the answers: both synchronized
        net.advance_to(0)
        a.poll(0)
        b.poll(0)
    a.add_local_input(0, 5)
    a.advance_frame()          # SaveState(0) left unfulfilled; frame 0 predicts b's input 0
    b.add_local_input(1, 9)    # b's real input differs: a must roll back to frame 0
    for r in b.advance_frame():
        if isinstance(r, SaveState):
            r.cell.save(None)
    net.advance_to(1)
    a.poll(1)
    a.add_local_input(0, 5)
    with pytest.raises(InvalidRequest, match=r"^SaveState\(0\) was not fulfilled"):
        a.advance_frame()
