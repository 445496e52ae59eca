import pytest

from mugkit.netcode import (CHECK_DISTANCE, CHECKSUM_INTERVAL, DISCONNECT_NOTIFY_MS, DISCONNECT_TIMEOUT_MS,
                            INPUT_DELAY, MAX_ROLLBACK, InvalidRequest, P2PSession, SessionBuilder,
                            SyncTestSession)
from mugkit.netcode.simnet import SimNetwork


def two_players():
    return SessionBuilder().add_local_player(0).add_remote_player(1, "b")


def test_defaults_are_the_named_constants():
    sess = two_players().start_p2p_session(SimNetwork().transport("a"))
    assert isinstance(sess, P2PSession)
    assert (sess.input_delay, sess.max_rollback, sess.checksum_interval) == (INPUT_DELAY, MAX_ROLLBACK, CHECKSUM_INTERVAL)
    assert (sess.disconnect_timeout, sess.disconnect_notify_start) == (DISCONNECT_TIMEOUT_MS, DISCONNECT_NOTIFY_MS)
    assert (INPUT_DELAY, MAX_ROLLBACK, CHECK_DISTANCE, DISCONNECT_TIMEOUT_MS, DISCONNECT_NOTIFY_MS) == (2, 8, 2, 5000, 750)
    sync = SessionBuilder().start_synctest_session()
    assert isinstance(sync, SyncTestSession) and sync.check_distance == CHECK_DISTANCE


@pytest.mark.parametrize("configure, message", [
    (lambda b: b.with_max_rollback(0), r"^max_rollback=0: must be between 1 and 64$"),
    (lambda b: b.with_max_rollback(65), r"^max_rollback=65: must be between 1 and 64$"),
    (lambda b: b.with_input_delay(-1), r"^input_delay=-1: must be between 0 and 30$"),
    (lambda b: b.with_input_delay(2.0), r"^input_delay=2.0: must be an int$"),
    (lambda b: b.with_checksum_interval(0), r"^checksum_interval=0: must be at least 1$"),
    (lambda b: b.with_disconnect_notify_start(6000),
     r"^disconnect_notify_start=6000: must be below disconnect_timeout=5000$"),
    (lambda b: b.with_default_action({1, 2}), r"^default_action=\{1, 2\}: cannot encode a set"),
    (lambda b: b.with_num_players(5), r"^num_players=5: must be between 2 and 4$"),
])
def test_bad_settings_are_quoted(configure, message):
    with pytest.raises(InvalidRequest, match=message):
        configure(two_players()).start_p2p_session(SimNetwork().transport("a"))


def test_every_problem_is_reported_at_once():
    b = SessionBuilder().with_num_players(3).with_max_rollback(0).add_local_player(0).add_local_player(0)
    with pytest.raises(InvalidRequest) as e:
        b.start_p2p_session(object())
    assert str(e.value) == (
        "max_rollback=0: must be between 1 and 64; handles [0]: each handle must be added once; "
        "handles [1, 2] have no player: add each handle 0..2 with add_local_player or add_remote_player; "
        "no remote player: a P2P session needs add_remote_player (use a sync test alone); "
        "transport object has no send_to() method; transport object has no receive_all() method")


def test_one_player_is_not_a_p2p_session_but_is_a_sync_test():
    with pytest.raises(InvalidRequest, match=r"^num_players=1: must be between 2 and 4"):
        SessionBuilder().with_num_players(1).add_local_player(0).start_p2p_session(SimNetwork().transport(0))
    assert SessionBuilder().with_num_players(1).start_synctest_session().num_players == 1


def test_sync_test_check_distance_is_bounded_by_the_window():
    with pytest.raises(InvalidRequest, match=r"^check_distance=9: must be between 1 and max_rollback=8$"):
        SessionBuilder().with_check_distance(9).start_synctest_session()
    with pytest.raises(InvalidRequest, match=r"^remote players \[1\]: a sync test has only local players$"):
        two_players().start_synctest_session()
