"""Finding why a run is not reproducible: calls to unseeded randomness and clocks.

:func:`trace_sources` runs a function under ``sys.setprofile`` and records every call, from the
env's or experiment's code (not the standard library, mugkit, or the test harness), to the
module-level ``random`` generator, numpy's global generator, the clocks, ``os.urandom`` and
``uuid``. numpy's ``np.random.*`` functions are compiled methods that a profiler does not see, so
they are wrapped for the duration of the trace. Slow, so only used to explain a failure that was
already found.
"""

from __future__ import annotations

import os
import random
import sys
import sysconfig
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..paths import MUGKIT_DIR, nodeid_of
from ..runtime.state import same

__all__ = ["Source", "trace_sources", "explain"]

_RNG_FILE = os.path.join(MUGKIT_DIR, "runtime", "rng.py")
_CLOCKS = {time.time, time.time_ns, time.monotonic, time.monotonic_ns, time.perf_counter,
           time.perf_counter_ns, time.process_time, time.localtime, time.gmtime, time.ctime}
_STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])


def _package_dir(name: str) -> str | None:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return os.path.normcase(os.path.dirname(os.path.abspath(path))) if path else None


def _not_the_env() -> tuple[str, ...]:
    """Code that is never "the env": the standard library, mugkit, and the harness running the
    check (Hypothesis times its own garbage collections, for one). Read at each trace, since the
    harness may be imported after this module."""
    return tuple(p for p in [_STDLIB, os.path.normcase(MUGKIT_DIR)] + [
        _package_dir(n) for n in ("hypothesis", "_pytest", "pluggy", "coverage", "numpy")] if p)


_NOT_THE_ENV: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One call to a source of nondeterminism: ``kind`` is ``"random"``, ``"numpy-random"``,
    ``"clock"`` or ``"entropy"``; ``call`` the function; ``where`` the caller's ``file:line``."""

    kind: str
    call: str
    where: str


def _is_harness(frame) -> bool:
    name = frame.f_code.co_filename
    return name.startswith("<") or os.path.normcase(os.path.abspath(name)).startswith(_NOT_THE_ENV)


def _user_frame(frame) -> Any:
    """The nearest frame of the env's or experiment's code (the code that made the call)."""
    while frame is not None:
        if not _is_harness(frame):
            return frame
        frame = frame.f_back
    return None


def _where(frame) -> str:
    return f"{shown_path(frame.f_code.co_filename)}:{frame.f_lineno}"


def shown_path(filename: str) -> str:
    """A file of the experiment as its node id (relative to the working directory); a library's
    file outside it relative to its entry of ``sys.path`` (``cogrid/core/step_pipeline.py``)."""
    shown = nodeid_of(filename)
    if not os.path.isabs(shown):
        return shown
    roots = [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)]
    under = [r for r in roots if shown.startswith(r.rstrip(os.sep) + os.sep)]
    return os.path.relpath(shown, max(under, key=len)).replace(os.sep, "/") if under else shown


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
        return None
    if event == "call":
        code = frame.f_code
        if (code.co_filename == _RNG_FILE and code.co_name == "__init__" and frame.f_locals.get("seed") is None):
            return "unseeded", "mk.Random()"
        if (code.co_filename == random.__file__ and code.co_name == "__init__" and frame.f_locals.get("x") is None
                and isinstance(frame.f_locals.get("self"), random.Random)):
            return "unseeded", "random.Random()"
        if (code.co_filename == random.__file__ and not code.co_name.startswith("_")
                and frame.f_locals.get("self") is random._inst):
            return "random", f"random.{code.co_name}()"
        if code.co_name in ("uuid1", "uuid4") and code.co_filename.endswith("uuid.py"):
            return "entropy", f"uuid.{code.co_name}()"
    return None


def trace_sources(fn: Callable[[], Any], limit: int = 20) -> list[Source]:
    """Runs ``fn()`` and returns the distinct nondeterminism sources it called (at most ``limit``)."""
    global _NOT_THE_ENV
    _NOT_THE_ENV = _not_the_env()
    found: dict[tuple, Source] = {}

    def profiler(frame, event, arg):
        if len(found) >= limit or event not in ("call", "c_call"):
            return
        hit = _classify(event, frame, arg)
        if hit is None:
            return
        direct = frame if event == "c_call" else frame.f_back
        if direct is None or _is_harness(direct):
            return  # e.g. logging stamping a record with the time, random.randint calling getrandbits
        record(hit[0], hit[1], direct)

    def record(kind: str, call: str, caller) -> None:
        src = Source(kind, call, _where(caller))
        found.setdefault((src.kind, src.call, src.where), src)

    np_state = _numpy_global_state()
    old = sys.getprofile()
    unwrap = _wrap_numpy_random(record, lambda: len(found) < limit)
    unwrap_unseeded = _wrap_unseeded_numpy(record)
    sys.setprofile(profiler)
    try:
        fn()
    except Exception:
        pass  # only the calls matter here; the failure itself is reported elsewhere
    finally:
        sys.setprofile(old)
        unwrap_unseeded()
        unwrap()
    if not any(s.kind == "numpy-random" for s in found.values()) and np_state is not None:
        if not same(np_state, _numpy_global_state()):
            # Drawn through a name the wrappers did not cover (e.g. `from numpy.random import rand`).
            found[("numpy-random", "", "")] = Source("numpy-random", "numpy.random.*", "a place the trace did not see")
    return list(found.values())


def _numpy_global_state():
    np = sys.modules.get("numpy")
    if np is None:
        return None
    return np.random.get_state(legacy=False)


