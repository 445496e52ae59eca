"""mugkit.runtime.tensors and mk.Onnx's numpy-free choice of action give numpy's values bit for bit:
float32 rounding, saved-state bytes, casts, sums, argmax and Box clipping (gymnasium spaces too)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mugkit.runtime.onnx import _argmax, _pairwise_sum
from mugkit.runtime.tensors import (TYPES, cast, flat_float32, observation_tensor, pack, tensor, tensor_key, unpack,
                                    web_type)

doubles = st.floats(allow_nan=True, allow_infinity=True)


def bits32(values) -> bytes:
    return np.asarray(values, dtype=np.float64).astype(np.float32).tobytes()


@given(st.lists(doubles, max_size=20))
def test_float32_rounding_is_numpys(values):
    with np.errstate(over="ignore"):
        assert np.asarray(flat_float32(values), dtype=np.float32).tobytes() == bits32(values)


def test_values_beyond_float32_become_infinities_like_numpy():
    big = [3.5e38, -1e300, 3.4028235e38, 1e-50]
    assert flat_float32(big) == [math.inf, -math.inf, 3.4028234663852886e38, 0.0]


def test_an_observation_is_flattened_row_major():
    assert observation_tensor([[1, 2], [3, 4.5]]) == ((1, 4), "float32", [1.0, 2.0, 3.0, 4.5])
    assert observation_tensor({"observation": (True, 0.1), "action_mask": [1, 0]})[2] == [1.0, flat_float32([0.1])[0]]
    dims, type, data = observation_tensor(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert (dims, type, data.tolist()) == ((1, 6), "float32", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(TypeError, match="an observation must hold numbers .* got str 'x'"):
        observation_tensor([1, "x"])


@pytest.mark.parametrize("type", sorted(TYPES))
def test_packed_bytes_are_numpys(type):
    values = [0, 1, 2, 1, 0, 3] if type != "bool" else [True, False, True, True, False, False]
    t = tensor((2, 3), type, [float(v) if type.startswith("float") else v for v in values])
    dims, dtype, raw = pack(t)
    array = np.asarray(t[2], dtype=type).reshape(2, 3)
    assert (dims, dtype, raw) == (array.shape, array.dtype.str, array.tobytes())
    assert unpack(pack(t)) == t
    assert web_type(array.dtype.name) == web_type(array.dtype.str) == type


def test_casts_and_keys():
    assert cast(((2,), "float64", [1.7, -2.9]), "int64") == ((2,), "int64", [1, -2])  # astype truncates
    assert cast(((1,), "float64", [0.1]), "float32")[2] == [float(np.float32(0.1))]
    assert tensor_key(((1,), "float32", [math.nan])) == tensor_key(((1,), "float32", np.array([math.nan], np.float32)))
    assert tensor_key(((1,), "float32", [0.0])) != tensor_key(((1,), "float32", [-0.0]))
    assert web_type("tensor(float)") == "float32" and web_type("tensor(int64)") == "int64"
    assert web_type("tensor(string)") == web_type("mystery") == "float32"
    with pytest.raises(ValueError, match=r"a tensor of shape \[2, 2\] holds 4 values, got 3"):
        tensor((2, 2), "float32", [1, 2, 3])


@settings(max_examples=300)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300))
def test_sums_are_numpys(values):
    assert _pairwise_sum(values) == np.asarray(values, dtype=np.float64).sum()


@given(st.lists(doubles, min_size=1, max_size=12))
def test_argmax_is_numpys(values):
    assert _argmax(values) == int(np.argmax(np.asarray(values)))


def test_a_gymnasium_box_action_is_clipped_to_its_shape(tmp_path):
    gymnasium = pytest.importorskip("gymnasium")
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from mugkit.runtime.onnx import Onnx

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "id.onnx"))
    space = gymnasium.spaces.Box(low=np.array([[-1, 0], [0, 0]], np.float32), high=2.0, shape=(2, 2))
    action = Onnx(str(tmp_path / "id.onnx")).act([3.0, -5.0, 0.5, np.nan], agent="a", frame=0, seed=0, space=space)
    expected = np.clip(np.array([3.0, -5.0, 0.5, np.nan], np.float32).reshape(2, 2), space.low.astype(np.float64),
                       space.high.astype(np.float64)).tolist()  # what mk.Onnx gave with numpy
    assert action[0] == expected[0] == [2.0, 0.0] and action[1][0] == 0.5 and math.isnan(action[1][1])
    assert math.isnan(expected[1][1])
