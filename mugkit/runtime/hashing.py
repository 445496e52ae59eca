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

:func:`digest` is SHA-256 of the encoding, as 16 hex digits. It feeds the hash as it encodes:
array bodies go to SHA-256 straight from the array's memory, never copied into the encoding.

:func:`fingerprint` is not canonical: the same encoding, except that each numpy array's body
(its raw bytes) is replaced by a CRC-32 of them, so a frame with megabytes of pixels costs a
fraction of a SHA-256 pass. Equal data give equal fingerprints in one Python with one numpy; use
it only to compare frames within one process (the checks' plain runs against their rollbacks),
never across runtimes, and never against a :func:`digest` (a fingerprint starts with ``~``, so it
never equals one).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from .varint import write_varint  # shared with the wire codec; still importable from here

__all__ = ["encode", "digest", "fingerprint", "write_varint", "UnencodableError"]


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


_KEYS: dict = {}  # encodings of short strs: states repeat the same few names every frame


def _key_bytes(k: Any) -> bytes:
    if type(k) is str:
        raw = _KEYS.get(k)
        if raw is None:
            data = k.encode("utf-8", "surrogatepass")
            out = bytearray(b"s")
            _varint(len(data), out)
            raw = bytes(out + data)
            if len(_KEYS) < 4096 and len(data) <= 256:
                _KEYS[k] = raw
        return raw
    return encode(k)


def _int_bytes(n: int) -> bytes:
    length = (n if n >= 0 else ~n).bit_length() // 8 + 1  # the fewest bytes that keep the sign bit
    return n.to_bytes(length, "big", signed=True)


def _is_numpy(x: Any) -> bool:
    return type(x).__module__ == "numpy"


def _encode_int(n: int) -> bytes:
    raw = _int_bytes(n)
    out = bytearray(b"i")
    _varint(len(raw), out)
    return bytes(out + raw)


_SMALL_INTS = [_encode_int(n) for n in range(-256, 1024)]  # frame indices, coordinates, counters
_FLOAT = struct.Struct(">cd").pack


def _encode(x: Any, out: bytearray) -> None:
    t = type(x)
    if x is None:
        out += b"N"
    elif t is bool:
        out += b"T" if x else b"F"
    elif t is int:
        out += _SMALL_INTS[x + 256] if -256 <= x < 1024 else _encode_int(x)
    elif t is float:
        out += _FLOAT(b"f", x)
    elif t is str:
        out += _key_bytes(x)
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
    body = _body(arr)
    if isinstance(out, _Sink):
        out.body(body, x)
    else:
        out += body


def _body(arr: Any) -> Any:
    """The array's C-order bytes, without a copy when it is C-contiguous (a byte view of its memory)."""
    if arr.flags.c_contiguous:
        try:
            return memoryview(arr).cast("B")
        except (TypeError, ValueError):  # dtypes the buffer protocol does not describe (datetime64, ...)
            pass
    return arr.tobytes(order="C")


class _Sink(bytearray):
    """Encoding output that hands array bodies to :meth:`body` instead of appending them."""

    __slots__ = ()

    def body(self, data: Any, array: Any) -> None:
        raise NotImplementedError


class _Hashing(_Sink):
    """Feeds SHA-256 as it goes: the bytes so far, then each array body straight from its memory."""

    __slots__ = ("hash",)

    def body(self, data: Any, array: Any) -> None:
        if self:
            self.hash.update(self)
            del self[:]
        self.hash.update(data)


class _Fingerprinting(_Sink):
    """Puts a CRC-32 of each array body in its place (the length follows from dtype and shape)."""

    __slots__ = ()

    def body(self, data: Any, array: Any) -> None:
        self += _crc(data, array).to_bytes(4, "big")


#: Arrays at least this large have their CRC remembered (see :func:`_crc`); smaller ones are cheap.
_MEMO_MIN_BYTES = 1 << 16
#: At most this many bytes of remembered array contents.
_MEMO_MAX_BYTES = 1 << 28
_memo: dict = {}  # id(array) -> (weak reference to it, its bytes then as uint8, their CRC-32)
_memo_bytes = [0]


def _forget(key: int, ref: Any) -> None:
    entry = _memo.get(key)
    if entry is not None and entry[0] is ref:
        del _memo[key]
        _memo_bytes[0] -= entry[1].nbytes


_once: dict = {}  # id(array) -> weak reference to it: large arrays fingerprinted once so far


def _seen_before(key: int, array: Any) -> bool:
    """Whether ``array`` was fingerprinted before (and still lives); notes it if not."""
    import weakref

    ref = _once.get(key)
    if ref is not None and ref() is array:
        del _once[key]
        return True
    try:
        _once[key] = weakref.ref(array, lambda r, k=key: _once.pop(k, None) if _once.get(k) is r else None)
    except TypeError:  # an object without weak references: never remembered
        pass
    return False


def _crc(data: Any, array: Any) -> int:
    """CRC-32 of an array body. An env's large arrays (a Box space's bounds, a background) mostly
    stay as they are from frame to frame: for those the CRC computed last time is reused once a
    byte-for-byte comparison (``memcmp``, several times faster than the CRC) shows the array still
    holds the bytes it was computed from. Equal bytes, equal CRC: reuse never changes a
    fingerprint, it only skips work. An array is remembered (its bytes copied) from its second
    fingerprint on: observations are new arrays every frame, and copying them would be waste."""
    size = len(data) if isinstance(data, bytes) else data.nbytes
    if size < _MEMO_MIN_BYTES:
        return zlib.crc32(data)
    import weakref

    import numpy as np

    now = np.frombuffer(data, dtype=np.uint8)
    key = id(array)
    entry = _memo.get(key)
    if entry is not None and entry[0]() is array and _same_bytes(now, entry[1]):
        return entry[2]
    crc = zlib.crc32(data)
    if entry is not None:
        _forget(key, entry[0])
    elif not _seen_before(key, array):
        return crc
    if _memo_bytes[0] + size <= _MEMO_MAX_BYTES:
        try:
            ref = weakref.ref(array, lambda r, k=key: _forget(k, r))
        except TypeError:  # an object without weak references: nothing to remember it by
            return crc
        _memo[key] = (ref, now.copy(), crc)
        _memo_bytes[0] += size
    return crc


def _same_bytes(a: Any, b: Any) -> bool:
    """Whether two contiguous uint8 arrays hold the same bytes: the C library's ``memcmp`` where
    there is one (three times numpy's speed), else compared eight bytes at a time."""
    if a.shape != b.shape:
        return False
    memcmp = _memcmp()
    if memcmp is not None:
        return memcmp(a.ctypes.data, b.ctypes.data, a.nbytes) == 0
    import numpy as np

    n = a.size // 8 * 8
    if not np.array_equal(a[:n].view(np.uint64), b[:n].view(np.uint64)):
        return False
    return n == a.size or bool(np.array_equal(a[n:], b[n:]))


_MEMCMP: list = []


def _memcmp() -> Any:
    """The C library's ``memcmp`` through ctypes, or None (Pyodide, Windows: no ``CDLL(None)``)."""
    if not _MEMCMP:
        try:
            import ctypes

            fn = ctypes.CDLL(None).memcmp
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        except Exception:  # no ctypes, or no C library loaded into the process by that name
            fn = None
        _MEMCMP.append(fn)
    return _MEMCMP[0]


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
    out = _Hashing()
    out.hash = hashlib.sha256()
    _encode(x, out)
    out.hash.update(out)
    return out.hash.hexdigest()[:16]


def fingerprint(x: Any) -> str:
    """A fast stand-in for :func:`digest` within one process: SHA-256 of the encoding with each
    numpy array's body replaced by its CRC-32 (see the module docstring), as ``~`` and 16 hex
    digits. Not canonical: never compare it across runtimes or with a :func:`digest`."""
    out = _Fingerprinting()
    _encode(x, out)
    return "~" + hashlib.sha256(out).hexdigest()[:16]
