"""``determinism`` across fresh processes, and the experiments that tell why processes disagree.

Every example is replayed in eight fresh processes at once, each with its own ``PYTHONHASHSEED``,
and in this process. Each child replays all the examples in one request (one import per process).
When two processes disagree, the cause is found by experiment, not guessed:

- every hash seed is run again: when each process agrees with the earlier one of its hash seed,
  and processes of different hash seeds differ, the frames depend on string hashing (a fresh
  process then traces where the env iterates a set of strings);
- otherwise a fresh process traces the sources of nondeterminism (unseeded generators, the global
  ones, clocks, ``os.urandom``; the experiment's import included), and each kind seen is made
  deterministic in eight fresh processes: the kinds that make them agree are the cause.
"""

from __future__ import annotations

import base64
import os
import pickle
from dataclasses import dataclass, field
from typing import Callable

from ..runtime.adapter import local_fingerprints
from ..runtime.state import diff
from .base import CheckContext, Found
from .diagnose import Source, explain
from .fresh import FreshRun, start_replays
from .inputs import KeyPlan, plan_to_data
from .play import first_difference, play
from .replay import DataAt
from .report import CheckFailure

__all__ = ["HASH_SEEDS", "Replays", "start_fresh", "across_processes"]

#: The ``PYTHONHASHSEED`` of each fresh process. With two str agent ids iterated from a set, each
#: process has an even chance of another order, so eight of them (and this one) all agree with
#: probability 1/256: the check catches such an env in more than 99 % of runs, whatever this
#: process's own hash seed.
HASH_SEEDS = tuple(str(1009 * (i + 1)) for i in range(8))

Examples = list[tuple[int, KeyPlan]]


@dataclass
class Replays:
    """Fresh processes replaying ``examples``, started by :func:`start_fresh`."""

    ctx: CheckContext
    examples: Examples
    runs: list[FreshRun] = field(default_factory=list)

    def answers(self) -> dict[str, dict]:
        """Hash seed → the answer of its process (waits for them all).

        Raises:
            CheckFailure: a process failed (the step does not build or play outside this process).
        """
        out = {}
        for run in self.runs:
            code, answer, err = run.result()
            if answer is None:
                raise CheckFailure(self.ctx.nodeid, f"replaying the step in a fresh Python process (PYTHONHASHSEED="
                                   f"{run.hash_seed}) failed", seed=self.examples[0][0] if self.examples else None,
                                   cause=err.strip()[-2000:])
            out[run.hash_seed] = answer
        return out

    def stop(self) -> None:
        """Ends the processes that still run."""
        for run in self.runs:
            run.stop()


def start_fresh(ctx: CheckContext, examples: Examples, hash_seeds=HASH_SEEDS, **more) -> Replays:
    """Starts a fresh process per hash seed, each replaying every example (``more``: further
    fields of the request, see :func:`mugkit.checks.replay.main`); they run while the caller works."""
    request = {"step": str(ctx.step_nodeid), "examples": [[seed, plan_to_data(plan)] for seed, plan in examples],
               "frames": ctx.frames, "rootdir": ctx.rootdir, "fingerprints": True, **more}
    return Replays(ctx, list(examples), start_replays(request, ctx.rootdir, list(hash_seeds)) if examples else [])


def across_processes(ctx: CheckContext, examples: Examples, fresh: Replays | None = None) -> None:
    """Each example ``(seed, plan)``, played for ``max(ctx.frames, len(plan))`` frames, gives the
    same frames here and in fresh processes with other hash seeds (``fresh``: those processes,
    already started on ``examples``); raises :class:`CheckFailure` naming the two processes that
    disagree and why."""
    fresh = fresh if fresh is not None else start_fresh(ctx, examples)
    with local_fingerprints():  # every process is CPython on this machine: fingerprints compare
        here = [play(ctx.game(seed), plan, ctx.frames).hashes for seed, plan in examples]
    answers = fresh.answers()
    for k in range(len(examples)):
        # The fresh processes first: their hash seeds are known, so their disagreement reproduces.
        # This process (its hash seed is often random) is a last extra chance.
        runs = [(s, a["runs"][k]) for s, a in answers.items()] + [(None, here[k])]
        found = _first_disagreement(runs)
        if found is not None:
            raise _failure(ctx, examples[: k + 1], runs, found)


def _first_disagreement(runs: list[tuple[str | None, list]]) -> tuple[int, int, int] | None:
    """``(i, j, frame)``: the first pair of runs whose hashes differ, in order."""
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            at = first_difference(runs[i][1], runs[j][1])
            if at is not None:
                return i, j, at
    return None


