"""Playing a game from a list of choices: the common ground of the checks.

A check does not draw actions directly: Hypothesis draws a list of small integers, *choices*,
and each acting agent consumes one per frame. A human's choice picks one of the actions its keys
(and ``default_action``) give — what a person can actually send; a ``"random"`` player's choice
seeds a sample from its action space, within the action mask. A ``@mk.policy`` player plays its
policy, as it would in the study. Since masks depend on the state, this is
the only way one drawn list fits every state, and Hypothesis shrinks choices toward 0: the
simplest actions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..games import Game, Participant, build_game, episode_seed, key_actions
from ..runtime.policies import Onnx, RandomPolicy, action_mask, mask_allows, policy_seed, sample_action
from ..steps import GameStep

__all__ = ["Run", "make_game", "choose_actions", "play", "replay_actions", "first_difference", "CHECK_PARTICIPANT"]

CHECK_PARTICIPANT = Participant("check-0", {}, None)


def make_game(step: GameStep, policies: dict, seed: int, conditions: Sequence[Any] = ()) -> Game:
    """The game as a participant (or a group of them) would get it, for the checks."""
    condition = conditions[0] if conditions else None
    people = [Participant(f"check-{i}", {}, condition) for i in range(max(1, len(step.humans)))]
    return build_game(step, policies, seed=seed, participant=people[0], group=people)


def choose_actions(game: Game, choices: Sequence[int], cursor: int, *, use_policies: bool = True,
                   python_only: bool = False) -> tuple[dict, int]:
    """The joint action for the current frame, consuming choices from ``cursor`` (0 past the end).
    With ``use_policies=False`` AI agents sample like ``"random"`` (for the check of the policies
    themselves); with ``python_only`` so do ONNX players, which in a browser run in JavaScript
    (onnxruntime-web), outside Pyodide."""
    frame = game.env.frame
    actions = {}
    human_actions = key_actions(game.step)
    for agent in frame.acting:
        c = choices[cursor] if cursor < len(choices) else 0
        cursor += 1
        obs, info = frame.observations.get(agent), frame.infos.get(agent)
        mask = action_mask(obs, info)
        policy = game.policies.get(agent)
        if agent in game.step.humans:
            # A person sends any mapped key; on a masked turn the client lets only legal ones through.
            legal = [a for a in human_actions if mask_allows(mask, a)] or human_actions
            actions[agent] = legal[c % len(legal)]
        elif (use_policies and policy is not None and not isinstance(policy, RandomPolicy)
              and not (python_only and isinstance(policy, Onnx))):
            # The step's own AI plays, as in a study: env and policy are checked together.
            actions[agent] = policy.act(obs, agent=agent, frame=frame.index, seed=policy_seed(game.seed, agent),
                                        space=game.env.action_space(agent), info=info)
        else:
            actions[agent] = sample_action(game.env.action_space(agent), random.Random(c), mask)
    return actions, cursor


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
         each_frame: Callable[[Game, int], None] | None = None, run: Run | None = None,
         python_only: bool = False) -> Run:
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
        actions, cursor = choose_actions(game, choices, cursor, python_only=python_only)
        run.actions.append(actions)
        env.step(actions)
        if render:
            env.render()
        run.record(game, keep_data)
        if each_frame:
            each_frame(game, i)
    return run


def replay_actions(env, seed: int, actions: Sequence[dict], *, render: bool = False) -> list[str]:
    """Resets the game env with ``seed``'s episode-0 seed and steps it with ``actions`` (one dict per
    frame; stops when the episode ends), rendering each frame with ``render``. Returns the frame
    hashes, index 0 being the reset."""
    env.reset(episode_seed(seed, 0))
    if render:
        env.render()
    hashes = [env.checksum()]
    for a in actions:
        if env.frame.done:
            break
        env.step(a)
        if render:
            env.render()
        hashes.append(env.checksum())
    return hashes


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first index where two hash lists differ (or where one ends early), or None."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))
