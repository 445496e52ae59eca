"""A compact, lossless binary codec for actions and netcode messages (stdlib only).

Why not JSON: JSON loses big integers (in JavaScript), ``-0.0``, NaN payloads, the difference
between ``True`` and ``1``, tuples versus lists and non-string dict keys. A rollback peer that
decodes a slightly different action than the sender used simulates a different game, so the
wire format must give back exactly the value that went in.

Encoding (one tag byte, then the payload):

======  ==========  ==========================================================
tag     type        payload
======  ==========  ==========================================================
0x00    None        --
0x01    False       --
0x02    True        --
0x03    int         zigzag varint (any size: LEB128 groups of 7 bits)
0x04    float       8 bytes, IEEE 754 big-endian (the exact bit pattern)
0x05    str         varint byte length, UTF-8 bytes
0x06    bytes       varint length, raw bytes
0x07    list        varint count, items
0x08    tuple       varint count, items
0x09    dict        varint count, key then value per entry, in insertion order
======  ==========  ==========================================================

Values with a ``tolist()`` method (numpy scalars and arrays) are encoded as what it returns, so
they decode as plain Python values. Anything else raises :class:`CodecError`.

Example:
    >>> decode(encode([1, -0.0, True, {"x": (2**70, None)}]))
    [1, -0.0, True, {'x': (1180591620717411303424, None)}]
"""

from __future__ import annotations

import struct
from typing import Any

from ..runtime.varint import read_varint, write_varint as _varint  # LEB128, shared with the hash encoding

__all__ = ["encode", "decode", "CodecError", "MAX_DEPTH"]

#: Deepest nesting :func:`decode` accepts; deeper input is rejected rather than recursing
#: without bound on a hostile packet.
MAX_DEPTH = 32

_NONE, _FALSE, _TRUE, _INT, _FLOAT, _STR, _BYTES, _LIST, _TUPLE, _DICT = range(10)
_DOUBLE = struct.Struct(">d")


class CodecError(ValueError):
    """A value cannot be encoded, or bytes are not a valid encoding; the message says where."""


def encode(value: Any) -> bytes:
    """Encodes ``value`` (None, bool, int, float, str, bytes, list, tuple, dict, nested).

    Raises:
        CodecError: the value (or something inside it) has another type, or nests deeper
            than :data:`MAX_DEPTH`.
    """
    out = bytearray()
    _encode(value, out, 0)
    return bytes(out)


def decode(data: bytes) -> Any:
    """Decodes bytes made by :func:`encode`; the whole input must be one value.

    Raises:
        CodecError: the bytes are truncated, have an unknown tag, an overlong varint (not
            minimal, or over 1024 bytes), invalid UTF-8, nest deeper than :data:`MAX_DEPTH`,
            or have bytes left over.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"decode() needs bytes, got {type(data).__name__}")
    data = bytes(data)
    try:
        value, pos = _decode(data, 0, 0)
    except CodecError:
        raise
    except ValueError as e:  # read_varint: truncated or overlong
        raise CodecError(str(e)) from None
    if pos != len(data):
        raise CodecError(f"{len(data) - pos} bytes left over after the value at byte {pos}")
    return value




def _encode(v: Any, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CodecError(f"value nests deeper than {MAX_DEPTH} levels")
    # bool before int: bool is a subclass of int, and True must not come back as 1.
    if v is None:
        out.append(_NONE)
    elif v is True:
        out.append(_TRUE)
    elif v is False:
        out.append(_FALSE)
    elif isinstance(v, int):
        out.append(_INT)
        _varint((v << 1) if v >= 0 else ((-v << 1) - 1), out)  # zigzag: small negatives stay short
    elif isinstance(v, float):
        out.append(_FLOAT)
        out += _DOUBLE.pack(v)
    elif isinstance(v, str):
        raw = v.encode("utf-8", "surrogatepass")
        out.append(_STR)
        _varint(len(raw), out)
        out += raw
    elif isinstance(v, (bytes, bytearray)):
        out.append(_BYTES)
        _varint(len(v), out)
        out += v
    elif isinstance(v, (list, tuple)):
        out.append(_TUPLE if isinstance(v, tuple) else _LIST)
        _varint(len(v), out)
        for item in v:
            _encode(item, out, depth + 1)
    elif isinstance(v, dict):
        out.append(_DICT)
        _varint(len(v), out)
        for k, item in v.items():
            _encode(k, out, depth + 1)
            _encode(item, out, depth + 1)
    elif callable(getattr(v, "tolist", None)):  # numpy scalars/arrays, without importing numpy
        _encode(v.tolist(), out, depth)
    else:
        raise CodecError(f"cannot encode a {type(v).__name__} ({v!r}); actions must be None, bool, "
                         f"int, float, str, bytes, list, tuple or dict")


def _read_len(data: bytes, pos: int) -> tuple[int, int]:
    n, pos = read_varint(data, pos)
    if n > len(data) - pos:  # every item takes at least one byte, so this bounds counts too
        raise CodecError(f"length {n} at byte {pos} exceeds the {len(data) - pos} bytes left")
    return n, pos


def _decode(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise CodecError(f"value nests deeper than {MAX_DEPTH} levels")
    if pos >= len(data):
        raise CodecError(f"truncated: expected a value at byte {pos}")
    tag = data[pos]
    pos += 1
    if tag == _NONE:
        return None, pos
    if tag == _FALSE:
        return False, pos
    if tag == _TRUE:
        return True, pos
    if tag == _INT:
        z, pos = read_varint(data, pos)
        return ((z >> 1) if not z & 1 else -((z + 1) >> 1)), pos
    if tag == _FLOAT:
        if pos + 8 > len(data):
            raise CodecError(f"truncated float at byte {pos}")
        return _DOUBLE.unpack_from(data, pos)[0], pos + 8
    if tag in (_STR, _BYTES):
        n, pos = _read_len(data, pos)
        raw = data[pos:pos + n]
        if tag == _BYTES:
            return raw, pos + n
        try:
            return raw.decode("utf-8", "surrogatepass"), pos + n
        except UnicodeDecodeError as e:
            raise CodecError(f"invalid UTF-8 in the string at byte {pos}: {e.reason}") from None
    if tag in (_LIST, _TUPLE):
        n, pos = _read_len(data, pos)
        items = []
        for _ in range(n):
            item, pos = _decode(data, pos, depth + 1)
            items.append(item)
        return (tuple(items) if tag == _TUPLE else items), pos
    if tag == _DICT:
        n, pos = _read_len(data, pos)
        d = {}
        for _ in range(n):
            k, pos = _decode(data, pos, depth + 1)
            try:
                hash(k)
            except TypeError:
                raise CodecError(f"unhashable dict key of type {type(k).__name__} before byte {pos}") from None
            d[k], pos = _decode(data, pos, depth + 1)
        return d, pos
    raise CodecError(f"unknown tag 0x{tag:02x} at byte {pos - 1}")
