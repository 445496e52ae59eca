"""Building a game from a game step: injection, seeds, the env, its policies, and validation.

A game step's function is called once per participant (one human) or group (two or more), with
the parameters it asks for by name: ``seed``, ``episode``, ``participant`` or ``group``. Asking
for ``episode`` makes it called once per episode instead. The env it returns is reset at each
episode with :func:`episode_seed`.

Seeds derive from the study seed: ``game_seed(study_seed, experiment, step, who)`` where ``who``
is the participant id or the group's sorted ids, and ``episode_seed(game_seed, episode)``. A whole
study replays from its seed. The study seed is a secret key (an HMAC key, see
:func:`mugkit.runtime.seeding.keyed_seed`): one participant's game seed reveals nothing about it
or about another participant's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .nodeid import NodeId
from .paths import nodeid_of, user_frames
from .runtime.adapter import EnvError, GameEnv, adapt
from .runtime.ai import AIPlayer
from .runtime.driver import FrameDriver
from .runtime.policies import Policy, PolicyError, as_policy
from .runtime.seeding import episode_seed, keyed_seed
from .steps import HUMAN, GameStep

__all__ = ["Participant", "Game", "build_game", "build_env", "build_ai", "game_seed", "episode_seed"]


@dataclass(frozen=True)
class Participant:
    """Who plays: ``id``, the URL ``params`` they arrived with, and their ``condition``."""

    id: str
    params: dict = field(default_factory=dict, hash=False, compare=False)
    condition: Any = None


def game_seed(study_seed: int, experiment: str, step: str, who: Sequence[str] | str) -> int:
    """The seed of one game (63 bits): one per (study seed, experiment, step, participant or
    group), keyed with the study seed, so one game's seed says nothing about another's."""
    ids = [who] if isinstance(who, str) else sorted(who)
    return keyed_seed(study_seed, experiment, step, ids)


@dataclass
class Game:
    """A built game: the adapted env and, per AI agent, its player (policy and schedule).

    Attributes:
        make_env: ``episode -> GameEnv`` for a step function that asks for ``episode`` (it is
            called again for every episode), else None.
    """

    step: GameStep
    env: GameEnv
    ais: dict[Any, AIPlayer]
    seed: int
    make_env: Callable[[int], GameEnv] | None = None

    @property
    def policies(self) -> dict[Any, Policy]:
        """AI agent → its policy."""
        return {agent: ai.policy for agent, ai in self.ais.items()}

    def driver(self, *, render: bool = False) -> FrameDriver:
        """The :class:`~mugkit.runtime.driver.FrameDriver` that plays this game as a study does."""
        return FrameDriver(self.env, self.step.options, seed=self.seed, ais=self.ais, make_env=self.make_env,
                           render=render, name=NodeId(nodeid_of(self.step.file), self.step.name))


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

    def make_env(e: int) -> GameEnv:
        return _build_env(step, seed, e, participant, group)

    env = make_env(episode)
    ais = _build_ais(step, policies)
    return Game(step, env, ais, seed, make_env if "episode" in step.params else None)


def build_env(step: GameStep, *, seed: int, participant: Participant | None = None,
              group: Sequence[Participant] = ()) -> GameEnv:
    """The step's env of episode 0, adapted and validated as :func:`build_game` builds it, without
    its policies (the server checks a browser game's actions against its action spaces).

    Raises:
        StepError: as :func:`build_game`.
    """
    return _build_env(step, seed, 0, participant, group)


def _build_env(step: GameStep, seed: int, episode: int, participant: Participant | None,
               group: Sequence[Participant]) -> GameEnv:
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
    options = step.options
    try:
        game = adapt(env, list(step.players), max_steps=options.max_steps, render=options.render)
    except EnvError as exc:
        raise step.error(str(exc)) from None
    if options.render is None and not callable(getattr(env, "render", None)):
        raise step.error(f"{type(env).__name__} has no render(): define one that returns mugkit.draw shapes "
                         f"(or an RGB array on the server), or give the step render=lambda env: [...]")
    if step.humans and not (game.turn_based or options.turn_based) and options.default_action is None:
        raise step.error("a real-time game with a human needs default_action= (the action when no mapped key "
                         "is held); only turn-based games (turn_based=True, or AEC envs) wait for input")
    for agent in step.humans:
        space = game.action_space(agent)
        bad = [(name, a) for name, a in _key_entries(options) if not _contains(space, a)]
        if bad:
            name, action = bad[0]
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise step.error(f"{name} = {action!r}{more} is outside the action space of {agent!r}, {space!r}"
                             f"{_space_hint(space)}: map it to an action inside it")
    return game


def _key_entries(options) -> list[tuple[str, Any]]:
    """``keys`` and ``default_action`` as (how the researcher wrote it, action): ``keys[" "]``."""
    entries = [(f"keys[{_quoted(k)}]", a) for k, a in (options.keys or {}).items()]
    if options.default_action is not None:
        entries.append(("default_action", options.default_action))
    return entries


def _quoted(key: Any) -> str:
    """A key name as Python source, in double quotes (``" "``, ``("a", "b")``)."""
    if isinstance(key, str):
        return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(key, tuple):
        return "(" + ", ".join(_quoted(k) for k in key) + ("," if len(key) == 1 else "") + ")"
    return repr(key)


def _space_hint(space: Any) -> str:
    """What a Discrete space holds, in words: "; its actions are 0 … 4"."""
    n, start = getattr(space, "n", None), getattr(space, "start", 0)
    if isinstance(n, int) and isinstance(start, int) and not isinstance(n, bool):
        return f"; its actions are {start} … {start + n - 1}"
    return ""


def _build_ais(step: GameStep, policies: dict) -> dict[Any, AIPlayer]:
    return {agent: build_ai(step, policies, agent, who) for agent, who in step.players.items() if who is not HUMAN}


def build_ai(step: GameStep, policies: dict, agent: Any, who: str) -> AIPlayer:
    """The AI player of ``agent`` in ``step``: ``"random"`` or the ``@mk.policy`` named ``who``
    (also what takes over an excluded human's agent: ``mk.Monitor(takeover=...)``).

    Raises:
        StepError: the policy cannot be made, or plays ``default_action`` the step lacks.
    """
    if who == "random":
        return AIPlayer(as_policy("random", who))
    factory = policies[who]
    every, fill = getattr(factory, "every", 1), getattr(factory, "fill", "previous")
    if fill == "default" and every > 1 and step.options.default_action is None:
        raise step.error(f"policy {who!r} for {agent!r} plays default_action between its decisions "
                         f"(@mk.policy(fill='default')), but the step has no default_action=")
    try:
        return AIPlayer(as_policy(factory(), who), every, fill)
    except PolicyError as exc:
        raise step.error(f"policy {who!r} for {agent!r}: {exc}") from None
