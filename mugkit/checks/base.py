"""What every check gets, and how checks run Hypothesis."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from ..collect import Experiment
from ..games import Game
from ..nodeid import NodeId
from ..paths import passes_through_user_code
from ..runtime.policies import PolicyError
from ..steps import Step, StepError
from .explore import Budget, Exploration, explore
from .inputs import KeyPlan, fixed_plans, plan_strategy
from .play import make_game
from .report import CheckFailure, reproduce_snippet

__all__ = ["CheckContext", "run_property", "reproduce_property", "call_step", "Found", "quiet_hypothesis"]


@dataclass
class CheckContext:
    """One check of one step.

    Attributes:
        experiment, step: what is checked.
        nodeid: the check item's :class:`~mugkit.nodeid.NodeId` (``<file>::<step>::<check>``).
        rootdir: the folder node ids are relative to.
        examples: how many generated examples (seeds and action sequences) a property check tries.
        frames: the longest action sequence, in frames.
        explore: the exploration budget of the step (``--mugkit-explore``).
    """

    experiment: Experiment
    step: Step
    nodeid: NodeId
    rootdir: str
    examples: int = 10
    frames: int = 40
    notes: list = field(default_factory=list)  # facts for the run's summary (not failures)
    explore: Budget = Budget()

    def exploration(self) -> Exploration | None:
        """What exploring the step found (:mod:`mugkit.checks.explore`), once per step and budget
        in a process; None when exploration is off."""
        if self.explore.off:
            return None
        key = self._exploration_key()
        if key not in _EXPLORED:
            _EXPLORED[key] = explore(self, self.explore)
        return _EXPLORED[key]

    def explored(self) -> Exploration | None:
        """The step's exploration if a check of this process made it, else None (never explores)."""
        return _EXPLORED.get(self._exploration_key())

    def _exploration_key(self) -> tuple:
        return (id(self.step), str(self.step_nodeid), self.rootdir, self.explore)

    def sized(self, found: "Found") -> "CheckContext":
        """This context, playing as many frames as ``found`` needs (an explored example may be
        longer than ``frames``)."""
        return dataclasses.replace(self, frames=max(self.frames, found.frames or 0))

    @property
    def step_nodeid(self) -> NodeId:
        """The node id of the step checked."""
        return self.nodeid.step_id

    def game(self, seed: int) -> Game:
        """A freshly built game of the step, seeded ``seed``."""
        return make_game(self.step, self.experiment.policies, seed, self.experiment.conditions)

    @property
    def playthroughs(self) -> list:
        """The experiment's ``@mk.playthrough`` scripts of this step."""
        return [p for p in getattr(self.experiment, "playthroughs", []) if p.step is self.step]

    def scripted_examples(self) -> list[tuple[int, KeyPlan]]:
        """``(seed, plan)`` of each playthrough of this step, which every check plays.

        Raises:
            CheckFailure: a playthrough does not return a list of per-frame dicts of the step's humans.
        """
        out = []
        for p in self.playthroughs:
            try:
                out.append((p.seed, p.plan(self.step.humans)))
            except Exception as exc:
                raise CheckFailure(self.nodeid, f"playthrough {p.name} of {self.step.name}: {exc}") from None
        return out

    def failure(self, summary: str, found: "Found | None" = None, **fields: Any) -> CheckFailure:
        """A :class:`CheckFailure` of this check; with ``found``, its example and a reproduction
        (``found.details["reproduce"]`` holds the check's own extra arguments, if any)."""
        if found is not None:
            needed = found.details.get("at", found.details.get("frame"))
            plan = found.plan.trimmed(needed if needed is not None else len(found.plan))
            fields.setdefault("seed", found.seed)
            fields.setdefault("plan", plan)
            fields.setdefault("shrunk", found.shrunk)
            fields.setdefault("replay", reproduce_snippet(self, found.seed, plan, **found.details.get("reproduce", {})))
        return CheckFailure(self.nodeid, summary, **fields)


#: Explorations made in this process: (step, node id, root, budget) → Exploration.
_EXPLORED: dict = {}


def call_step(ctx: CheckContext, what: str) -> list:
    """Calls a page or survey step as a participant would get it, once per condition of the
    experiment's ``CONDITIONS`` when it asks for ``participant`` (else once); returns what each
    call returned. A crash becomes a CheckFailure naming ``what`` ("page scene", "survey"), the
    step's file and line, and the condition."""
    from ..games import Participant
    from .play import CHECK_PARTICIPANT

    step = ctx.step
    if "participant" not in step.params:
        calls = [({}, None)]
    else:
        people = [Participant("check-0", {}, c) for c in ctx.experiment.conditions] or [CHECK_PARTICIPANT]
        calls = [({"participant": p}, p.condition) for p in people]
    out = []
    for kwargs, condition in calls:
        try:
            out.append(step.fn(**kwargs))
        except Exception as exc:
            under = f" for a participant in condition {condition!r}" if condition is not None else ""
            raise CheckFailure(ctx.nodeid, f"{step.location()}: the {what} raised {type(exc).__name__}{under}: "
                               f"{exc}") from None
    return out


class Found(Exception):
    """Raised inside a property when an example fails; carries what the report needs.

    Attributes:
        seed, plan: the example (game seed and :class:`~mugkit.checks.inputs.KeyPlan`).
        details: what the check found (frame, stage, …).
        shrunk: whether the example was shrunk (False for a fixed one or a playthrough).
        frames: the frames the example plays, when it needs more than ``--mugkit-frames`` (an
            explored trajectory); else None.
    """

    def __init__(self, seed: int, plan: KeyPlan, **details: Any):
        super().__init__(f"seed={seed}")
        self.seed = seed
        self.plan = plan
        self.details = details
        self.shrunk = True
        self.frames: int | None = None


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


