"""The canonical encoding of plain data, and the frame hash built on it.

Rollback peers compare checksums, and ``mugkit check`` compares CPython with Pyodide, so the
encoding must give the same bytes for the same values in every Python, with no numpy required.
JSON is not enough: it loses big integers, -0.0, NaN payloads, bool-versus-int and non-string
keys. The encoding (version ``mk1``), one tagged item after another:

==================  =====================================================================
value               bytes
==================  =====================================================================
``None``            ``N``
``True``/``False``  ``T`` / ``F`` (so a bool never equals the int 1 or 0)
``int``             ``i`` + length + minimal big-endian two's complement (any size)
``float``           ``f`` + the 8 bytes of the IEEE-754 double, big-endian (exact bits)
``complex``         ``c`` + real and imaginary parts as two doubles
``str``             ``s`` + length + UTF-8
``bytes``           ``b`` + length + the bytes
list, tuple         ``l`` + count + items (a tuple encodes like a list); a list of two or
                    more items that are all ``int`` within 64 bits: ``q`` + count + each
                    as 8 bytes big-endian two's complement
``dict``            ``d`` + count + (key, value) pairs sorted by the key's encoding
set, frozenset      ``e`` + count + items sorted by their encoding
numpy array         ``a`` + dtype (little-endian ``str``, e.g. ``<f8``) + ndim + dims +
                    C-order little-endian bytes; object arrays: ``A`` + ndim + dims + items
==================  =====================================================================

Lengths and counts are unsigned LEB128 varints. numpy scalars are normalised to the Python
value first (``np.int64(3)`` encodes as ``3``, ``np.float32(0.5)`` as ``0.5``). Anything else
is first turned into plain data by :func:`mugkit.runtime.state.state_view`.

:func:`digest` is SHA-256 of the encoding, as 16 hex digits.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from .varint import write_varint  # shared with the wire codec; still importable from here

__all__ = ["encode", "digest", "write_varint", "UnencodableError"]


class UnencodableError(TypeError):
    """A value that has no canonical encoding (and was not turned into plain data first)."""


_INT_ONLY = {int}


_varint = write_varint


def _all_ints(x) -> bool:
    kinds = set(map(type, x))
    if kinds == _INT_ONLY:
        return True
    return all(t is int or (t.__module__ == "numpy" and getattr(t, "__name__", "").startswith(("int", "uint")))
               for t in kinds)


_KEYS: dict = {}  # encodings of str keys: states repeat the same few names every frame


def _key_bytes(k: Any) -> bytes:
    if type(k) is str:
        raw = _KEYS.get(k)
        if raw is None:
            raw = encode(k)
            if len(_KEYS) < 4096:
                _KEYS[k] = raw
        return raw
    return encode(k)


def _int_bytes(n: int) -> bytes:
    length = (n if n >= 0 else ~n).bit_length() // 8 + 1  # the fewest bytes that keep the sign bit
    return n.to_bytes(length, "big", signed=True)


def _is_numpy(x: Any) -> bool:
    return type(x).__module__ == "numpy"


def _encode(x: Any, out: bytearray) -> None:
    t = type(x)
    if x is None:
        out += b"N"
    elif t is bool:
        out += b"T" if x else b"F"
    elif t is int:
        raw = _int_bytes(x)
        out += b"i"
        _varint(len(raw), out)
        out += raw
    elif t is float:
        out += b"f" + struct.pack(">d", x)
    elif t is str:
        raw = x.encode("utf-8", "surrogatepass")
        out += b"s"
        _varint(len(raw), out)
        out += raw
    elif t is list or t is tuple:
        if len(x) > 1 and _all_ints(x):
            x = [int(v) for v in x] if set(map(type, x)) != _INT_ONLY else x  # numpy ints normalise
            try:  # a run of machine-size ints (RNG states): one C call instead of one per int
                packed = struct.pack(f">{len(x)}q", *x)
            except struct.error:
                packed = None
            if packed is not None:
                out += b"q"
                _varint(len(x), out)
                out += packed
                return
        out += b"l"
        _varint(len(x), out)
        for item in x:
            _encode(item, out)
    elif t is dict:
        out += b"d"
        _varint(len(x), out)
        pairs = sorted((_key_bytes(k), v) for k, v in x.items())
        for k, v in pairs:
            out += k
            _encode(v, out)
    elif isinstance(x, bool):  # subclasses of the builtins from here on
        out += b"T" if x else b"F"
    elif isinstance(x, int):
        _encode(int(x), out)
    elif isinstance(x, float):
        _encode(float(x), out)
    elif isinstance(x, str):
        _encode(str(x), out)
    elif isinstance(x, (bytes, bytearray, memoryview)):
        raw = bytes(x)
        out += b"b"
        _varint(len(raw), out)
        out += raw
    elif isinstance(x, complex):
        out += b"c" + struct.pack(">dd", x.real, x.imag)
    elif isinstance(x, (list, tuple)):
        _encode(list(x), out)
    elif isinstance(x, dict):
        _encode(dict(x), out)
    elif isinstance(x, (set, frozenset)):
        items = sorted(encode(v) for v in x)
        out += b"e"
        _varint(len(items), out)
        for item in items:
            out += item
    elif _is_numpy(x) and hasattr(x, "dtype"):
        _encode_numpy(x, out)
    else:
        raise UnencodableError(f"no canonical encoding for {t.__module__}.{t.__qualname__}: {x!r:.60}")


def _encode_numpy(x: Any, out: bytearray) -> None:
    if type(x).__name__ != "ndarray" or x.ndim == 0:
        _encode(x.item(), out)  # numpy scalars and 0-d arrays -> the Python scalar
        return
    if x.dtype.kind == "O":
        out += b"A"
        _varint(x.ndim, out)
        for d in x.shape:
            _varint(d, out)
        for item in x.ravel(order="C").tolist():
            _encode(item, out)
        return
    arr = x.astype(x.dtype.newbyteorder("<"), copy=False) if x.dtype.byteorder == ">" else x
    dtype = arr.dtype.str
    out += b"a"
    _encode(dtype, out)
    _varint(arr.ndim, out)
    for d in arr.shape:
        _varint(d, out)
    out += arr.tobytes(order="C")


def encode(x: Any) -> bytes:
    """The canonical encoding of plain data ``x`` (see the module docstring).

    Raises:
        UnencodableError: ``x`` holds an object that is not plain data.
    """
    out = bytearray()
    _encode(x, out)
    return bytes(out)


def digest(x: Any) -> str:
    """SHA-256 of :func:`encode` ``(x)``, as 16 hex digits."""
    return hashlib.sha256(encode(x)).hexdigest()[:16]
