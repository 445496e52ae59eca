"""How values are written — in the database, and on the wire from the browser runtime: lossless
tagged JSON, and numpy arrays as compressed bytes. Pure Python (numpy only for values holding
arrays), so the browser encodes its step rows with the very code the server stores them with.

Agent ids, actions, infos, answers and hook columns can be any plain data the netcode codec
carries (ints of any size, floats with their exact bits, bool apart from int, str, bytes, lists,
tuples, dicts with any keys, nested), and observations are often numpy arrays. Plain JSON would
turn tuples into lists, drop non-string keys and NaN, so values are stored as *tagged JSON*: plain
JSON where JSON is exact, and a one-key object whose key starts with ``$`` where it is not:

==============================  ===============================================================
value                           stored as
==============================  ===============================================================
None, bool, int, str, list      the JSON value (``null``, ``true``, ``3``, ``"a"``, ``[...]``)
finite float                    the JSON number (``-0.0`` included; exact: Python prints the
                                shortest repr that reads back to the same bits)
NaN, ±inf                       ``{"$float": "<16 hex digits of the IEEE-754 bits>"}``
tuple                           ``{"$tuple": [...]}``
bytes                           ``{"$bytes": "<base64>"}``
dict with str keys, none        a JSON object
starting with ``$``
any other dict                  ``{"$dict": [[key, value], ...]}`` (insertion order kept)
numpy array                     ``{"$ndarray": {"dtype": "<f4", "shape": [4], "data": [...]}}``
                                when small (at most :data:`SMALL_ARRAY` elements, finite);
                                else ``"zstd"`` (or ``"zlib"``): base64 of the compressed
                                C-order bytes in place of ``"data"``
==============================  ===============================================================

numpy scalars are stored as the Python value (``np.float32(0.5)`` as ``0.5``, its exact value),
as the netcode codec and the frame hash do. Sets, complex numbers, structured arrays and other
objects cannot be stored: :class:`UnstorableValue` names where in the value they are.

A whole observation that is a larger array is stored as bytes rather than text (no base64):
:func:`pack_array` gives a JSON header line (dtype, shape, codec) then the compressed body.

Text from someone who may mean harm (a browser's rows) is read with :class:`DecodeLimits`:
``from_json(text, limits)`` refuses, with :class:`DecodeRefused`, text that is too long or nested
too deep, arrays of other than numeric dtypes, and arrays or bytes larger than the limits, before
allocating them (a compressed array is never decompressed past its stated size).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

__all__ = ["UnstorableValue", "DecodeLimits", "DecodeRefused", "to_json", "from_json", "pack_array", "unpack_array",
           "encode_observation", "decode_observation", "observation_text", "SMALL_ARRAY"]

#: Arrays with at most this many elements are written as readable numbers; larger ones compressed.
SMALL_ARRAY = 64

_DOUBLE = struct.Struct(">d")


class UnstorableValue(ValueError):
    """A value that has no stored form; the message says where in the value it is."""


class DecodeRefused(ValueError):
    """Text refused by :class:`DecodeLimits`; the message names the limit and the value found."""


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what :func:`from_json` builds from text it did not write itself (a browser's).

    Every limit is checked before the memory is allocated: a dtype and shape are read before any
    array is built, and compressed data are never decompressed past the size they state."""

    #: Longest text, in characters.
    max_text: int = 1024 * 1024
    #: Deepest nesting of lists, objects and tags (``[[[...]]]``).
    max_depth: int = 64
    #: Most elements in one array (the product of its shape).
    max_elements: int = 4 * 1024 * 1024
    #: Most dimensions of one array.
    max_dims: int = 8
    #: Most bytes of all arrays and bytes values in the text together, once decoded.
    max_bytes: int = 32 * 1024 * 1024


#: dtypes a limited decode accepts: bool, integers and floats, one value per element (no
#: sub-arrays, records, objects or strings).
_NUMERIC_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248])")
#: A JSON string (the unrolled form: no backtracking).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
#: An innermost list or object: brackets with none inside.
_INNERMOST = re.compile(r"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}")


def json_structure(text: str) -> str:
    """JSON ``text`` without its strings: its brackets, numbers and literals (quick, in C)."""
    return _JSON_STRING.sub("", text)


def nested_deeper_than(structure: str, depth: int) -> bool:
    """Whether lists and objects in ``structure`` (:func:`json_structure` of the text) nest deeper
    than ``depth``. Each pass removes the innermost level in C: at most ``depth`` passes over the
    text (keep it short: tens of kilobytes)."""
    text = structure
    for _ in range(depth):
        text, removed = _INNERMOST.subn("", text)
        if not removed:
            return False
    return "[" in text or "{" in text


