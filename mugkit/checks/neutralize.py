"""Telling which source of nondeterminism reaches the frames: run again with it made deterministic.

A trace (:func:`~mugkit.checks.diagnose.trace_sources`) lists every call to unseeded randomness,
clocks and entropy that the env's code made — including calls whose values never reach the game
(a ``uuid4()`` for a log line). To blame the right one, the failing comparison is run again with
one kind of source made deterministic at a time: the kinds whose neutralization makes the runs
agree are the likely cause; the others were only seen.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import random
import sys
import time
import uuid
from typing import Any, Callable, Iterable

from .diagnose import NUMPY_GENERATOR_MAKERS, Source, replace_everywhere, seed_hook

__all__ = ["neutralized", "plain_runs_differ", "split_sources", "REPEATS"]

_CLOCK_NAMES = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time")
_EPOCH = 1_700_000_000  # a fixed moment for the calendar clocks


def _fixed_clock(name: str) -> Callable:
    ticks = itertools.count(1)
    return (lambda: next(ticks) * 1_000_000) if name.endswith("_ns") else (lambda: next(ticks) / 1000.0)


@contextlib.contextmanager
def neutralized(kinds: Iterable[str]):
    """Within the block, the given kinds of source give the same values in every run: ``clock``
    (the time module's clocks count up from a fixed start), ``entropy`` (``os.urandom`` and
    ``uuid4`` draw from a fixed generator) and ``unseeded`` (generators created without a seed get
    seed 0). ``random`` and ``numpy-random`` are pinned by the caller (``pinned_globals``)."""
    kinds = set(kinds)
    undos: list = []
    try:
        if "clock" in kinds:
            undos += _fix_clocks()
        if "entropy" in kinds:
            rng = random.Random(0)
            undos.append(replace_everywhere(os, "urandom", lambda n: rng.randbytes(n)))
            for name in ("uuid1", "uuid4"):
                undos.append(replace_everywhere(uuid, name, lambda *a, **k: uuid.UUID(int=rng.getrandbits(128),
                                                                                     version=4)))
        if "unseeded" in kinds:
            undos += _seed_unseeded()
        yield
    finally:
        for undo in reversed(undos):
            undo()


def _fix_clocks() -> list:
    """The time module's clocks count up from a fixed start; its calendar functions and datetime's
    ``now()``/``today()``/``utcnow()`` read a fixed moment."""
    undos = [replace_everywhere(time, name, _fixed_clock(name)) for name in _CLOCK_NAMES]
    for name in ("localtime", "gmtime"):
        original = getattr(time, name)
        undos.append(replace_everywhere(time, name, lambda secs=None, _o=original: _o(_EPOCH if secs is None else secs)))
    undos.append(replace_everywhere(time, "ctime", lambda secs=None: time.asctime(time.gmtime(_EPOCH if secs is None
                                                                                               else secs))))

    class FixedDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromtimestamp(_EPOCH, tz)

        @classmethod
        def today(cls):
            return cls.fromtimestamp(_EPOCH)

        @classmethod
        def utcnow(cls):
            return cls.utcfromtimestamp(_EPOCH)

    class FixedDate(datetime.date):
        @classmethod
        def today(cls):
            return cls.fromtimestamp(_EPOCH)

    undos.append(replace_everywhere(datetime, "datetime", FixedDatetime))
    undos.append(replace_everywhere(datetime, "date", FixedDate))
    return undos


def _seed_unseeded() -> list:
    import mugkit

    from ..runtime import rng as mugkit_rng

    seeded = seed_hook(mugkit_rng.Random, lambda: 0)
    undos = [replace_everywhere(random, "Random", seed_hook(random.Random, lambda: 0)),
             replace_everywhere(mugkit_rng, "Random", seeded), replace_everywhere(mugkit, "Random", seeded)]
    np = sys.modules.get("numpy")
    if np is not None:
        for name in NUMPY_GENERATOR_MAKERS:
            original = getattr(np.random, name, None)
            if original is not None:
                undos.append(replace_everywhere(np.random, name, seed_hook(original, lambda: 0)))
    return undos


def plain_runs_differ(ctx: Any, seed: int, plan: Any, kinds: set) -> bool:
    """Whether two plain runs of the example ``(seed, plan)`` of check ``ctx`` differ with ``kinds``
    neutralized: each run in its own :func:`neutralized` block, the process-wide generators pinned
    to the same seed when ``random``/``numpy-random`` are among the kinds, else to different ones."""
    from .play import first_difference, pinned_globals, play

    hashes = []
    for k in (1, 2):
        with neutralized(kinds), pinned_globals(1 if "random" in kinds else k, 1 if "numpy-random" in kinds else k):
            hashes.append(play(ctx.game(seed), plan, ctx.frames).hashes)
    return first_difference(*hashes) is not None


def split_sources(sources: list[Source], differs: Callable[[set], bool]) -> tuple[list[Source], list[Source]]:
    """``(likely causes, also seen)``: ``differs(kinds)`` runs the failing comparison with those
    kinds neutralized and says whether the runs still differ.

    A difference may show only in some runs (a tie broken at random): a kind counts as the cause
    only when :data:`REPEATS` runs with it neutralized all agree, so a lucky agreement does not
    change the verdict from one check run to the next."""
    kinds = list(dict.fromkeys(s.kind for s in sources))
    if not kinds:
        return [], []
    if not any(differs(set()) for _ in range(REPEATS)):
        return [], sources  # the difference does not show again: nothing can be blamed

    def fixes(neutral: set) -> bool:
        return not any(differs(neutral) for _ in range(REPEATS))

    blamed = [k for k in kinds if fixes({k})]
    if not blamed and len(kinds) > 1 and fixes(set(kinds)):
        blamed = kinds  # only together
    return [s for s in sources if s.kind in blamed], [s for s in sources if s.kind not in blamed]


#: Runs that must all agree with a kind neutralized before it is blamed: a difference showing in
#: half the runs agrees 12 times by chance once in 4,096.
REPEATS = 12
