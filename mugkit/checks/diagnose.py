"""Finding why a run is not reproducible: calls to unseeded randomness and clocks.

:func:`trace_sources` runs a function under ``sys.setprofile`` and records every call, from
code outside the standard library and mugkit, to the module-level ``random`` generator, numpy's
global generator, the clocks, ``os.urandom`` and ``uuid``. Slow, so only used to explain a
failure that was already found.
"""

from __future__ import annotations

import os
import random
import sys
import sysconfig
import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Source", "trace_sources", "explain"]

_CLOCKS = {time.time, time.time_ns, time.monotonic, time.monotonic_ns, time.perf_counter,
           time.perf_counter_ns, time.process_time, time.localtime, time.gmtime, time.ctime}
_STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])
_MUGKIT = os.path.normcase(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Source:
    """One call to a source of nondeterminism: ``kind`` is ``"random"``, ``"numpy-random"``,
    ``"clock"`` or ``"entropy"``; ``call`` the function; ``where`` the caller's ``file:line``."""

    kind: str
    call: str
    where: str


def _user_frame(frame) -> Any:
    """The nearest frame that is neither stdlib nor mugkit (the code that made the call)."""
    while frame is not None:
        name = os.path.normcase(os.path.abspath(frame.f_code.co_filename))
        if not name.startswith((_STDLIB, _MUGKIT)) and not name.startswith("<"):
            return frame
        frame = frame.f_back
    return None


def _is_stdlib(frame) -> bool:
    return os.path.normcase(os.path.abspath(frame.f_code.co_filename)).startswith(_STDLIB)


def _where(frame) -> str:
    path = frame.f_code.co_filename
    try:
        rel = os.path.relpath(path)
        path = path if rel.startswith("..") else rel
    except ValueError:
        pass
    return f"{path}:{frame.f_lineno}"


def _classify(event: str, frame, arg) -> tuple[str, str] | None:
    if event == "c_call":
        owner = getattr(arg, "__self__", None)
        name = getattr(arg, "__name__", "?")
        if owner is random._inst:
            return "random", f"random.{name}()"
        if arg in _CLOCKS:
            return "clock", f"time.{name}()"
        if name in ("now", "utcnow", "today") and getattr(owner, "__module__", "") == "datetime":
            return "clock", f"{owner.__name__}.{name}()"
        if arg is os.urandom:
            return "entropy", "os.urandom()"
        np = sys.modules.get("numpy")
        if np is not None and owner is getattr(getattr(np.random, "mtrand", None), "_rand", object()):
            return "numpy-random", f"numpy.random.{name}()"
        return None
    if event == "call":
        code = frame.f_code
        if (code.co_filename == random.__file__ and not code.co_name.startswith("_")
                and frame.f_locals.get("self") is random._inst):
            return "random", f"random.{code.co_name}()"
        if code.co_name in ("uuid1", "uuid4") and code.co_filename.endswith("uuid.py"):
            return "entropy", f"uuid.{code.co_name}()"
    return None


def trace_sources(fn: Callable[[], Any], limit: int = 20) -> list[Source]:
    """Runs ``fn()`` and returns the distinct nondeterminism sources it called (at most ``limit``)."""
    found: dict[tuple, Source] = {}

    def profiler(frame, event, arg):
        if len(found) >= limit or event not in ("call", "c_call"):
            return
        hit = _classify(event, frame, arg)
        if hit is None:
            return
        direct = frame if event == "c_call" else frame.f_back
        if direct is None or _is_stdlib(direct):
            return  # e.g. logging stamping a record with the time, random.randint calling getrandbits
        caller = _user_frame(direct)
        if caller is None:
            return
        src = Source(hit[0], hit[1], _where(caller))
        found.setdefault((src.kind, src.call, src.where), src)

    old = sys.getprofile()
    sys.setprofile(profiler)
    try:
        fn()
    except Exception:
        pass  # only the calls matter here; the failure itself is reported elsewhere
    finally:
        sys.setprofile(old)
    return list(found.values())


_ADVICE = {
    "random": ("the env draws from the module-level `random` generator, which nobody seeds per game",
               "create `self.rng = random.Random(seed)` in reset(seed=...) and draw from it "
               "(include `self.rng.getstate()` in get_state)"),
    "numpy-random": ("the env draws from numpy's global generator (np.random.*), which nobody seeds per game",
                     "call `super().reset(seed=seed)` and draw from `self.np_random`"),
    "clock": ("the env reads the wall clock, so the same actions give different frames",
              "count time in frames (the step index), never in seconds read from a clock"),
    "entropy": ("the env uses operating-system randomness (os.urandom, uuid), which no seed controls",
                "derive ids and randomness from the seed passed to reset()"),
}


def explain(sources: list[Source]) -> str | None:
    """A likely cause and fix for the traced sources, or None when none were found."""
    if not sources:
        return None
    kinds = []
    for s in sources:
        if s.kind not in kinds:
            kinds.append(s.kind)
    parts = []
    for kind in kinds:
        calls = [s for s in sources if s.kind == kind]
        shown = ", ".join(f"{s.call} at {s.where}" for s in calls[:3])
        what, fix = _ADVICE[kind]
        parts.append(f"{what} ({shown}). Fix: {fix}.")
    return " ".join(parts)
