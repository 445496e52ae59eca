"""``determinism``: the same seed and actions give the same frame hashes.

For generated seeds and action sequences, the step is played twice in this process — the second
time interleaved frame by frame with another game of the same step (other seed, other actions),
which exposes state shared between instances. The step's playthroughs, a fixed example and any
extra ones (see :func:`check_determinism`) are played once more in eight fresh processes at once,
each with its own ``PYTHONHASHSEED``, which exposes envs that depend on string hashing (iterating a set of
names) or on anything else that differs from process to process; an experiment then tells which
(see :mod:`mugkit.checks.processes`).
"""

from __future__ import annotations

from typing import Sequence

from ..runtime.adapter import local_fingerprints
from ..runtime.state import diff
from .base import CheckContext, Found, reproduce_property, run_property
from .diagnose import explain, trace_sources
from .inputs import KeyPlan, fixed_plans
from .neutralize import (UnseededWatch, global_states, more_draws_differ, neutralized, plain_runs_differ, split_sources,
                         watching_unseeded)
from .play import Run, first_difference, pinned_globals, play, tick
from .processes import HASH_SEEDS, across_processes, start_fresh
from .replay import DataAt
from .report import CheckFailure

__all__ = ["check_determinism", "example", "report", "reproduce", "across_processes", "process_examples",
           "HASH_SEEDS"]


def _interleaved(ctx: CheckContext, seed: int, plan: KeyPlan, run: Run | None = None, sparse: bool = False) -> Run:
    """A run of ``(seed, plan)`` with another game of the step (another seed, the plan reversed)
    stepped between its frames, to expose state shared between instances (recorded into ``run``)."""
    other = ctx.game(seed ^ 0x5EED)
    driver = other.driver()
    driver.start()
    restart = driver.save()
    other_plan = KeyPlan({h: tuple(reversed(seq)) for h, seq in plan.frames.items()})

    def step_other(_game, i):
        if tick(other, driver, other_plan, i % max(1, len(other_plan))) is None and driver.finished:
            driver.load(restart)

    return play(ctx.game(seed), plan, ctx.frames, each_frame=step_other, run=run, sparse=sparse)


def example(ctx: CheckContext, seed: int, plan: KeyPlan, watch: UnseededWatch | None = None) -> None:
    """One example: a plain run and an interleaved run of ``(seed, plan)`` give the same frames.

    When they agree but the first run drew unseeded randomness (the process-wide generators, or a
    generator made without a seed, as ``watch`` saw), the two runs may have agreed by luck — a tie
    broken the same way twice — so more plain runs, each with other values for that randomness,
    must agree too (:func:`~mugkit.checks.neutralize.more_draws_differ`)."""
    if watch is None:
        with watching_unseeded() as watch:
            return example(ctx, seed, plan, watch)
    with local_fingerprints():  # the runs are compared only with each other, in this process
        with pinned_globals(1):
            game = ctx.game(seed)
            # Watched while the game plays (reset and steps), not while it is built: envs commonly
            # make a generator without a seed when constructed and replace it in reset(seed).
            watch.reset()
            pinned = global_states()
            first = play(game, plan, ctx.frames, sparse=True)
            drew, made = global_states() != pinned, watch.made
        with pinned_globals(2):
            second = _interleaved(ctx, seed, plan, sparse=True)
        at = first_difference(first.hashes, second.hashes)
        if at is not None:
            raise Found(seed, plan, frame=at, actions=first.actions[:at])
        if drew or made:
            differs = more_draws_differ(ctx, seed, plan)
            if differs is not None:
                draw, run, at = differs
                raise Found(seed, plan, frame=at, actions=run.actions[:at], draw=draw)


#: The seed of the fixed example every fresh process replays.
PROCESS_SEED = 12345


def process_examples(ctx: CheckContext) -> list[tuple[int, KeyPlan]]:
    """The examples every fresh process replays besides the extra ones: the step's playthroughs
    (which every check plays) and one fixed game."""
    return ctx.scripted_examples() + [(PROCESS_SEED, fixed_plans(ctx.step, ctx.frames)[0])]


