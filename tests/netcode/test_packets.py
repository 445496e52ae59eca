"""The stated maximum packet size: never exceeded when sending (fewer frames of inputs go in a
packet; a frame too big alone is refused where it is added), and bigger packets are dropped
unread."""

import random

import pytest

from mugkit.netcode import MAX_PACKET_BYTES, InvalidRequest, SessionBuilder
from mugkit.netcode.messages import Input, decode_message, encode_message
from mugkit.netcode.simnet import Link, SimNetwork, reference_history, run_peers

from netcode_stubs import StubGame


def two_sessions(net, players=((0,), (1,))):
    def make(i):
        b = SessionBuilder().with_num_players(sum(map(len, players)))
        for h in players[i]:
            b.add_local_player(h)
        for h in players[1 - i]:
            b.add_remote_player(h, 1 - i)
        return b.start_p2p_session(net.transport(i))
    return make(0), make(1)


def test_the_limit_fits_a_webrtc_data_channel_message():
    assert MAX_PACKET_BYTES <= 16 * 1024


def test_an_action_too_big_for_a_packet_is_refused_naming_size_and_limit():
    a, _ = two_sessions(SimNetwork())
    with pytest.raises(InvalidRequest, match=rf"^handle=0: action too big to send: a packet with one frame of the "
                                             rf"local actions takes up to \d+ bytes, over MAX_PACKET_BYTES="
                                             rf"{MAX_PACKET_BYTES}$"):
        a.add_local_input(0, b"x" * MAX_PACKET_BYTES)
    a.add_local_input(0, b"x" * (MAX_PACKET_BYTES - 200))  # near the limit is fine


def test_the_limit_counts_every_local_handle_of_the_frame():
    a, _ = two_sessions(SimNetwork(), players=((0, 2), (1,)))
    half = b"x" * (MAX_PACKET_BYTES // 2)
    a.add_local_input(0, half)
    with pytest.raises(InvalidRequest, match=r"^handle=2: action too big to send"):
        a.add_local_input(2, half)


def test_a_default_action_too_big_for_a_packet_is_refused_by_the_builder():
    b = (SessionBuilder().with_default_action("x" * MAX_PACKET_BYTES)
         .add_local_player(0).add_remote_player(1, "b"))
    with pytest.raises(InvalidRequest, match=r"^default_action: a packet with one frame of it takes up to \d+ bytes"):
        b.start_p2p_session(SimNetwork().transport("a"))


class SpyNetwork(SimNetwork):
    """Records every packet sent, by sender."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.packets = []

    def transport(self, peer):
        inner = super().transport(peer)
        spy = self

        class Spy:
            def send_to(self, to, data):
                spy.packets.append((peer, data))
                inner.send_to(to, data)

            def receive_all(self):
                return inner.receive_all()
        return Spy()


def test_a_backlog_of_big_inputs_is_sent_in_packets_within_the_limit():
    rng = random.Random(3)
    big = MAX_PACKET_BYTES // 5  # about four frames of one player fit in a packet
    actions = [[bytes([rng.randrange(256)]) * big for _ in range(60)] for _ in range(2)]
    net = SpyNetwork(seed=3, link=Link(latency_ms=150, jitter_ms=20, loss=0.2))
    make = lambda: StubGame()
    results = run_peers(make, actions, 60, network=net, default_action=b"")
    assert all(r.history == reference_history(make, actions, 60, default_action=b"") for r in results)
    assert max(len(data) for _, data in net.packets) <= MAX_PACKET_BYTES
    inputs = [decode_message(data) for _, data in net.packets]
    inputs = [m for m in inputs if isinstance(m, Input)]
    # Loss and latency left more unacknowledged big frames than fit (five would take 16,395
    # bytes): packets were cut to four of them.
    big_frames = [sum(len(frame[0]) == big for frame in m.inputs) for m in inputs]
    assert max(big_frames) == 4
    assert big_frames.count(4) > 10


def test_an_oversized_packet_is_dropped_unread():
    net = SimNetwork()
    a, _ = two_sessions(net)
    b_end = net.transport(1)
    def input_packet(action):
        return encode_message(Input(0, -1, 0, (1,), ((action,),), ((False, -1), (False, 0))))
    oversized = input_packet(b"x" * MAX_PACKET_BYTES)
    assert len(oversized) > MAX_PACKET_BYTES
    b_end.send_to(0, oversized)
    net.advance_to(0)
    a.poll(0)
    assert a.stats.packets_dropped == 1 and a.stats.packets_received == 1
    assert not a.running  # not decoded: a valid packet from b would have synchronized it
    b_end.send_to(0, input_packet(b"x"))
    net.advance_to(1)
    a.poll(1)
    assert a.running and a.stats.packets_dropped == 1


def test_encode_input_keeps_the_first_frames_that_fit():
    from dataclasses import replace
    from mugkit.netcode.messages import encode_input
    frames = tuple((bytes([i]) * 3000,) for i in range(10))
    msg = Input(7, 3, 9, (0,), frames, ((False, 3), (False, 16)))
    data, n = encode_input(msg, MAX_PACKET_BYTES)
    assert n == 5 and len(data) <= MAX_PACKET_BYTES
    assert decode_message(data) == replace(msg, inputs=frames[:5])
    assert len(encode_message(replace(msg, inputs=frames[:6]))) > MAX_PACKET_BYTES  # 5 is the most
    small = replace(msg, inputs=frames[:2])
    assert encode_input(small) == (encode_message(small), 2)
