"""Requests a session hands to the game, and the inputs they carry.

``session.advance_frame()`` returns a list of :class:`SaveState`, :class:`LoadState` and
:class:`AdvanceFrame`; the caller must fulfil every one of them, in order, before calling the
session again. The ``frame`` on each request is a sanity check: it is the frame the game is at
(Save/Load) or the frame being simulated (Advance).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from ..runtime.errors import InternalError
from .errors import InvalidRequest

__all__ = ["InputStatus", "PlayerInput", "GameStateCell", "SaveState", "LoadState", "AdvanceFrame",
           "Request"]


class InputStatus(enum.Enum):
    """Where an input came from."""

    CONFIRMED = "confirmed"        #: the player's real input for that frame
    PREDICTED = "predicted"        #: a guess (the player's last confirmed input); may be rolled back
    DISCONNECTED = "disconnected"  #: the player is gone; the default action stands in


@dataclass(frozen=True)
class PlayerInput:
    """One player's input for one frame."""

    action: Any
    status: InputStatus


class GameStateCell:
    """Holds one saved game state. The caller fills it for a :class:`SaveState` request with
    :meth:`save` and reads it for a :class:`LoadState` request with :meth:`load`; the session
    names the frame with :meth:`expect` when it hands the cell out.

    Attributes:
        frame: the frame of the state held (-1: empty).
        expected_frame: the frame of the last SaveState request made with this cell (-1:
            none); equal to ``frame`` once that request is fulfilled.
    """

    __slots__ = ("frame", "state", "checksum", "_expected", "_on_save")

    def __init__(self, on_save: Callable[[int, Any], None] | None = None):
        self.frame = -1              # frame of the state held; -1 when empty
        self.state: Any = None
        self.checksum: Any = None
        self._expected = -1          # frame of the SaveState request this cell belongs to
        self._on_save = on_save

    @property
    def expected_frame(self) -> int:
        return self._expected

    def expect(self, frame: int) -> None:
        """The session's side of a SaveState request (games never call it): the next
        :meth:`save` stores the state of ``frame``. The caller's ``save()`` takes no frame, so
        a game cannot file a state under the wrong one."""
        self._expected = frame

    def save(self, state: Any, checksum: Any = None) -> None:
        """Stores ``state`` (the game as it is now) and its ``checksum`` (any comparable value,
        e.g. a hex digest; None disables desync detection for this frame)."""
        self.frame = self._expected
        self.state = state
        self.checksum = checksum
        if self._on_save is not None:
            self._on_save(self.frame, checksum)

    def load(self) -> Any:
        """The state stored by the last :meth:`save`."""
        return self.state

    def require(self, frame: int) -> None:
        """The session's check before it hands the cell out in a LoadState request.

        Raises:
            InvalidRequest: the cell does not hold ``frame`` because the caller left the
                SaveState request for it unfulfilled.
            InternalError: the session never asked for ``frame`` to be saved in this cell (a
                bug in mugkit: the session only rolls back to frames it saved).
        """
        if self.frame == frame:
            return
        if self._expected == frame:
            raise InvalidRequest(f"SaveState({frame}) was not fulfilled: call request.cell.save(state, checksum) "
                                 f"for every SaveState before the next advance_frame()")
        raise InternalError(f"state of frame {frame} is not saved (the cell holds frame {self.frame} and "
                            f"was last asked for frame {self._expected})")


@dataclass(frozen=True)
class SaveState:
    """Save the game as it is now (at ``frame``) into ``cell``: ``cell.save(state, checksum)``.

    ``checksum_needed`` is False when the session will not compare this frame's checksum (a
    P2P session exchanges only every ``checksum_interval``-th one): a caller may then pass
    ``checksum=None`` and skip the cost of hashing.
    """

    frame: int
    cell: GameStateCell
    checksum_needed: bool = True


@dataclass(frozen=True)
class LoadState:
    """Restore the game to ``frame`` from ``cell``: ``game.load(cell.load())``."""

    frame: int
    cell: GameStateCell


@dataclass(frozen=True)
class AdvanceFrame:
    """Simulate frame ``frame`` with ``inputs`` (one :class:`PlayerInput` per handle, by handle)."""

    frame: int
    inputs: tuple

    @property
    def actions(self) -> tuple:
        """The actions alone, by handle."""
        return tuple(i.action for i in self.inputs)


Request = SaveState | LoadState | AdvanceFrame
