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

from .diagnose import NUMPY_GENERATOR_MAKERS, Source, _caller_outside, replace_everywhere, seed_hook

__all__ = ["neutralized", "plain_runs_differ", "split_sources", "REPEATS", "watching_unseeded", "global_states",
           "more_draws_differ", "DRAWS"]

_CLOCK_NAMES = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time")
_EPOCH = 1_700_000_000  # a fixed moment for the calendar clocks


def _fixed_clock(name: str) -> Callable:
    ticks = itertools.count(1)
    return (lambda: next(ticks) * 1_000_000) if name.endswith("_ns") else (lambda: next(ticks) / 1000.0)


@contextlib.contextmanager
def neutralized(kinds: Iterable[str], seed: int = 0):
    """Within the block, the given kinds of source give the same values in every run: ``clock``
    (the time module's clocks count up from a fixed start), ``entropy`` (``os.urandom`` and
    ``uuid4`` draw from a generator seeded ``seed``) and ``unseeded`` (generators created without a
    seed get ``seed``). ``random`` and ``numpy-random`` are pinned by the caller (``pinned_globals``)."""
    kinds = set(kinds)
    undos: list = []
    try:
        if "clock" in kinds:
            undos += _fix_clocks()
        if "entropy" in kinds:
            rng = random.Random(seed)
            undos.append(replace_everywhere(os, "urandom", lambda n: rng.randbytes(n)))
            for name in ("uuid1", "uuid4"):
                undos.append(replace_everywhere(uuid, name, lambda *a, **k: uuid.UUID(int=rng.getrandbits(128),
                                                                                     version=4)))
        if "unseeded" in kinds:
            undos += _hook_unseeded(lambda: seed)
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


def _hook_unseeded(on_none: Callable[[], Any]) -> list:
    """Hooks every way to make a generator (``random.Random``, ``mk.Random``, numpy's makers) so
    that one made without a seed gets ``on_none()`` (None: none); returns the undos."""
    import mugkit

    from ..runtime import rng as mugkit_rng

    seeded = seed_hook(mugkit_rng.Random, on_none)
    undos = [replace_everywhere(random, "Random", seed_hook(random.Random, on_none)),
             replace_everywhere(mugkit_rng, "Random", seeded), replace_everywhere(mugkit, "Random", seeded)]
    np = sys.modules.get("numpy")
    if np is not None:
        for name in NUMPY_GENERATOR_MAKERS:
            original = getattr(np.random, name, None)
            if original is not None:
                undos.append(replace_everywhere(np.random, name, seed_hook(original, on_none)))
    return undos


class UnseededWatch:
    """Within :func:`watching_unseeded`: whether the env's code (or a library it calls) made a
    generator without a seed since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.made = False
        self._undos = _hook_unseeded(self._on_none)

    def reset(self) -> None:
        self.made = False

    def stop(self) -> None:
        """Puts the originals back (before tracing the env: the hooks would hide its calls)."""
        for undo in reversed(self._undos):
            undo()
        self._undos = []

    def _on_none(self) -> None:
        if _caller_outside(sys._getframe(1)) is not None:
            self.made = True
        return None  # the generator keeps drawing its seed from the operating system


@contextlib.contextmanager
def watching_unseeded():
    """Yields an :class:`UnseededWatch` of the block. Such a generator draws other numbers in every
    run, so two runs may agree by luck (a tie broken the same way twice); a check that sees one
    plays more runs with other values (see :func:`more_draws_differ`)."""
    watch = UnseededWatch()
    try:
        yield watch
    finally:
        watch.stop()


def global_states() -> tuple:
    """The state of the process-wide generators (``random``'s and numpy's), comparable with ``==``:
    a run that changed it drew from them."""
    np = sys.modules.get("numpy")
    if np is None:
        return (random.getstate(),)
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return random.getstate(), keys.tobytes(), pos, has_gauss, gauss


#: Plain runs, each with other values for the unseeded randomness, played when the env drew from
#: it: a draw that decides the frames half of the time shows in one of them but once in 2,048.
DRAWS = 12


def more_draws_differ(ctx: Any, seed: int, plan: Any) -> tuple[int, Any, int] | None:
    """Plays ``(seed, plan)`` with the process-wide generators pinned to 1, 2, … :data:`DRAWS` and
    generators made without a seed given the same seeds; returns ``(draw, the first run's
    Run, frame)`` of the first run that differs from the first, or None. The same every time: a
    failure found so reproduces."""
    from .play import first_difference, pinned_globals, play

    first = None
    for k in range(1, DRAWS + 1):
        with neutralized({"unseeded"}, seed=k), pinned_globals(k):
            run = play(ctx.game(seed), plan, ctx.frames)
        if first is None:
            first = run
            continue
        at = first_difference(first.hashes, run.hashes)
        if at is not None:
            return k, first, at
    return None


def plain_runs_differ(ctx: Any, seed: int, plan: Any, kinds: set, attempt: int = 0) -> bool:
    """Whether two plain runs of the example ``(seed, plan)`` of check ``ctx`` differ with ``kinds``
    neutralized: each run in its own :func:`neutralized` block, the process-wide generators pinned
    to the same seed when ``random``/``numpy-random`` are among the kinds, else to different ones.
    Each ``attempt`` pins them to other seeds: two fixed seeds may break a tie the same way."""
    from .play import first_difference, pinned_globals, play

    same = attempt + 1
    hashes = []
    for k in (1, 2):
        own = 2 * attempt + k
        with neutralized(kinds, seed=same), pinned_globals(same if "random" in kinds else own,
                                                           same if "numpy-random" in kinds else own):
            hashes.append(play(ctx.game(seed), plan, ctx.frames).hashes)
    return first_difference(*hashes) is not None


def split_sources(sources: list[Source], differs: Callable[[set, int], bool]) -> tuple[list[Source], list[Source]]:
    """``(likely causes, also seen)``: ``differs(kinds, attempt)`` runs the failing comparison with
    those kinds neutralized (each ``attempt`` with other values for the rest) and says whether the
    runs still differ.

    A difference may show only in some runs (a tie broken at random): a kind counts as the cause
    only when :data:`REPEATS` runs with it neutralized all agree, so a lucky agreement does not
    change the verdict from one check run to the next."""
    kinds = list(dict.fromkeys(s.kind for s in sources))
    if not kinds:
        return [], []
    if not any(differs(set(), a) for a in range(REPEATS)):
        return [], sources  # the difference does not show again: nothing can be blamed

    def fixes(neutral: set) -> bool:
        return not any(differs(neutral, a) for a in range(REPEATS))

    blamed = [k for k in kinds if fixes({k})]
    if not blamed and len(kinds) > 1 and fixes(set(kinds)):
        blamed = kinds  # only together
    return [s for s in sources if s.kind in blamed], [s for s in sources if s.kind not in blamed]


#: Runs that must all agree with a kind neutralized before it is blamed: a difference showing in
#: half the runs agrees 12 times by chance once in 4,096.
REPEATS = 12
