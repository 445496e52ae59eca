"""The sync test: one process, every player local, and a rollback of ``check_distance`` frames
on every frame, comparing the checksums of re-simulated states with the first ones. A game
that passes behaves identically when a real session rolls it back (GGPO's SyncTest, GGRS's
``SyncTestSession``), for a game loop that wants to run it continuously during development.
mugkit's own ``synctest`` check (:mod:`mugkit.checks.synctest`) goes further — every distance
from 1 to ``max_rollback`` on every frame, with diagnosis — and does not use this class. Neither
can catch differences between platforms (CPython vs Pyodide): that is the ``parity`` check's job
(it comes with the browser runtime).
"""

from __future__ import annotations

from typing import Any

from . import codec
from .errors import InvalidRequest, MismatchedChecksum
from .requests import AdvanceFrame, GameStateCell, InputStatus, LoadState, PlayerInput, SaveState

__all__ = ["SyncTestSession"]


class SyncTestSession:
    """Make it with ``SessionBuilder().with_num_players(n).start_synctest_session()``.

    Each frame: ``add_local_input`` for every handle ``0..n-1``, then fulfil the requests of
    :meth:`advance_frame`, which are (from frame ``check_distance`` on)::

        SaveState(c), LoadState(c - d), [AdvanceFrame(f), SaveState(f + 1)] for f in c-d .. c-1,
        AdvanceFrame(c)

    so every state is saved once when first reached and ``d`` more times after re-simulation.
    ``input_delay`` applies as in a P2P session.

    Attributes:
        current_frame: the frame the next AdvanceFrame simulates.
        check_distance: frames rolled back each frame.
        mismatches: every :class:`MismatchedChecksum` found (the first is also raised).
    """

    def __init__(self, b: Any):
        self.num_players: int = b.num_players
        self.local_handles = tuple(range(self.num_players))
        self.check_distance: int = b.check_distance
        self.input_delay: int = b.input_delay
        self.default_action = codec.decode(codec.encode(b.default_action))  # as peers decode it
        self.current_frame = 0
        self.mismatches: list[MismatchedChecksum] = []
        self._inputs: dict[int, tuple] = {}
        self._pending: dict[int, Any] = {}
        self._cells = [GameStateCell(self._on_save) for _ in range(self.check_distance + 2)]
        self._first: dict[int, Any] = {}      # frame -> checksum when first saved
        self._bad: list[tuple[int, Any, Any]] = []
        self._saved: set[int] = set()

    def add_local_input(self, handle: int, action: Any) -> None:
        """Sets ``handle``'s action for this frame (applies ``input_delay`` frames later).

        Raises:
            InvalidRequest: the handle is out of range or the action cannot be encoded.
        """
        if handle not in self.local_handles:
            raise InvalidRequest(f"handle={handle!r}: must be between 0 and {self.num_players - 1}")
        try:
            codec.encode(action)
        except codec.CodecError as e:
            raise InvalidRequest(f"handle={handle}: action {action!r} cannot be sent: {e}") from None
        self._pending[handle] = action

    def advance_frame(self) -> list:
        """The requests for this frame (see the class docstring).

        Raises:
            MismatchedChecksum: a state re-simulated during the previous frame's requests had
                another checksum than when first simulated.
            InvalidRequest: a handle got no input since the last call.
        """
        self._raise_mismatch()
        missing = [h for h in self.local_handles if h not in self._pending]
        if missing:
            raise InvalidRequest(f"no local input for handles {missing}: call add_local_input(handle, action) "
                                 f"for every handle before advance_frame()")
        c = self.current_frame
        if c == 0:
            for f in range(self.input_delay):
                self._inputs[f] = (self.default_action,) * self.num_players
        self._inputs[c + self.input_delay] = tuple(self._pending[h] for h in self.local_handles)
        self._pending = {}
        self._inputs.pop(c - self.check_distance - 1, None)

        requests: list = [self._save(c)]
        if c >= self.check_distance:
            start = c - self.check_distance
            cell = self._cells[start % len(self._cells)]
            cell.require(start)
            requests.append(LoadState(start, cell))
            for f in range(start, c):
                requests.append(self._advance(f))
                requests.append(self._save(f + 1))
        requests.append(self._advance(c))
        self.current_frame += 1
        return requests

    def check(self) -> None:
        """Raises :class:`MismatchedChecksum` if the last requests re-simulated a state
        differently; call it after the final frame of a run."""
        self._raise_mismatch()

    def _save(self, frame: int) -> SaveState:
        cell = self._cells[frame % len(self._cells)]
        cell.expect(frame)
        return SaveState(frame, cell)

    def _advance(self, frame: int) -> AdvanceFrame:
        return AdvanceFrame(frame, tuple(PlayerInput(a, InputStatus.CONFIRMED) for a in self._inputs[frame]))

    def _on_save(self, frame: int, checksum: Any) -> None:
        if frame not in self._first:
            self._first[frame] = checksum
            self._first.pop(frame - self.check_distance - 2, None)
        elif self._first[frame] != checksum:
            self._bad.append((frame, self._first[frame], checksum))

    def _raise_mismatch(self) -> None:
        if self._bad:
            frame, original, resim = self._bad[0]
            err = MismatchedChecksum(frame, original, resim, [f for f, _, _ in self._bad])
            self._bad = []
            self.mismatches.append(err)
            raise err
