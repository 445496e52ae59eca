"""Tensors as plain data, the same in CPython and in Pyodide (which has no numpy offline).

``mk.Onnx`` feeds and reads its model through these, whichever engine runs it: onnxruntime on
the server and in the checks, onnxruntime-web in the browser. A :data:`Tensor` is
``(dims, type, data)``: a tuple of ints, a type named as onnxruntime-web names it
(``"float32"``, ``"int64"``, …) and the values flat in row-major order. On the server ``data``
may be a flat numpy array (read as is, never copied into a list on the hot path); everywhere else
it is a list of Python numbers. Floats are rounded to float32 exactly as numpy rounds them, so an
observation fed in the browser is the very bit pattern fed on the server.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Sequence

__all__ = ["Tensor", "TYPES", "web_type", "tensor", "flat_float32", "observation_tensor", "tensor_key", "cast",
           "zeros", "pack", "unpack", "size_of", "as_list"]

Tensor = tuple  # (dims: tuple[int, ...], type: str, data: list | flat numpy array)

# type (onnxruntime-web's name) -> (struct format, numpy dtype.str): the bytes of a saved state
# are numpy's, so a state saved on the server restores in the browser and the other way round.
TYPES: dict[str, tuple[str, str]] = {
    "float32": ("f", "<f4"), "float64": ("d", "<f8"), "float16": ("e", "<f2"),
    "int8": ("b", "|i1"), "int16": ("h", "<i2"), "int32": ("i", "<i4"), "int64": ("q", "<i8"),
    "uint8": ("B", "|u1"), "uint16": ("H", "<u2"), "uint32": ("I", "<u4"), "uint64": ("Q", "<u8"),
    "bool": ("?", "|b1"),
}
_BY_DTYPE = {dtype: name for name, (_, dtype) in TYPES.items()}
# onnxruntime (Python) names its types "tensor(float)"; onnxruntime-web says "float32"
_ORT_NAMES = {"float": "float32", "double": "float64", "float16": "float16", "int8": "int8", "int16": "int16",
              "int32": "int32", "int64": "int64", "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
              "uint64": "uint64", "bool": "bool"}


def web_type(name: Any) -> str:
    """A tensor type as onnxruntime-web names it, from either engine's name (``"tensor(float)"``
    or ``"float32"``) or a numpy dtype (``np.float32``'s name or ``"<f4"``); ``"float32"`` when unknown (the documented default of a
    state input whose type the model does not declare)."""
    name = str(name)
    if name in TYPES:
        return name
    if name.startswith("tensor(") and name.endswith(")"):
        return _ORT_NAMES.get(name[7:-1], "float32")
    return _BY_DTYPE.get(name, "float32")  # numpy's dtype.str, as in a saved state


def size_of(dims: Sequence[int]) -> int:
    """The number of values a tensor of shape ``dims`` holds."""
    n = 1
    for d in dims:
        n *= int(d)
    return n


def as_list(data: Any) -> list:
    """Flat values as a list of Python numbers: a numpy array's ``tolist()``, else a copy."""
    return data.tolist() if hasattr(data, "tolist") else list(data)


def tensor(dims: Sequence[int], type: str, data: Any) -> Tensor:
    """A :data:`Tensor`, checked: ``data`` holds exactly ``size_of(dims)`` values.

    Raises:
        ValueError: the sizes differ, or ``type`` is not one of :data:`TYPES`."""
    if type not in TYPES:
        raise ValueError(f"unknown tensor type {type!r}; known: {', '.join(TYPES)}")
    dims = tuple(int(d) for d in dims)
    if len(data) != size_of(dims):
        raise ValueError(f"a tensor of shape {list(dims)} holds {size_of(dims)} values, got {len(data)}")
    return dims, type, data


def flat_float32(values: Sequence[Any]) -> list[float]:
    """``values`` (numbers, bools) rounded to float32, as Python floats: numpy's rounding
    (nearest, ties to even; beyond float32's range, ±inf)."""
    values = [float(v) for v in values]
    fmt = f"<{len(values)}f"
    try:
        return list(struct.unpack(fmt, struct.pack(fmt, *values)))
    except OverflowError:  # struct refuses what numpy turns into an infinity
        return [_float32(v) for v in values]


