"""``determinism``: the same seed and actions give the same frame hashes.

For generated seeds and action sequences, the step is played twice in this process — the second
time interleaved frame by frame with another game of the same step (other seed, other actions),
which exposes state shared between instances — and once more in a fresh process with another
``PYTHONHASHSEED``, which exposes envs that depend on string hashing or process-wide state.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
import sys

from ..runtime.state import diff
from .base import CheckContext, Found, run_property
from .diagnose import explain, trace_sources
from .play import choose_keys, first_difference, play
from .report import CheckFailure, replay_snippet

__all__ = ["check_determinism"]

OTHER_HASH_SEED = "4217"


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
    _check_other_process(ctx)


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


def _ask_fresh_process(ctx: CheckContext, request: dict) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=OTHER_HASH_SEED)
    proc = subprocess.run([sys.executable, "-m", "mugkit.checks.replay"], input=json.dumps(request),
                          capture_output=True, text=True, env=env, cwd=ctx.rootdir, timeout=600)
    if proc.returncode != 0:
        raise CheckFailure(ctx.nodeid, "replaying the step in a fresh Python process failed",
                           seed=request["seed"], cause=proc.stderr.strip()[-2000:])
    return json.loads(proc.stdout)


def _check_other_process(ctx: CheckContext) -> None:
    seed, choices = 12345, [(i * 37) % 256 for i in range(ctx.frames * 4)]
    here = play(ctx.game(seed), choices, ctx.frames, keep_data=True)
    request = {"step": ctx.step_nodeid, "seed": seed, "choices": choices, "frames": ctx.frames,
               "rootdir": ctx.rootdir}
    there = _ask_fresh_process(ctx, request)["hashes"]
    at = first_difference(here.hashes, there)
    if at is None:
        return
    differs = []
    if at < len(here.data):
        answer = _ask_fresh_process(ctx, {**request, "data_at": at})
        if "data" in answer:
            differs = diff(here.data[at], pickle.loads(base64.b64decode(answer["data"])))
    raise CheckFailure(
        ctx.nodeid, f"a fresh process (PYTHONHASHSEED={OTHER_HASH_SEED}) gave different frames than this one",
        seed=seed, actions=here.actions[:at], frame=at, differs=differs, shrunk=False,
        cause="the env depends on string hashing (iterating a set or dict built from hash() order, "
              "hash() of a str as a seed) or on process-wide state such as id() or a counter shared "
              "across instances. Use sorted() over sets and derive seeds from the reset seed",
        replay=replay_snippet(ctx.nodeid, seed, here.actions[:at]))
