"""``parity``: Pyodide in headless Chromium gives CPython's frame hashes, frame for frame.

A browser step runs in the participant's browser, in Pyodide (another Python version, another C
library, WebAssembly), while the checks, the server and any replay of the data run in CPython.
The check plays the same examples in both — the step's playthroughs, the fixed plans and
Hypothesis-generated seeds and key plans of the other checks (:func:`~mugkit.checks.base.run_property`),
then seeds 0, 1 and 2 — each at least :data:`FRAMES` frames, and requires identical frame hashes.
The browser installs the very wheels ``serve`` ships (:mod:`mugkit.web.browser.wheels`).

When the hashes differ, both sides replay the example and the check compares their data at the
first differing frame: which state keys, observations or rewards differ, with both values, and
whether the cause is **float drift** (floats that differ by a rounding error, or differences only
in float fields) or a **logic difference**. An env that cannot load in the browser, or a browser
that cannot start, fails the check with the reason: it never skips.
"""

from __future__ import annotations

import builtins
import math
import sys
from dataclasses import replace
from typing import Any, Callable

from ..runtime.state import diff, same
from .base import CheckContext, Found, reproduce_property, run_property
from .browser import BrowserPython, BrowserUnavailable
from .inputs import KeyPlan, fixed_plans
from .play import first_difference, make_game, play
from .report import CheckFailure

__all__ = ["check_parity", "reproduce", "classify", "FRAMES", "SEEDS", "DRIFT"]

#: Frames per example, at least (``--mugkit-frames`` above it plays longer).
FRAMES = 300
#: Seeds every run plays after the property examples, each with its own fixed plan.
SEEDS = (0, 1, 2)
#: Largest relative difference of two floats still counted as a rounding difference (drift).
DRIFT = 1e-9


