"""mugkit.spaces: pure-Python contains/sample, the gymnasium equivalents, constructor errors."""

from __future__ import annotations

import math
import random

import gymnasium
import numpy as np
import pytest

from mugkit.spaces import Box, Dict, Discrete, MultiDiscrete, Tuple, is_gymnasium_space


def _samples(space, n=200, seed=0, mask=None):
    rng = random.Random(seed)
    return [space.sample(rng, mask) for _ in range(n)]


# --- Discrete ----------------------------------------------------------------------------------------


def test_discrete_contains():
    d = Discrete(3, start=-1)
    assert [x for x in range(-3, 4) if d.contains(x)] == [-1, 0, 1]
    assert 0 in d and 2 not in d
    assert d.contains(np.int64(1)) and not d.contains(np.int64(2))
    assert not d.contains(True)  # a bool is not an action number
    assert not d.contains(0.0)
    assert not d.contains("0")
    assert not d.contains([0])


def test_discrete_sample_covers_the_range_with_start():
    values = _samples(Discrete(4, start=10))
    assert set(values) == {10, 11, 12, 13}
    assert all(type(v) is int for v in values)


def test_discrete_sample_is_a_function_of_the_rng():
    assert _samples(Discrete(100), seed=7) == _samples(Discrete(100), seed=7)
    assert _samples(Discrete(100), seed=7) != _samples(Discrete(100), seed=8)


def test_discrete_sample_respects_mask():
    values = _samples(Discrete(5, start=2), mask=[0, 1, 0, 1, 0])
    assert set(values) == {3, 5}
    assert set(_samples(Discrete(5), mask=np.array([0, 0, 1, 0, 0], dtype=np.int8))) == {2}


def test_discrete_all_zero_mask_gives_start():
    assert set(_samples(Discrete(4, start=7), mask=[0, 0, 0, 0], n=20)) == {7}


def test_discrete_mask_of_wrong_length_is_an_error():
    with pytest.raises(ValueError, match=r"mask has 2 entries, Discrete\(3\) needs 3"):
        Discrete(3).sample(random.Random(0), [1, 1])


@pytest.mark.parametrize("n, start, needle", [(0, 0, "actual: 0"), (-2, 0, "actual: -2"), (2.5, 0, "actual: 2.5"),
                                              (True, 0, "actual: True"), (3, 1.0, "actual: 1.0"),
                                              (3, None, "actual: None")])
def test_discrete_bad_args(n, start, needle):
    with pytest.raises(ValueError, match=needle):
        Discrete(n, start)


# --- MultiDiscrete ---------------------------------------------------------------------------------------


def test_multidiscrete_contains_and_sample():
    md = MultiDiscrete([2, 3])
    assert md.contains([1, 2]) and md.contains((0, 0)) and md.contains(np.array([1, 2]))
    assert not md.contains([2, 0]) and not md.contains([0, 3]) and not md.contains([0])
    assert not md.contains([0, 1, 1]) and not md.contains(5) and not md.contains([True, 0])
    values = _samples(md)
    assert all(md.contains(v) for v in values)
    assert {tuple(v) for v in values} == {(a, b) for a in range(2) for b in range(3)}


def test_multidiscrete_sample_with_masks():
    values = _samples(MultiDiscrete([3, 2]), mask=[[0, 0, 1], [1, 0]], n=20)
    assert {tuple(v) for v in values} == {(2, 0)}


@pytest.mark.parametrize("nvec", [[], [2, 0], [2, -1], [1.5], ["3"]])
def test_multidiscrete_bad_args(nvec):
    with pytest.raises(ValueError, match=r"MultiDiscrete expects .*actual: " + __import__("re").escape(repr(nvec))):
        MultiDiscrete(nvec)


# --- Box --------------------------------------------------------------------------------------------------


def test_box_int_with_shape():
    b = Box(0, 10, shape=(2,), dtype="int")
    assert b.low == [0, 0] and b.high == [10, 10]
    assert b.contains([3, 10]) and b.contains((0, 0)) and b.contains(np.array([1, 2]))
    assert not b.contains([3, 11]) and not b.contains([-1, 0])
    assert not b.contains([3.0, 4])  # floats are not ints
    assert not b.contains([True, 1])
    assert not b.contains([1, 2, 3]) and not b.contains([[1, 2]]) and not b.contains(3)
    values = _samples(b)
    assert all(b.contains(v) for v in values)
    assert {v[0] for v in values} >= {0, 10}  # bounds are inclusive


def test_box_float_accepts_ints_and_floats():
    b = Box(-1.0, 1.0, shape=(3,))
    assert b.contains([0, 0.5, -1.0])
    assert not b.contains([0, 0.5, 1.01])
    assert not b.contains([0, 0.5, math.nan])
    values = _samples(b)
    assert all(b.contains(v) and all(type(x) is float for x in v) for v in values)


