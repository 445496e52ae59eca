"""Entry screening on the server: the ``@mk.screen`` steps (mugkit/screening.py; docs/screening.md).

Everything is decided here; the page only reports. The browser and device come from the
User-Agent header of the participant's socket as the server saw it (parsed with ``ua_parser``, the
maintained uap-python), not from anything the page says. The window size is the page's word
(``screen_report``; a forged one cannot be told from a real one, and the docs say so). The
round-trip time is the server's own measure: it pings the participant's socket (socket.io
acknowledgements) and takes the median.

A screening step ends by itself: an ``advance`` for it is refused. A page that does not report
within the step's ``timeout`` (or never answers a ping) is screened out with reason
``no_report``: a client that says nothing is not thereby fine.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Awaitable, Callable

from ..screening import ScreenStep
from .plugins import participant_info
from .protocol import ProtocolError
from .registry import FINISHED, Participant
from .views import markdown_html

__all__ = ["Client", "classify", "decide", "parse_report", "Screening", "socket_pinger", "PING_TIMEOUT",
           "BROWSER_NAMES"]

log = logging.getLogger("mugkit.study")

#: Seconds the server waits for the answer to one ping; an unanswered ping counts as lost.
PING_TIMEOUT = 2.0
#: Largest window or screen side a report may give (CSS pixels).
MAX_SIDE = 100_000

#: How a participant reads a browser family.
BROWSER_NAMES = {"chrome": "Chrome", "firefox": "Firefox", "edge": "Microsoft Edge", "safari": "Safari",
                 "opera": "Opera", "samsung": "Samsung Internet", "ie": "Internet Explorer",
                 "other": "an unrecognised browser"}
_DEVICE_NAMES = {"desktop": "a desktop or laptop computer", "mobile": "a mobile phone", "tablet": "a tablet"}

# ua_parser's family names (uap-core) → mugkit's families, by prefix, first match wins.
_FAMILIES = (("HeadlessChrome", "chrome"), ("Chromium", "chrome"), ("Chrome", "chrome"),
             ("Firefox", "firefox"), ("Edge", "edge"), ("Mobile Safari", "safari"), ("Safari", "safari"),
             ("Opera", "opera"), ("Samsung Internet", "samsung"), ("IE", "ie"))
_MOBILE_OS = ("Android", "iOS", "Windows Phone", "BlackBerry OS", "Firefox OS", "KaiOS", "Tizen", "Symbian OS")


@dataclass
class Client:
    """What the server found about a participant's browser (also what ``client`` gives the
    researcher's check, and what the ``screened`` event stores)."""

    user_agent: str
    browser: str
    browser_version: str | None
    os: str | None
    device: str
    window: list | None = None
    screen: list | None = None
    rtt_ms: list = field(default_factory=list)  # per ping, None for one lost

    @property
    def rtt_median_ms(self) -> float | None:
        """The median round trip, a lost ping counting as endless; None when no ping was answered."""
        answered = [x for x in self.rtt_ms if x is not None]
        if not answered:
            return None
        return statistics.median([float("inf") if x is None else x for x in self.rtt_ms])

    def measures(self) -> dict:
        """The measures as stored (the ``screened``/``screened_out`` event's detail)."""
        out = asdict(self)
        out["user_agent"] = out["user_agent"][:300]
        median = self.rtt_median_ms
        out["rtt_median_ms"] = None if median is None or median == float("inf") else round(median, 2)
        out["rtt_ms"] = [None if x is None else round(x, 2) for x in self.rtt_ms]
        return out


@lru_cache(maxsize=4096)
def classify(user_agent: str) -> tuple[str, str | None, str | None, str]:
    """``(browser family, version, os family, device)`` of a User-Agent string: families as in
    :data:`mugkit.screening.BROWSERS`, device ``desktop``, ``mobile`` or ``tablet``.

    An iPad whose Safari asks for desktop sites sends a Mac's User-Agent and counts as a desktop:
    nothing in the header tells them apart."""
    from ua_parser import parse  # server only: mugkit/screening.py stays importable in Pyodide

    result = parse(user_agent or "")
    family = result.user_agent.family if result.user_agent else ""
    browser = next((ours for prefix, ours in _FAMILIES if family.startswith(prefix)), "other")
    version = result.user_agent.major if result.user_agent else None
    os_family = result.os.family if result.os else None
    return browser, version, os_family, _device(user_agent or "", result)


