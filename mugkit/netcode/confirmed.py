"""The stream of confirmed frames of a :class:`~mugkit.netcode.p2p.P2PSession`: for every frame
whose inputs are final, what was simulated with them and how it went (predicted at first,
rolled back how deep), for a recorder that stores each frame once it can no longer change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from ..runtime.errors import InternalError
from .desync import CONFIRMED_KEPT
from .requests import InputStatus

__all__ = ["ConfirmedFrame", "FrameLog"]


@dataclass(frozen=True)
class ConfirmedFrame:
    """One confirmed frame, as ``session.drain_confirmed_frames()`` returns it.

    Attributes:
        frame: the frame simulated (an ``AdvanceFrame.frame``): the game went from state
            ``frame`` to state ``frame + 1``.
        inputs: the final :class:`~mugkit.netcode.requests.PlayerInput` of every handle, by
            handle; each ``CONFIRMED``, or ``DISCONNECTED`` (the default action) for a dropped
            player. Every peer has the same.
        checksum: the checksum saved for state ``frame + 1``, or None when it was not hashed
            (see ``SaveState.checksum_needed``).
        predicted: True when, the first time this frame was simulated, some input was a
            prediction (right or wrong).
        rollback_depth: the deepest rollback that re-simulated this frame (frames rolled
            back, as in ``SessionStats.max_rollback_depth``); 0 if it was simulated once.
    """

    frame: int
    inputs: tuple
    checksum: Any
    predicted: bool
    rollback_depth: int

    @property
    def actions(self) -> tuple:
        """The actions alone, by handle."""
        return tuple(i.action for i in self.inputs)


class FrameLog:
    """Per frame, from its first simulation until it is confirmed: whether it was predicted,
    how deep it was rolled back, and its final inputs. Confirmed frames wait for
    :meth:`drain`; the last ``kept`` are kept when nobody drains them.
    """

    def __init__(self, kept: int = CONFIRMED_KEPT):
        self._predicted: dict[int, bool] = {}
        self._depth: dict[int, int] = {}
        self._final: dict[int, tuple] = {}
        self._final_upto = -1
        self._out: deque = deque(maxlen=kept)

    def simulated(self, frame: int, inputs: tuple) -> None:
        """``frame`` is being simulated with ``inputs``; only the first time counts."""
        if frame not in self._predicted:
            self._predicted[frame] = any(i.status is InputStatus.PREDICTED for i in inputs)

    def rolled_back(self, start: int, end: int, depth: int) -> None:
        """Frames ``start .. end - 1`` are re-simulated by a rollback of ``depth`` frames."""
        for f in range(start, end):
            self._depth[f] = max(self._depth.get(f, 0), depth)

    def finalize(self, upto: int, inputs_of: Callable[[int], tuple]) -> None:
        """The inputs of every frame up to ``upto`` are final: records them, from
        ``inputs_of(frame)``, before the session prunes them."""
        for f in range(self._final_upto + 1, upto + 1):
            inputs = inputs_of(f)
            if any(i.status is InputStatus.PREDICTED for i in inputs):
                raise InternalError(f"frame {f} is confirmed but an input of it is still predicted")
            self._final[f] = inputs
        self._final_upto = max(self._final_upto, upto)

    def confirmed(self, frame: int, checksum: Any) -> None:
        """State ``frame + 1``, simulated with the final inputs, was saved with ``checksum``."""
        inputs = self._final.pop(frame, None)
        if inputs is None:
            raise InternalError(f"state {frame + 1} is confirmed before the inputs of frame {frame} are final")
        self._out.append(ConfirmedFrame(frame, inputs, checksum, self._predicted.pop(frame, False),
                                        self._depth.pop(frame, 0)))

    def start_at(self, frame: int) -> None:
        """A session resumed at ``frame``: the frames before it are somebody else's record."""
        self._final_upto = frame - 1

    def final_inputs(self, after: int) -> dict[int, tuple]:
        """The final inputs held for frames after ``after`` and not confirmed yet, by frame."""
        return {f: inputs for f, inputs in self._final.items() if f > after}

    def drain(self) -> list[ConfirmedFrame]:
        """Takes the frames confirmed since the last call, in frame order."""
        out = list(self._out)
        self._out.clear()
        return out

    def prune(self, before: int) -> None:
        """Forgets frames below ``before`` still here: their state was never saved (the caller
        skipped a SaveState), so they will not be confirmed."""
        for record in (self._predicted, self._depth, self._final):
            for f in [f for f in record if f < before]:
                del record[f]
