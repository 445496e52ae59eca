"""Finding why a run is not reproducible: calls to unseeded randomness and clocks.

:func:`trace_sources` runs a function under ``sys.setprofile`` and records every call, from the
env's or experiment's code (not the standard library, mugkit, or the test harness), to the
module-level ``random`` generator, numpy's global generator, the clocks, ``os.urandom`` and
``uuid``. numpy's ``np.random.*`` functions are compiled methods that a profiler does not see, so
they are wrapped for the duration of the trace. Slow, so only used to explain a failure that was
already found.
"""

from __future__ import annotations

import ast
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
        _package_dir(n) for n in ("hypothesis", "_pytest", "pluggy", "coverage")] if p)


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
    return f"{nodeid_of(frame.f_code.co_filename)}:{frame.f_lineno}"


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
    sys.setprofile(profiler)
    try:
        fn()
    except Exception:
        pass  # only the calls matter here; the failure itself is reported elsewhere
    finally:
        sys.setprofile(old)
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


# -- iteration over sets of strings ---------------------------------------------------------------

#: Calls whose argument is iterated in order.
_ITERATING_CALLS = {"list", "tuple", "enumerate", "zip", "iter", "next", "dict.fromkeys", "join", "extend"}


def _pure(node: ast.expr) -> bool:
    """An expression that can be evaluated again without side effects: names, attributes,
    constant subscripts."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _pure(node.value)
    if isinstance(node, ast.Subscript):
        return _pure(node.value) and isinstance(node.slice, (ast.Constant, ast.Name))
    return False


def _call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f"dict.{f.attr}" if isinstance(f.value, ast.Name) and f.value.id == "dict" else f.attr
    return ""


def _iterated(tree: ast.AST) -> dict[int, list[tuple[str, ast.expr]]]:
    """Per line, the expressions iterated in order there (``for``, comprehensions, ``list(x)`` …,
    ``x.pop()``), reduced to the part that can be re-evaluated (``set(self.names)`` → ``self.names``)."""
    sites: dict[int, list] = {}

    def add(expr: ast.expr, how: str) -> None:
        if isinstance(expr, ast.Call) and _call_name(expr) in ("set", "frozenset") and expr.args:
            expr = expr.args[0]  # iterating set(x) is iterating x's members in hash order
            how = "set(...)"
        if _pure(expr):
            sites.setdefault(expr.lineno, []).append((how, expr))

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            add(node.iter, "for")
        elif isinstance(node, ast.comprehension):
            add(node.iter, "comprehension")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _ITERATING_CALLS and node.args:
                add(node.args[-1] if name in ("join", "extend") else node.args[0], f"{name}()")
            elif name == "pop" and isinstance(node.func, ast.Attribute) and not node.args:
                add(node.func.value, ".pop()")
    return sites


_SITES: dict[str, dict] = {}


def _sites_of(filename: str) -> dict:
    if filename not in _SITES:
        try:
            with open(filename, encoding="utf-8") as f:
                _SITES[filename] = _iterated(ast.parse(f.read()))
        except (OSError, SyntaxError, ValueError):
            _SITES[filename] = {}
    return _SITES[filename]


_CODE: dict[int, Any] = {}


def _compiled(expr: ast.expr) -> Any:
    key = id(expr)  # the nodes live as long as _SITES keeps their tree
    if key not in _CODE:
        _CODE[key] = compile(ast.Expression(expr), "<mugkit>", "eval")
    return _CODE[key]


def _hash_ordered(value: Any) -> bool:
    """A set whose order depends on string hashing: two or more members, some str or bytes."""
    if not isinstance(value, (set, frozenset)) or len(value) < 2:
        return False
    return any(isinstance(v, (str, bytes)) or (isinstance(v, tuple) and any(isinstance(x, (str, bytes)) for x in v))
               for v in value)


def trace_set_iteration(fn: Callable[[], Any], limit: int = 10) -> list[str]:
    """Runs ``fn()`` with line tracing in the env's code (not the standard library, mugkit or the
    harness) and returns where it iterates over a set of strings, whose order changes with
    ``PYTHONHASHSEED``: ``"envs/walk.py:12: for over self.names (a set of 2 str)"``. Slow: only used
    to explain a failure already found."""
    global _NOT_THE_ENV
    _NOT_THE_ENV = _not_the_env()
    found: dict[str, None] = {}

    def on_line(frame, event, arg):
        if event == "line" and len(found) < limit:
            for how, expr in _sites_of(frame.f_code.co_filename).get(frame.f_lineno, ()):
                try:
                    value = eval(_compiled(expr), frame.f_globals, frame.f_locals)
                except Exception:
                    continue
                if _hash_ordered(value):
                    found.setdefault(f"{_where(frame)}: {how} over {ast.unparse(expr)} (a set of {len(value)} "
                                     f"members, ordered by string hashing)")
        return on_line

    def on_call(frame, event, arg):
        return None if _is_harness(frame) else on_line

    old = sys.gettrace()
    sys.settrace(on_call)
    try:
        fn()
    except Exception:
        pass  # only where it iterates matters here
    finally:
        sys.settrace(old)
    return list(found)
