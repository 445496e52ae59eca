"""Exceptions of the netcode package."""

from __future__ import annotations

__all__ = ["InvalidRequest", "ProtocolError", "MismatchedChecksum"]


class InvalidRequest(ValueError):
    """A session was configured or called wrongly; the message quotes the offending values."""


class ProtocolError(ValueError):
    """A packet from a peer is malformed or inconsistent. Sessions catch it, drop the packet and
    count it in ``stats.packets_dropped``; :func:`mugkit.netcode.messages.decode_message` raises it."""


class MismatchedChecksum(AssertionError):
    """A :class:`~mugkit.netcode.synctest.SyncTestSession` re-simulated a frame and got another
    checksum: the game is not deterministic under save/load.

    Attributes:
        frame: the first frame whose checksum differed.
        original: the checksum saved when the frame was first simulated.
        resimulated: the checksum saved after loading an earlier state and re-simulating.
        mismatched_frames: every frame that differed in that check.
    """

    def __init__(self, frame: int, original: object, resimulated: object, mismatched_frames: list[int]):
        self.frame = frame
        self.original = original
        self.resimulated = resimulated
        self.mismatched_frames = mismatched_frames
        super().__init__(f"frame {frame}: checksum {original!r} when first simulated, {resimulated!r} "
                         f"after rollback and re-simulation (mismatched frames: {mismatched_frames}); "
                         f"the game's save/load or step is not deterministic")
