"""The canonical encoding (mugkit.runtime.hashing): documented bytes, normalisation, properties."""

from __future__ import annotations

import copy
import math
import struct
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mugkit.runtime.hashing import UnencodableError, digest, encode


def _q(*ints: int) -> bytes:
    return b"".join(struct.pack(">q", i) for i in ints)


# --- the documented bytes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, b"N"),
        (True, b"T"),
        (False, b"F"),
        (1, b"i\x01\x01"),
        (0, b"i\x01\x00"),
        (-1, b"i\x01\xff"),
        (127, b"i\x01\x7f"),
        (128, b"i\x02\x00\x80"),
        (2**130, b"i\x11\x04" + b"\x00" * 16),
        (-(2**130) - 1, b"i\x11\xfb" + b"\xff" * 16),
        (0.0, b"f" + b"\x00" * 8),
        (-0.0, b"f\x80" + b"\x00" * 7),
        (1.5, b"f\x3f\xf8" + b"\x00" * 6),
        (float("inf"), b"f\x7f\xf0" + b"\x00" * 6),
        (complex(1, -2), b"c" + struct.pack(">dd", 1.0, -2.0)),
        ("hé", b"s\x03h\xc3\xa9"),
        ("", b"s\x00"),
        (b"ab", b"b\x02ab"),
        (bytearray(b"ab"), b"b\x02ab"),
        ([], b"l\x00"),
        ([1], b"l\x01i\x01\x01"),
        ([1, "a"], b"l\x02i\x01\x01s\x01a"),
        ((1, "a"), b"l\x02i\x01\x01s\x01a"),
        ([1, 2], b"q\x02" + _q(1, 2)),
        ([-1, 2**63 - 1, -(2**63)], b"q\x03" + _q(-1, 2**63 - 1, -(2**63))),
        ([True, False], b"l\x02TF"),
        ({"b": 1, "a": None}, b"d\x02s\x01aNs\x01bi\x01\x01"),
        ({3, 1, 2}, b"e\x03i\x01\x01i\x01\x02i\x01\x03"),
        (frozenset({"x"}), b"e\x01s\x01x"),
    ],
    ids=repr,
)
def test_documented_encoding_byte_for_byte(value, expected):
    assert encode(value) == expected


def test_lengths_are_leb128_varints():
    assert encode("x" * 200) == b"s\xc8\x01" + b"x" * 200
    assert encode([None] * 128)[:3] == b"l\x80\x01"


def test_bool_never_equals_int():
    assert encode(True) != encode(1)
    assert encode(False) != encode(0)
    assert digest([True, False]) != digest([1, 0])  # and the int fast path does not swallow bools
    assert digest({1: "a"}) != digest({True: "a"})


def test_signed_zero_and_nan_bit_patterns_differ():
    assert encode(-0.0) != encode(0.0)
    quiet = struct.unpack(">d", bytes.fromhex("7ff8000000000000"))[0]
    payload = struct.unpack(">d", bytes.fromhex("7ff8000000000001"))[0]
    assert math.isnan(quiet) and math.isnan(payload)
    assert encode(payload) == b"f" + bytes.fromhex("7ff8000000000001")
    assert encode(quiet) != encode(payload)
    assert encode(quiet) != encode(-quiet)  # the sign bit of a NaN counts too


def test_dict_insertion_order_does_not_matter():
    a = {"x": 1, 2: [1, 2], ("t", 1): None, "y": {"k": 1.5}}
    b = {"y": {"k": 1.5}, ("t", 1): None, 2: [1, 2], "x": 1}
    assert list(a) != list(b)
    assert encode(a) == encode(b)
    assert encode(OrderedDict(reversed(list(a.items())))) == encode(a)


def test_list_and_tuple_encode_alike_but_set_differs():
    assert encode([1, [2, 3]]) == encode((1, (2, 3)))
    assert encode([1, 2, 3]) == encode((1, 2, 3))
    assert encode({1, 2}) == encode(frozenset({2, 1}))
    assert encode({1, 2}) != encode([1, 2])


def test_set_order_is_canonical():
    items = ["b", "a", 3, None, (1, 2)]
    assert encode(set(items)) == encode(set(reversed(items)))


def test_int_fast_path_falls_back_for_big_ints():
    big = [1, 2**64]
    assert encode(big) == b"l\x02" + encode(1) + encode(2**64)
    assert encode(big) != encode([1, 0])
    assert digest([2**63, 1]) != digest([-(2**63), 1])  # no silent wrap-around


