"""How a load-test bot meets an experiment's entry screening (``@mk.screen``; docs/screening.md).

A bot passes the screening like a real browser would: it connects with the User-Agent of a
browser and device every screening step of its experiment lets in, reports a window large
enough, and answers the server's pings. ``mugkit loadtest --screen-fail K`` builds K bots to fail
it instead, in turn one way each that the experiment's screening declares (:data:`FAIL_MODES`),
and the audit checks that the server stored each as ``screened_out`` with the reason it must have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ScreenPlan", "plan", "fail_plans", "has_screening", "FAIL_MODES", "EXPECTED_REASON", "USER_AGENTS"]

#: Real browsers' User-Agent strings, the first one a screening lets in is the bot's.
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
    "Edg/120.0.2210.91",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
    "OPR/106.0.0.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
    "Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
)
#: The ways a bot fails a screening, in the order ``--screen-fail`` bots take them: a window too
#: small, a device or a browser not let in, no answer to the server's pings, no report at all.
FAIL_MODES = ("window", "device", "browser", "no_pongs", "silent")
#: The reason the server must store for each.
EXPECTED_REASON = {"window": "window", "device": "device", "browser": "browser", "no_pongs": "no_report",
                   "silent": "no_report"}
#: The window a passing bot reports, unless a screening asks for more.
WINDOW = (1280, 800)


@dataclass(frozen=True)
class ScreenPlan:
    """What a bot shows the screening: its User-Agent, the window it reports, and ``fail`` (one of
    :data:`FAIL_MODES`, or None to pass)."""

    user_agent: str = USER_AGENTS[0]
    window: tuple = WINDOW
    fail: str | None = None
    screened: bool = False  # the experiment has a screening step (a Chromium bot then sends user_agent)


def _screens(experiment: Any) -> list:
    from ..screening import ScreenStep

    return [s for s in getattr(experiment, "steps", []) if isinstance(s, ScreenStep)]


def has_screening(experiment: Any) -> bool:
    """Whether the experiment has a ``@mk.screen`` step."""
    return bool(_screens(experiment))


def _lets_in(step: Any, user_agent: str, browser_only: bool = False) -> bool:
    from ..web.screening import classify

    browser, _, _, device = classify(user_agent)
    o = step.options
    if browser in o.block_browsers or (o.browsers is not None and browser not in o.browsers):
        return False
    return browser_only or not (device in o.block_devices or (o.devices is not None and device not in o.devices))


def plan(experiment: Any) -> ScreenPlan:
    """How a bot passes every screening step of ``experiment`` (the default plan without one)."""
    screens = _screens(experiment)
    agent = next((ua for ua in USER_AGENTS if all(_lets_in(s, ua) for s in screens)), USER_AGENTS[0])
    w = max([WINDOW[0]] + [s.options.min_window[0] for s in screens if s.options.min_window])
    h = max([WINDOW[1]] + [s.options.min_window[1] for s in screens if s.options.min_window])
    return ScreenPlan(agent, (w, h), screened=bool(screens))


def fail_plans(experiment: Any) -> list[ScreenPlan]:
    """The ways a bot can fail the experiment's first screening step, as plans, in
    :data:`FAIL_MODES` order (``silent`` always; the others when the step declares what they fail)."""
    screens = _screens(experiment)
    if not screens:
        return []
    first, passing = screens[0], plan(experiment)
    out = []
    if first.options.min_window is not None:
        w, h = first.options.min_window
        out.append(ScreenPlan(passing.user_agent, (max(0, w - 1), max(0, h - 1)), "window", True))
    device = next((ua for ua in USER_AGENTS if _lets_in(first, ua, browser_only=True) and not _lets_in(first, ua)),
                  None)
    if device is not None:
        out.append(ScreenPlan(device, passing.window, "device", True))
    browser = next((ua for ua in USER_AGENTS if not _lets_in(first, ua, browser_only=True)), None)
    if browser is not None:
        out.append(ScreenPlan(browser, passing.window, "browser", True))
    if first.options.max_rtt_ms is not None:
        out.append(ScreenPlan(passing.user_agent, passing.window, "no_pongs", True))
    out.append(ScreenPlan(passing.user_agent, passing.window, "silent", True))
    return out
