"""The decorators ``@mk.scene``, ``@mk.survey``, ``@mk.policy`` and the steps they make.

A decorated function becomes a :class:`Step` (or a :class:`PolicyDef`) that remembers where it
was defined, so every error can start with ``file:line``. Options are validated when the module
is imported; what needs the env (its agents, its action space) is validated when the game is
built (:func:`mugkit.games.build_game`).
"""

from __future__ import annotations

import difflib
import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from .paths import nodeid_of

__all__ = ["HUMAN", "scene", "survey", "policy", "Step", "PageStep", "GameStep", "SurveyStep", "PolicyDef",
           "StepError", "GAME_DEFAULTS", "INJECTABLE"]


class _Human:
    """The marker for a human player (``mk.HUMAN``)."""

    def __repr__(self) -> str:
        return "mk.HUMAN"

    def __reduce__(self):
        return "HUMAN"


HUMAN = _Human()

#: Keyword options of a game step and their defaults (API.md §2). ``players`` is required.
GAME_DEFAULTS: dict[str, Any] = {
    "players": None,
    "runtime": "server",
    "fps": 30,
    "episodes": 1,
    "max_steps": None,
    "keys": None,
    "default_action": None,
    "fill": "default",
    "input_mode": "pressed",
    "input_delay": 2,
    "max_rollback": 8,
    "render": None,
    "width": 600,
    "height": 400,
    "waitroom_timeout": 300,
    "packages": (),
    "on_step": None,
    "on_episode_start": None,
    "on_episode_end": None,
}

#: Parameters a step function may ask for, by name.
INJECTABLE = ("seed", "episode", "participant", "group")


class StepError(Exception):
    """An ill-formed step, experiment or game. The message starts with ``file:line``."""


def _where(fn: Callable) -> tuple[str, int]:
    code = getattr(fn, "__code__", None)
    if code is None:
        return "<unknown>", 0
    return os.path.abspath(code.co_filename), code.co_firstlineno


@dataclass
class Step:
    """One step of the participant flow, made by a decorator."""

    fn: Callable
    name: str
    file: str
    line: int
    params: tuple = ()

    kind = "step"

    def location(self) -> str:
        """``path:line`` of the decorated function, relative to the working directory when inside it."""
        return f"{nodeid_of(self.file)}:{self.line}"

    def error(self, message: str) -> StepError:
        """A :class:`StepError` for this step: ``file:line: name: message``."""
        return StepError(f"{self.location()}: {self.name}: {message}")

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


@dataclass
class PageStep(Step):
    """A ``@mk.scene`` without ``players``: returns an ``mk.Page``, ``mk.Consent`` or ``mk.Completion``."""

    kind = "page"


@dataclass
class SurveyStep(Step):
    """A ``@mk.survey``: returns a list of questions."""

    kind = "survey"


@dataclass
class GameStep(Step):
    """A ``@mk.scene(players=...)``: returns an env. ``options`` holds every option of
    :data:`GAME_DEFAULTS`, with the defaults filled in (``step.options["fps"]``)."""

    options: dict = field(default_factory=dict)
    kind = "game"

    @property
    def players(self) -> dict:
        return self.options["players"]

    @property
    def humans(self) -> list[str]:
        """Agent ids played by humans."""
        return [a for a, p in self.players.items() if p is HUMAN]

    @property
    def policy_names(self) -> list[str]:
        """Names of the ``@mk.policy`` factories (not ``"random"``) this step uses."""
        return sorted({p for p in self.players.values() if isinstance(p, str) and p != "random"})

    @property
    def runtime(self) -> str:
        return self.options["runtime"]


@dataclass
class PolicyDef:
    """A ``@mk.policy`` factory, called once per game to make the policy."""

    fn: Callable
    name: str
    file: str
    line: int

    def __call__(self):
        return self.fn()


def _params(fn: Callable, allowed: tuple, where: str) -> tuple:
    params = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name not in allowed:
            hint = difflib.get_close_matches(p.name, allowed, 1)
            raise StepError(f"{where}: unknown parameter {p.name!r}"
                            + (f" (did you mean {hint[0]!r}?)" if hint else "")
                            + f"; a step may ask for {', '.join(allowed)}")
        params.append(p.name)
    return tuple(params)


def _players_problems(players: Any) -> list[str]:
    if not isinstance(players, dict) or not players:
        return ["players must be a dict agent id -> mk.HUMAN, 'random' or a policy name"]
    out = []
    for agent, who in players.items():
        if not isinstance(agent, str):
            out.append(f"agent id {agent!r} must be a str")
        if not (who is HUMAN or isinstance(who, str)):
            out.append(f"player {agent!r} is {who!r}: use mk.HUMAN, 'random' or the name of a @mk.policy")
    return out