def check_parity(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` when the browser's frames differ from CPython's, when the step
    does not load in the browser, or when no browser can be started."""
    ctx = replace(ctx, frames=max(ctx.frames, FRAMES))
    with _browser(ctx) as browser:
        found = run_property(ctx, lambda seed, plan: example(ctx, browser, seed, plan))
        if found is None:
            plans = fixed_plans(ctx.step, ctx.frames)
            for seed in SEEDS:
                found = _explicit(ctx, browser, seed, plans[seed % len(plans)])
                if found is not None:
                    break
        if found is not None:
            raise report(ctx, browser, found)


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """Runs one example again in a fresh Chromium; raises its failure if it still fails."""
    ctx = replace(ctx, frames=max(ctx.frames, FRAMES))
    with _browser(ctx) as browser:
        reproduce_property(ctx, lambda s, p: example(ctx, browser, s, p), lambda c, f: report(c, browser, f),
                           seed, plan, tries=1)


def _explicit(ctx: CheckContext, browser: BrowserPython, seed: int, plan: KeyPlan) -> Found | None:
    try:
        example(ctx, browser, seed, plan)
    except Found as found:
        found.shrunk = False
        return found
    return None


def _game(ctx: CheckContext, seed: int):
    """The CPython side's game: ONNX players through onnxruntime, as on the server."""
    return make_game(ctx.step, ctx.experiment.policies, seed, ctx.experiment.conditions)


def example(ctx: CheckContext, browser: BrowserPython, seed: int, plan: KeyPlan) -> None:
    """One example: CPython's and the browser's frame hashes of ``(seed, plan)`` are equal.

    Raises:
        Found: at the first differing frame, or where the game raised in the browser only.
    """
    here = play(_game(ctx, seed), plan, ctx.frames)
    there = browser.play(seed, plan, ctx.frames)
    at = first_difference(here.hashes, there["hashes"])
    if "error" in there and (at is None or at >= len(there["hashes"])):
        raise Found(seed, plan, frame=len(there["hashes"]), browser_error=there["error"])
    if at is not None:
        raise Found(seed, plan, frame=at)


class OpenBrowser:
    """A :class:`BrowserPython` (or subclass) for one check, failing the check when the browser or
    the step does not load (with the reason) instead of raising the runner's own errors."""

    def __init__(self, ctx: CheckContext, browser: BrowserPython | None = None, purpose: str = "run the step in"):
        self.ctx = ctx
        self.browser = browser if browser is not None else BrowserPython(str(ctx.step_nodeid), ctx.rootdir)
        self.purpose = purpose

    def __enter__(self) -> Any:
        from ..web.browser.assets import RuntimeAssetError
        from ..web.browser.wheels import WheelError

        try:
            loaded = self.browser.start()
        except BrowserUnavailable as exc:
            self.browser.close()
            raise CheckFailure(self.ctx.nodeid, f"no browser to {self.purpose}: {exc}") from None
        except (RuntimeAssetError, WheelError) as exc:
            self.browser.close()
            raise CheckFailure(self.ctx.nodeid, f"the browser runtime cannot be served: {exc}") from None
        if not loaded.get("ok"):
            self.browser.close()
            raise load_failure(self.ctx, loaded["error"])
        return self.browser

    def __exit__(self, *exc: Any) -> None:
        self.browser.close()


def _browser(ctx: CheckContext) -> OpenBrowser:
    return OpenBrowser(ctx)


# -- the report ----------------------------------------------------------------------------------


def report(ctx: CheckContext, browser: BrowserPython, found: Found) -> CheckFailure:
    """The failure for ``found``: both sides replayed, their data compared at the first differing
    frame, the cause classified (see :func:`classify`)."""
    seed, plan, at = found.seed, found.plan, found.details["frame"]
    here = play(_game(ctx, seed), plan, ctx.frames, keep_data=True)
    where = _versions(browser)
    if "browser_error" in found.details:
        error = found.details["browser_error"]
        return ctx.failure(f"the game raised {error['type']}: {error['message']} in the browser ({where}) at frame "
                           f"{at}, but not in CPython", found, actions=here.actions[:at], frame=at,
                           raised_at=list(error.get("traceback", [])), cause=_browser_only_crash(ctx, error))
    there = browser.play(seed, plan, ctx.frames, data_at=at)
    mine, theirs = (here.data[at] if at < len(here.data) else None), there.get("data")
    if mine is None or theirs is None:
        differs = [f"the episode ends at frame {len(here.hashes) - 1} in CPython and at frame "
                   f"{len(there['hashes']) - 1} in the browser"]
        kind, cause = "logic difference", None
    else:
        differs = [_labelled(line) for line in diff(mine, theirs)]
        kind, cause = classify(leaf_differences(mine, theirs), _float_calls(ctx, seed, plan, at),
                               browser.loaded.get("python", "?"))
    return ctx.failure(f"the browser ({where}) and CPython {sys.version.split()[0]} gave different frames: {kind}",
                       found, actions=here.actions[:at], frame=at, differs=differs, cause=cause)


def _labelled(line: str) -> str:
    """A line of :func:`~mugkit.runtime.state.diff` with its sides named (CPython first)."""
    if line.endswith(": only in the first"):
        return line[: -len("the first")] + "CPython"
    if line.endswith(": only in the second"):
        return line[: -len("the second")] + "the browser"
    head, sep, tail = line.rpartition(" != ")
    return f"{head} (CPython) != {tail} (browser)" if sep else line


def _versions(browser: BrowserPython) -> str:
    return f"Pyodide, Python {browser.loaded.get('python', '?')}"


def _browser_only_crash(ctx: CheckContext, error: dict) -> str:
    import re

    if error.get("type") in ("ModuleNotFoundError", "ImportError"):
        # An import inside a function (step(), a helper) fails only when the game reaches it: the
        # same cause and fix as an import that fails when the step loads.
        missing = re.search(r"No module named '([\w.]+)'", str(error.get("message", "")))
        if missing:
            return _missing_module_cause(ctx, missing[1].split(".")[0])
    return ("the same code raised only in the browser: something differs between the two Pythons (Python "
            "3.14 in Pyodide, a 32-bit WebAssembly platform, sys.platform 'emscripten', no threads, no "
            "subprocesses, no network, only the files of the experiment's folder). The lines above say where")


def leaf_differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every ``(path, a_value, b_value)`` where two frame data differ, down to single values
    (dict keys and list items followed; a list of another length or another type is one leaf)."""
    out: list[tuple[str, Any, Any]] = []
    _leaves(a, b, path, out)
    return out


def _leaves(a: Any, b: Any, path: str, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if path and isinstance(k, str) else (k if isinstance(k, str) else f"{path}[{k!r}]")
            if k not in a or k not in b:
                out.append((sub, a.get(k), b.get(k)))
            else:
                _leaves(a[k], b[k], sub, out)
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _leaves(x, y, f"{path}[{i}]", out)
        return
    if not same(a, b):
        out.append((path or "value", a, b))


def _relative(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def classify(leaves: list[tuple[str, Any, Any]], float_calls: list[str] = (),
             browser_python: str = "3.14") -> tuple[str, str]:
    """``(kind, cause)`` of a difference between CPython and the browser: ``"float drift"`` when a
    float differs by at most :data:`DRIFT` relatively, or only floats differ; else ``"logic
    difference"``. ``float_calls`` are the float-sensitive calls the env makes (``sum() of floats
    at envs/x.py:12``), named in the advice; ``browser_python`` is Pyodide's Python version."""
    floats = [(p, a, b) for p, a, b in leaves if type(a) is float and type(b) is float]
    drifted = [(p, a, b) for p, a, b in floats if _relative(a, b) <= DRIFT]
    calls = f" The env calls {', '.join(float_calls[:4])}." if float_calls else ""
    if drifted or (floats and len(floats) == len(leaves)):
        p, a, b = (drifted or floats)[0]
        rel = _relative(a, b)
        return "float drift", (
            f"float drift: {p} is {a!r} in CPython and {b!r} in the browser (a relative difference of {rel:.1g}). "
            f"The two Pythons round floats differently in places: sum() of floats changed in Python 3.12 (CPython "
            f"{sys.version_info.major}.{sys.version_info.minor} here, {browser_python} in the browser), and math functions (sin, "
            f"cos, exp, log, pow, atan2) come from another C library.{calls} Keep the dynamics exact: integers or "
            f"fixed point (positions in sub-pixels, integer speeds), math.fsum instead of sum() when floats must "
            f"be added, squared distances instead of sqrt, and no trigonometry in the dynamics (a table of "
            f"integer directions; trigonometry in render() is harmless)")
    hint = (f" The env calls {', '.join(float_calls[:4])}: a float drift that an int(), round() or comparison "
            f"turned into another decision shows up this way — keep those computations in integers or use "
            f"math.fsum.") if float_calls else ""
    return "logic difference", (
        "logic difference: no float differs by a rounding error; the browser's Python took another path from the "
        "same inputs. Look for what the two Pythons do differently in the fields above: behaviour that changed "
        "between Python versions, sys.platform ('emscripten') or sys.maxsize (32-bit WebAssembly), or a file the "
        "browser does not have (only the experiment's folder is shipped)." + hint)


#: Float-sensitive functions: ``(module, name)`` → what the report calls them.
_SENSITIVE = {(math, n): f"math.{n}()" for n in ("sin", "cos", "tan", "asin", "acos", "atan", "atan2", "exp",
                                                  "expm1", "log", "log1p", "log2", "log10", "pow", "sinh", "cosh",
                                                  "tanh", "hypot", "cbrt")}


def _float_calls(ctx: CheckContext, seed: int, plan: KeyPlan, frames: int, limit: int = 6) -> list[str]:
    """Where the env (not mugkit) calls ``sum()`` with a float result, or a ``math`` function whose
    last bits differ between C libraries, while CPython replays the example up to ``frames``."""
    from .diagnose import _is_harness, _not_the_env, replace_everywhere
    from . import diagnose

    diagnose._NOT_THE_ENV = _not_the_env()
    seen: dict[str, None] = {}

    def wrap(fn: Callable, label: str, floats_only: bool) -> Callable:
        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)
            caller = sys._getframe(1)
            if len(seen) < limit and not _is_harness(caller) and (not floats_only or type(out) is float):
                from ..paths import nodeid_of

                seen.setdefault(f"{label} at {nodeid_of(caller.f_code.co_filename)}:{caller.f_lineno}")
            return out
        return wrapped

    undo = [replace_everywhere(builtins, "sum", wrap(builtins.sum, "sum() of floats", True))]
    undo += [replace_everywhere(m, n, wrap(getattr(m, n), label, False)) for (m, n), label in _SENSITIVE.items()]
    try:
        play(_game(ctx, seed), plan, frames)
    except Exception:
        pass  # only the calls matter here
    finally:
        for u in reversed(undo):
            u()
    return list(seen)


# -- an env that does not load in the browser ----------------------------------------------------


def load_failure(ctx: CheckContext, error: dict) -> CheckFailure:
    """The failure for a step that does not load in the browser: what raised, and what to change."""
    import re

    text = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    missing = error.get("module") or (re.search(r"No module named '([\w.]+)'", text) or [None, None])[1]
    cause = _missing_module_cause(ctx, missing.split(".")[0]) if missing else None
    if error.get("stage") == "boot":
        summary = f"Pyodide did not start in the browser: {text}"
    else:
        summary = f"the step does not load in the browser: {text}"
    return CheckFailure(ctx.nodeid, summary, raised_at=list(error.get("traceback", [])), cause=cause)


def _missing_module_cause(ctx: CheckContext, top: str) -> str:
    from importlib import metadata
    from importlib.util import find_spec

    from .contract import BLOCKED_IN_BROWSER

    declared = ", ".join(ctx.step.options.packages) or "none"
    if top in _pyodide_packages():
        return (f"{top} is one of the packages Pyodide builds itself: the browser loads it from the Pyodide package "
                f"base URL, and only when the step declares it in packages= (declared: {declared}). An offline lab "
                f"cannot reach that URL (nor can these checks) unless it serves a local copy. Better, keep browser "
                f"envs free of it: mugkit.spaces for spaces, lists and ints for state, and import {top} only inside "
                f"server steps' functions or modules that browser steps do not import")
    if top in BLOCKED_IN_BROWSER:
        return (f"{top} has no build for the browser: keep it out of browser steps (mugkit.spaces for spaces, "
                f"plain lists for observations, mk.Onnx for models) and import it only inside server steps' "
                f"functions or modules that browser steps do not import")
    if find_spec(top) is not None:
        dists = metadata.packages_distributions().get(top, [top])
        try:
            pin = f"{dists[0]}=={metadata.version(dists[0])}"
        except metadata.PackageNotFoundError:
            pin = f"{dists[0]}==<version>"
        return (f"{top} is installed here but the browser gets only mugkit, the experiment's folder and the "
                f"step's packages= (declared: {declared}): add packages=[{pin!r}] to the step (a pure-Python "
                f"package; serve ships it as a wheel), or move the module into the experiment's folder")
    return (f"{top} is neither installed here nor in the experiment's folder: the step could not run in CPython "
            f"either; install it, or fix the import")


def _pyodide_packages() -> set[str]:
    """The import names of the packages Pyodide builds (its lock file), e.g. ``numpy``."""
    import json

    from ..web.browser.assets import RuntimeAssets

    assets = RuntimeAssets.load()
    path = assets.path("pyodide", assets.versions["pyodide"], "pyodide-lock.json")
    if path is None:
        return set()
    packages = json.loads(path.read_text()).get("packages", {})
    return {name for p in packages.values() for name in p.get("imports", [])}
