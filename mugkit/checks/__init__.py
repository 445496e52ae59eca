"""The checks ``mugkit check`` runs, by name, and which steps each applies to (API.md §5).

``page`` and ``screen`` are mugkit's own additions to API.md's list: page scenes and screening
steps are steps too, and a typo in a completion redirect costs a study its completions, a
screening function that raises its participants. ``parity`` (Pyodide in headless Chromium against
CPython) applies to every browser step and runs last: it is the slowest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from ..screening import ScreenStep
from ..steps import HUMAN, GameStep, PageStep, Step, SurveyStep

if TYPE_CHECKING:
    from .base import CheckContext

__all__ = ["applicable", "run_check", "CHECKS"]

#: Every check: its name → ``module:function`` in this package.
CHECKS = {
    "contract": "contract:check_contract",
    "determinism": "determinism:check_determinism",
    "synctest": "synctest:check_synctest",
    "policy": "policy:check_policy",
    "rollback": "rollback:check_rollback",
    "parity": "parity:check_parity",
    "survey": "survey:check_survey",
    "page": "page:check_page",
    "screen": "screen:check_screen",
}


def applicable(step: Step) -> list[str]:
    """The names of the checks that apply to ``step``, in the order they run."""
    if isinstance(step, SurveyStep):
        return ["survey"]
    if isinstance(step, PageStep):
        return ["page"]
    if isinstance(step, ScreenStep):
        return ["screen"]
    if not isinstance(step, GameStep):
        return []
    names = ["contract", "determinism", "synctest"]
    if any(p is not HUMAN for p in step.players.values()):
        names.append("policy")
    if step.runtime == "browser" and 2 <= len(step.humans) <= _max_peers():
        names.append("rollback")  # more humans: serve plays the step on the server, without rollback
    if step.runtime == "browser":
        names.append("parity")
    return names


def _max_peers() -> int:
    from ..web.browser.games import MAX_PEERS

    return MAX_PEERS


def _function(name: str) -> Callable:
    """The check function for ``name``, imported on first use (checks import Hypothesis and more)."""
    module, function = CHECKS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def run_check(name: str, ctx: "CheckContext") -> None:
    """Runs check ``name`` on ``ctx`` (a :class:`mugkit.checks.base.CheckContext`); raises on failure.

    An exception raised in the env's or policy's code becomes a :class:`CheckFailure` naming
    where; one raised inside mugkit itself propagates with its traceback (it is mugkit's bug).
    """
    from ..paths import passes_through_user_code, user_frames
    from ..runtime.errors import InternalError
    from ..runtime.policies import PolicyError
    from ..steps import StepError
    from .report import CheckFailure

    try:
        _function(name)(ctx)
    except (CheckFailure, InternalError):
        raise
    except StepError as exc:  # a step that does not build fails each of its checks, as data too
        raise CheckFailure(ctx.nodeid, str(exc)) from None
    except PolicyError as exc:  # a model that does not load or does not fit: one sentence says it
        raise CheckFailure(ctx.nodeid, f"{ctx.step.location()}: {ctx.step.name}: {exc}") from None
    except Exception as exc:
        where = user_frames(exc)
        if not where or not passes_through_user_code(exc):
            raise  # mugkit's own bug: shown with its traceback, never blamed on the env
        raise CheckFailure(ctx.nodeid, f"the game raised {type(exc).__name__}: {exc}", raised_at=where) from exc
