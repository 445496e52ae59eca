"""``@mk.screen``: an entry screening step, declared in the experiment (docs/screening.md).

A screening step stands in the flow like a page or a survey (in definition order, or in
``FLOW``): it may come after a survey, and its predicate then sees the answers so far::

    @mk.screen(browsers=["chrome", "firefox", "edge", "safari"], devices=["desktop"],
               min_window=(800, 600), max_rtt_ms=250, pings=5)
    def entry(participant, answers):
        if answers.get("age", 99) < 18:
            return "This study is for adults only."

Everything is decided on the server (mugkit/web/screening.py): the browser and device from the
User-Agent header the server saw, the window size from the page's report, the round-trip time
from the server's own pings. This module only declares and validates; it imports nothing of the
server, so ``import mugkit`` stays light for Pyodide.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .paths import nodeid_of
from .steps import Step, StepError, _params, _where

__all__ = ["screen", "ScreenStep", "ScreenOptions", "BROWSERS", "DEVICES", "REASONS", "SCREEN_PARAMS"]

#: Browser families a list may name. User agents are sorted into them by
#: :func:`mugkit.web.screening.classify` (``HeadlessChrome``, ``Chromium`` and ``Chrome Mobile``
#: are ``chrome``; ``Mobile Safari`` is ``safari``; anything unknown is ``other``).
BROWSERS = ("chrome", "firefox", "edge", "safari", "opera", "samsung", "ie", "other")
#: Device kinds a list may name.
DEVICES = ("desktop", "mobile", "tablet")
#: Why a screening step turns a participant away (``participants.reason``).
REASONS = ("browser", "device", "window", "rtt", "check", "no_report")
#: Parameters the screening function may ask for, by name.
SCREEN_PARAMS = ("participant", "answers", "client")
#: Most pings a step may ask for (each costs the participant a round trip).
MAX_PINGS = 20


@dataclass(frozen=True)
class ScreenOptions:
    """The validated options of ``@mk.screen`` (see :func:`screen`)."""

    browsers: tuple | None = None
    block_browsers: tuple = ()
    devices: tuple | None = None
    block_devices: tuple = ()
    min_window: tuple | None = None
    max_rtt_ms: float | None = None
    pings: int = 5
    timeout: float = 30.0


@dataclass
class ScreenStep(Step):
    """A ``@mk.screen`` step: ``options`` are its :class:`ScreenOptions`; the function (called with
    the parameters it names of :data:`SCREEN_PARAMS`) is the researcher's own check."""

    options: ScreenOptions | None = None
    kind = "screen"


def _names(value: Any, field: str, known: tuple, allow_none: bool) -> tuple | None:
    if value is None and allow_none:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{field} must be a list of names ({', '.join(known)}), got {value!r}")
    names = tuple(value)
    for name in names:
        if name not in known:
            hint = difflib.get_close_matches(str(name).lower(), known, 1)
            raise ValueError(f"{field}: unknown name {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                             + f"; the known ones are {', '.join(known)}")
    if allow_none and not names:
        raise ValueError(f"{field} is empty, so nobody could pass: leave it out (None) to allow any")
    return names


def _number(value: Any, field: str, integer: bool = False) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or not value > 0 or value != value:
        raise ValueError(f"{field} must be a positive {'integer' if integer else 'number'}, got {value!r}")
    return value


def check_options(browsers: Any = None, block_browsers: Any = (), devices: Any = None, block_devices: Any = (),
                  min_window: Any = None, max_rtt_ms: Any = None, pings: Any = 5,
                  timeout: Any = 30.0) -> ScreenOptions:
    """The options of ``@mk.screen``, validated.

    Raises:
        ValueError: an unknown browser or device name (the message lists the known ones), a name
            both allowed and blocked, a window size that is not two positive integers, a bad number.
    """
    allowed_b, blocked_b = _names(browsers, "browsers", BROWSERS, True), _names(block_browsers, "block_browsers",
                                                                             BROWSERS, False)
    allowed_d, blocked_d = _names(devices, "devices", DEVICES, True), _names(block_devices, "block_devices",
                                                                          DEVICES, False)
    for allowed, blocked, what in ((allowed_b, blocked_b, "browsers"), (allowed_d, blocked_d, "devices")):
        both = sorted(set(allowed or ()) & set(blocked))
        if both:
            raise ValueError(f"{', '.join(both)} both allowed and blocked in {what} and block_{what}")
    if min_window is not None:
        if not isinstance(min_window, (tuple, list)) or len(min_window) != 2:
            raise ValueError(f"min_window must be (width, height) in CSS pixels, got {min_window!r}")
        min_window = (_number(min_window[0], "min_window width", True), _number(min_window[1], "min_window height",
                                                                                  True))
    if max_rtt_ms is not None:
        max_rtt_ms = float(_number(max_rtt_ms, "max_rtt_ms"))
    _number(pings, "pings", True)
    if pings > MAX_PINGS:
        raise ValueError(f"pings must be at most {MAX_PINGS}, got {pings}")
    timeout = float(_number(timeout, "timeout"))
    return ScreenOptions(allowed_b, blocked_b, allowed_d, blocked_d, min_window, max_rtt_ms, pings, timeout)


def screen(fn: Callable | None = None, **options: Any):
    """Declares an entry screening step (docs/screening.md).

    Options (each left out: no requirement):

    - ``browsers`` / ``block_browsers``: browser families allowed / refused (:data:`BROWSERS`);
    - ``devices`` / ``block_devices``: ``desktop``, ``mobile``, ``tablet``;
    - ``min_window``: ``(width, height)``, the smallest browser window in CSS pixels;
    - ``max_rtt_ms``: the largest median round-trip time over ``pings`` pings (default 5) that the
      server sends over the participant's own connection;
    - ``timeout``: seconds the page has to report its window and answer the pings (default 30);
      a page that does not is screened out (reason ``no_report``).

    The function is the researcher's own check; it may ask for ``participant`` (id, URL
    parameters, condition), ``answers`` (question name → value, every answer so far) and
    ``client`` (what the server found: ``browser``, ``device``, ``os``, ``window``, ``rtt_ms``, …).
    It returns None or True to let the participant in, a text (what they read) or False to turn
    them away (reason ``check``).

    Raises:
        StepError: an unknown option, name or parameter, or an ill-formed value, naming file and line.
    """

    def wrap(f: Callable) -> ScreenStep:
        if not callable(f):
            raise StepError("use @mk.screen(...) on a function (its body is your own check; `pass` for none)")
        file, line = _where(f)
        where = f"{nodeid_of(file)}:{line}: {f.__name__}"
        try:
            opts = check_options(**options)
        except TypeError as exc:
            raise StepError(f"{where}: @mk.screen: {exc}; its options are browsers, block_browsers, devices, "
                            f"block_devices, min_window, max_rtt_ms, pings, timeout") from None
        except ValueError as exc:
            raise StepError(f"{where}: @mk.screen: {exc}") from None
        return ScreenStep(f, f.__name__, file, line, _params(f, SCREEN_PARAMS, where), opts)

    if fn is not None:
        if options:
            raise StepError("use @mk.screen or @mk.screen(...) with keyword options only")
        return wrap(fn)
    return wrap
