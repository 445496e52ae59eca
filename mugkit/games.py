"""Building a game from a game step: injection, seeds, the env, its policies, and validation.

A game step's function is called once per participant (one human) or group (two or more), with
the parameters it asks for by name: ``seed``, ``episode``, ``participant`` or ``group``. Asking
for ``episode`` makes it called once per episode instead. The env it returns is reset at each
episode with :func:`episode_seed`.

Seeds derive from the study seed: ``game_seed(study_seed, experiment, step, who)`` where ``who``
is the participant id or the group's sorted ids, and ``episode_seed(game_seed, episode)``. A whole
study replays from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .paths import user_frames
from .runtime.adapter import EnvError, GameEnv, adapt
from .runtime.policies import Policy, PolicyError, as_policy
from .runtime.seeding import derive_seed, episode_seed
from .steps import HUMAN, GameStep

__all__ = ["Participant", "Game", "build_game", "game_seed", "episode_seed", "key_actions"]


@dataclass(frozen=True)
class Participant:
    """Who plays: ``id``, the URL ``params`` they arrived with, and their ``condition``."""

    id: str
    params: dict = field(default_factory=dict, hash=False, compare=False)
    condition: Any = None


def game_seed(study_seed: int, experiment: str, step: str, who: Sequence[str] | str) -> int:
    """The seed of one game: one per (study seed, experiment, step, participant or group)."""
    ids = [who] if isinstance(who, str) else sorted(who)
    return derive_seed(study_seed, experiment, step, ids)


@dataclass
class Game:
    """A built game: the adapted env and, per AI agent, its policy."""

    step: GameStep
    env: GameEnv
    policies: dict[str, Policy]
    seed: int


def key_actions(step: GameStep) -> list:
    """Every action the step's ``keys`` map to, plus its ``default_action`` (if set)."""
    actions = list((step.options["keys"] or {}).values())
    if step.options["default_action"] is not None:
        actions.append(step.options["default_action"])
    return actions


def _contains(space: Any, action: Any) -> bool:
    try:
        return bool(space.contains(action))
    except Exception:
        return False


def build_game(step: GameStep, policies: dict, *, seed: int, episode: int = 0,
               participant: Participant | None = None, group: Sequence[Participant] = ()) -> Game:
    """Calls the step's function with what it asks for, adapts its env, makes its policies and
    checks that keys and default action fit the action space.

    Args:
        step: the game step.
        policies: the experiment's ``@mk.policy`` factories by name.
        seed: the game seed (:func:`game_seed`); the function's ``seed`` parameter gets
            :func:`episode_seed` ``(seed, episode)`` when it asks for ``episode``, else ``seed``.
        episode, participant, group: injected when asked for.

    Raises:
        StepError: the function returns no env, the env's agents do not match ``players``,
            ``keys``/``default_action`` lie outside the action space, or a real-time game with a
            human has no ``default_action`` (the message names the step's file and line).
    """
    args = {"seed": episode_seed(seed, episode) if "episode" in step.params else seed, "episode": episode,
            "participant": participant, "group": tuple(group)}
    try:
        env = step.fn(**{p: args[p] for p in step.params})
    except Exception as exc:
        raise step.error(f"calling {step.name}() raised {type(exc).__name__}: {exc}"
                         + "".join(f"\n  {line}" for line in user_frames(exc))) from exc
    if env is None or not callable(getattr(env, "step", None)):
        raise step.error(f"a game step must return an env (gymnasium.Env, a PettingZoo env or an object with "
                         f"reset() and step()), but it returned {type(env).__name__}"
                         + (": did you forget `return`?" if env is None else ""))
    try:
        game = adapt(env, list(step.players), max_steps=step.options["max_steps"], render=step.options["render"])
    except EnvError as exc:
        raise step.error(str(exc)) from None
    if step.options["render"] is None and not callable(getattr(env, "render", None)):
        raise step.error(f"{type(env).__name__} has no render(): define one that returns mugkit.draw shapes "
                         f"(or an RGB array on the server), or give the step render=lambda env: [...]")
    humans = step.humans
    if humans and not game.turn_based and step.options["default_action"] is None:
        raise step.error("a real-time game with a human needs default_action= (the action when no mapped key "
                         "is held); only turn-based (AEC) envs wait for input")
    for agent in humans:
        space = game.action_space(agent)
        bad = [a for a in key_actions(step) if not _contains(space, a)]
        if bad:
            raise step.error(f"keys or default_action give {bad[0]!r}, which is outside {agent!r}'s action space "
                             f"{space!r}")
    made: dict[str, Policy] = {}
    for agent, who in step.players.items():
        if who is HUMAN:
            continue
        try:
            made[agent] = as_policy("random" if who == "random" else policies[who](), who)
        except PolicyError as exc:
            raise step.error(f"policy {who!r} for {agent!r}: {exc}") from None
    return Game(step, game, made, seed)