def _failure(ctx: CheckContext, examples: Examples, runs: list, found: tuple[int, int, int]) -> CheckFailure:
    """The report of example ``examples[-1]`` (the earlier ones are replayed before it, as in the
    check), whose ``runs`` disagree as ``found`` says."""
    i, j, at = found
    (seed_a, _), (seed_b, _) = runs[i], runs[j]
    k = len(examples) - 1
    seed, plan = examples[k]
    # Every hash seed again, at once: the two that disagree also say what differs.
    asked = [s for s in (seed_a, seed_b) if s is not None]
    with_data = start_fresh(ctx, examples, asked, data_at=[k, at])
    others = start_fresh(ctx, examples, [s for s in HASH_SEEDS if s not in asked])
    try:
        again = {**with_data.answers(), **others.answers()}
    finally:
        with_data.stop()
        others.stop()
    here = None
    if seed_b is None:
        with local_fingerprints():
            here = play(ctx.game(seed), plan, ctx.frames, run=DataAt(at))
    data_a = _unpickled(again[seed_a].get("data"))
    data_b = (here.data[0] if here.data else None) if here is not None else _unpickled(again[seed_b].get("data"))
    differs = diff(data_a, data_b) if data_a is not None and data_b is not None else []
    first = {s: hashes for s, hashes in runs if s is not None}
    cause = _cause(ctx, examples, first, {s: a["runs"][k] for s, a in again.items()})
    who = (f"this process (PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', 'random')})" if seed_b is None
           else f"a fresh process with PYTHONHASHSEED={seed_b}")
    actions = (here or _played(ctx, seed, plan)).actions[:at]
    example = Found(seed, plan, frame=at, reproduce={"processes": True})
    example.shrunk, example.frames = False, max(ctx.frames, len(plan))  # an explored run may be long
    return ctx.sized(example).failure(f"a fresh process with PYTHONHASHSEED={seed_a} and {who} gave different frames", example,
                       actions=actions, frame=at, differs=differs, cause=cause)


def _played(ctx: CheckContext, seed: int, plan: KeyPlan):
    with local_fingerprints():
        return play(ctx.game(seed), plan, ctx.frames)


def _unpickled(text: str | None):
    return pickle.loads(base64.b64decode(text)) if text else None


def depends_on_hash_seed(first: dict[str, list], again: dict[str, list]) -> bool:
    """The experiment: each process agrees with the earlier one of its hash seed (``first`` and
    ``again``: hash seed → frame hashes of one example), and processes of different hash seeds
    differ. A difference from randomness the seed does not control fails the first part: with
    eight hash seeds, all eight pairs agree by chance at most once in 256 times."""
    same_seed_agree = all(first_difference(first[s], again[s]) is None for s in first if s in again)
    return same_seed_agree and len({tuple(h) for h in first.values()}) > 1


def _cause(ctx: CheckContext, examples: Examples, first: dict, again: dict) -> str:
    k = len(examples) - 1
    if depends_on_hash_seed(first, again):
        (answer,) = start_fresh(ctx, examples, HASH_SEEDS[:1], trace=k, trace_kind="set_iteration").answers().values()
        return _hash_order_cause(answer.get("set_iteration", []))
    (answer,) = start_fresh(ctx, examples, HASH_SEEDS[:1], trace=k).answers().values()
    sources = [Source(*s) for s in answer.get("sources", [])]
    likely, seen = _split(sources, lambda kinds: _processes_differ(ctx, examples, kinds))
    return explain(likely, seen, otherwise=(
        "the frames differ from process to process, but not with the hash seed: process-wide state such as "
        "id() or object addresses (a set or dict ordered by them, a repr), a counter or cache shared across "
        "instances that this process filled before, or timing. Keep all game state on the instance and derive "
        "all randomness from the seed passed to reset()"))


def _processes_differ(ctx: CheckContext, examples: Examples, kinds: set) -> bool:
    """Whether fresh processes still disagree on the last example with ``kinds`` made deterministic."""
    answers = start_fresh(ctx, examples, neutralize=sorted(kinds)).answers()
    runs = [(s, a["runs"][-1]) for s, a in answers.items()]
    return _first_disagreement(runs) is not None


def _split(sources: list[Source], differs: Callable[[set], bool]) -> tuple[list[Source], list[Source]]:
    """``(likely causes, also seen)``: a kind is the cause when making it deterministic makes the
    eight processes agree (all eight agree by chance at most once in 128 times); several kinds
    only together, if none alone."""
    kinds = list(dict.fromkeys(s.kind for s in sources))
    blamed = [kind for kind in kinds if not differs({kind})]
    if not blamed and len(kinds) > 1 and not differs(set(kinds)):
        blamed = kinds
    return [s for s in sources if s.kind in blamed], [s for s in sources if s.kind not in blamed]


def _hash_order_cause(sites: list[str]) -> str:
    if not sites:
        return ("the env depends on string hashing — the same hash seed gives the same frames, another gives other "
                "frames — but iterates no set of strings: most likely hash() of a str as a seed, or a dict or set "
                "ordered by such hashes. Derive seeds from the reset seed and use sorted() over sets")
    shown = "; ".join(sites[:3])
    return (f"the env iterates over a set of strings, whose order changes from process to process ({shown}). "
            f"Iterate over sorted(...) or a list instead")