def _float32(v: float) -> float:
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def observation_tensor(observation: Any) -> Tensor:
    """An observation as the model's input: float32 of shape ``[1, n]``, the values flattened in
    row-major order (a dict with an ``"observation"`` entry gives that entry).

    Raises:
        TypeError: the observation holds something other than numbers (a dict, a string, None)."""
    if isinstance(observation, dict) and "observation" in observation:
        observation = observation["observation"]
    if type(observation).__module__ == "numpy":
        import numpy as np  # only a numpy observation gets here: numpy is there

        flat = np.asarray(observation, dtype=np.float32).reshape(-1)
        return (1, flat.shape[0]), "float32", flat
    values: list = []
    _flatten(observation, values)
    return (1, len(values)), "float32", flat_float32(values)


def _flatten(x: Any, out: list) -> None:
    if isinstance(x, (list, tuple)):
        for part in x:
            _flatten(part, out)
    elif hasattr(x, "tolist") and not isinstance(x, (int, float)):  # a numpy array inside a list
        _flatten(x.tolist(), out)
    elif isinstance(x, (int, float)) or type(x).__module__ == "numpy":
        out.append(x)
    else:
        raise TypeError(f"an observation must hold numbers (nested lists or an array), got {type(x).__name__} "
                        f"{x!r}")


def tensor_key(t: Tensor) -> tuple:
    """``t`` as a hashable value that compares bit for bit (NaN equals NaN, -0.0 differs from 0.0):
    what a prefetched run is matched by."""
    dims, type, data = t
    if hasattr(data, "tobytes"):
        import numpy as np

        raw = np.asarray(data, dtype=TYPES[type][1]).tobytes()
    else:
        raw = pack(t)[2]
    return tuple(dims), type, raw


def cast(t: Tensor, type: str) -> Tensor:
    """``t`` with its values converted to ``type`` as numpy's ``astype`` converts them (floats
    rounded, floats to ints truncated towards zero)."""
    dims, old, data = t
    values = as_list(data)
    if old == type:
        return tuple(dims), type, values
    if type in ("float32", "float16"):
        fmt = f"<{len(values)}{TYPES[type][0]}"
        return tuple(dims), type, list(struct.unpack(fmt, struct.pack(fmt, *[float(v) for v in values])))
    if type == "float64":
        return tuple(dims), type, [float(v) for v in values]
    if type == "bool":
        return tuple(dims), type, [bool(v) for v in values]
    return tuple(dims), type, [int(v) for v in values]


def zeros(dims: Sequence[int], type: str) -> Tensor:
    """A tensor of zeros (``False`` for bool)."""
    zero = False if type == "bool" else 0.0 if type.startswith("float") else 0
    return tuple(dims), type, [zero] * size_of(dims)


def pack(t: Tensor) -> tuple:
    """``t`` as ``(dims, numpy dtype str, bytes)``: immutable plain data, byte for byte what numpy's
    ``tobytes()`` gives (little-endian)."""
    dims, type, data = t
    fmt, dtype = TYPES[type]
    values = as_list(data)
    return tuple(dims), dtype, struct.pack(f"<{len(values)}{fmt}", *values)


def unpack(packed: Sequence[Any]) -> Tensor:
    """The tensor :func:`pack` packed.

    Raises:
        ValueError: the dtype is not one :func:`pack` writes, or the bytes do not fit the shape."""
    dims, dtype, raw = packed
    if dtype not in _BY_DTYPE:
        raise ValueError(f"unknown tensor dtype {dtype!r}")
    type = _BY_DTYPE[dtype]
    fmt = TYPES[type][0]
    n = size_of(dims)
    if len(raw) != n * struct.calcsize(f"<{fmt}"):
        raise ValueError(f"{len(raw)} bytes do not hold a {dtype} tensor of shape {list(dims)}")
    return tuple(dims), type, list(struct.unpack(f"<{n}{fmt}", raw))
