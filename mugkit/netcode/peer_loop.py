"""One peer's game loop, one tick at a time: the same loop for the browser runtime, the server
and the simulated network (:func:`~mugkit.netcode.simnet.run_peers` runs one per peer).

Each :meth:`PeerLoop.tick` polls the session, gives it the local inputs, advances it and has the
runner fulfil the requests, then takes the confirmed frames and the events, and honours
:class:`~mugkit.netcode.events.WaitRecommendation` by skipping that many ticks. The caller owns
the clock and calls ``tick(now_ms)`` once per frame (e.g. from ``requestAnimationFrame``).

Example::

    loop = PeerLoop(session, GameRunner(game, seed=7), {0: lambda i, frame: keys.action()})
    ...                                        # each frame:
    result = loop.tick(now_ms)
    record(result.confirmed)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import InvalidRequest
from .events import WaitRecommendation

__all__ = ["PeerLoop", "TickResult"]


@dataclass(frozen=True)
class TickResult:
    """What one :meth:`PeerLoop.tick` did.

    Attributes:
        now_ms: the time passed to the tick.
        skipped: True when the tick did not advance the game, to let slower peers catch up.
        advanced: ``(AdvanceFrame, frame)`` for every frame the runner simulated, in order,
            re-simulations included (as ``runner.fulfil`` returns them).
        confirmed: the :class:`~mugkit.netcode.confirmed.ConfirmedFrame` confirmed by now.
        events: the session's events.
    """

    now_ms: float
    skipped: bool
    advanced: tuple
    confirmed: tuple
    events: tuple


class PeerLoop:
    """Drives one peer: a session, a runner that fulfils its requests, and the local inputs.

    Args:
        session: a :class:`~mugkit.netcode.p2p.P2PSession` (or anything with its ``poll``,
            ``local_handles``, ``current_frame``, ``add_local_input``, ``advance_frame``,
            ``drain_confirmed_frames`` and ``events``).
        runner: has ``fulfil(requests) -> [(AdvanceFrame, frame), ...]`` and ``frame``, the
            game's current frame, e.g. a :class:`~mugkit.netcode.game.GameRunner`.
        inputs: per local handle, ``(i, frame) -> action``: the action pressed at the
            session's frame ``i`` (it applies ``input_delay`` frames later), decided from the
            game's current, possibly predicted, ``runner.frame``.
        honor_time_sync: skip ticks when the session recommends it.

    Attributes:
        session, runner, inputs, honor_time_sync: as given.
        skip: ticks still to skip.
        ticks, ticks_skipped: ticks run so far, and how many of them skipped.

    Raises:
        InvalidRequest: a local handle has no input source.
    """

    def __init__(self, session: Any, runner: Any, inputs: Mapping[int, Callable[[int, Any], Any]],
                 *, honor_time_sync: bool = True):
        missing = [h for h in session.local_handles if not callable(inputs.get(h))]
        if missing:
            raise InvalidRequest(f"no input source for local handles {missing}: give inputs={{handle: "
                                 f"(i, frame) -> action}} for each of {list(session.local_handles)}")
        self.session = session
        self.runner = runner
        self.inputs = dict(inputs)
        self.honor_time_sync = honor_time_sync
        self.skip = 0
        self.ticks = self.ticks_skipped = 0

    def tick(self, now_ms: float) -> TickResult:
        """Runs one tick at ``now_ms`` (the caller's clock, in milliseconds)."""
        s = self.session
        s.poll(now_ms)
        skipped = self.skip > 0
        advanced: list = []
        if skipped:
            self.skip -= 1
            self.ticks_skipped += 1
        else:
            for h in s.local_handles:
                s.add_local_input(h, self.inputs[h](s.current_frame, self.runner.frame))
            advanced = self.runner.fulfil(s.advance_frame())
        confirmed = s.drain_confirmed_frames()
        events = s.events()
        if self.honor_time_sync:
            for e in events:
                if isinstance(e, WaitRecommendation):
                    self.skip = e.skip_frames
        self.ticks += 1
        return TickResult(float(now_ms), skipped, tuple(advanced), tuple(confirmed), tuple(events))
