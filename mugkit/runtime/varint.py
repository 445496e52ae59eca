"""Unsigned LEB128 varints (standard library only): 7 bits per byte, least significant group
first, the high bit set on every byte but the last.

Both the canonical hash encoding (:mod:`mugkit.runtime.hashing`) and the netcode wire codec
(:mod:`mugkit.netcode.codec`) write their lengths this way; they share this module rather than
one importing the other, so that neither format changes when the other does.

Example:
    >>> out = bytearray()
    >>> write_varint(300, out)
    >>> bytes(out)
    b'\\xac\\x02'
    >>> read_varint(bytes(out), 0)
    (300, 2)
"""

from __future__ import annotations

__all__ = ["write_varint", "read_varint", "MAX_VARINT_BYTES"]

#: Longest varint :func:`read_varint` accepts by default: 7 kbit integers are far beyond any
#: length or action, and a hostile stream of continuation bytes must stop somewhere.
MAX_VARINT_BYTES = 1024


def write_varint(n: int, out: bytearray) -> None:
    """Appends ``n`` (≥ 0) to ``out`` as an unsigned LEB128 varint, in the fewest bytes."""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def read_varint(data: bytes, pos: int, max_bytes: int = MAX_VARINT_BYTES) -> tuple[int, int]:
    """Reads the varint starting at ``data[pos]``.

    Returns:
        ``(value, position after it)``.

    Raises:
        ValueError: the data ends inside the varint ("truncated"), or it is overlong: longer
            than ``max_bytes``, or not minimal (a last byte of 0 after others, which
            :func:`write_varint` never writes; refusing it keeps one encoding per value).
    """
    if pos < len(data) and data[pos] < 0x80:  # one byte: most lengths and counts, and fast
        return data[pos], pos + 1
    n = shift = 0
    start = pos
    while True:
        if pos >= len(data):
            raise ValueError(f"truncated varint at byte {pos}")
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and pos - start > 1:
                raise ValueError(f"overlong varint at byte {start}: not in the fewest bytes")
            return n, pos
        shift += 7
        if pos - start >= max_bytes:
            raise ValueError(f"overlong varint at byte {start}: longer than {max_bytes} bytes")