def _is_int_between(v: Any, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _number_problems(o: dict) -> list[str]:
    out = []
    for name, kind, allow_none in (("fps", (int, float), False), ("episodes", int, False),
                                   ("max_steps", int, True), ("width", int, False), ("height", int, False),
                                   ("waitroom_timeout", (int, float), False)):
        v = o[name]
        if v is None and allow_none:
            continue
        # `not v > 0` also refuses NaN, which compares false with everything.
        if not isinstance(v, kind) or isinstance(v, bool) or not v > 0 or v == float("inf"):
            out.append(f"{name} must be a positive {'int' if kind is int else 'number'}, got {v!r}")
    if not _is_int_between(o["input_delay"], 0, 30):
        out.append(f"input_delay must be an int from 0 to 30 frames, got {o['input_delay']!r}")
    if not _is_int_between(o["max_rollback"], 1, 64):
        out.append(f"max_rollback must be an int from 1 to 64 frames, got {o['max_rollback']!r}")
    return out


def _keys_problems(keys: Any, has_human: bool) -> list[str]:
    if keys is None or keys == {}:
        return ["keys is required when a human plays: a dict KeyboardEvent.key name -> action"] if has_human else []
    if not isinstance(keys, dict):
        return [f"keys must be a dict, got {type(keys).__name__}"]
    out = []
    for k in keys:
        names = k if isinstance(k, tuple) else (k,)
        if not names or not all(isinstance(n, str) and n for n in names):
            out.append(f"key {k!r} must be a KeyboardEvent.key name or a tuple of names")
    return out


def _check_options(options: dict, where: str) -> dict:
    """The game step options with defaults filled in; raises StepError listing every problem."""
    unknown = [k for k in options if k not in GAME_DEFAULTS]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], GAME_DEFAULTS, 1)
        raise StepError(f"{where}: unknown option {unknown[0]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; game step options are {', '.join(GAME_DEFAULTS)}")
    if "players" not in options:
        raise StepError(f"{where}: a game step needs players=...; a page scene takes no options")
    o = {**GAME_DEFAULTS, **options}
    players = o["players"]
    has_human = isinstance(players, dict) and any(p is HUMAN for p in players.values())
    problems = _players_problems(players)
    if o["runtime"] not in ("server", "browser"):
        problems.append(f"runtime must be 'server' or 'browser', got {o['runtime']!r}")
    problems += _number_problems(o)
    if o["fill"] not in ("default", "previous"):
        problems.append(f"fill must be 'default' or 'previous', got {o['fill']!r}")
    if o["input_mode"] not in ("pressed", "keydown", "keyup"):
        problems.append(f"input_mode must be 'pressed', 'keydown' or 'keyup', got {o['input_mode']!r}")
    problems += _keys_problems(o["keys"], has_human)
    for hook in ("render", "on_step", "on_episode_start", "on_episode_end"):
        if o[hook] is not None and not callable(o[hook]):
            problems.append(f"{hook} must be a function, got {o[hook]!r}")
    packages = o["packages"]
    if isinstance(packages, str) or not all(isinstance(p, str) and "==" in p for p in packages):
        problems.append(f"packages must be a list of pinned requirements like 'chess==1.11.2', got {packages!r}")
    if problems:
        raise StepError(f"{where}: " + "; ".join(problems))
    o["players"] = dict(players)
    o["packages"] = tuple(packages)
    return o


def scene(fn: Callable | None = None, **options: Any):
    """Declares a step of the flow.

    Without options (``@mk.scene``) the function returns a page: ``mk.Page``, ``mk.Consent`` or
    ``mk.Completion``. With ``players=...`` (``@mk.scene(players=..., fps=..., ...)``) it is a game
    step and returns an env; the options and their defaults are in :data:`GAME_DEFAULTS` and
    API.md §2. The function may ask for ``seed``, ``episode``, ``participant`` or ``group`` by
    parameter name.

    Raises:
        StepError: an unknown option or an ill-formed value, at import time, naming file and line.
    """

    def wrap(f: Callable) -> Step:
        file, line = _where(f)
        where = f"{nodeid_of(file)}:{line}: {f.__name__}"
        if not options:
            return PageStep(f, f.__name__, file, line, _params(f, ("participant",), where))
        opts = _check_options(options, where)
        params = _params(f, INJECTABLE, where)
        if "participant" in params and "group" in params:
            raise StepError(f"{where}: ask for participant or group, not both")
        humans = [a for a, p in opts["players"].items() if p is HUMAN]
        if len(humans) >= 2 and "participant" in params:
            raise StepError(f"{where}: {len(humans)} humans play this game, so it is built once per group: "
                            f"ask for group (the participants), not participant")
        return GameStep(f, f.__name__, file, line, params, opts)

    if fn is not None:
        if options or not callable(fn):
            raise StepError("use @mk.scene or @mk.scene(players=..., ...), with keyword options only")
        return wrap(fn)
    return wrap


def survey(fn: Callable) -> SurveyStep:
    """Declares a survey step: the function returns a list of ``mk.Likert``, ``mk.Choice``, ``mk.Text``."""
    if not callable(fn):
        raise StepError("use @mk.survey on a function that returns a list of questions")
    file, line = _where(fn)
    return SurveyStep(fn, fn.__name__, file, line, _params(fn, ("participant",), f"{nodeid_of(file)}:{line}: {fn.__name__}"))


def policy(fn: Callable) -> PolicyDef:
    """Declares an AI policy by name: a factory, called once per game, that returns ``mk.Onnx(...)``
    or any callable ``obs -> action``. Game steps name it in ``players``."""
    if not callable(fn):
        raise StepError("use @mk.policy on a function that returns a policy")
    file, line = _where(fn)
    return PolicyDef(fn, fn.__name__, file, line)
