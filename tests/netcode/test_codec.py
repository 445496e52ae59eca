import math
import struct

import pytest
from hypothesis import given, strategies as st

from mugkit.netcode import codec
from mugkit.netcode.codec import CodecError, decode, encode


def same(a, b) -> bool:
    """Equal including types, float bit patterns (NaN payloads, -0.0) and container kinds."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


nan_bits = st.integers(0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF).map(
    lambda bits: struct.unpack(">d", bits.to_bytes(8, "big"))[0])
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-2**200, 2**200)
           | st.floats(allow_nan=True, allow_infinity=True) | nan_bits | st.just(-0.0)
           | st.text(max_size=8) | st.binary(max_size=8))
keys = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.tuples(st.integers())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


@given(values)
def test_round_trip_is_exact(v):
    assert same(decode(encode(v)), v)


@pytest.mark.parametrize("value", [-0.0, 0.0, True, 1, False, 0, 2**128 + 1, -(2**70), (1, 2), [1, 2],
                                   {1: "a", "1": "b", (2, 3): [4]},
                                   float("inf"), None, [0.1, -0.0, [None, (True,)]]])
def test_edge_values_survive(value):
    assert same(decode(encode(value)), value)


def test_bool_and_int_encode_differently():
    assert encode(True) != encode(1)
    assert encode(False) != encode(0)
    assert type(decode(encode(1))) is int and decode(encode(True)) is True


def test_nan_payload_is_kept():
    weird = struct.unpack(">d", bytes.fromhex("7ff8000000000abc"))[0]
    assert struct.pack(">d", decode(encode(weird))).hex() == "7ff8000000000abc"
    assert math.copysign(1.0, decode(encode(-0.0))) == -1.0


def test_small_ints_are_compact():
    assert len(encode(3)) == 2 and len(encode(-3)) == 2
    assert len(encode([1, 2, 3, 4])) == 10


def test_tolist_values_are_encoded_as_plain_python():
    class FakeNumpy:
        def tolist(self):
            return [1, 2]
    assert decode(encode(FakeNumpy())) == [1, 2]


def test_unknown_type_is_rejected_with_its_name():
    with pytest.raises(CodecError, match=r"^cannot encode a set \(\{1\}\); actions must be"):
        encode({1})


@pytest.mark.parametrize("data, message", [
    (b"", r"^truncated: expected a value at byte 0$"),
    (b"\x63", r"^unknown tag 0x63 at byte 0$"),
    (b"\x04\x00\x00", r"^truncated float at byte 1$"),
    (b"\x05\x05ab", r"^length 5 at byte 2 exceeds the 2 bytes left$"),
    (b"\x03\x80", r"^truncated varint at byte 2$"),
    (b"\x00\x00", r"^1 bytes left over after the value at byte 1$"),
    (b"\x05\x01\xff", r"^invalid UTF-8 in the string at byte 2"),
    (b"\x09\x01\x07\x00\x00", r"^unhashable dict key of type list"),
])
def test_malformed_bytes_raise_codec_error(data, message):
    with pytest.raises(CodecError, match=message):
        decode(data)


def test_deep_nesting_is_refused_both_ways():
    deep = []
    for _ in range(codec.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(CodecError, match="deeper than 32"):
        encode(deep)
    with pytest.raises(CodecError, match="deeper than 32"):
        decode(b"\x07\x01" * 40 + b"\x00")


@given(st.binary(max_size=64))
def test_random_bytes_never_crash(data):
    try:
        decode(data)
    except CodecError:
        pass
