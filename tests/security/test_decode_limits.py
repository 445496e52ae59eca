"""`from_json` with DecodeLimits: what a browser sends is refused before memory is allocated,
and the database's own values are read as before."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest

from mugkit.runtime.values import DecodeLimits, DecodeRefused, from_json, to_json

LIMITS = DecodeLimits()


def ndarray(dtype: str, shape: list, **body) -> str:
    return json.dumps({"$ndarray": {"dtype": dtype, "shape": shape, **body}})


@pytest.mark.parametrize("text, message", [
    (ndarray("(1024,1024,1024)u1", [1], data=[0]), "array dtype '(1024,1024,1024)u1' refused: only bool, integer"),
    (ndarray("|O", [1], items=[0]), "array dtype '|O' refused"),
    (ndarray("<U8", [1], data=["a"]), "array dtype '<U8' refused"),
    (ndarray("<f8", [100000, 100000], zstd=""), "array shape [100000, 100000] has 10000000000 elements, more than"),
    (ndarray("<f8", [1] * 9, data=[0]), "array shape [1, 1, 1, 1, 1, 1, 1, 1, 1] refused: a list of at most 8"),
    (ndarray("<f8", [-1], data=[]), "array shape [-1] refused"),
    ("[" * 65 + "]" * 65, "values nested deeper than 64"),
    ("[" * 100_000 + "]" * 100_000, "values nested deeper than 64"),
])
def test_what_passes_a_limit_is_refused_with_the_limit(text, message):
    with pytest.raises(DecodeRefused, match="^" + message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
                       .replace("$", r"\$").replace("|", r"\|")):
        from_json(text, LIMITS)


def test_arrays_and_bytes_together_are_bounded_once_decoded():
    small = DecodeLimits(max_bytes=100)
    arrays = "[" + ",".join([ndarray("<f8", [4], data=[0, 1, 2, 3])] * 3) + "]"
    assert len(from_json(arrays, small)) == 3   # 96 bytes
    with pytest.raises(DecodeRefused, match=r"^an array of shape \[4\] and dtype <f8 takes the decoded size past 100 "):
        from_json(arrays[:-1] + "," + ndarray("<f8", [4], data=[0, 1, 2, 3]) + "]", small)
    with pytest.raises(DecodeRefused, match=r"^a \$bytes value takes the decoded size past 100 bytes"):
        from_json(json.dumps([{"$bytes": "AAAA" * 20}] * 2), small)
    with pytest.raises(DecodeRefused, match=r"^text of 2000002 characters, more than 1048576"):
        from_json(json.dumps("x" * 2_000_000), LIMITS)


def test_compressed_data_never_inflate_past_their_stated_shape():
    zlib_bomb = base64.b64encode(zlib.compress(bytes(200 * 2**20), 9)).decode()
    with pytest.raises(ValueError, match="compressed array data do not fit the 1024 bytes its shape states"):
        from_json(ndarray("|u1", [1024], zlib=zlib_bomb), LIMITS)
    pa = pytest.importorskip("pyarrow")
    zstd_bomb = base64.b64encode(pa.compress(bytes(200 * 2**20), codec="zstd", asbytes=True)).decode()
    with pytest.raises(ValueError, match="compressed array data do not fit the 1024 bytes its shape states"):
        from_json(ndarray("|u1", [1024], zstd=zstd_bomb), LIMITS)


def test_values_within_the_limits_read_back_exactly():
    value = [{"obs": np.arange(3 * 400 * 600, dtype=np.uint8).reshape(400, 600, 3), "small": np.ones(4, "<f4"),
              "t": (1, 2.5, float("nan")), "b": b"\x00\x01", "k": {1: "x"}, "flag": np.bool_(True)}]
    out = from_json(to_json(value), LIMITS)
    assert np.array_equal(out[0]["obs"], value[0]["obs"]) and out[0]["obs"].dtype == np.uint8
    assert out[0]["small"].dtype == np.float32 and out[0]["k"] == {1: "x"} and out[0]["b"] == b"\x00\x01"
    assert out[0]["t"][:2] == (1, 2.5) and out[0]["t"][2] != out[0]["t"][2]


def test_without_limits_the_databases_own_values_are_read_as_before():
    deep = "[" * 200 + "]" * 200
    assert from_json(deep) == from_json(deep, DecodeLimits(max_depth=200))
    strings = np.array(["a", "bc"])
    assert list(from_json(to_json(strings))) == ["a", "bc"]
    with pytest.raises(DecodeRefused):
        from_json(to_json(strings), LIMITS)