def test_int_fast_path_same_for_list_and_tuple():
    state = tuple(range(-300, 325))  # shaped like random.Random().getstate()[1]
    assert digest(state) == digest(list(state))
    assert encode(state)[:1] == b"q"


# --- numpy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scalar, plain",
    [(np.int64(3), 3), (np.int8(-3), -3), (np.uint64(2**64 - 1), 2**64 - 1), (np.float32(0.5), 0.5),
     (np.float64(-0.0), -0.0), (np.bool_(True), True), (np.bool_(False), False), (np.array(7), 7)],
    ids=repr,
)
def test_numpy_scalars_normalise_to_python(scalar, plain):
    assert encode(scalar) == encode(plain)


def test_numpy_bool_is_not_int():
    assert encode(np.bool_(True)) != encode(1)
    assert encode(np.int64(1)) != encode(True)


def test_numpy_array_encoding_documented_bytes():
    arr = np.array([1, 2], dtype="<i4")
    assert encode(arr) == b"a" + b"s\x03<i4" + b"\x01\x02" + struct.pack("<ii", 1, 2)


def test_numpy_array_hash_covers_dtype_shape_and_bytes():
    base = np.arange(6, dtype=np.int64).reshape(2, 3)
    assert digest(base) == digest(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert digest(base) != digest(base.reshape(3, 2))
    assert digest(base) != digest(base.astype(np.int32))
    assert digest(base) != digest(base.astype(np.float64))
    changed = base.copy()
    changed[1, 2] = 99
    assert digest(base) != digest(changed)
    assert digest(np.array([True, False])) != digest(np.array([1, 0], dtype=np.uint8))


def test_big_endian_array_hashes_as_little_endian():
    values = [1.5, -2.25, 3.0]
    big = np.array(values, dtype=">f8")
    little = np.array(values, dtype="<f8")
    assert big.tobytes() != little.tobytes()
    assert encode(big) == encode(little)
    assert encode(np.array([1, 2], dtype=">i2")) == encode(np.array([1, 2], dtype="<i2"))


def test_non_contiguous_array_hashes_like_its_copy():
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert encode(arr.T) == encode(np.ascontiguousarray(arr.T))
    assert encode(arr[:, ::2]) == encode(arr[:, ::2].copy())


def test_object_array_encodes_items():
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = "a", 2**70
    assert encode(arr) == b"A\x01\x02" + encode("a") + encode(2**70)


# --- errors -------------------------------------------------------------------------------------------


def test_arbitrary_object_is_unencodable():
    class Thing:
        pass

    with pytest.raises(UnencodableError, match=r"no canonical encoding for .*Thing"):
        encode(Thing())
    with pytest.raises(UnencodableError):
        digest({"k": [1, object()]})
    assert issubclass(UnencodableError, TypeError)


# --- properties ---------------------------------------------------------------------------------------

_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(_plain)
def test_digest_survives_deepcopy(x):
    assert digest(x) == digest(copy.deepcopy(x))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=4) | st.integers(), st.integers() | st.text(max_size=4), min_size=2,
                       max_size=6), st.randoms(use_true_random=False))
def test_dict_order_never_matters(d, rnd):
    items = list(d.items())
    rnd.shuffle(items)
    assert encode(dict(items)) == encode(d)


@settings(max_examples=300, deadline=None)
@given(st.integers(), st.integers())
def test_different_ints_encode_differently(a, b):
    assert (encode(a) == encode(b)) == (a == b)
    assert (encode([a, b]) == encode([b, a])) == (a == b)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_floats_equal_exactly_when_bits_equal(a, b):
    assert (encode(a) == encode(b)) == (struct.pack(">d", a) == struct.pack(">d", b))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20))
def test_int_lists_hash_alike_as_list_and_tuple(xs):
    assert digest(xs) == digest(tuple(xs))
    assert digest(xs) != digest([float(x) for x in xs]) or not xs


def test_numpy_ints_in_a_list_normalise_like_python_ints():
    assert encode([np.int64(1), np.int64(2)]) == encode([1, 2])
    assert encode((np.int32(5), 6)) == encode([5, 6])


def test_int_encoding_is_minimal_twos_complement():
    assert encode(-128) == b"i\x01\x80"
    assert encode(-(2**63)) == b"i\x08\x80" + b"\x00" * 7