def _device(user_agent: str, result: Any) -> str:
    device = result.device
    brand, model = (device.brand or "", device.family or "") if device else ("", "")
    if "Tablet" in brand or model in ("iPad", "Kindle") or "Tablet" in user_agent or "iPad" in user_agent:
        return "tablet"
    os_family = result.os.family if result.os else ""
    if os_family == "Android" and "Mobile" not in user_agent:
        return "tablet"  # Android phones' browsers say "Mobile"; tablets' do not (Google's rule)
    if os_family in _MOBILE_OS or "Mobi" in user_agent:
        return "mobile"
    return "desktop"


def parse_report(data: Any) -> dict:
    """A ``screen_report`` message, validated: ``{"index": int, "window": [w, h], "screen": [w, h]
    (optional)}``.

    Raises:
        ProtocolError: not an object, no integer index, a size that is not two integers from 0 to
            100000.
    """
    if not isinstance(data, dict):
        raise ProtocolError("screen_report must be an object")
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ProtocolError("screen_report.index must be the index of the screening step")
    out = {"index": index}
    for name in ("window", "screen"):
        value = data.get(name)
        if value is None and name == "screen":
            continue
        ok = isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_SIDE for v in value)
        if not ok:
            raise ProtocolError(f"screen_report.{name} must be [width, height], integers from 0 to {MAX_SIDE}")
        out[name] = list(value)
    return out


def _names(families: tuple) -> str:
    names = [BROWSER_NAMES[f] for f in families]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def decide(step: ScreenStep, client: Client, reported: bool) -> tuple[str, str] | None:
    """Why ``client`` does not pass ``step``'s declared requirements, as ``(reason, text)`` (text:
    what the participant reads), or None when it passes them (the researcher's own check comes
    after). ``reported``: the page sent its report (else the window and pings are missing)."""
    o = step.options
    shown = BROWSER_NAMES[client.browser]
    if client.browser in o.block_browsers or (o.browsers is not None and client.browser not in o.browsers):
        need = f": it needs {_names(o.browsers)}" if o.browsers is not None else ""
        return "browser", f"This study cannot be done in {shown}{need}."
    if client.device in o.block_devices or (o.devices is not None and client.device not in o.devices):
        need = " or ".join(_DEVICE_NAMES[d] for d in _DEVICE_NAMES
                           if d not in o.block_devices and (o.devices is None or d in o.devices))
        return "device", f"This study cannot be done on {_DEVICE_NAMES[client.device]}: it needs {need}."
    if not reported:
        return "no_report", ("Your browser did not complete the study's entry check in time, so we could not confirm "
                             "that it can run this study.")
    if o.min_window is not None:
        (w, h), (need_w, need_h) = client.window, o.min_window
        if w < need_w or h < need_h:
            return "window", (f"This study needs a browser window of at least {need_w} × {need_h} pixels; yours was "
                              f"{w} × {h}.")
    if o.max_rtt_ms is not None:
        median = client.rtt_median_ms
        if median is None:
            return "no_report", ("Your browser did not answer the study server's connection check, so we could not "
                                 "confirm that your connection can run this study.")
        if median > o.max_rtt_ms:
            took = "most messages were lost" if median == float("inf") else f"a message took {median:.0f} ms"
            return "rtt", (f"Your connection to the study server is too slow for this study ({took} to go there and "
                           f"back; it needs at most {o.max_rtt_ms:.0f} ms).")
    return None