class _Budget:
    """What a limited decode has left to spend."""

    def __init__(self, limits: DecodeLimits):
        self.limits = limits
        self.bytes_left = limits.max_bytes

    def spend(self, nbytes: int, what: str) -> None:
        self.bytes_left -= nbytes
        if self.bytes_left < 0:
            raise DecodeRefused(f"{what} takes the decoded size past {self.limits.max_bytes} bytes")

    def array(self, body: Any) -> tuple[Any, tuple]:
        """The dtype and shape of an ``$ndarray`` body, checked before any memory is allocated."""
        import numpy as np

        lim = self.limits
        if not isinstance(body, dict):
            raise DecodeRefused("an $ndarray must be an object with dtype and shape")
        dtype, shape = body.get("dtype"), body.get("shape")
        if not isinstance(dtype, str) or not _NUMERIC_DTYPE.fullmatch(dtype):
            raise DecodeRefused(f"array dtype {str(dtype)[:40]!r} refused: only bool, integer and float dtypes "
                                f"such as '<f4' or '|u1'")
        if not (isinstance(shape, list) and len(shape) <= lim.max_dims
                and all(type(n) is int and 0 <= n <= lim.max_elements for n in shape)):
            raise DecodeRefused(f"array shape {str(shape)[:60]} refused: a list of at most {lim.max_dims} "
                                f"non-negative integers")
        if math.prod(shape) > lim.max_elements:
            raise DecodeRefused(f"array shape {shape} has {math.prod(shape)} elements, more than {lim.max_elements}")
        dtype = np.dtype(dtype)
        self.spend(_nbytes(dtype, tuple(shape)), f"an array of shape {shape} and dtype {dtype.str}")
        if "items" in body:
            raise DecodeRefused("object arrays ($ndarray with items) are refused")
        return dtype, tuple(shape)


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def to_json(value: Any, where: str = "value") -> str:
    """The tagged JSON text of ``value`` (see the module docstring).

    Raises:
        UnstorableValue: something in ``value`` cannot be stored; ``where`` starts the message.
    """
    # Fast paths for what most step columns hold (the server encodes every row on its event
    # loop); each gives exactly the text the JSON encoder would.
    t = type(value)
    if t is int and -10**15 < value < 10**15:
        return int.__repr__(value)
    if t is str:
        return _encode_json(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is float and math.isfinite(value):
        return float.__repr__(value)
    if (t is dict or t is list) and not value:
        return "{}" if t is dict else "[]"
    if t is list and all(type(x) is int for x in value):  # a grid or position as a list of ints
        return "[" + ",".join(map(int.__repr__, value)) + "]"
    return _encode_json(_tag(value, where))


_decode_json = json.JSONDecoder().decode
_LITERALS = {"null": None, "true": True, "false": False}


def from_json(text: str | None, limits: DecodeLimits | None = None) -> Any:
    """The value :func:`to_json` wrote (None for SQL NULL).

    Args:
        limits: for text from outside (a browser): refuse what passes them. None: no bounds (the
            database's own values).

    Raises:
        DecodeRefused: the text passes ``limits``; the message names the limit.
        ValueError: not tagged JSON.
    """
    if text is None:
        return None
    if limits is not None:
        return _limited(text, limits)
    # Fast paths: millions of step rows hold small ints, flags and tag-free JSON.
    literal = _LITERALS.get(text, _LITERALS)
    if literal is not _LITERALS:
        return literal
    if text.isdigit() and (text == "0" or text[0] != "0"):
        return int(text)
    value = _decode_json(text)
    return _untag(value) if "$" in text else value  # no "$": no tag, the JSON value is the value


def _limited(text: str, limits: DecodeLimits) -> Any:
    if len(text) > limits.max_text:
        raise DecodeRefused(f"text of {len(text)} characters, more than {limits.max_text}")
    try:
        value = _decode_json(text)
        deep = _deeper_than(value, limits.max_depth)
    except RecursionError:   # the C decoder stops at Python's recursion limit, at once
        deep = True
    if deep:
        raise DecodeRefused(f"values nested deeper than {limits.max_depth}")
    try:
        return _untag(value, _Budget(limits))
    except (KeyError, TypeError, AttributeError, IndexError, OSError, struct.error) as exc:
        # A tag with a body of the wrong form, or compressed bytes that do not fit their shape.
        raise ValueError(f"malformed tagged value ({type(exc).__name__}: {exc})") from None


def _deeper_than(value: Any, depth: int) -> bool:
    """Whether lists and dicts in decoded JSON nest deeper than ``depth`` (no recursion)."""
    todo = [(value, 1)]
    while todo:
        v, level = todo.pop()
        items = v if type(v) is list else v.values() if type(v) is dict else None
        if items is None:
            continue
        if level > depth:
            return True
        todo.extend((x, level + 1) for x in items if type(x) in (list, dict))
    return False


#: Types that JSON keeps exactly as they are, with no tag.
_UNTAGGED = frozenset({type(None), bool, int, str})


def _tag(v: Any, where: str) -> Any:
    t = type(v)
    if v is None or t is bool or t is int or t is str:
        return v
    if t is float:
        return v if math.isfinite(v) else {"$float": _DOUBLE.pack(v).hex()}
    if t is list:
        if set(map(type, v)) <= _UNTAGGED:  # plain items need no tag (nor a path for errors)
            return v
        return [_tag(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if t is tuple:
        return {"$tuple": [_tag(x, f"{where}[{i}]") for i, x in enumerate(v)]}
    if t is dict:
        return _tag_dict(v, where)
    if type(v).__module__ == "numpy":
        return _tag_numpy(v, where)
    # Subclasses of the plain types (IntEnum, str enums, OrderedDict, namedtuple): their base value.
    for base in (bool, int, float, str, tuple, list, dict):
        if isinstance(v, base):
            return _tag(base(v), where)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    raise UnstorableValue(f"{where}: cannot store a {t.__module__}.{t.__qualname__} ({v!r:.60}); "
                          f"stored values are None, bool, int, float, str, bytes, list, tuple, dict "
                          f"and numpy arrays or scalars")


def _tag_dict(d: dict, where: str) -> Any:
    if all(type(k) is str and not k.startswith("$") for k in d):
        return {k: _tag(x, f"{where}[{k!r}]") for k, x in d.items()}
    return {"$dict": [[_tag(k, f"{where} key {k!r}"), _tag(x, f"{where}[{k!r}]")] for k, x in d.items()]}


def _tag_numpy(v: Any, where: str) -> Any:
    import numpy as np

    if isinstance(v, np.generic) and not isinstance(v, np.void):
        if isinstance(v, np.complexfloating):
            raise UnstorableValue(f"{where}: cannot store a complex number ({v!r})")
        return _tag(v.item(), where)
    if not isinstance(v, np.ndarray) or v.dtype.names is not None:
        raise UnstorableValue(f"{where}: cannot store a {type(v).__name__} of dtype {v.dtype} "
                              f"(structured arrays and numpy objects other than arrays and scalars)")
    if v.dtype.kind == "c":
        raise UnstorableValue(f"{where}: cannot store a complex array (dtype {v.dtype})")
    head = {"dtype": v.dtype.str, "shape": list(v.shape)}
    if v.dtype.kind == "O":
        flat = v.ravel(order="C").tolist()
        return {"$ndarray": {**head, "items": [_tag(x, f"{where}.flat[{i}]") for i, x in enumerate(flat)]}}
    if v.size <= SMALL_ARRAY and v.dtype.kind in "biuf" and (v.dtype.kind != "f" or np.isfinite(v).all()):
        return {"$ndarray": {**head, "data": v.tolist()}}
    codec, body = _compress(_c_bytes(v))
    return {"$ndarray": {**head, codec: base64.b64encode(body).decode("ascii")}}


def _untag(j: Any, budget: _Budget | None = None) -> Any:
    if type(j) is list:
        return [_untag(x, budget) for x in j]
    if type(j) is not dict:
        return j
    if len(j) == 1:
        (key, body), = j.items()
        if key.startswith("$"):
            return _untag_one(key, body, budget)
    return {k: _untag(x, budget) for k, x in j.items()}


def _untag_one(key: str, body: Any, budget: _Budget | None) -> Any:
    if key == "$tuple":
        return tuple(_untag(x, budget) for x in body)
    if key == "$float":
        return _DOUBLE.unpack(bytes.fromhex(body))[0]
    if key == "$bytes":
        if budget is not None:
            budget.spend(len(body) * 3 // 4, "a $bytes value")
        return base64.b64decode(body)
    if key == "$dict":
        return {_untag(k, budget): _untag(x, budget) for k, x in body}
    if key == "$ndarray":
        return _untag_array(body, budget)
    raise ValueError(f"unknown tag {key!r} in stored JSON")


def _untag_array(body: dict, budget: _Budget | None = None) -> Any:
    import numpy as np

    if budget is not None:
        dtype, shape = budget.array(body)
    else:
        dtype, shape = np.dtype(body["dtype"]), tuple(body["shape"])
    if "items" in body:
        out = np.empty(len(body["items"]), dtype=object)
        out[:] = [_untag(x) for x in body["items"]]
        return out.reshape(shape)
    if "data" in body:
        return np.array(body["data"], dtype=dtype).reshape(shape)
    codec = "zstd" if "zstd" in body else "zlib"
    raw = _decompress(codec, base64.b64decode(body[codec]), _nbytes(dtype, shape))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()  # copy: writable, owns its memory


# --- whole observations --------------------------------------------------------------------------


def encode_observation(value: Any, where: str = "observation") -> str | bytes:
    """What the ``observation`` column holds: bytes (:func:`pack_array`) for a numpy array of more
    than :data:`SMALL_ARRAY` elements, else tagged JSON text."""
    if type(value).__name__ == "ndarray" and type(value).__module__ == "numpy" \
            and value.size > SMALL_ARRAY and value.dtype.kind in "biufUSMm":
        return pack_array(value)
    return to_json(value, where)


def decode_observation(stored: str | bytes | None) -> Any:
    """The observation as it was added (None when it was not kept)."""
    if isinstance(stored, (bytes, bytearray, memoryview)):
        return unpack_array(bytes(stored))
    return from_json(stored)


def observation_text(stored: str | bytes | None) -> str | None:
    """A stored observation as tagged JSON text, without decompressing it: a packed array becomes
    ``{"$ndarray": {"dtype", "shape", "zstd": base64}}``, which :func:`from_json` reads back."""
    if not isinstance(stored, (bytes, bytearray, memoryview)):
        return stored
    header, _, body = bytes(stored).partition(b"\n")
    head = json.loads(header)
    array = {"dtype": head["dtype"], "shape": head["shape"], head["codec"]: base64.b64encode(body).decode("ascii")}
    return json.dumps({"$ndarray": array}, separators=(",", ":"))


def pack_array(arr: Any) -> bytes:
    """A numpy array as bytes: a JSON header line ``{"dtype", "shape", "codec"}``, then the
    compressed C-order bytes. Decode with :func:`unpack_array`."""
    codec, body = _compress(_c_bytes(arr))
    header = json.dumps({"dtype": arr.dtype.str, "shape": list(arr.shape), "codec": codec})
    return header.encode("ascii") + b"\n" + body


def unpack_array(blob: bytes) -> Any:
    """The array :func:`pack_array` wrote: same dtype, shape and values, writable."""
    import numpy as np

    header, _, body = blob.partition(b"\n")
    head = json.loads(header)
    dtype, shape = np.dtype(head["dtype"]), tuple(head["shape"])
    raw = _decompress(head["codec"], body, _nbytes(dtype, shape))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _c_bytes(arr: Any) -> Any:
    # A C-contiguous array is compressed from its own memory; others are copied once, in C order.
    if arr.flags.c_contiguous:
        try:
            return memoryview(arr).cast("B")
        except (TypeError, ValueError):  # dtypes the buffer protocol does not describe (datetime64)
            pass
    return arr.tobytes(order="C")


def _nbytes(dtype: Any, shape: tuple) -> int:
    return dtype.itemsize * math.prod(shape)


@functools.cache
def _zstd() -> Any:
    """pyarrow's zstd codec, or None when this pyarrow lacks it. zstd (level 1) is chosen over
    zlib: on rendered 280×480×3 and 400×600×3 frames it is 3–10× faster and 5× smaller."""
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow if pyarrow.Codec.is_available("zstd") else None


def _compress(data: Any) -> tuple[str, bytes]:
    pa = _zstd()
    if pa is not None:
        return "zstd", pa.compress(data, codec="zstd", asbytes=True)
    import zlib

    return "zlib", zlib.compress(data, 1)


def _decompress(codec: str, body: bytes, nbytes: int) -> bytes:
    """``body`` decompressed; never more than ``nbytes`` (the array's stated size) is produced."""
    if codec == "zlib":
        import zlib

        inflate = zlib.decompressobj()
        raw = inflate.decompress(body, nbytes)
        if inflate.unconsumed_tail:
            raise ValueError(f"compressed array data do not fit the {nbytes} bytes its shape states")
        return raw
    if codec == "zstd":
        pa = _zstd()
        if pa is None:
            raise RuntimeError("this observation is zstd-compressed: reading it needs pyarrow with zstd")
        try:
            return pa.decompress(body, decompressed_size=nbytes, codec="zstd", asbytes=True)
        except OSError as exc:   # pyarrow: more data than the buffer of ``nbytes``, or not zstd
            raise ValueError(f"compressed array data do not fit the {nbytes} bytes its shape states ({exc})") from None
    raise ValueError(f"unknown compression {codec!r} in a stored array")


def warm_up() -> None:
    """Imports what packing arrays needs (pyarrow: a fraction of a second), so that the first
    pixel observation does not pay for it on the event loop."""
    _zstd()
