"""Playing a game from a list of choices: the common ground of the checks.

Checks play through the :class:`~mugkit.runtime.driver.FrameDriver`, the very code that runs a
study's frames. They do not draw actions: Hypothesis draws a list of small integers, *choices*,
and each acting human consumes one per frame to pick what to press — no key, or one of the
step's key combinations (on a masked turn only the legal ones, as the client lets through) —
which the driver maps to an action as it does for a participant. AI players (``"random"`` and
``@mk.policy``) play as in the study. Hypothesis shrinks choices toward 0: no key pressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..games import Game, Participant, build_game
from ..runtime.ai import AIPlayer
from ..runtime.driver import FrameDriver
from ..runtime.keys import KeyInput
from ..runtime.policies import Onnx, RandomPolicy, action_mask, mask_allows
from ..steps import GameStep

__all__ = ["Run", "make_game", "choose_keys", "play", "replay_actions", "first_difference", "CHECK_PARTICIPANT"]

CHECK_PARTICIPANT = Participant("check-0", {}, None)


def make_game(step: GameStep, policies: dict, seed: int, conditions: Sequence[Any] = (), *,
              python_only: bool = False) -> Game:
    """The game as a participant (or a group of them) would get it, for the checks. With
    ``python_only`` ONNX players play ``"random"`` instead: in a browser they run in JavaScript
    (onnxruntime-web), outside Python."""
    condition = conditions[0] if conditions else None
    people = [Participant(f"check-{i}", {}, condition) for i in range(max(1, len(step.humans)))]
    game = build_game(step, policies, seed=seed, participant=people[0], group=people)
    if python_only:
        for agent, ai in game.ais.items():
            if isinstance(ai.policy, Onnx):
                game.ais[agent] = AIPlayer(RandomPolicy(), ai.every, ai.fill)
    return game


def choose_keys(step: GameStep, driver: FrameDriver, choices: Sequence[int], cursor: int) -> tuple[dict, int]:
    """The key input of every acting human for the current frame, consuming choices from
    ``cursor`` (0 past the end): choice ``c`` taps the ``c``-th of "no key" (real-time frames
    only: a turn-based frame would wait) and the key combinations legal under the action mask."""
    frame = driver.frame
    keys = {}
    combos = step.options.combos
    for agent in frame.acting:
        if agent not in driver.mappers:
            continue
        c = choices[cursor] if cursor < len(choices) else 0
        cursor += 1
        mask = action_mask(frame.observations.get(agent), frame.infos.get(agent))
        legal = [combo for combo, action in combos if mask_allows(mask, action)] or [combo for combo, _ in combos]
        pick = legal if driver.turn_based else [frozenset()] + legal
        pressed = pick[c % len(pick)]
        keys[agent] = KeyInput(frozenset(), pressed, pressed)  # a tap: counts in every input mode
    return keys, cursor


@dataclass
class Run:
    """What a run recorded: the frame hashes (index 0 is the reset), the joint actions taken and,
    when asked, each frame's data."""

    hashes: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    data: list[dict] = field(default_factory=list)  # frame data, when recorded

    def record(self, driver: FrameDriver, keep_data: bool) -> None:
        self.hashes.append(driver.checksum())
        if keep_data:
            self.data.append(driver.env.frame_data(driver.frame))


def play(game: Game, choices: Sequence[int], frames: int, *, render: bool = False, keep_data: bool = False,
         each_frame: Callable[[Game, int], None] | None = None, run: Run | None = None) -> Run:
    """Plays the first episode of ``game`` through its driver for up to ``frames`` frames (stops
    when the episode ends), humans pressing what ``choices`` say, hashing every frame; with
    ``keep_data`` also keeps each frame's data. Records into ``run`` when given (what was recorded
    survives an exception)."""
    run = run if run is not None else Run()
    driver = game.driver(render=render)
    driver.start()
    run.record(driver, keep_data)
    cursor = 0
    for i in range(1, frames + 1):
        if driver.frame.done:
            break
        keys, cursor = choose_keys(game.step, driver, choices, cursor)
        result = driver.tick(keys)
        if result is None:
            break  # waits for an input no choice can give
        run.actions.append(result.actions)
        run.record(driver, keep_data)
        if each_frame:
            each_frame(game, i)
    return run


def replay_actions(game: Game, actions: Sequence[dict], *, render: bool = False) -> list[str]:
    """Plays the first episode of ``game`` through its driver with the joint ``actions`` (one dict
    per frame; stops when the episode ends), rendering each frame with ``render``. Returns the
    frame hashes, index 0 being the reset."""
    driver = game.driver(render=render)
    driver.start()
    hashes = [driver.checksum()]
    for a in actions:
        if driver.frame.done:
            break
        driver.advance(a)
        hashes.append(driver.checksum())
    return hashes


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first index where two hash lists differ (or where one ends early), or None."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))
