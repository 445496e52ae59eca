"""``determinism``: the same seed and actions give the same frame hashes.

For generated seeds and action sequences, the step is played twice in this process — the second
time interleaved frame by frame with another game of the same step (other seed, other actions),
which exposes state shared between instances — and once more in eight fresh processes at once,
each with its own ``PYTHONHASHSEED``, which exposes envs that depend on string hashing (iterating a
set of names) or on process-wide state. A failure there names the line that iterates a set of
strings, when it finds one.
"""

from __future__ import annotations

import base64
import os
import pickle

from ..runtime.adapter import local_fingerprints
from ..runtime.state import diff
from .base import CheckContext, Found, reproduce_property, run_property
from .diagnose import explain, trace_sources
from .hash_order import trace_set_iteration
from .neutralize import plain_runs_differ, split_sources
from .fresh import start_replays
from .inputs import KeyPlan, fixed_plans, plan_to_data
from .play import Run, first_difference, pinned_globals, play, tick
from .report import CheckFailure

__all__ = ["check_determinism", "example", "report", "reproduce", "across_processes"]


def _interleaved(ctx: CheckContext, seed: int, plan: KeyPlan, keep_data: bool = False, sparse: bool = False) -> Run:
    """A run of ``(seed, plan)`` with another game of the step (another seed, the plan reversed)
    stepped between its frames, to expose state shared between instances."""
    other = ctx.game(seed ^ 0x5EED)
    driver = other.driver()
    driver.start()
    restart = driver.save()
    other_plan = KeyPlan({h: tuple(reversed(seq)) for h, seq in plan.frames.items()})

    def step_other(_game, i):
        if tick(other, driver, other_plan, i % max(1, len(other_plan))) is None and driver.finished:
            driver.load(restart)

    return play(ctx.game(seed), plan, ctx.frames, each_frame=step_other, keep_data=keep_data, sparse=sparse)


