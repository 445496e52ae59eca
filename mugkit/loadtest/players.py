"""How a bot plays a game: one class per kind of game, all with the same small interface.

A bot makes a player when it is shown a ``game`` view and stops it when the next view arrives:

- :class:`HeldKeys` — a real-time game run on the server: the bot holds keys like a person, frame
  by frame, from the checks' own generator (:func:`mugkit.checks.inputs.sample_plan`: segments of
  a combination held for a run of frames), and sends a ``keys`` message when what it holds changes,
  as the browser client does;
- :class:`Turns` — a turn-based game run on the server: on its turn the bot presses a combination,
  and tries the next one when the env's action mask refused it (no new frame came).

Each frame received is written into the bot's :class:`~mugkit.loadtest.log.GameLog`, which the audit
compares with the stored rows.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from ..checks.inputs import KeyPlan, sample_plan
from .presence import lively
from .log import GameLog

__all__ = ["Link", "Player", "HeldKeys", "Turns", "make_player", "plan_step", "PLAN_FRAMES"]

#: Frames of key plan drawn at a time (drawn again when used up).
PLAN_FRAMES = 900
#: Seconds a turn-based bot waits for the frame its press should have played before trying another.
RETRY_PRESS = 0.4

class Link:
    """What a player uses of its bot (:class:`~mugkit.loadtest.bot.ProtocolBot`)."""

    async def emit(self, event: str, data: dict) -> None:
        """Sends a message without acknowledgement."""

    async def call(self, event: str, data: dict) -> dict:
        """Sends a message and returns its acknowledgement."""
        raise NotImplementedError

    def moved(self) -> None:
        """The game moved on (the bot is not stuck)."""


@dataclass(frozen=True)
class _Options:
    """What the plan generator reads of a step when the bot knows only the game view's key names."""

    combos: tuple


@dataclass(frozen=True)
class _Step:
    options: Any
    humans: tuple


def plan_step(view: dict, step: Any) -> Any:
    """What :func:`~mugkit.checks.inputs.sample_plan` reads for the bot in a ``game`` view: the
    step's key combinations (each of the view's keys alone when ``step`` is None), with the bot's
    agent as the only human."""
    options = step.options if step is not None else _Options(tuple(((k,), None) for k in view.get("keys") or []))
    return _Step(options, (view.get("you"),))


class Player:
    """Plays one game for a bot. Subclasses handle frames; :meth:`run` is the player's own clock.

    Args:
        view: the ``game`` view.
        step: the experiment's step (its ``options.combos`` make the key plan), or None when the bot
            does not know it: then each of the view's keys is one combination.
        link: the bot (its ``emit``, ``call`` and ``moved``).
        log: the game's log.
        rng: the bot's random generator.
        experiment: the collected experiment (its policies), or None.
    """

    def __init__(self, view: dict, step: Any, link: Link, log: GameLog, rng: random.Random, experiment: Any = None):
        self.view, self.link, self.log, self.rng, self.experiment = view, link, log, rng, experiment
        self.emit, self.progress = link.emit, link.moved
        self.game = view["game"]
        self.you = view.get("you")
        self.step = plan_step(view, step)
        self.seq = 0
        self.held: tuple = ()
        self.finishing = False   # the player is ending the game itself: its clock is not cancelled
        self.resuming: Any = None  # after a reload: what the page kept (see carry), else None

    async def run(self) -> None:
        """The player's clock, if it needs one (cancelled when the game is over)."""

    def stop(self) -> None:
        """The game is over for the bot (the next view came, or the bot ended)."""

    def carry(self) -> Any:
        """What a reloaded page keeps of this game for the next player (``resuming``)."""
        return ()

    async def on_frame(self, frame: dict) -> None:
        """A ``frame`` message of this game."""
        self.log.frame(frame.get("episode", 0), frame.get("frame", 0))
        self.progress()

    def hold(self, held: tuple) -> tuple[tuple, tuple] | None:
        """Holds ``held`` from now on: the keys it presses and releases, or None when the same
        keys are held already (nothing to send)."""
        if held == self.held:
            return None
        down = tuple(k for k in held if k not in self.held)
        up = tuple(k for k in self.held if k not in held)
        self.held = held
        return down, up

    async def send_keys(self, held: tuple, down: tuple = (), up: tuple = ()) -> None:
        """One ``keys`` message, numbered."""
        self.log.keys_sent += 1
        await self.emit("keys", {"game": self.game, "seq": self.seq, "held": list(held), "down": list(down),
                                 "up": list(up), "t": time.time() * 1000.0})
        self.seq += 1


class HeldKeys(Player):
    """A real-time server game: keys held per the plan at the game's frame rate, sent on change."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.plan: KeyPlan = lively(sample_plan(self.step, PLAN_FRAMES, self.rng), self.view)
        self.tick = 0

    async def on_frame(self, frame: dict) -> None:
        await super().on_frame(frame)
        # The frame just played is tick `self.tick`; what is held now is what the next tick sees.
        if self.tick >= len(self.plan):
            self.plan, self.tick = lively(sample_plan(self.step, PLAN_FRAMES, self.rng), self.view), 0
        held = self.plan.held(self.you, self.tick)
        self.tick += 1
        change = self.hold(held)
        if change is not None:
            await self.send_keys(held, *change)


class Untried:
    """The key combinations a bot has not yet pressed on this turn, drawn without replacement: a
    participant whose press the action mask refused tries another key, not the same one again."""

    def __init__(self, step: Any, rng: random.Random):
        self.combos = [tuple(sorted(c)) for c, _ in step.options.combos] or [()]
        self.rng = rng
        self.left: list = []

    def draw(self) -> tuple:
        """A combination not pressed since the last :meth:`played` (every one, then again)."""
        if not self.left:
            self.left = list(self.combos)
        return self.left.pop(self.rng.randrange(len(self.left)))

    def played(self) -> None:
        """A frame played: the next turn may press anything."""
        self.left = []


class Turns(Player):
    """A turn-based server game: a press (down and up in one message) of a drawn combination on the
    bot's turn; another combination when the last one played nothing (masked)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.untried = Untried(self.step, self.rng)
        self.my_turn = False
        self.pressed_at = 0.0
        self.frame_at = time.monotonic()

    async def on_frame(self, frame: dict) -> None:
        await super().on_frame(frame)
        self.frame_at = time.monotonic()
        self.untried.played()
        turn = frame.get("turn")
        self.my_turn = turn is None or turn == self.you
        if self.my_turn:
            await self.press()

    async def press(self) -> None:
        """Presses a drawn combination (down and up in one message)."""
        keys = self.untried.draw()
        self.pressed_at = time.monotonic()
        await self.send_keys((), keys, keys)

    async def run(self) -> None:
        """Presses again when the last press played no frame (the action mask refused it)."""
        while True:
            await asyncio.sleep(RETRY_PRESS)
            if self.my_turn and self.frame_at < self.pressed_at < time.monotonic() - RETRY_PRESS:
                await self.press()


def make_player(view: dict, step: Any, link: Link, log: GameLog, rng: random.Random, experiment: Any = None) -> Player:
    """The player for a ``game`` view of a server-run game (see the module docstring)."""
    kind = Turns if view.get("turn_based") else HeldKeys
    return kind(view, step, link, log, rng, experiment)
