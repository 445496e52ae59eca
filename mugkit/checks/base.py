"""What every check gets, and how checks run Hypothesis."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..collect import Experiment
from ..games import Game
from ..nodeid import NodeId
from ..runtime.policies import PolicyError
from ..steps import Step, StepError
from .play import make_game

__all__ = ["CheckContext", "run_property", "call_step", "Found"]


@dataclass
class CheckContext:
    """One check of one step.

    Attributes:
        experiment, step: what is checked.
        nodeid: the check item's :class:`~mugkit.nodeid.NodeId` (``<file>::<step>::<check>``).
        rootdir: the folder node ids are relative to.
        examples: how many generated examples (seeds and action sequences) a property check tries.
        frames: the longest action sequence, in frames.
    """

    experiment: Experiment
    step: Step
    nodeid: NodeId
    rootdir: str
    examples: int = 10
    frames: int = 40
    notes: list = field(default_factory=list)  # facts for the run's summary (not failures)

    @property
    def step_nodeid(self) -> NodeId:
        """The node id of the step checked."""
        return self.nodeid.step_id

    def game(self, seed: int) -> Game:
        """A freshly built game of the step, seeded ``seed``."""
        return make_game(self.step, self.experiment.policies, seed, self.experiment.conditions)


def call_step(ctx: CheckContext, what: str) -> Any:
    """Calls a page or survey step as a participant would get it; a crash becomes a CheckFailure
    naming ``what`` ("page scene", "survey") and the step's file and line."""
    from .play import CHECK_PARTICIPANT
    from .report import CheckFailure

    step = ctx.step
    kwargs = {"participant": CHECK_PARTICIPANT} if "participant" in step.params else {}
    try:
        return step.fn(**kwargs)
    except Exception as exc:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: the {what} raised {type(exc).__name__}: {exc}") from None


class Found(Exception):
    """Raised inside a property when an example fails; carries what the report needs."""

    def __init__(self, seed: int, choices: list, **details: Any):
        super().__init__(f"seed={seed}")
        self.seed = seed
        self.choices = choices
        self.details = details
        self.shrunk = True


def _find(exc: BaseException) -> Found | None:
    if isinstance(exc, Found):
        return exc
    for sub in getattr(exc, "exceptions", ()) or ():
        hit = _find(sub)
        if hit is not None:
            return hit
    if exc.__cause__ is not None:
        return _find(exc.__cause__)
    return None


#: Shrinking a failure stops after this long; each example of a check plays whole games.
SHRINK_SECONDS = 30


@contextlib.contextmanager
def bounded_shrinking(seconds: int = SHRINK_SECONDS):
    """Limits how long Hypothesis shrinks a failure, for the duration of one check.

    Hypothesis has no public setting for this; its default (5 minutes) is far too long when every
    example plays a game. The internal constant is put back afterwards, so a user's own Hypothesis
    tests in the same run keep the default; without it, shrinking runs to Hypothesis's own limit.
    """
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:
        engine = None
    if engine is None or not hasattr(engine, "MAX_SHRINKING_SECONDS"):
        yield
        return
    before = engine.MAX_SHRINKING_SECONDS
    engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = before


def hypothesis_settings(examples: int):
    """The settings of every mugkit property check: reproducible (derandomized, no example
    database), no deadline (examples play whole games), no "explain" phase (it traces every line)."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)


def fixed_examples(ctx: CheckContext) -> list[tuple[int, list]]:
    """The (seed, choices) every property check tries first: busy varied play and held keys. They
    catch most faults at once; Hypothesis does not shrink a failure found by one of them."""
    n = ctx.frames * max(1, len(getattr(ctx.step, "players", {}) or {}))
    return [(1, [(i * 37 + 11) % 256 for i in range(n)]), (2, [(i // 5 * 101 + 7) % 256 for i in range(n)])]


def run_property(ctx: CheckContext, prop: Callable[[int, list], None]) -> Found | None:
    """Runs ``prop(seed, choices)`` on :func:`fixed_examples`, then on Hypothesis-generated seeds
    and choice lists, shrinking a failure. Returns the minimal :class:`Found` (its ``shrunk`` is
    False when a fixed example failed), or None when every example passed.

    Runs are derandomized (the same examples every time, so a check result is reproducible) and
    keep no example database.
    """
    from hypothesis import example, given
    from hypothesis import strategies as st

    fixed = fixed_examples(ctx)
    size = len(fixed[0][1])

    def search(with_fixed: bool) -> Found | None:
        run = _property(prop)
        for seed, choices in reversed(fixed if with_fixed else []):
            run = example(seed=seed, choices=choices)(run)
        run = hypothesis_settings(ctx.examples)(given(
            seed=st.integers(0, 2**32 - 1), choices=st.lists(st.integers(0, 255), max_size=size))(run))
        try:
            with bounded_shrinking():
                run()
        except BaseException as exc:  # Hypothesis may wrap a flaky failure in an exception group
            found = _find(exc)
            if found is None:
                raise
            return found
        return None

    found = search(with_fixed=True)
    if found is not None and (found.seed, found.choices) in fixed:
        # Hypothesis does not shrink a failing explicit example: look for one it can shrink.
        found = search(with_fixed=False) or found
        found.shrunk = (found.seed, found.choices) not in fixed
    if found is not None and "crash" in found.details:
        raise crash_report(ctx, found) from None
    return found


def _property(prop: Callable[[int, list], None]) -> Callable:
    def run(seed, choices):
        try:
            prop(seed, choices)
        except (Found, StepError, PolicyError):
            raise  # a step or model that does not load fails the same for every example: no shrinking
        except Exception as exc:  # the env (or a policy) crashed: shrink it like any failure
            raise Found(seed, choices, crash=exc) from exc

    return run


def crash_report(ctx: CheckContext, found: Found) -> Exception:
    """The failure for an example whose run raised: where, with the shrunk seed and choices."""
    from ..paths import user_frames
    from .play import Run, play
    from .report import CheckFailure, replay_snippet

    exc = found.details["crash"]
    where = user_frames(exc)
    run = Run()
    try:  # replay to learn the actions up to the crash
        play(ctx.game(found.seed), found.choices, ctx.frames, run=run)
    except Exception:
        pass
    return CheckFailure(ctx.nodeid, f"the game raised {type(exc).__name__}: {exc}", seed=found.seed,
                        actions=run.actions, raised_at=where, shrunk=found.shrunk,
                        replay=replay_snippet(ctx.nodeid, found.seed, run.actions))