def socket_pinger(sio: Any, sid: str, timeout: float = PING_TIMEOUT) -> Callable[[], Awaitable[float | None]]:
    """One ping of socket ``sid`` (held by this process): ``screen_ping`` with an acknowledgement;
    its round trip in ms, or None when it is not answered within ``timeout``."""
    async def ping() -> float | None:
        sent = time.perf_counter()
        try:
            # ignore_queue: the socket is this process's, so no round trip through Redis is timed
            await sio.call("screen_ping", {"t": round(time.time() * 1000)}, to=sid, timeout=timeout,
                           ignore_queue=True)
        except Exception:  # no answer in time, or the socket closed: lost
            return None
        return (time.perf_counter() - sent) * 1000.0
    return ping


class Screening:
    """The screening steps of a study (see the module's docstring).

    Args:
        flow: the study's :class:`~mugkit.web.flow.Flow` (views, events, ``screen_out``).
        connected: ``(participant id) -> bool``: whether this process holds an open socket of theirs.
    """

    def __init__(self, flow: Any, connected: Callable[[str], bool]):
        self.flow = flow
        self.connected = connected
        self._deadlines: dict[str, tuple[int, asyncio.Task]] = {}
        self._checking: set[tuple[str, int]] = set()

    def close(self) -> None:
        """Stops the deadlines (the server is stopping: a participant is screened when they come back)."""
        for _, task in list(self._deadlines.values()):
            task.cancel()
        self._deadlines.clear()

    # -- the view ------------------------------------------------------------------------------

    def view(self, p: Participant, step: ScreenStep) -> dict:
        """The ``screen`` view (called inside ``p``'s transition); starts the step's deadline."""
        self._arm(p, step.options.timeout)
        min_window = list(step.options.min_window) if step.options.min_window else None
        if min_window is not None and self._refused_as_is(p, step):
            min_window = None  # a phone the step refuses is not first asked to grow its window
        return {"kind": "screen", "title": "Checking your browser", "pings": step.options.pings,
                "timeout": step.options.timeout, "min_window": min_window, "html": markdown_html(
                    "Checking that your browser, window and connection can run this study. "
                    "This takes a few seconds; please keep this page open.")}

    def _refused_as_is(self, p: Participant, step: ScreenStep) -> bool:
        """Whether the browser ``p`` arrived with is refused by ``step`` whatever its window (its
        browser or device; the report's connection decides in the end)."""
        failed = decide(step, self._client(p), reported=False)
        return failed is not None and failed[0] in ("browser", "device")

    def _arm(self, p: Participant, seconds: float) -> None:
        armed = self._deadlines.get(p.id)
        if armed is not None and armed[0] == p.index and not armed[1].done():
            return
        task = asyncio.get_running_loop().create_task(self._expire(p.id, p.index, seconds))
        self._deadlines[p.id] = (p.index, task)
        task.add_done_callback(lambda t, pid=p.id: self._deadlines.get(pid, (0, None))[1] is t
                               and self._deadlines.pop(pid, None))

    async def _expire(self, pid: str, index: int, seconds: float) -> None:
        """The page did not report in time: screened out (``no_report``), unless it is being
        checked, has moved on, or has no connection here (they are screened when they come back)."""
        await asyncio.sleep(seconds)
        p = await self.flow.registry.get(pid)
        if p is None or (pid, index) in self._checking or not self.connected(pid):
            return
        async with self.flow.registry.transition(p):
            here = self.flow.step_of(p)
            if p.status in FINISHED or p.index != index or here is None or not isinstance(here[0], ScreenStep):
                return
            client = self._client(p)
            await self._conclude(p, here[0], client, decide(here[0], client, reported=False))

    # -- the page's report -----------------------------------------------------------------------

    async def report(self, p: Participant, data: Any, ping: Callable[[], Awaitable[float | None]],
                     user_agent: str | None = None) -> dict:
        """A ``screen_report`` (protocol.py): the server pings the page, then decides. ``user_agent``:
        the header of the socket the report came on (None: the one ``p`` arrived with). The ack is
        ``{"ok": true}`` (the next view follows), or ``{"ok": false, "error"}`` (``"stale": true``:
        that step is over, or being checked already)."""
        try:
            r = parse_report(data)
        except ProtocolError as exc:
            return {"ok": False, "error": str(exc)}
        key = (p.id, r["index"])
        error = self._refusal(p, r["index"])
        if error is not None:
            return error
        if key in self._checking:
            return {"ok": False, "stale": True, "error": "this screening is being checked already"}
        self._checking.add(key)
        try:
            step = self.flow.step_of(p)[0]
            client = self._client(p, r, user_agent)
            if step.options.max_rtt_ms is not None:
                for _ in range(step.options.pings):
                    client.rtt_ms.append(await ping())
            async with self.flow.registry.transition(p):
                error = self._refusal(p, r["index"])
                if error is not None:
                    return error
                await self._conclude(p, step, client, decide(step, client, reported=True))
        finally:
            self._checking.discard(key)
        return {"ok": True}

    def _refusal(self, p: Participant, index: int) -> dict | None:
        if p.status in FINISHED or index < p.index:
            return {"ok": False, "stale": True, "error": "that step was already left"}
        if index > p.index:
            return {"ok": False, "error": "that step is not reached yet"}
        here = self.flow.step_of(p)
        if here is None or not isinstance(here[0], ScreenStep):
            return {"ok": False, "error": "that step is not a screening step"}
        return None

    def _client(self, p: Participant, report: dict | None = None, user_agent: str | None = None) -> Client:
        # The connection that reports decides (they may have moved to another browser since they
        # arrived); without a report, the header they arrived with.
        user_agent = str(user_agent if user_agent is not None else p.row.get("user_agent") or "")[:500]
        browser, version, os_family, device = classify(user_agent)
        return Client(user_agent, browser, version, os_family, device, (report or {}).get("window"),
                      (report or {}).get("screen"))

    # -- the decision ----------------------------------------------------------------------------

    async def _conclude(self, p: Participant, step: ScreenStep, client: Client, failed: tuple | None) -> None:
        """Inside ``p``'s transition: the researcher's own check (when the declared ones passed),
        then in or out, recorded, the hook called, the next view sent."""
        if failed is None:
            try:
                failed = await self._own_check(p, step, client)
            except Exception as exc:  # the researcher's check: the participant must not pay for it
                view = await self.flow._failed(p, step, exc)  # status error, with the error code
                await self.flow.emit("view", view, room=f"p:{p.id}")
                return
        measures = client.measures()
        hook = self.flow.registry.hook
        if failed is None:
            await self.flow.event(p, "screened", {"passed": True, **measures})
            hook("mugkit_participant_screened", participant=participant_info(p), step=step.name, passed=True,
                 reason=None, detail=measures)
            await self.flow.registry.move(p, p.index + 1)
            await self.flow.push(p)
            return
        reason, text = failed
        await self.flow.screen_out(p, reason, text, {"step": step.name, **measures})
        # After it is stored, as every hook: the participant's status and reason are set.
        hook("mugkit_participant_screened", participant=participant_info(p), step=step.name, passed=False,
             reason=reason, detail=measures)

    async def _own_check(self, p: Participant, step: ScreenStep, client: Client) -> tuple | None:
        kwargs: dict = {}
        if "participant" in step.params:
            kwargs["participant"] = p.who()
        if "answers" in step.params:
            rows = await self.flow.storage.participant_answers(p.id)
            kwargs["answers"] = {r["question"]: r["value"] for r in rows}
        if "client" in step.params:
            kwargs["client"] = client
        verdict = step.fn(**kwargs)
        if verdict is None or verdict is True:
            return None
        if verdict is False:
            return "check", "Sorry: you do not meet this study's requirements to take part."
        if isinstance(verdict, str) and verdict.strip():
            return "check", verdict
        raise TypeError(f"{step.location()}: {step.name} returned {verdict!r}; a screening function returns None or "
                        f"True (let in), or a text or False (turn away)")
