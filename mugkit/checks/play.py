"""Playing a game from a list of choices: the common ground of the checks.

A check does not draw actions directly: Hypothesis draws a list of small integers, *choices*,
and each acting agent consumes one per frame. A human's choice picks one of the actions its keys
(and ``default_action``) give — what a person can actually send; an AI agent's choice seeds a
sample from its action space, within the action mask. Since masks depend on the state, this is
the only way one drawn list fits every state, and Hypothesis shrinks choices toward 0: the
simplest actions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..games import Game, Participant, build_game, episode_seed, key_actions
from ..runtime.policies import _sample, action_mask
from ..steps import GameStep

__all__ = ["Run", "make_game", "choose_actions", "play", "CHECK_PARTICIPANT"]

CHECK_PARTICIPANT = Participant("check-0", {}, None)


def make_game(step: GameStep, policies: dict, seed: int, conditions: Sequence[Any] = ()) -> Game:
    """The game as a participant (or a group of them) would get it, for the checks."""
    condition = conditions[0] if conditions else None
    people = [Participant(f"check-{i}", {}, condition) for i in range(max(1, len(step.humans)))]
    return build_game(step, policies, seed=seed, participant=people[0], group=people)


def choose_actions(game: Game, choices: Sequence[int], cursor: int) -> tuple[dict, int]:
    """The joint action for the current frame, consuming choices from ``cursor`` (0 past the end)."""
    frame = game.env.frame
    actions = {}
    human_actions = key_actions(game.step)
    for agent in frame.acting:
        c = choices[cursor] if cursor < len(choices) else 0
        cursor += 1
        mask = action_mask(frame.observations.get(agent), frame.infos.get(agent))
        if agent in game.step.humans:
            # A person sends any mapped key; on a masked turn the client lets only legal ones through.
            legal = [a for a in human_actions if _allowed(mask, a)] or human_actions
            actions[agent] = legal[c % len(legal)]
        else:
            actions[agent] = _sample(game.env.action_space(agent), random.Random(c), mask)
    return actions, cursor


def _allowed(mask: Any, action: Any) -> bool:
    if mask is None:
        return True
    try:
        return bool(mask[int(action)])
    except (TypeError, ValueError, IndexError):
        return True


@dataclass
class Run:
    """What a run recorded: the frame hashes (index 0 is the reset) and the actions taken."""

    hashes: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    data: list[dict] = field(default_factory=list)  # frame data, when recorded

    def record(self, game: Game, keep_data: bool) -> None:
        self.hashes.append(game.env.checksum())
        if keep_data:
            self.data.append(game.env.frame_data())


def play(game: Game, choices: Sequence[int], frames: int, *, render: bool = False, keep_data: bool = False,
         each_frame: Callable[[Game, int], None] | None = None, run: Run | None = None) -> Run:
    """Resets ``game`` with its episode-0 seed and plays up to ``frames`` frames (stops when the
    episode ends), hashing every frame; with ``keep_data`` also keeps each frame's data. Records
    into ``run`` when given (what was recorded survives an exception)."""
    run = run if run is not None else Run()
    env = game.env
    env.reset(episode_seed(game.seed, 0))
    if render:
        env.render()
    run.record(game, keep_data)
    cursor = 0
    for i in range(1, frames + 1):
        if env.frame.done:
            break
        actions, cursor = choose_actions(game, choices, cursor)
        run.actions.append(actions)
        env.step(actions)
        if render:
            env.render()
        run.record(game, keep_data)
        if each_frame:
            each_frame(game, i)
    return run


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first index where two hash lists differ (or where one ends early), or None."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))
