"""A game in the participant's browser: the frame driver, played by the browser runtime's Web
Worker (mugkit/web/static/client/runtime/worker.js) inside Pyodide.

The worker owns the clock and calls this object once per frame; everything about playing the
frame is here, in the same Python the server runs: keys in (with sequence numbers, as the
server's game takes them), the driver's tick, the ``frame`` message out (the same message the
server streams, so one renderer draws both), and the step rows, queued for the worker to send to
the server in acknowledged batches (tagged JSON, :mod:`mugkit.runtime.values`).

Resuming: after a reload the browser re-simulates the current episode from its seed with the
inputs the server recorded (:meth:`BrowserGame.resume`, then :meth:`replay_step` per frame): the
env is deterministic (what ``mugkit check`` proves), so the game stands exactly where it stopped,
and rows of the replayed frames are not sent again.
"""

from __future__ import annotations

import json
from typing import Any, Hashable

from .errors import InternalError
from .frames import FrameEncoder, KeyState
from .values import from_json, to_json

__all__ = ["BrowserGame", "KeyMessage", "row_dict"]

#: The step-row fields the browser sends (the server adds the game id and its clock).
ROW_FIELDS = ("episode", "frame", "agent", "action", "keys", "filled", "decided_at", "reward", "terminated",
              "truncated", "observation", "info", "x")


class KeyMessage:
    """A ``keys`` message as the worker passes it on (plain values from JavaScript)."""

    def __init__(self, seq: int, held: Any, down: Any, up: Any, t: float | None):
        self.seq, self.held, self.down, self.up, self.t = int(seq), frozenset(held), frozenset(down), frozenset(up), t


def row_dict(row: Any, record_observations: bool) -> dict:
    """A :class:`~mugkit.runtime.rows.StepRow` as the dict the browser sends."""
    out = {name: getattr(row, name) for name in ROW_FIELDS}
    out["keys"] = None if row.keys is None else list(row.keys)
    if not record_observations:
        out["observation"] = None
    return out


def _divergence(result: Any, stored: dict) -> dict | None:
    """Where a re-simulated frame's rows differ from the stored ``{agent: [action, reward]}``."""
    for row in result.rows:
        want = stored.get(row.agent)
        got = [row.action, row.reward]
        if want is not None and to_json(list(want)) != to_json(got):
            return {"episode": row.episode, "frame": row.frame, "agent": row.agent, "stored": list(want),
                    "replayed": got}
    return None


class BrowserGame:
    """One browser-runtime game around its :class:`~mugkit.runtime.driver.FrameDriver`.

    Args:
        game_id: the server's id of the game.
        driver: the game's driver, rendering every frame.
        human: the agent the participant plays.
    """

    def __init__(self, game_id: str, driver: Any, human: Hashable):
        self.game_id = game_id
        self.driver = driver
        self.human = human
        self.keys = KeyState()
        self.frames = FrameEncoder(game_id, driver)
        self.record_observations = bool(driver.options.record_observations)
        self._outbox: list[dict] = []
        self._replay: list = []        # recorded frames still to re-simulate
        self._recorded_until: tuple = (-1, -1)  # rows up to here are stored: not sent again
        #: After a resume: the first replayed frame whose actions or rewards differ from the stored
        #: ones (``{"episode", "frame", "agent", "stored", "replayed"}``), or None. A deterministic
        #: env and stateless policies never diverge; `mugkit check` finds those that would.
        self.diverged: dict | None = None
        #: The last frame played ended an episode and another follows: the worker holds the clock
        #: there while the page shows the round-over screen and the countdown.
        self.between_episodes = False

    # -- starting --------------------------------------------------------------------------

    def start(self) -> str:
        """Starts episode 0; returns the first ``frame`` message (JSON)."""
        return self._publish(self.driver.start(), None, None)

    def resume(self, record_json: str) -> None:
        """Prepares to re-simulate from the server's record ``{"episode", "frames": [[frame,
        {human: [action, keys, filled]}, {agent: [action, reward]}], ...], "last": [episode,
        frame]}`` (JSON; values tagged, see :mod:`mugkit.runtime.values`): starts that episode;
        :meth:`replay_step` then plays the recorded frames one by one, checking each against the
        stored actions and rewards (:attr:`diverged`)."""
        record = from_json(record_json)
        self._recorded_until = tuple(record["last"])
        self._replay = list(record["frames"])
        self._publish(self.driver.start(record["episode"]), None, None)

    @property
    def replaying(self) -> bool:
        """Recorded frames remain to be re-simulated."""
        return bool(self._replay)

    def replay_step(self) -> None:
        """Re-simulates the next recorded frame (the worker answers model runs before each)."""
        frame, humans, stored = self._replay.pop(0)
        if self.driver.frame.index + 1 != frame:
            raise InternalError(f"{self.game_id}: the record jumps from frame {self.driver.frame.index} to {frame}")
        result = self.driver.tick_recorded({a: tuple(v) for a, v in humans.items()})
        if result is None:
            raise InternalError(f"{self.game_id}: a recorded frame ({frame}) did not play")
        if self.diverged is None:
            self.diverged = _divergence(result, stored)
        self._publish(result, None, None)  # its rows are stored already: only the shapes move on

    def divergence(self) -> str | None:
        """:attr:`diverged` as tagged JSON (for the page to report), or None."""
        return None if self.diverged is None else to_json(self.diverged, "the divergence")

    def snapshot(self) -> str:
        """The full ``frame`` message of the current frame (JSON), after a resume."""
        return json.dumps(self.frames.snapshot())

    # -- playing ---------------------------------------------------------------------------

    def key_message(self, seq: int, held: Any, down: Any, up: Any, t: float | None) -> None:
        """A ``keys`` message from the page (older ones than the newest applied are ignored)."""
        self.keys.apply(KeyMessage(seq, held, down, up, t))

    def tick(self, t_client: float, late_ms: float) -> str | None:
        """Plays one frame; the ``frame`` message (JSON), or None when nothing was played (a
        turn-based frame waiting, every episode over). ``t_client``: the browser's clock
        (seconds since the epoch); ``late_ms``: how late the tick started."""
        result = self.driver.tick({self.human: self.keys.take()})
        if result is None:
            return None
        self.between_episodes = bool(result.episode_over and not result.finished)
        return self._publish(result, t_client, late_ms)

    def _publish(self, result: Any, t_client: float | None, late_ms: float | None) -> str:
        if (result.episode, result.frame) > self._recorded_until:
            for row in result.rows:
                out = row_dict(row, self.record_observations)
                out["t_client"], out["late_ms"] = t_client, late_ms
                self._outbox.append(out)
        return json.dumps(self.frames.encode(result))

    @property
    def finished(self) -> bool:
        """Every episode is over."""
        return bool(self.driver.finished)

    @property
    def position(self) -> list:
        """``[episode, frame]`` where the game stands."""
        return [self.driver.episode, self.driver.frame.index]

    def take_rows(self) -> str | None:
        """The rows played since the last call, as tagged JSON (a list of row dicts), or None."""
        if not self._outbox:
            return None
        out, self._outbox = self._outbox, []
        return to_json(out, "step rows")
