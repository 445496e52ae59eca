"""Wire messages: exact round trips and clear errors for malformed packets."""

import pytest
from hypothesis import given, strategies as st

from mugkit.netcode import ProtocolError
from mugkit.netcode.events import EventQueue, Synchronized
from mugkit.netcode.messages import (Checksum, Hello, Input, Quality, QualityReply, decode_message,
                                     encode_message)

actions = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(st.integers(0, 3), max_size=3)


@given(st.integers(0, 10**6), st.integers(-1, 10**6), st.integers(0, 10**6),
       st.lists(st.tuples(actions, actions), max_size=10))
def test_input_round_trip(start, ack, frame, inputs):
    msg = Input(start, ack, frame, (0, 2), tuple(inputs), ((False, 3), (True, 7), (False, -1)))
    assert decode_message(encode_message(msg)) == msg


@pytest.mark.parametrize("msg", [Hello(3), Quality(-2.5, 1234.0), QualityReply(99.0), Checksum(40, "00ff"),
                                 Checksum(50, None)])
def test_other_messages_round_trip(msg):
    assert decode_message(encode_message(msg)) == msg


def test_an_input_packet_is_small():
    # Eight unacknowledged frames of one Discrete action: the redundancy costs little.
    msg = Input(100, 99, 108, (1,), tuple((a,) for a in range(8)), ((False, 107), (False, 99)))
    assert len(encode_message(msg)) <= 70


@pytest.mark.parametrize("data, message", [
    (b"MK", r"^not a mugkit packet \(starts with b'MK'\)$"),
    (b"XX\x01\x01\x00", r"^not a mugkit packet"),
    (b"MK\x02\x01\x00", r"^protocol version 2, this session speaks 1$"),
    (b"MK\x01\x09\x00", r"^unknown message kind 9$"),
    (b"MK\x01\x01\x63", r"^Hello: unknown tag 0x63 at byte 0$"),
    (b"MK\x01\x01\x08\x02\x03\x02\x03\x02", r"^Hello: expected a tuple of 1 fields$"),
    (b"MK\x01\x01\x08\x01\x03\x00", r"^num_players=0: expected an int between 1 and 2\*\*40$"),
    (encode_message(Input(0, -1, 0, (0,), ((1, 2),), ())), r"^Input: inputs must be a tuple of tuples of 1 actions$"),
    (encode_message(Input(0, -1, 0, (0,), (), ((1, 2),))), r"^Input: status=\(\(1, 2\),\): expected \(bool, int\) pairs$"),
    (encode_message(Input(0, -2, 0, (0,), (), ())), r"^ack=-2: expected an int between -1 and 2\*\*40$"),
    (encode_message(Quality(float("nan"), 0.0)), r"^advantage=nan: expected a number$"),
])
def test_malformed_messages_raise_protocol_error(data, message):
    with pytest.raises(ProtocolError, match=message):
        decode_message(data)


@given(st.binary(max_size=80))
def test_random_packets_never_raise_anything_else(data):
    try:
        decode_message(b"MK\x01" + data)
    except ProtocolError:
        pass


def test_event_queue_drops_the_oldest_when_full():
    q = EventQueue(2)
    for peer in "abc":
        q.push(Synchronized(peer))
    assert q.drain() == [Synchronized("b"), Synchronized("c")] and q.dropped == 1
    assert q.drain() == []
