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
from dataclasses import dataclass, fields
from typing import Any, Callable

from .paths import nodeid_of
from .runtime.options import HUMAN, GameOptions, OptionsError

__all__ = ["HUMAN", "scene", "survey", "policy", "Step", "PageStep", "GameStep", "SurveyStep", "PolicyDef",
           "StepError", "GAME_DEFAULTS", "INJECTABLE", "PAGE_OPTIONS"]


#: Keyword options of a game step and their defaults (API.md §2). ``players`` is required.
GAME_DEFAULTS: dict[str, Any] = {f.name: (None if f.name == "players" else f.default) for f in fields(GameOptions)}

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
    """A ``@mk.scene`` without ``players``: returns an ``mk.Page``, ``mk.Consent`` or ``mk.Completion``.
    ``timeout``: seconds after which the server moves the participant on (None: no limit;
    docs/experiments.md, "Timeouts")."""

    timeout: float | None = None
    kind = "page"


@dataclass
class SurveyStep(Step):
    """A ``@mk.survey``: returns a list of questions. ``timeout``: as a page's (docs/surveys.md)."""

    timeout: float | None = None
    kind = "survey"


#: Options of a page scene and of a survey (``@mk.scene(timeout=60)``, ``@mk.survey(timeout=300)``).
PAGE_OPTIONS = ("timeout",)


def _page_timeout(options: dict, where: str, decorator: str) -> float | None:
    """The ``timeout`` of a page scene or survey, checked: a positive, finite number of seconds."""
    unknown = [k for k in options if k not in PAGE_OPTIONS]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], PAGE_OPTIONS, 1)
        raise StepError(f"{where}: unknown option {unknown[0]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; {decorator} takes timeout= only" + ("" if decorator == "@mk.survey" else
                                                                  " (a game step needs players=...)"))
    timeout = options.get("timeout")
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 10**7:
        raise StepError(f"{where}: timeout must be a positive number of seconds (e.g. timeout=120), got {timeout!r}")
    return float(timeout)


@dataclass
class GameStep(Step):
    """A ``@mk.scene(players=...)``: returns an env. ``options`` is its validated
    :class:`~mugkit.runtime.options.GameOptions` (``step.options.fps``)."""

    options: GameOptions | None = None
    kind = "game"

    @property
    def players(self) -> dict:
        return self.options.players

    @property
    def humans(self) -> list:
        """Agent ids played by humans."""
        return self.options.humans

    @property
    def policy_names(self) -> list[str]:
        """Names of the ``@mk.policy`` factories (not ``"random"``) this step uses."""
        return sorted({p for p in self.players.values() if isinstance(p, str) and p != "random"})

    @property
    def runtime(self) -> str:
        return self.options.runtime


@dataclass
class PolicyDef:
    """A ``@mk.policy`` factory, called once per game to make the policy.

    Attributes:
        every: the policy decides every ``every``-th frame of an episode (frames 0, every, 2·every
            …; MUG's ``frame_skip``); 1 means every frame.
        fill: the action between decisions: ``"previous"`` (the last decision, the default) or
            ``"default"`` (the step's ``default_action``).
    """

    fn: Callable
    name: str
    file: str
    line: int
    every: int = 1
    fill: str = "previous"

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


def scene(fn: Callable | None = None, **options: Any):
    """Declares a step of the flow.

    Without options (``@mk.scene``) the function returns a page: ``mk.Page``, ``mk.Consent`` or
    ``mk.Completion``; ``@mk.scene(timeout=S)`` is a page the server leaves for the participant after
    ``S`` seconds (docs/experiments.md, "Timeouts"). With ``players=...``
    (``@mk.scene(players=..., fps=..., ...)``) it is a game
    step and returns an env; the options and their defaults are in :data:`GAME_DEFAULTS` and
    API.md §2. The function may ask for ``seed``, ``episode``, ``participant`` or ``group`` by
    parameter name.

    Raises:
        StepError: an unknown option or an ill-formed value, at import time, naming file and line.
    """

    def wrap(f: Callable) -> Step:
        file, line = _where(f)
        where = f"{nodeid_of(file)}:{line}: {f.__name__}"
        if "players" not in options:
            if "timeout" in options or not options:  # a page scene (with its time limit)
                return PageStep(f, f.__name__, file, line, _params(f, ("participant",), where),
                                _page_timeout(options, where, "a page scene"))
        if "timeout" in options:
            raise StepError(f"{where}: timeout= is for pages and surveys; a game step ends by max_steps and "
                            f"episodes (waitroom_timeout= limits the wait for partners)")
        try:
            opts = GameOptions.from_kwargs(**options)
        except OptionsError as exc:
            raise StepError(f"{where}: {exc}") from None
        params = _params(f, INJECTABLE, where)
        if "participant" in params and "group" in params:
            raise StepError(f"{where}: ask for participant or group, not both")
        humans = opts.humans
        if len(humans) >= 2 and "participant" in params:
            raise StepError(f"{where}: {len(humans)} humans play this game, so it is built once per group: "
                            f"ask for group (the participants), not participant")
        return GameStep(f, f.__name__, file, line, params, opts)

    if fn is not None:
        if options or not callable(fn):
            raise StepError("use @mk.scene or @mk.scene(players=..., ...), with keyword options only")
        return wrap(fn)
    return wrap


def survey(fn: Callable | None = None, **options: Any):
    """Declares a survey step: the function returns a list of questions (``mk.Likert``, ``mk.Choice``,
    ``mk.Dropdown``, ``mk.Text``, ``mk.Number``, ``mk.Slider``, ``mk.Matrix``; docs/surveys.md).

    ``@mk.survey(timeout=300)``: after 300 seconds the server moves the participant on, with the
    answers their page had sent so far (docs/surveys.md, "Timeouts").

    Raises:
        StepError: not a function, an unknown option, or a timeout that is not a positive number.
    """

    def wrap(f: Callable) -> SurveyStep:
        if not callable(f):
            raise StepError("use @mk.survey on a function that returns a list of questions")
        file, line = _where(f)
        where = f"{nodeid_of(file)}:{line}: {f.__name__}"
        return SurveyStep(f, f.__name__, file, line, _params(f, ("participant",), where),
                          _page_timeout(options, where, "@mk.survey"))

    if fn is not None:
        if options or not callable(fn):
            raise StepError("use @mk.survey or @mk.survey(timeout=...), with keyword options only, on a function "
                            "that returns a list of questions")
        return wrap(fn)
    return wrap


def policy(fn: Callable | None = None, *, every: int = 1, fill: str = "previous"):
    """Declares an AI policy by name: a factory, called once per game, that returns ``mk.Onnx(...)``
    or any callable ``obs -> action``. Game steps name it in ``players``.

    ``@mk.policy(every=5)`` makes it decide only every 5th frame of an episode and repeat its last
    decision in between (``fill="default"``: play the step's ``default_action`` in between).

    Raises:
        StepError: ``every`` is not a positive int or ``fill`` is not ``"previous"``/``"default"``.
    """

    def wrap(f: Callable) -> PolicyDef:
        if not callable(f):
            raise StepError("use @mk.policy on a function that returns a policy")
        file, line = _where(f)
        where = f"{nodeid_of(file)}:{line}: {f.__name__}"
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise StepError(f"{where}: every must be a positive int (decide every N frames), got {every!r}")
        if fill not in ("previous", "default"):
            raise StepError(f"{where}: fill must be 'previous' or 'default', got {fill!r}")
        return PolicyDef(f, f.__name__, file, line, every, fill)

    return wrap(fn) if fn is not None else wrap
