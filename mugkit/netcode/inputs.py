"""Every player's inputs by frame, for a :class:`~mugkit.netcode.p2p.P2PSession`: local inputs
(written ``input_delay`` frames ahead), remote inputs as they arrive, predictions for the ones
still missing, how far each player's inputs are confirmed, the frame from which a dropped
player's inputs are the default action, and the earliest frame simulated with a wrong
prediction (where the next rollback starts).
"""

from __future__ import annotations

from typing import Any

from . import codec
from .errors import ProtocolError
from .requests import InputStatus, PlayerInput

__all__ = ["MAX_INPUTS_PER_PACKET", "InputQueues"]

MAX_INPUTS_PER_PACKET = 64   # a long silence must not make packets grow without bound


class InputQueues:
    """The inputs of ``num_players`` players, ``local_handles`` of them played here.

    Attributes:
        last_confirmed: per handle, the last frame up to which all its inputs are known.
        disc_frame: per handle, the frame from which its inputs are the default action (None:
            connected).
        local_next: the next frame a local input is written to.
        first_incorrect: the earliest frame simulated with a prediction that turned out wrong
            (None: no such frame since the session last rolled back).
    """

    def __init__(self, num_players: int, local_handles: tuple, input_delay: int, max_rollback: int,
                 default_action: Any):
        self.local_handles = local_handles
        self.input_delay = input_delay
        self.max_rollback = max_rollback
        self.default_action = default_action
        n = num_players
        self._inputs: list[dict[int, Any]] = [{} for _ in range(n)]  # handle -> frame -> action
        self.last_confirmed = [-1] * n       # contiguous: all inputs up to here are known
        self.disc_frame: list[int | None] = [None] * n
        self._pruned = [0] * n               # inputs below this frame were dropped
        self.local_next = 0                  # next frame a local input is written to
        self._used: dict[int, tuple] = {}    # frame -> encoded actions the simulation used
        self.first_incorrect: int | None = None

    def input(self, h: int, f: int) -> PlayerInput:
        disc = self.disc_frame[h]
        if disc is not None and f >= disc:
            return PlayerInput(self.default_action, InputStatus.DISCONNECTED)
        inputs = self._inputs[h]
        if f in inputs:
            return PlayerInput(inputs[f], InputStatus.CONFIRMED)
        last = self.last_confirmed[h]
        return PlayerInput(inputs[last] if last >= 0 else self.default_action, InputStatus.PREDICTED)

    def known(self, frame: int) -> tuple:
        """Every player's input for ``frame`` as known now, by handle (nothing recorded)."""
        return tuple(self.input(h, frame) for h in range(len(self._inputs)))

    def for_frame(self, frame: int) -> tuple:
        """Every player's input for simulating ``frame``, by handle; what it used is recorded,
        so that a remote input arriving later can tell whether its prediction was wrong."""
        inputs = self.known(frame)
        self._used[frame] = tuple(codec.encode(i.action) for i in inputs)
        return inputs

    def add_local(self, local: dict, current_frame: int) -> None:
        if self.local_next > current_frame + self.input_delay:
            return  # resumed with local inputs known this far ahead: the delay closes one frame a call
        if self.local_next == 0:
            # The first input-delay frames have no input from anyone: every peer fills them
            # with the default action and sends them, so they are confirmed like any other.
            for f in range(self.input_delay):
                for h in self.local_handles:
                    self._inputs[h][f] = self.default_action
            self.local_next = self.input_delay
        f = self.local_next
        for h in self.local_handles:
            self._inputs[h][f] = local[h]
            self.last_confirmed[h] = f
        self.local_next = f + 1

    def restore(self, frame: int, inputs: dict) -> None:
        """Starts at ``frame`` (a rejoining peer) with the inputs known from earlier lives of this
        game (``{handle: {frame: action}}``): every frame before ``frame`` counts as known, the
        local inputs go on after the last one known (or after the input delay), and local frames
        nobody holds an input of are the default action."""
        for h, by_frame in inputs.items():
            self._inputs[h] = dict(by_frame)
            self._pruned[h] = min(by_frame, default=frame)
        for h in range(len(self._inputs)):
            if frame > 0:  # predictions repeat the input of the last frame known
                self._inputs[h].setdefault(frame - 1, self.default_action)
            self.last_confirmed[h] = frame - 1
            while self.last_confirmed[h] + 1 in self._inputs[h]:
                self.last_confirmed[h] += 1
        known = max((self.last_confirmed[h] for h in self.local_handles), default=frame - 1)
        self.local_next = max(known + 1, frame + self.input_delay)
        for h in self.local_handles:
            for f in range(self.last_confirmed[h] + 1, self.local_next):
                self._inputs[h][f] = self.default_action
            self.last_confirmed[h] = self.local_next - 1

    def oldest_local(self) -> int:
        """The first frame whose local inputs are still held (older ones were pruned)."""
        return min((self._pruned[h] for h in self.local_handles), default=0)

    def held(self, after: int) -> dict:
        """Every input held for frames after ``after``, by handle then frame."""
        return {h: {f: a for f, a in inputs.items() if f > after} for h, inputs in enumerate(self._inputs)}

    def local_frames(self, start: int) -> tuple:
        """The local inputs from frame ``start`` on, at most :data:`MAX_INPUTS_PER_PACKET` frames:
        one tuple of actions (by local handle) per frame."""
        end = min(self.local_next - 1, start + MAX_INPUTS_PER_PACKET - 1)
        return tuple(tuple(self._inputs[h][f] for h in self.local_handles) for f in range(start, end + 1))

    def store_remote(self, h: int, f: int, action: Any, current_frame: int) -> None:
        disc = self.disc_frame[h]
        if f <= self.last_confirmed[h] or (disc is not None and f >= disc) or f in self._inputs[h]:
            return  # a redundant copy, or a player already dropped
        if f > current_frame + MAX_INPUTS_PER_PACKET + self.max_rollback + self.input_delay:
            raise ProtocolError(f"input for frame {f}, far ahead of frame {current_frame}")
        self._inputs[h][f] = action
        used = self._used.get(f)
        if used is not None and used[h] != codec.encode(action):
            self.mark_incorrect(f, current_frame)
        inputs = self._inputs[h]
        while self.last_confirmed[h] + 1 in inputs:
            self.last_confirmed[h] += 1

    def mark_incorrect(self, f: int, current_frame: int) -> None:
        if f < current_frame and (self.first_incorrect is None or f < self.first_incorrect):
            self.first_incorrect = f

    def confirmed_upto(self, handles: tuple) -> int:
        """The last frame up to which the inputs of all ``handles`` are known."""
        return min(self.last_confirmed[h] for h in handles)

    def status(self) -> tuple:
        """Per handle, ``(dropped, last frame held)``: what an Input packet reports."""
        out = []
        for h in range(len(self._inputs)):
            if h in self.local_handles:
                out.append((False, self.local_next - 1))
            elif self.disc_frame[h] is not None:
                out.append((True, self.disc_frame[h] - 1))
            else:
                out.append((False, self.last_confirmed[h]))
        return tuple(out)

    def disconnect(self, handles: tuple, frame: int, current_frame: int) -> None:
        """Makes ``handles``' inputs the default action from ``frame`` on (unless they already
        are from an earlier frame), marking a rollback to ``frame`` if it was simulated."""
        for h in handles:
            old = self.disc_frame[h]
            if old is not None and old <= frame:
                continue
            self.disc_frame[h] = frame
            for f in [f for f in self._inputs[h] if f >= frame]:
                del self._inputs[h][f]
            self.last_confirmed[h] = min(self.last_confirmed[h], frame - 1)
            self.mark_incorrect(frame, current_frame)

    def prune(self, low: int, acks: list[int], used_before: int) -> None:
        """Drops the confirmed inputs below ``low`` (local ones also below every peer's next
        unacknowledged frame in ``acks``), and the used-input records of frames below
        ``used_before``."""
        for h in range(len(self._inputs)):
            keep = min(low, self.last_confirmed[h])
            if h in self.local_handles and acks:
                keep = min(keep, min(acks))  # unacknowledged local inputs are still resent
            inputs = self._inputs[h]
            while self._pruned[h] < keep:
                inputs.pop(self._pruned[h], None)
                self._pruned[h] += 1
        for f in [f for f in self._used if f < used_before]:
            del self._used[f]
