"""Messages between peers, as bytes: ``MAGIC`` (2 bytes), version, kind, then one
:mod:`~mugkit.netcode.codec` value holding the fields. Decoding checks every field's type, so a
session can trust what :func:`decode_message` returns."""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import Any

from . import codec
from .errors import ProtocolError

__all__ = ["MAGIC", "VERSION", "MAX_PACKET_BYTES", "Hello", "Input", "Quality", "QualityReply",
           "Checksum", "Message", "encode_message", "decode_message", "encode_input",
           "input_packet_bound"]

MAGIC = b"MK"
VERSION = 1

#: Largest packet a session sends or accepts, in bytes. 16 KiB is the largest message every
#: browser's WebRTC data channel is known to carry (Chrome and Firefox interoperate up to it;
#: larger messages need an SCTP extension not every browser has). Packets are normally tens of
#: bytes: only a backlog of large actions comes near it, and the session then sends fewer frames.
MAX_PACKET_BYTES = 16 * 1024


@dataclass(frozen=True)
class Hello:
    """Sent until the peer answers; the first message from a peer synchronizes it."""
    num_players: int


@dataclass(frozen=True)
class Input:
    """Inputs of the sender's players, redundantly: every frame the receiver has not acknowledged.

    Attributes:
        start: frame of ``inputs[0]``.
        ack: the last frame up to which the sender holds all inputs of the receiver's players
            (-1: none), so the receiver can stop resending them.
        frame: the sender's current frame (for time sync).
        handles: the sender's local handles, the order of each entry of ``inputs``.
        inputs: per frame from ``start``, a tuple of actions, one per handle.
        status: per handle of the game, (disconnected, last frame received) as the sender sees it,
            so that every peer drops a disconnected player at the same frame.
    """
    start: int
    ack: int
    frame: int
    handles: tuple
    inputs: tuple
    status: tuple


@dataclass(frozen=True)
class Quality:
    """Time sync: the sender's frame advantage over the receiver, and its clock for the ping."""
    advantage: float
    ping_ms: float


@dataclass(frozen=True)
class QualityReply:
    """Answer to :class:`Quality`, echoing its ``ping_ms`` (round-trip time)."""
    ping_ms: float


@dataclass(frozen=True)
class Checksum:
    """The checksum of the sender's confirmed state at ``frame``."""
    frame: int
    checksum: Any


Message = Hello | Input | Quality | QualityReply | Checksum
_KINDS = {Hello: 1, Input: 2, Quality: 3, QualityReply: 4, Checksum: 5}
_BY_KIND = {v: k for k, v in _KINDS.items()}


def encode_message(msg: Message) -> bytes:
    """The bytes of ``msg``."""
    return MAGIC + bytes((VERSION, _KINDS[type(msg)])) + codec.encode(astuple(msg))


def encode_input(msg: Input, limit: int = MAX_PACKET_BYTES) -> tuple[bytes, int]:
    """The bytes of ``msg`` with as many of its first frames of inputs as fit in ``limit``
    bytes, and how many frames that is. Inputs are resent until acknowledged, so the frames
    left out simply go in a later packet; only frames from ``msg.start`` on, in order, are
    kept, so the receiver can confirm them."""
    data = encode_message(msg)
    if len(data) <= limit:
        return data, len(msg.inputs)
    lo, hi = 0, len(msg.inputs) - 1  # the largest count that fits is in lo..hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(encode_message(replace(msg, inputs=msg.inputs[:mid]))) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return encode_message(replace(msg, inputs=msg.inputs[:lo])), lo


def input_packet_bound(handles: tuple, actions: tuple, num_players: int) -> int:
    """An upper bound on the size of an Input packet carrying one frame of ``actions`` (one per
    handle of ``handles``) in a game of ``num_players``: every frame number in it at the
    largest a packet may carry (2**40)."""
    big = 2**40
    msg = Input(big, big, big, tuple(handles), (tuple(actions),), ((True, big),) * num_players)
    return len(encode_message(msg))


def _int(v: Any, name: str, lo: int = -1) -> int:
    if type(v) is not int or v < lo or v > 2**40:
        raise ProtocolError(f"{name}={v!r}: expected an int between {lo} and 2**40")
    return v


def _num(v: Any, name: str) -> float:
    if type(v) not in (int, float) or v != v:
        raise ProtocolError(f"{name}={v!r}: expected a number")
    return v


def decode_message(data: bytes) -> Message:
    """Parses bytes made by :func:`encode_message`.

    Raises:
        ProtocolError: wrong magic or version, unknown kind, undecodable payload, or a field of
            the wrong type or range.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise ProtocolError(f"a packet must be bytes, got {type(data).__name__}")
    if len(data) < 4 or data[:2] != MAGIC:
        raise ProtocolError(f"not a mugkit packet (starts with {bytes(data[:4])!r})")
    if data[2] != VERSION:
        raise ProtocolError(f"protocol version {data[2]}, this session speaks {VERSION}")
    cls = _BY_KIND.get(data[3])
    if cls is None:
        raise ProtocolError(f"unknown message kind {data[3]}")
    try:
        fields = codec.decode(data[4:])
    except codec.CodecError as e:
        raise ProtocolError(f"{cls.__name__}: {e}") from None
    n = len(cls.__dataclass_fields__)
    if type(fields) is not tuple or len(fields) != n:
        raise ProtocolError(f"{cls.__name__}: expected a tuple of {n} fields")
    if cls is Hello:
        return Hello(_int(fields[0], "num_players", 1))
    if cls is Input:
        start, ack, frame, handles, inputs, status = fields
        _int(start, "start", 0), _int(ack, "ack"), _int(frame, "frame", 0)
        if type(handles) is not tuple or not all(type(h) is int and 0 <= h < 64 for h in handles):
            raise ProtocolError(f"Input: handles={handles!r}: expected a tuple of small ints")
        if type(inputs) is not tuple or any(type(i) is not tuple or len(i) != len(handles) for i in inputs):
            raise ProtocolError(f"Input: inputs must be a tuple of tuples of {len(handles)} actions")
        if type(status) is not tuple or any(
                type(s) is not tuple or len(s) != 2 or type(s[0]) is not bool or type(s[1]) is not int
                for s in status):
            raise ProtocolError(f"Input: status={status!r}: expected (bool, int) pairs")
        return Input(start, ack, frame, handles, inputs, status)
    if cls is Quality:
        return Quality(_num(fields[0], "advantage"), _num(fields[1], "ping_ms"))
    if cls is QualityReply:
        return QualityReply(_num(fields[0], "ping_ms"))
    return Checksum(_int(fields[0], "frame", 0), fields[1])