@contextlib.contextmanager
def quiet_hypothesis():
    """Keeps Hypothesis's own reports (falsifying examples, its slow-shrinking notice) out of the
    output — mugkit reports the failure itself, and bounds shrinking on purpose — and its storage
    (a cache of constants it writes even with no example database) out of the working directory,
    unless ``HYPOTHESIS_STORAGE_DIRECTORY`` says where it goes."""
    import os
    import tempfile

    from hypothesis import configuration
    from hypothesis.reporting import with_reporter

    name = "__hypothesis_home_directory"  # module-level: not name-mangled
    before = getattr(configuration, name, None)
    if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY") and before is None:
        configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "mugkit-hypothesis"))
    try:
        with with_reporter(lambda message: None):
            yield
    finally:
        if before is None:
            setattr(configuration, name, None)


def hypothesis_settings(examples: int):
    """The settings of every mugkit property check: reproducible (derandomized, no example
    database), no deadline (examples play whole games), no "explain" phase (it traces every line)."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)


def fixed_examples(ctx: CheckContext) -> list[tuple[int, KeyPlan]]:
    """The examples every property check tries first: the step's playthroughs
    (``@mk.playthrough``), then :func:`~mugkit.checks.inputs.fixed_plans`. They catch most faults
    at once; Hypothesis does not shrink a failure found by one of them."""
    return ctx.scripted_examples() + [(1, plan) for plan in fixed_plans(ctx.step, ctx.frames)]


def run_property(ctx: CheckContext, prop: Callable[[int, KeyPlan], None], explored: bool = False,
                 playouts: bool = True) -> Found | None:
    """Runs ``prop(seed, plan)`` on :func:`fixed_examples`, then on Hypothesis-generated seeds and
    key plans (:func:`~mugkit.checks.inputs.plan_strategy`), shrinking a failure; with
    ``explored``, first raises a crash that exploration found, and last runs ``prop`` on the
    explored trajectories (:meth:`CheckContext.exploration`; without its playouts to the episode's
    end unless ``playouts``), shrinking a failure with
    :func:`~mugkit.checks.shrink.shrink`. Returns the minimal :class:`Found` (its ``shrunk`` is
    False when a fixed example failed), or None when every example passed. A crash of the env or a
    policy is raised as a report.

    Runs are derandomized (the same examples every time, so a check result is reproducible) and
    keep no example database.
    """
    from .explored import explored_crash, run_explored

    if explored:
        crash = explored_crash(ctx)
        if crash is not None:
            raise crash_report(ctx.sized(crash), crash) from None
    from hypothesis import example, given
    from hypothesis import strategies as st

    fixed = fixed_examples(ctx)

    def search(with_fixed: bool) -> Found | None:
        run = _property(prop)
        for seed, plan in reversed(fixed if with_fixed else []):
            run = example(seed=seed, plan=plan)(run)
        run = hypothesis_settings(ctx.examples)(given(
            seed=st.integers(0, 2**32 - 1), plan=plan_strategy(ctx.step, ctx.frames))(run))
        try:
            with bounded_shrinking(), quiet_hypothesis():
                run()
        except BaseException as exc:  # Hypothesis may wrap a flaky failure in an exception group
            found = _find(exc)
            if found is None:
                raise
            return found
        return None

    found = search(with_fixed=True)
    if found is not None and (found.seed, found.plan) in fixed:
        # Hypothesis does not shrink a failing explicit example: look for one it can shrink.
        found = search(with_fixed=False) or found
        found.shrunk = (found.seed, found.plan) not in fixed
    if found is None and explored:
        found = run_explored(ctx, prop, playouts)
    if found is not None and "crash" in found.details:
        raise crash_report(ctx.sized(found), found) from None
    return found


def reproduce_property(ctx: CheckContext, prop: Callable[[int, KeyPlan], None],
                       report: Callable[[CheckContext, "Found"], CheckFailure], seed: int, plan: KeyPlan,
                       tries: int = 8) -> None:
    """Runs one example of a property check again, outside Hypothesis, up to ``tries`` times (a
    difference that shows in some runs only, a coin flip by an unseeded draw, is tried as the check
    tries an unstable explored trajectory); raises the check's :class:`CheckFailure` (or its crash report) if it still fails."""
    try:
        for _ in range(tries):
            _property(prop)(seed, plan)
    except Found as found:
        found.shrunk = False
        raise (crash_report(ctx, found) if "crash" in found.details else report(ctx, found)) from None


def _property(prop: Callable[[int, KeyPlan], None]) -> Callable:
    def run(seed, plan):
        try:
            prop(seed, plan)
        except (Found, StepError, PolicyError, CheckFailure):
            raise  # a step or model that does not load fails the same for every example: no shrinking
        except Exception as exc:  # the env (or a policy) crashed: shrink it like any failure
            if not passes_through_user_code(exc):
                raise  # mugkit's own bug
            raise Found(seed, plan, crash=exc) from exc

    return run


def crash_report(ctx: CheckContext, found: Found) -> Exception:
    """The failure for an example whose run raised: where, with the shrunk seed and plan."""
    from ..paths import user_frames
    from .play import Run, play

    exc = found.details["crash"]
    run = Run()
    try:  # replay to learn the actions up to the crash
        play(ctx.game(found.seed), found.plan, ctx.frames, run=run)
    except Exception:
        pass
    return ctx.failure(f"the game raised {type(exc).__name__}: {exc}", found, actions=run.actions,
                       raised_at=user_frames(exc))
