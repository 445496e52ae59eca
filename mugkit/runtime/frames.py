"""What both game loops — the server's and the browser's — do around the frame driver: collect a
human's key messages between ticks, and turn each frame into the ``frame`` message the client
draws (mugkit/web/protocol.py), sending only the shapes that changed.

Pure Python, so the browser runtime (in Pyodide) produces the very messages the server does and
the client draws both with one renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .draw import KINDS, validate
from .keys import KeyInput

__all__ = ["KeyState", "FrameEncoder", "RenderError", "round_scores"]


@dataclass
class KeyState:
    """One human's keyboard as the game knows it: the keys held in the newest message, and the
    presses and releases of every message since the last tick.

    A message is any object with ``seq``, ``held``, ``down``, ``up`` and ``t`` (the client's
    clock in ms), e.g. :class:`mugkit.web.protocol.Keys`."""

    seq: int = -1
    held: frozenset = frozenset()
    down: set = field(default_factory=set)
    up: set = field(default_factory=set)
    t_client: float | None = None

    def apply(self, keys: Any) -> bool:
        """Takes a message; False (and nothing changes) when it is older than one already applied
        (messages may arrive out of order)."""
        if keys.seq <= self.seq:
            return False
        self.seq, self.held, self.t_client = keys.seq, frozenset(keys.held), keys.t
        self.down |= set(keys.down)
        self.up |= set(keys.up)
        return True

    def peek(self) -> KeyInput:
        """The input for this tick, leaving the presses and releases for :meth:`take` (a rollback
        peer whose frame did not advance offers them again next tick)."""
        return KeyInput(self.held, frozenset(self.down), frozenset(self.up))

    def take(self) -> KeyInput:
        """The input for this tick; the presses and releases are used up."""
        out = self.peek()
        self.down.clear()
        self.up.clear()
        return out


class RenderError(ValueError):
    """``render()`` gave something that is not a list of :mod:`mugkit.draw` shapes (the game
    cannot be drawn): says what, and at which frame."""

    def __init__(self, episode: int, frame: int, image: Any):
        problems = validate(image) or ["not a list of mugkit.draw shapes"]
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        super().__init__(f"render() output is not well formed at episode {episode}, frame {frame}: {shown}. "
                         "Return a list of mugkit.draw shapes (draw.rect, draw.circle, …); `mugkit check`'s "
                         "contract check finds this too")


class FrameEncoder:
    """Turns a driver's frames into ``frame`` messages: shapes with an ``id`` are sent when new or
    changed (``set``) and when gone (``del``); shapes without one every frame (``once``).

    Args:
        game_id: the game's id, in every message.
        driver: the game's :class:`~mugkit.runtime.driver.FrameDriver`.
        image_url: turns an RGB-array frame into a ``data:`` URL (or None to skip this one); the
            server streams JPEGs, the browser runtime draws shapes only.
    """

    def __init__(self, game_id: str, driver: Any, image_url: Callable[[Any], str | None] | None = None):
        self.game_id = game_id
        self.driver = driver
        self.image_url = image_url
        self.shapes: dict = {}   # id -> the shape as last sent
        self.once: list = []     # the last frame's shapes without an id

    def encode(self, result: Any) -> dict:
        """The ``frame`` message of a :class:`~mugkit.runtime.rows.FrameResult`; a frame that ends
        an episode carries the ``round`` the round-over screen shows (:func:`round_scores`)."""
        message = self._encode(result)
        if result.episode_over:
            options = self.driver.options
            message["round"] = {"episode": result.episode + 1, "episodes": options.episodes,
                                "last": bool(result.finished), "scores": round_scores(self.driver)}
        return message

    def _encode(self, result: Any) -> dict:
        image = result.image
        if image is not None and not isinstance(image, list):
            url = self.image_url(image) if self.image_url is not None else None
            return self.message(result.episode, result.frame, [], [], [], url)
        if image and not all(isinstance(s, dict) and s.get("type") in KINDS for s in image):
            raise RenderError(result.episode, result.frame, image)
        current = {s["id"]: s for s in (image or []) if "id" in s}
        changed = [s for k, s in current.items() if self.shapes.get(k) != s]
        gone = [k for k in self.shapes if k not in current]
        self.shapes = current
        self.once = [s for s in (image or []) if "id" not in s]
        return self.message(result.episode, result.frame, changed, gone, self.once, None)

    def snapshot(self) -> dict:
        """A full ``frame`` message of the current frame, for a client that (re)joins."""
        return self.message(self.driver.episode, self.driver.frame.index, list(self.shapes.values()), [],
                            list(self.once), None)

    def message(self, episode: int, frame: int, changed: list, gone: list, once: list, image: Any) -> dict:
        driver = self.driver
        acting = getattr(driver.frame, "acting", ())
        turn = acting[0] if driver.turn_based and len(acting) == 1 else None
        return {"game": self.game_id, "episode": episode, "frame": frame, "set": changed, "del": gone,
                "once": once, "image": image, "turn": turn,
                "hud": {"episode": episode + 1, "episodes": driver.options.episodes}}


def _shown(value: Any) -> Any:
    """A score as plain JSON: numbers as float or int (numpy's too), anything else as text."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:200]
    # NaN and infinities are not JSON: the page could not read the frame that carries them.
    return number if math.isfinite(number) else str(number)


def round_scores(driver: Any) -> list:
    """``[[agent, score], ...]``: what each agent's player sees on the round-over screen after
    the episode that just ended — the step's ``score(returns)`` (a dict: per agent; anything
    else: the same for all), or by default each agent's own return."""
    returns = {agent: driver.returns.get(agent, 0) for agent in driver.agents}
    score = driver.options.score
    if score is None:
        return [[agent, _shown(r)] for agent, r in returns.items()]
    got = score(dict(returns))
    if isinstance(got, dict):
        return [[agent, _shown(got[agent])] for agent in driver.agents if agent in got]
    return [[agent, _shown(got)] for agent in driver.agents]
