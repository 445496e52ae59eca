"""From keys to actions: what a human's keyboard means in one frame.

A client reports, per frame, a :class:`KeyInput`: the keys held now, and the keys that went down
and up since the previous frame. A press and a release that both fall between two frames show
up in ``down`` (and ``up``) though not in ``held``, so a quick tap is never lost.

:class:`KeyMapper` turns that into an action, per the step's options:

- ``input_mode`` picks the active keys: ``"pressed"`` = held or went down (a tap counts for one
  frame), ``"keydown"`` = went down, ``"keyup"`` = went up. In a turn-based frame ``"pressed"``
  counts a key once, when it goes down, so a held key does not play every turn.
- Among the combinations of ``keys`` whose keys are all active, the longest wins (ties: the one
  written first); one whose action the frame's action mask forbids is skipped, as a client lets
  only legal moves through.
- No active combination: the input is *missing*. A real-time frame fills it with
  ``default_action`` or the previous action (``fill``); a turn-based frame waits.

The frame driver and every rollback peer (:func:`peer_input`) map keys through a
:class:`KeyMapper`, so all of them agree on what a key means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable

from .options import GameOptions
from .policies import action_mask, mask_allows

__all__ = ["KeyInput", "KeyMapper", "NO_KEYS", "peer_action", "peer_input"]


@dataclass(frozen=True)
class KeyInput:
    """One human's keyboard in one frame (``KeyboardEvent.key`` names).

    Attributes:
        held: keys down now.
        down: keys that went down since the previous frame (may have gone up again).
        up: keys that went up since the previous frame.
    """

    held: frozenset = frozenset()
    down: frozenset = frozenset()
    up: frozenset = frozenset()

    @classmethod
    def of(cls, held: Iterable[str] = (), down: Iterable[str] = (), up: Iterable[str] = ()) -> "KeyInput":
        """A KeyInput from any iterables of key names."""
        return cls(frozenset(held), frozenset(down), frozenset(up))


NO_KEYS = KeyInput()


class KeyMapper:
    """Maps one human's :class:`KeyInput` per frame to an action (see the module docstring).

    Its state — the keys held last frame and the last action — is part of the driver's snapshot.
    """

    def __init__(self, options: GameOptions):
        self.mode = options.input_mode
        self.fill = options.fill
        self.default_action = options.default_action
        self.combos = options.combos
        self.last_held: frozenset = frozenset()
        self.previous: Any = None

    def active(self, keys: KeyInput | None, turn_based: bool = False) -> frozenset:
        """The keys that count this frame. Keys newly held count as gone down even when the client
        did not say so; keys no longer held, as gone up."""
        keys = keys or NO_KEYS
        down = keys.down | (keys.held - self.last_held)
        up = keys.up | (self.last_held - keys.held)
        self.last_held = keys.held
        if self.mode == "keyup":
            return up
        if self.mode == "keydown" or turn_based:
            return down
        return keys.held | down

    def match(self, active: frozenset, mask: Any = None) -> Any:
        """``(action, combination)`` of the longest legal combination within ``active``, or None."""
        for combo, action in self.combos:
            if combo <= active and mask_allows(mask, action):
                return action, combo
        return None

    def resolve(self, keys: KeyInput | None, mask: Any = None, turn_based: bool = False) -> tuple[Any, tuple, bool]:
        """``(action, active keys, filled)`` for this frame. ``action`` is None only in a
        turn-based frame with no legal combination active (the frame waits)."""
        active = self.active(keys, turn_based)
        hit = self.match(active, mask)
        shown = tuple(sorted(active))
        if hit is not None:
            self.previous = hit[0]
            return hit[0], shown, False
        if turn_based:
            return None, shown, False
        if self.fill == "previous" and self.previous is not None:
            return self.previous, shown, True
        return self.default_action, shown, True

    def get_state(self) -> tuple:
        return (self.last_held, self.previous)

    def set_state(self, state: tuple) -> None:
        self.last_held, self.previous = state


def peer_action(mapper: KeyMapper, options: GameOptions, agent: Hashable, keys: KeyInput | None,
                frame: Any, turn_based: bool | None = None) -> tuple[Any, tuple, bool]:
    """What a rollback peer sends for its human ``agent`` this frame: ``(action, active keys,
    filled)`` from ``keys`` through ``mapper`` (the peer's own, kept across frames), where
    ``frame`` is the game's current (possibly predicted) frame. ``turn_based``: the driver's
    (an AEC env is turn-based whatever the step says); default the step's option.

    A peer sends an input every frame. In a turn-based step, a frame where no key held maps to a
    legal action sends None, "no move yet": every peer's game then waits on that frame, as a
    turn-based game on the server waits for its player's press. In a real-time step it sends the
    first legal action of ``keys`` instead (``filled``); with no action mask, the first action.
    """
    turn_based = options.turn_based if turn_based is None else turn_based
    mask = action_mask(frame.observations.get(agent), frame.infos.get(agent))
    action, shown, filled = mapper.resolve(keys, mask, turn_based)
    if turn_based and (action is None or not mask_allows(mask, action)):
        return None, shown, False
    if action is None or not mask_allows(mask, action):
        legal = [a for a in options.key_actions if mask_allows(mask, a)] or options.key_actions
        action, filled = legal[0], True
    return action, shown, filled


def peer_input(options: GameOptions, agent: Hashable, keys_at: Callable[[int], KeyInput | None],
               turn_based: bool | None = None) -> Callable[[int, Any], Any]:
    """A rollback peer's input for its human ``agent``: ``(i, frame) -> action``, the form
    :class:`~mugkit.netcode.peer_loop.PeerLoop` takes, where ``keys_at(i)`` is what the human's
    keyboard holds at the session's frame ``i`` and ``frame`` is the game's current (possibly
    predicted) frame. Each action is :func:`peer_action`'s, as a browser peer
    (:class:`~mugkit.runtime.peer_game.PeerGame`) sends it.
    """
    mapper = KeyMapper(options)
    return lambda i, frame: peer_action(mapper, options, agent, keys_at(i), frame, turn_based)[0]