def check_determinism(ctx: CheckContext, extra: Sequence[tuple[int, KeyPlan]] = ()) -> None:
    """Raises :class:`CheckFailure` when two runs with the same seed and actions differ.

    ``extra``: more examples ``(seed, plan)`` — plans of any length, each played for
    ``max(ctx.frames, len(plan))`` frames — checked like the generated ones in this process and,
    with :func:`process_examples`, in every fresh process."""
    extra = list(extra)
    exploration = ctx.exploration()
    explored = [(t.seed, t.plan) for t in exploration.trajectories] if exploration is not None else []
    # The fresh processes start first and work while this process plays its own examples; they
    # replay what exploration found too, its playouts to the episode's end included.
    fresh = start_fresh(ctx, process_examples(ctx) + extra + explored)
    try:
        # A first game, outside the examples: libraries the step imports now may draw from the
        # process-wide generators once, at import, which is not the env drawing in each game.
        try:
            ctx.game(PROCESS_SEED).driver().start()
        except Exception:
            pass  # an env that crashes crashes again in the examples, which report it with seed and keys
        with watching_unseeded() as watch:
            def stopped_report(ctx: CheckContext, found: Found) -> CheckFailure:
                watch.stop()  # the report traces the env: mugkit's hooks would hide its calls
                return report(ctx, found)

            prop = lambda seed, plan: example(ctx, seed, plan, watch)  # noqa: E731
            # Here, the explored trajectories but the playouts: those are replayed by the fresh
            # processes and rolled back over their last frames by the synctest.
            found = run_property(ctx, prop, explored=True, playouts=False)
            if found is not None:
                raise stopped_report(ctx, found)
            for seed, plan in extra:
                reproduce_property(ctx, prop, stopped_report, seed, plan, tries=1)
        across_processes(ctx, fresh.examples, fresh)
    finally:
        fresh.stop()


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan, processes: bool = False) -> None:
    """Runs one example again (``processes``: across fresh processes); raises its failure if it
    still fails."""
    if processes:
        across_processes(ctx, [(seed, plan)])
    else:
        reproduce_property(ctx, lambda s, p: example(ctx, s, p), report, seed, plan)


#: Re-runs of a failing example, to find the frames that differ when they differ only sometimes.
RERUNS = 5


def _runs_again(ctx: CheckContext, found: Found, frame: int | None = None) -> tuple[Run, Run]:
    """The two runs that differed, played again (keeping the data of ``frame``)."""
    seed, plan = found.seed, found.plan
    draw = found.details.get("draw")

    def run() -> Run:
        return DataAt(frame) if frame is not None else Run()

    if draw is not None:  # two plain runs with other values for the unseeded randomness
        runs = []
        for k in (1, draw):
            with neutralized({"unseeded"}, seed=k), pinned_globals(k):
                runs.append(play(ctx.game(seed), plan, ctx.frames, run=run()))
        return runs[0], runs[1]
    with pinned_globals(1):
        a = play(ctx.game(seed), plan, ctx.frames, run=run())
    with pinned_globals(2):
        b = _interleaved(ctx, seed, plan, run=run())
    return a, b


def report(ctx: CheckContext, found: Found) -> CheckFailure:
    ctx = ctx.sized(found)
    seed, plan, at = found.seed, found.plan, found.details["frame"]
    differs: list[str] = []
    target, again = at, None
    with local_fingerprints():
        for _ in range(RERUNS):  # each keeps the data of one frame (megabytes each): the one that differed last
            a, b = _runs_again(ctx, found, frame=target)
            again = first_difference(a.hashes, b.hashes)
            if again is not None and again == target:
                break
            target = again if again is not None else target
    if again is not None:
        at = again
        if again == target and a.data and b.data:
            differs = diff(a.data[0], b.data[0])
    else:
        differs = [f"({RERUNS} re-runs of this example gave equal frames: the difference depends on what ran "
                   f"before in the process — state kept in a class or module — or on timing)"]
    actions = a.actions[:at] if again is not None else found.details["actions"]
    sources = trace_sources(lambda: play(ctx.game(seed), plan, ctx.frames))
    likely, seen = split_sources(sources, lambda kinds, attempt: plain_runs_differ(ctx, seed, plan, kinds, attempt))
    cause = explain(likely, seen, otherwise=(
        "state shared between two instances of the env (a module-level or class-level variable the env "
        "changes), a value that differs per object (id(), object addresses in a repr), or iteration over "
        "something unordered. Keep all game state on the instance and derive all randomness from the seed "
        "passed to reset()"))
    return ctx.failure("two runs with the same seed and actions gave different frames", found, actions=actions,
                       frame=at, differs=differs, cause=cause)