def test_box_nested_lists_infer_the_shape():
    b = Box([[0, 1], [2, 3]], [[1, 2], [3, 9]], dtype="int")
    assert b.shape == (2, 2)
    assert b.low == [[0, 1], [2, 3]] and b.high == [[1, 2], [3, 9]]
    assert b.contains([[1, 2], [3, 9]])
    assert not b.contains([[1, 2], [3, 10]])
    assert not b.contains([1, 2, 3, 9])  # same numbers, wrong shape
    values = _samples(b)
    assert all(b.contains(v) for v in values)
    assert all(len(v) == 2 and all(len(r) == 2 for r in v) for v in values)


def test_box_scalar_shape():
    b = Box(0.0, 1.0, shape=())
    assert b.contains(0.5) and b.contains(np.float32(0.25)) and not b.contains([0.5])
    assert 0.0 <= b.sample(random.Random(0)) <= 1.0


def test_box_bad_args():
    with pytest.raises(ValueError, match="'double'"):
        Box(0, 1, shape=(2,), dtype="double")
    with pytest.raises(ValueError, match=r"do not match shape \(2,\)"):
        Box([0, 0, 0], 1, shape=(2,))
    with pytest.raises(ValueError, match="low <= high"):
        Box([0, 5], [1, 4])


def test_box_ragged_low_is_a_value_error():
    with pytest.raises(ValueError, match=r"\[0, \[1, 2\]\]"):
        Box([0, [1, 2]], 5)


def test_unbounded_box_samples_are_members():
    b = Box(-math.inf, math.inf, shape=(2,))
    assert all(b.contains(v) for v in _samples(b, n=10))


# --- Tuple and Dict -------------------------------------------------------------------------------------------


def test_tuple_contains_and_sample():
    t = Tuple([Discrete(2), Box(0, 1, shape=(2,))])
    assert t.contains((1, [0.5, 1])) and t.contains([0, [0, 0]])
    assert not t.contains((2, [0.5, 1])) and not t.contains((1,)) and not t.contains({0: 1})
    values = _samples(t)
    assert all(isinstance(v, tuple) and t.contains(v) for v in values)
    assert set(_samples(Tuple([Discrete(3), Discrete(3)]), mask=[[0, 1, 0], None], n=30)[i][0]
               for i in range(30)) == {1}


def test_dict_contains_and_sample():
    d = Dict({"move": Discrete(4)}, aim=Box(-1, 1, shape=(2,)))
    assert set(d.spaces) == {"move", "aim"}
    assert d.contains({"move": 3, "aim": [0, 0]})
    assert not d.contains({"move": 4, "aim": [0, 0]})
    assert not d.contains({"move": 3})
    assert not d.contains({"move": 3, "aim": [0, 0], "extra": 1})
    assert not d.contains([3, [0, 0]])
    values = _samples(d)
    assert all(d.contains(v) for v in values)
    assert {v["move"] for v in _samples(d, mask={"move": [0, 0, 0, 1]}, n=20)} == {3}


# --- gymnasium equivalents ------------------------------------------------------------------------------------

_G = gymnasium.spaces
_CASES = [
    (Discrete(5), _G.Discrete(5)),
    (Discrete(3, start=-1), _G.Discrete(3, start=-1)),
    (MultiDiscrete([2, 3, 4]), _G.MultiDiscrete([2, 3, 4])),
    (Box(0, 10, shape=(2, 3), dtype="int"), _G.Box(0, 10, shape=(2, 3), dtype=np.int64)),
    (Box([0.0, -1.0], [1.0, 1.0]), _G.Box(np.array([0.0, -1.0]), np.array([1.0, 1.0]), dtype=np.float64)),
    (Tuple([Discrete(2), Box(0, 1, shape=(2,))]),
     _G.Tuple([_G.Discrete(2), _G.Box(0.0, 1.0, shape=(2,), dtype=np.float64)])),
    (Dict(a=Discrete(2), b=MultiDiscrete([3])), _G.Dict({"a": _G.Discrete(2), "b": _G.MultiDiscrete([3])})),
]


@pytest.mark.parametrize("ours, theirs", _CASES, ids=[repr(c[0]) for c in _CASES])
def test_to_gymnasium_equals_the_gymnasium_space(ours, theirs):
    g = ours.to_gymnasium()
    assert is_gymnasium_space(g) and not is_gymnasium_space(ours)
    assert g == theirs


@pytest.mark.parametrize("ours", [c[0] for c in _CASES], ids=[repr(c[0]) for c in _CASES])
def test_values_round_trip_through_gymnasium(ours):
    g = ours.to_gymnasium()
    for value in _samples(ours, n=25, seed=3):
        converted = ours.to_gymnasium_value(value)
        assert g.contains(converted), (value, converted)
        back = ours.from_gymnasium_value(converted)
        assert back == value and ours.contains(back)
    g.seed(5)
    for _ in range(25):  # and gymnasium's own samples come back as members of ours
        assert ours.contains(ours.from_gymnasium_value(g.sample()))


def test_box_gymnasium_value_is_a_shaped_array():
    b = Box(0, 3, shape=(2, 2), dtype="int")
    arr = b.to_gymnasium_value([[0, 1], [2, 3]])
    assert arr.dtype == np.int64 and arr.shape == (2, 2)
    assert b.from_gymnasium_value(arr) == [[0, 1], [2, 3]]
    assert type(b.from_gymnasium_value(arr)[0][0]) is int