def _wrap_numpy_random(record: Callable, wanted: Callable[[], bool]) -> Callable[[], None]:
    """Wraps numpy's global-generator functions (``np.random.rand`` …) to record their callers;
    returns the function that puts the originals back."""
    np = sys.modules.get("numpy")
    if np is None:
        return lambda: None
    module = np.random
    owner = getattr(getattr(module, "mtrand", None), "_rand", None)
    originals = {name: fn for name, fn in vars(module).items()
                 if callable(fn) and owner is not None and getattr(fn, "__self__", None) is owner}

    def wrapper(name, fn):
        def wrapped(*args, **kwargs):
            caller = sys._getframe(1)
            if wanted() and not _is_harness(caller):
                record("numpy-random", f"numpy.random.{name}()", caller)
            return fn(*args, **kwargs)
        return wrapped

    for name, fn in originals.items():
        setattr(module, name, wrapper(name, fn))

    def unwrap():
        for name, fn in originals.items():
            setattr(module, name, fn)

    return unwrap


def replace_everywhere(module: Any, name: str, replacement: Any) -> Callable[[], None]:
    """Puts ``replacement`` in place of ``module.name`` there and in every module of the env's code
    that imported it by name (``from numpy.random import default_rng``); returns the undo."""
    original = getattr(module, name)
    spots = [(module, name)]
    harness = _not_the_env()
    for m in list(sys.modules.values()):
        path = getattr(m, "__file__", None)
        if m is module or not path or os.path.normcase(os.path.abspath(path)).startswith(harness):
            continue
        spots += [(m, k) for k, v in list(vars(m).items()) if v is original]
    for m, k in spots:
        setattr(m, k, replacement)

    def undo():
        for m, k in spots:
            setattr(m, k, original)

    return undo


#: numpy's ways to make a generator; with no seed they draw one from the operating system.
NUMPY_GENERATOR_MAKERS = ("default_rng", "RandomState", "SeedSequence")


def seed_hook(original: Any, on_none: Callable[[], Any]) -> Any:
    """``original`` (a function or a class whose first argument is the seed) wrapped so that a call
    without a seed first calls ``on_none()``, which returns the seed to use (None: none)."""
    def seed_of(args: tuple, kwargs: dict) -> tuple:
        seed = args[0] if args else kwargs.pop("seed", kwargs.pop("entropy", kwargs.pop("x", None)))
        if seed is None:
            seed = on_none()
        return (seed, *args[1:]), kwargs

    if isinstance(original, type):
        class Hooked(original):  # a subclass: isinstance() checks against it still work
            def __init__(self, *args, **kwargs):
                args, kwargs = seed_of(args, kwargs)
                super().__init__(*args, **kwargs)

        # Named as the original, so that state views and hashes see the same generator.
        Hooked.__name__, Hooked.__qualname__, Hooked.__module__ = (original.__name__, original.__qualname__,
                                                                   original.__module__)
        return Hooked

    def hooked(*args, **kwargs):
        args, kwargs = seed_of(args, kwargs)
        return original(*args, **kwargs)

    return hooked


def _wrap_unseeded_numpy(record: Callable) -> Callable[[], None]:
    """Records calls that create a numpy generator without a seed (``np.random.default_rng()``,
    ``RandomState()``, ``SeedSequence()``) from the env's code or a library it calls."""
    np = sys.modules.get("numpy")
    if np is None:
        return lambda: None
    undos = []
    for name in NUMPY_GENERATOR_MAKERS:
        original = getattr(np.random, name, None)
        if original is None:
            continue

        def on_none(_name=name):
            caller = _caller_outside(sys._getframe(1))
            if caller is not None:
                record("unseeded", f"numpy.random.{_name}()", caller)
            return None

        undos.append(replace_everywhere(np.random, name, seed_hook(original, on_none)))

    def unwrap():
        for undo in reversed(undos):
            undo()

    return unwrap


def _caller_outside(frame) -> Any:
    """The first frame, going out, that is not mugkit's wrapping; None if that is harness code."""
    while frame is not None and os.path.normcase(os.path.abspath(frame.f_code.co_filename)).startswith(
            os.path.normcase(MUGKIT_DIR)):
        frame = frame.f_back
    return None if frame is None or _is_harness(frame) else frame


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
    "unseeded": ("the env (or a library it calls) creates a random generator without a seed, so every run draws "
                 "other numbers",
                 "create the generator from the seed passed to reset() (np.random.default_rng(seed), "
                 "random.Random(seed)), keep it on the env and include its state in get_state(); when a library "
                 "does it, seed or replace its generator"),
}


def explain(sources: list[Source], also_seen: list[Source] = (), otherwise: str | None = None) -> str | None:
    """A likely cause and fix for the traced ``sources`` (or ``otherwise`` when there are none);
    sources that were traced but do not make the frames differ (see :mod:`mugkit.checks.neutralize`)
    are listed after it as ``also_seen``."""
    if not sources:
        if otherwise and also_seen:
            return f"{otherwise}. Also seen, but not what makes the frames differ: {_shown(also_seen)}"
        return otherwise
    parts = []
    for kind in dict.fromkeys(s.kind for s in sources):
        what, fix = _ADVICE[kind]
        parts.append(f"{what[0].upper()}{what[1:]} ({_shown(s for s in sources if s.kind == kind)}). Fix: {fix}.")
    if also_seen:
        parts.append(f"Also seen, but not what makes the frames differ: {_shown(also_seen)}.")
    return " ".join(parts)


def _shown(sources) -> str:
    return ", ".join(f"{s.call} at {s.where}" for s in list(sources)[:3])
