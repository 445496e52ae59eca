"""The ``rollback`` check's half inside Pyodide, in each of the Chromium pages that play one peer.

The harness page (``static/rollback.html``) boots Pyodide with ``boot.js``, loads the step through
:func:`mugkit.checks.browser_side.load`, then plays each scenario through a :class:`Peer`: the
step's game as the check builds it (the same seed on every page) inside a
:class:`~mugkit.runtime.peer_game.PeerGame`, the human's keys taken from the check's key plan frame
by frame, and the confirmed rows and checksums gathered for the CPython side to judge
(:mod:`mugkit.checks.rollback_browser`). The page moves the packets over its WebRTC mesh.

This module imports nothing a browser lacks: no Hypothesis, no numpy.
"""

from __future__ import annotations

import json
from typing import Any

from .browser_side import _LOADED, describe_error

__all__ = ["Peer"]


class Peer:
    """One peer of one scenario.

    Args:
        request_json: ``{"seed", "me", "peers": {handle: agent}, "host", "keys" (plan data), "frames",
            "game"}``: ``frames`` confirmed frames of this peer's human make it done.
        loaded: ``(experiment, step)``; default: what :func:`~mugkit.checks.browser_side.load` loaded
            (CPython tests pass their own).
    """

    def __init__(self, request_json: str, loaded: tuple | None = None):
        from ..runtime.peer_game import PeerGame
        from .inputs import plan_from_data
        from .play import make_game

        request = json.loads(request_json)
        experiment, step = loaded or _LOADED["step"]
        self.me = request["me"]
        self.agent = request["peers"][self.me]
        self.plan = plan_from_data(request["keys"])
        self.frames = int(request["frames"])
        self.error: dict | None = None
        self.rows: list = []          # tagged-JSON texts of take_rows(), in order
        self.events: list = []
        self.confirmed = 0            # confirmed rows of this peer's human
        self.played = 0               # local frames advanced: the key plan's index
        self.ticks = 0                # ticks run: the key plan's index in a turn-based game
        self._held: frozenset = frozenset()
        self._seq = 0
        self.game = self.driver = None
        try:
            built = make_game(step, experiment.policies, int(request["seed"]), experiment.conditions)
            self.driver = built.driver()  # the page attaches ONNX models to it
            self.game = PeerGame(request["game"], self.driver, self.me, dict(request["peers"]),
                                 host=request["host"], seed=int(request["seed"]))
        except BaseException as exc:  # noqa: BLE001 - reported as the answer
            self.error = describe_error(exc)

    def start(self) -> None:
        """Starts the game (its first frame)."""
        self._guarded(self.game.start)

    @property
    def done(self) -> bool:
        """Failed, finished, or ``frames`` frames of this peer's human confirmed."""
        return self.error is not None or self.game is None or self.game.finished or self.confirmed > self.frames

    def tick(self, now_ms: float) -> None:
        """One frame: the plan's keys for the next local frame, then the game's tick."""
        def one() -> None:
            # A turn-based game waits on a frame until its player presses: there, the plan moves
            # on with every tick (a chance to press), round and round until the game is over.
            turn_based = self.game.driver.turn_based
            self._keys(self.ticks % max(len(self.plan), 1) if turn_based else self.played)
            self.ticks += 1
            if self.game.tick(now_ms, now_ms / 1000.0, 0.0) is not None:
                self.played += 1
            self._collect()

        if self.error is None:
            self._guarded(one)

    def receive(self, sender: str, data: Any) -> None:
        """A packet from ``sender`` (a JS Uint8Array, or bytes)."""
        if self.error is None:
            payload = data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)
            self._guarded(lambda: self.game.receive(sender, payload))

    def take_packets(self) -> list:
        """``[[to, bytes], …]`` to send now."""
        if self.error is not None or self.game is None:
            return []
        return [[to, bytes(data)] for to, data in self.game.take_packets()]

    def report(self) -> str:
        """What the CPython side judges: ``{"rows": [texts], "events", "stats", "error"?}``."""
        if self.error is None and self.game is not None:
            self._guarded(self._collect)
        answer: dict[str, Any] = {"me": self.me, "rows": self.rows, "events": self.events, "played": self.played}
        if self.game is not None:
            try:
                answer["stats"] = _plain(self.game.stats())
            except BaseException as exc:  # noqa: BLE001
                answer["stats"] = {"error": str(exc)}
        if self.error is not None:
            answer["error"] = self.error
        return json.dumps(answer)

    # -- inside --------------------------------------------------------------------------------

    def _keys(self, i: int) -> None:
        held = frozenset(self.plan.held(self.agent, i)) if self.agent in self.plan.frames else frozenset()
        if held != self._held or i == 0:
            self._seq += 1
            self.game.key_message(self._seq, sorted(held), sorted(held - self._held), sorted(self._held - held), None)
            self._held = held

    def _collect(self) -> None:
        from ..runtime.values import from_json

        text = self.game.take_rows()
        if text:
            self.rows.append(text)
            batch = from_json(text)
            self.confirmed += sum(1 for row in batch.get("rows", ()) if row.get("agent") == self.agent)
        events = self.game.take_events()
        if events:
            self.events.extend(json.loads(events))

    def _guarded(self, fn) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported with what was confirmed so far
            self.error = describe_error(exc)


def _plain(value: Any) -> Any:
    """Stats as JSON-ready values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)
