"""The stream of confirmed frames (``drain_confirmed_frames``): final inputs, checksums, and
how each frame went (predicted at first, rolled back how deep)."""

import random

from mugkit.netcode import ConfirmedFrame, InputStatus, PlayerInput, SaveState, SessionBuilder
from mugkit.netcode.confirmed import FrameLog
from mugkit.netcode.desync import CONFIRMED_KEPT
from mugkit.netcode.simnet import Link, SimNetwork, reference_history, run_peers

from netcode_stubs import StubGame


def random_actions(players, frames, seed=0):
    rng = random.Random(seed)
    return [[rng.randrange(5) for _ in range(frames)] for _ in range(players)]


def check_stream(r, frames):
    """The frames of one peer's stream are 0, 1, ... in order, final, and what it simulated."""
    stream = r.confirmed
    assert [c.frame for c in stream] == list(range(len(stream))) and len(stream) >= frames
    for c in stream[:frames]:
        assert all(i.status is InputStatus.CONFIRMED for i in c.inputs)
        assert c.actions == r.inputs[c.frame]          # what the game was last advanced with
        assert c.checksum == r.history[c.frame + 1]    # the state after the frame


def test_a_lossless_zero_latency_run_has_no_rollback_and_predicts_only_the_start():
    actions = random_actions(2, 100)
    results = run_peers(StubGame, actions, 100)
    for r in results:
        check_stream(r, 100)
        assert all(c.rollback_depth == 0 for c in r.confirmed)
        # A peer starts as soon as it hears from the other, before that one's first inputs
        # arrive: only frame 0 is a prediction (of the default action, which is right).
        assert [c.frame for c in r.confirmed if c.predicted] == [0]
    assert results[0].confirmed[:100] == results[1].confirmed[:100]


def test_latency_and_loss_show_in_predicted_and_rollback_depth():
    actions = random_actions(3, 150, seed=2)
    net = SimNetwork(seed=2, link=Link(latency_ms=120, jitter_ms=30, loss=0.1, reorder=0.1))
    results = run_peers(lambda: StubGame(("p0", "p1", "p2")), actions, 150, network=net, max_rollback=6)
    expected = reference_history(lambda: StubGame(("p0", "p1", "p2")), actions, 150)
    for r in results:
        assert r.history == expected
        check_stream(r, 150)
        depths = [c.rollback_depth for c in r.confirmed]
        assert max(depths) == r.stats.max_rollback_depth and 1 <= max(depths) <= 6
        assert 0 < depths.count(0) < len(depths)  # some frames were never rolled back
        assert sum(c.predicted for c in r.confirmed) > 100
        # Without disconnects, a frame is re-simulated only if it was first simulated with a
        # prediction (a packet bringing frame f + 1 of a player brings frame f too).
        assert all(c.predicted for c in r.confirmed if c.rollback_depth)
    # Every peer confirms the same inputs and checksums; only how it got there differs.
    final = [[(c.frame, c.inputs, c.checksum) for c in r.confirmed[:150]] for r in results]
    assert final[0] == final[1] == final[2]


def test_a_dropped_player_is_confirmed_as_disconnected():
    actions = random_actions(3, 200, seed=11)
    net = SimNetwork(seed=11, link=Link(latency_ms=80, jitter_ms=20, loss=0.05))
    net.pause(2, 2000, 10**9)
    a, b, _ = run_peers(lambda: StubGame(("p0", "p1", "p2")), actions, 200, network=net,
                        disconnect_timeout=1500)
    frame = a.session.disconnect_frame(2)
    for r in (a, b):
        statuses = [c.inputs[2].status for c in r.confirmed[:200]]
        assert statuses == [InputStatus.CONFIRMED] * frame + [InputStatus.DISCONNECTED] * (200 - frame)
        assert all(c.inputs[2].action == 0 for c in r.confirmed[frame:200])
    assert [c.inputs for c in a.confirmed[:200]] == [c.inputs for c in b.confirmed[:200]]


def test_unhashed_states_have_no_checksum():
    net = SimNetwork()
    sessions = []
    for local, remote in ((0, 1), (1, 0)):
        sessions.append(SessionBuilder().with_checksum_interval(4).add_local_player(local)
                        .add_remote_player(remote, remote).start_p2p_session(net.transport(local)))
    stream = []
    for tick in range(30):
        net.advance_to(tick)
        for i, s in enumerate(sessions):
            s.poll(tick)
            s.add_local_input(i, tick)
            for r in s.advance_frame():
                if isinstance(r, SaveState):  # hash only what the session needs
                    r.cell.save(None, f"hash{r.frame}" if r.checksum_needed else None)
        stream += sessions[0].drain_confirmed_frames()
    assert len(stream) > 20
    assert [c.checksum for c in stream] == [f"hash{c.frame + 1}" if (c.frame + 1) % 4 == 0 else None
                                            for c in stream]


def test_the_stream_survives_until_drained_and_keeps_the_latest_when_nobody_drains():
    net = SimNetwork()
    sessions = [SessionBuilder().add_local_player(i).add_remote_player(1 - i, 1 - i)
                .start_p2p_session(net.transport(i)) for i in (0, 1)]
    frames = CONFIRMED_KEPT + 50
    for tick in range(frames + 4):
        net.advance_to(tick)
        for i, s in enumerate(sessions):
            s.poll(tick)
            s.add_local_input(i, tick % 3)
            for r in s.advance_frame():
                if isinstance(r, SaveState):
                    r.cell.save(None)
    stream = sessions[0].drain_confirmed_frames()
    assert len(stream) == CONFIRMED_KEPT
    assert [c.frame for c in stream] == list(range(stream[0].frame, stream[0].frame + CONFIRMED_KEPT))
    assert stream[-1].frame >= frames - 1 and sessions[0].drain_confirmed_frames() == []


def test_the_frame_log_keeps_a_bounded_number_of_frames():
    log = FrameLog(kept=3)
    inputs = (PlayerInput(1, InputStatus.CONFIRMED),)
    for f in range(10):
        log.simulated(f, inputs)
    log.finalize(9, lambda f: inputs)
    for f in range(10):
        log.confirmed(f, f)
    assert log.drain() == [ConfirmedFrame(f, inputs, f, False, 0) for f in (7, 8, 9)]