def example(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """One example: a plain run and an interleaved run of ``(seed, plan)`` give the same frames."""
    with local_fingerprints():  # the two runs are compared only with each other, in this process
        with pinned_globals(1):
            first = play(ctx.game(seed), plan, ctx.frames, sparse=True)
        with pinned_globals(2):
            second = _interleaved(ctx, seed, plan, sparse=True)
    at = first_difference(first.hashes, second.hashes)
    if at is not None:
        raise Found(seed, plan, frame=at, actions=first.actions[:at])


#: The example every fresh process replays.
PROCESS_SEED = 12345


def check_determinism(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` when two runs with the same seed and actions differ."""
    # The playouts to the episode's end are replayed in the fresh processes below, and rolled
    # back over their last frames by the synctest: here they would cost more than they add.
    found = run_property(ctx, lambda seed, plan: example(ctx, seed, plan), explored=True, playouts=False)
    if found is not None:
        raise report(ctx, found)
    across_processes(ctx, PROCESS_SEED, fixed_plans(ctx.step, ctx.frames)[0])


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan, processes: bool = False) -> None:
    """Runs one example again (``processes``: across fresh processes); raises its failure if it
    still fails."""
    if processes:
        across_processes(ctx, seed, plan)
    else:
        reproduce_property(ctx, lambda s, p: example(ctx, s, p), report, seed, plan)


#: Re-runs of a failing example, to find the frames that differ when they differ only sometimes.
RERUNS = 5


def report(ctx: CheckContext, found: Found) -> CheckFailure:
    ctx = ctx.sized(found)
    seed, plan, at = found.seed, found.plan, found.details["frame"]
    differs: list[str] = []
    for _ in range(RERUNS):
        with pinned_globals(1):
            a = play(ctx.game(seed), plan, ctx.frames, keep_data=True)
        with pinned_globals(2):
            b = _interleaved(ctx, seed, plan, keep_data=True)
        again = first_difference(a.hashes, b.hashes)
        if again is not None:
            break
    if again is not None and again < min(len(a.data), len(b.data)):
        at = again
        differs = diff(a.data[at], b.data[at])
    elif again is None:
        differs = [f"({RERUNS} re-runs of this example gave equal frames: the difference depends on what ran "
                   f"before in the process — state kept in a class or module — or on timing)"]
    actions = a.actions[:at] if again is not None else found.details["actions"]
    sources = trace_sources(lambda: play(ctx.game(seed), plan, ctx.frames))
    cause = explain(*split_sources(sources, lambda kinds: plain_runs_differ(ctx, seed, plan, kinds)), otherwise=(
        "state shared between two instances of the env (a module-level or class-level variable the env "
        "changes), a value that differs per object (id(), object addresses in a repr), or iteration over "
        "something unordered. Keep all game state on the instance and derive all randomness from the seed "
        "passed to reset()"))
    return ctx.failure("two runs with the same seed and actions gave different frames", found, actions=actions,
                       frame=at, differs=differs, cause=cause)


#: The ``PYTHONHASHSEED`` of each fresh process. With two str agent ids iterated from a set, each
#: process has an even chance of another order, so eight of them (and this one) all agree with
#: probability 1/256: the check catches such an env in more than 99 % of runs, whatever this
#: process's own hash seed.
HASH_SEEDS = tuple(str(1009 * (i + 1)) for i in range(8))


def _fresh_answers(ctx: CheckContext, request: dict, hash_seeds: list[str]) -> list[tuple[str, dict]]:
    """``(hash seed, answer)`` of fresh processes replaying ``request``, run concurrently."""
    out = []
    for run in start_replays(request, ctx.rootdir, hash_seeds):
        code, answer, err = run.result()
        if answer is None:
            raise CheckFailure(ctx.nodeid, f"replaying the step in a fresh Python process (PYTHONHASHSEED="
                               f"{run.hash_seed}) failed", seed=request["seed"], cause=err.strip()[-2000:])
        out.append((run.hash_seed, answer))
    return out


def _first_disagreement(runs: list[tuple[str, list]]) -> tuple[int, int, int] | None:
    """``(i, j, frame)``: the first pair of runs whose hashes differ, in order (put the runs whose
    hash seed is known first: a failure between them reproduces exactly)."""
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            at = first_difference(runs[i][1], runs[j][1])
            if at is not None:
                return i, j, at
    return None


def across_processes(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """``(seed, plan)`` played here and in fresh processes with other hash seeds gives the same
    frames everywhere; raises :class:`CheckFailure` naming the two processes that disagree."""
    with local_fingerprints():  # every process is CPython on this machine: fingerprints compare
        here = play(ctx.game(seed), plan, ctx.frames, keep_data=True)
    request = {"step": str(ctx.step_nodeid), "seed": seed, "keys": plan_to_data(plan), "frames": ctx.frames,
               "rootdir": ctx.rootdir, "fingerprints": True}
    # The fresh processes first: their hash seeds are known, so their disagreement reproduces.
    # This process (its hash seed is often random) is a last extra chance.
    runs = [(s, a["hashes"]) for s, a in _fresh_answers(ctx, request, list(HASH_SEEDS))] + [(None, here.hashes)]
    found = _first_disagreement(runs)
    if found is None:
        return
    i, j, at = found
    (seed_a, _), (seed_b, _) = runs[i], runs[j]
    asked = [s for s in (seed_a, seed_b) if s is not None]
    data = {s: a.get("data") for s, a in _fresh_answers(ctx, {**request, "data_at": at}, asked)}
    data_a = _unpickled(data.get(seed_a))
    data_b = here.data[at] if seed_b is None and at < len(here.data) else _unpickled(data.get(seed_b))
    differs = diff(data_a, data_b) if data_a is not None and data_b is not None else []
    who = (f"this process (PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', 'random')})" if seed_b is None
           else f"a fresh process with PYTHONHASHSEED={seed_b}")
    example = Found(seed, plan, frame=at, reproduce={"processes": True})
    example.shrunk = False
    raise ctx.failure(f"a fresh process with PYTHONHASHSEED={seed_a} and {who} gave different frames", example,
                      actions=here.actions[:at], frame=at, differs=differs,
                      cause=_hash_order_cause(ctx, seed, plan))


def _unpickled(text: str | None):
    return pickle.loads(base64.b64decode(text)) if text else None


def _hash_order_cause(ctx: CheckContext, seed: int, plan: KeyPlan) -> str:
    sites = trace_set_iteration(lambda: play(ctx.game(seed), plan, ctx.frames))
    general = ("the env depends on string hashing (iterating a set built from str, hash() of a str as a seed) "
               "or on process-wide state such as id() or a counter shared across instances")
    if not sites:
        return general + ". Use sorted() over sets and derive seeds from the reset seed"
    shown = "; ".join(sites[:3])
    return (f"the env iterates over a set of strings, whose order changes from process to process ({shown}). "
            f"Iterate over sorted(...) or a list instead")
