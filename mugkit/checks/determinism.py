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

from ..runtime.state import diff
from .base import CheckContext, Found, run_property
from .diagnose import explain, trace_set_iteration, trace_sources
from .fresh import start_replays
from .play import choose_keys, first_difference, play
from .report import CheckFailure, replay_snippet

__all__ = ["check_determinism"]


def _interleaved(ctx: CheckContext, seed: int, choices: list, keep_data: bool = False):
    """A run of ``(seed, choices)`` with another game of the step (other seed, other choices)
    stepped between its frames, to expose state shared between instances."""
    other = ctx.game(seed ^ 0x5EED).driver()
    other_choices = list(reversed(choices)) or [1]
    other.start()

    def step_other(_game, i):
        keys, _ = choose_keys(ctx.step, other, other_choices, i % len(other_choices))
        if other.tick(keys) is None and other.finished:
            other.load(restart)

    restart = other.save()
    return play(ctx.game(seed), choices, ctx.frames, each_frame=step_other, keep_data=keep_data)


def check_determinism(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` when two runs with the same seed and actions differ."""

    def prop(seed: int, choices: list) -> None:
        first = play(ctx.game(seed), choices, ctx.frames)
        second = _interleaved(ctx, seed, choices)
        at = first_difference(first.hashes, second.hashes)
        if at is not None:
            raise Found(seed, choices, frame=at, actions=first.actions[:at])

    found = run_property(ctx, prop)
    if found is not None:
        raise _report(ctx, found)
    _check_other_processes(ctx)


def _report(ctx: CheckContext, found: Found) -> CheckFailure:
    seed, choices, at = found.seed, found.choices, found.details["frame"]
    differs: list[str] = []
    a = play(ctx.game(seed), choices, ctx.frames, keep_data=True)
    b = _interleaved(ctx, seed, choices, keep_data=True)
    again = first_difference(a.hashes, b.hashes)
    if again is not None and again < min(len(a.data), len(b.data)):
        at = again
        differs = diff(a.data[at], b.data[at])
    elif again is None:
        differs = ["(a re-run of this example gave equal frames: the difference depends on what ran before in "
                   "the process — state kept in a class or module — or on timing)"]
    actions = a.actions[:at] if again is not None else found.details["actions"]
    sources = trace_sources(lambda: play(ctx.game(seed), choices, ctx.frames))
    cause = explain(sources) or (
        "state shared between two instances of the env (a module-level or class-level variable the env "
        "changes), a value that differs per object (id(), object addresses in a repr), or iteration over "
        "something unordered. Keep all game state on the instance and derive all randomness from the seed "
        "passed to reset()")
    return CheckFailure(
        ctx.nodeid, "two runs with the same seed and actions gave different frames",
        seed=seed, actions=actions, frame=at, differs=differs, cause=cause, shrunk=found.shrunk,
        replay=replay_snippet(ctx.nodeid, seed, actions))


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
    """``(i, j, frame)``: the first pair of runs (this process's first) whose hashes differ."""
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            at = first_difference(runs[i][1], runs[j][1])
            if at is not None:
                return i, j, at
    return None


def _check_other_processes(ctx: CheckContext) -> None:
    seed, choices = 12345, [(i * 37) % 256 for i in range(ctx.frames * 4)]
    here = play(ctx.game(seed), choices, ctx.frames, keep_data=True)
    request = {"step": str(ctx.step_nodeid), "seed": seed, "choices": choices, "frames": ctx.frames,
               "rootdir": ctx.rootdir}
    ours = os.environ.get("PYTHONHASHSEED", "random")
    runs = [(ours, here.hashes)] + [(s, a["hashes"]) for s, a in _fresh_answers(ctx, request, list(HASH_SEEDS))]
    found = _first_disagreement(runs)
    if found is None:
        return
    i, j, at = found
    (seed_a, hashes_a), (seed_b, _) = runs[i], runs[j]
    asked = [seed_b] if i == 0 else [seed_a, seed_b]  # this process's own data is at hand
    data = {s: a.get("data") for s, a in _fresh_answers(ctx, {**request, "data_at": at}, asked)}
    data_a = here.data[at] if i == 0 and at < len(here.data) else _unpickled(data.get(seed_a))
    data_b = _unpickled(data.get(seed_b))
    differs = diff(data_a, data_b) if data_a is not None and data_b is not None else []
    actions = here.actions[:at]
    who = "this process" if i == 0 else f"a fresh process with PYTHONHASHSEED={seed_a}"
    raise CheckFailure(
        ctx.nodeid, f"{who} and a fresh process with PYTHONHASHSEED={seed_b} gave different frames",
        seed=seed, actions=actions, frame=at, differs=differs, shrunk=False,
        cause=_hash_order_cause(ctx, seed, choices),
        replay=replay_snippet(ctx.step_nodeid, seed, actions))


def _unpickled(text: str | None):
    return pickle.loads(base64.b64decode(text)) if text else None


def _hash_order_cause(ctx: CheckContext, seed: int, choices: list) -> str:
    sites = trace_set_iteration(lambda: play(ctx.game(seed), choices, ctx.frames))
    general = ("the env depends on string hashing (iterating a set built from str, hash() of a str as a seed) "
               "or on process-wide state such as id() or a counter shared across instances")
    if not sites:
        return general + ". Use sorted() over sets and derive seeds from the reset seed"
    shown = "; ".join(sites[:3])
    return (f"the env iterates over a set of strings, whose order changes from process to process ({shown}). "
            f"Iterate over sorted(...) or a list instead")
