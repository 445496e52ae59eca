"""In-game monitoring on the server: hidden tabs, idle players, slow connections (``mk.Monitor``).

One :class:`Watch` per monitored game, one :class:`Seat` per human in it. The server decides
from what it observes itself, never from a verdict the page sends:

- **presence**: the page sends ``presence {game, hidden, focused}`` every second during the
  game, and at once when it changes. A tab hidden (or, with ``focus_lost``, a window without
  focus) starts the away clock; so does silence: a page that sent no heartbeat for
  :data:`~mugkit.runtime.monitor.HEARTBEAT_GAP` seconds is away since its last one (reason
  ``unresponsive``). A client that stops reporting is not thereby "fine".
- **input**: key messages with a press or release (server games), rows whose keys changed
  (browser games); the idle clock runs only while the game waits for the player's input (not on
  its ready, countdown or round-over screens, not while the game pauses for someone away).
- **round trips**: the server sends ``monitor_ping {game, id}`` every ``ping_seconds``; the page
  answers ``monitor_pong {game, id}``. An unanswered ping counts as slow; ``k`` slow ones of the
  last ``n`` exclude (reason ``rtt``, or ``unresponsive`` when none was answered at all). A pong
  is matched to its own ping's random id: it cannot come before the ping.

A participant with no connection at all is left to the game's grace clock (``--grace``): their
clocks pause. ``warn_seconds`` before an exclusion the page gets ``monitor_warning {game, kind,
seconds_left, text}`` (and ``{game, kind, clear: true}`` once it is over); both are stored as
events (``monitor_warning``, ``monitor_cleared``). Then :meth:`mugkit.web.flow.Flow.exclude`.

Browser games with several humans whose step sets no monitor keep one rule of their own, the
``hidden_seconds`` limit (``mugkit serve --limit``): a tab hidden that long ends the game for
everyone (outcome ``hidden``), on this same clock (:func:`peer_hidden_rule`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ..runtime.monitor import HEARTBEAT_GAP, Monitor

__all__ = ["Monitors", "Watch", "Seat", "peer_hidden_rule", "partner_notice", "exclusion_text", "TICK_SECONDS",
           "WARNING_KINDS", "MAX_SEAT_EVENTS"]

log = logging.getLogger("mugkit.monitor")

#: Seconds between two looks at every monitored game.
TICK_SECONDS = 0.25
#: The ``kind`` of a warning (and the reason key of the exclusion it warns of).
WARNING_KINDS = ("tab_hidden", "unresponsive", "idle", "rtt")
#: Warning events stored per participant and game at most (a page hiding and showing on purpose
#: must not fill the database).
MAX_SEAT_EVENTS = 100

_WARNINGS = {
    "tab_hidden": "Please come back to the game: its window is hidden. If it stays hidden, the study ends for you "
                  "in {s} seconds.",
    "unresponsive": "Your browser has stopped answering the study server. If it does not answer again, the study "
                    "ends for you in {s} seconds.",
    "unfocused": "Please come back to the game: its window is not in front. If it stays in the background, the "
                 "study ends for you in {s} seconds.",
    "idle": "Are you still there? Please play on: if you press no key, the study ends for you in {s} seconds.",
    "rtt": "Your connection to the study server is too slow for the game. If it stays this slow, the study ends "
           "for you.",
}


def exclusion_text(reason: str, m: Monitor) -> str:
    """What an excluded participant reads (``participants.reason_text``)."""
    k, n = m.rtt_violations
    if reason == "tab_hidden":
        where = "hidden or in the background" if m.focus_lost else "hidden"
        return f"The game's window was {where} for more than {m.hidden_seconds:g} seconds, so the game could not " \
               f"go on with you."
    if reason == "idle":
        return f"No key was pressed for {m.idle_seconds:g} seconds during the game, so the game could not go on " \
               f"with you."
    if reason == "rtt":
        return f"Your connection to the study server was too slow for the game (slower than {m.max_rtt_ms:g} ms in " \
               f"{k} of {n} measurements)."
    return "Your browser stopped answering the study server during the game, so the game could not go on with you."


def partner_notice(takeover: bool = False) -> dict:
    """The notice a partner of an excluded player reads before their next step (a ``problem`` of
    their next view: protocol.py), or in the game when a policy plays on (``monitor_notice``)."""
    if takeover:
        return {"title": "Your partner left the game",
                "html": "<p>Your partner could not go on with the game. The computer plays for them from now on; "
                        "please play on.</p>"}
    return {"title": "Your partner left the game",
            "html": "<p>Your partner could not go on with the game, so it ended early. This is not your fault: "
                    "you can go on with the study.</p>", "button": "Continue"}


@dataclass
class Seat:
    """One human of a monitored game, and what the server has seen of their page."""

    pid: str
    agent: Any
    seen_at: float                      # their last heartbeat (the watch's start before the first)
    away_at: float | None = None        # since when their page says it is hidden (or unfocused)
    hidden: bool = False
    focused: bool = True
    idle: float = 0.0                   # seconds of play without input
    playing: bool = False               # rows came (browser games): the game plays in their page
    last_keys: Any = None               # their newest row's keys (browser games)
    pending: dict = field(default_factory=dict)   # ping id -> monotonic time sent
    samples: deque = field(default_factory=deque)  # round trips in ms (None: unanswered), newest last
    warned: set = field(default_factory=set)
    events: int = 0
    gone: bool = False                  # excluded (or their agent taken over): not watched any more


@dataclass
class Watch:
    """A monitored game.

    ``playing(seat)``: whether the game waits for that human's input now (the idle clock runs);
    ``alive()``: whether the game still runs; ``on_limit(seat, reason)``: a rule's own action
    instead of exclusion (:func:`peer_hidden_rule`), or None.
    """

    game_id: str
    step: Any
    repetition: int
    rule: Monitor
    seats: dict                         # participant id -> Seat
    playing: Callable[[Seat], bool]
    alive: Callable[[], bool]
    heartbeats: bool = True             # missing heartbeats count as away
    warn: bool = True
    on_limit: Callable[[Seat, str], Awaitable] | None = None
    pinged_at: float = 0.0


def peer_hidden_rule(hidden_seconds: float) -> Monitor:
    """The rule of browser games with several humans whose step sets no ``monitor=``: a tab
    hidden past ``hidden_seconds`` (a server limit) ends the game; nothing else is watched."""
    return Monitor(hidden_seconds=hidden_seconds, idle_seconds=None, warn_seconds=0)


class Monitors:
    """Every monitored game of this process.

    Args:
        emit: ``(event, data, room=...) -> awaitable``: the socket layer's emit.
        exclude: ``(participant id, reason, text, detail) -> awaitable``: excludes them (the flow).
        store: ``(participant id, step, repetition, kind, detail) -> awaitable``: stores an event.
        connected: ``participant id -> bool``: they have a connection open (on any process).
    """

    def __init__(self, emit: Callable[..., Awaitable], exclude: Callable[..., Awaitable],
                 store: Callable[..., Awaitable], connected: Callable[[str], bool]):
        self.emit, self.exclude, self.store, self.connected = emit, exclude, store, connected
        self.watches: dict[str, Watch] = {}
        self._task: asyncio.Task | None = None
        self._work: set[asyncio.Task] = set()
        self._last = time.monotonic()

    # -- games in and out ------------------------------------------------------------------

    def watch(self, game_id: str, step: Any, repetition: int, humans: dict, rule: Monitor, *,
              playing: Callable[[Seat], bool], alive: Callable[[], bool], heartbeats: bool = True,
              warn: bool = True, on_limit: Callable[[Seat, str], Awaitable] | None = None) -> Watch:
        """Starts watching game ``game_id`` (``humans``: agent → participant id) under ``rule``."""
        now = time.monotonic()
        seats = {pid: Seat(pid, agent, seen_at=now) for agent, pid in humans.items()}
        watch = Watch(game_id, step, repetition, rule, seats, playing, alive, heartbeats, warn, on_limit, now)
        self.watches[game_id] = watch
        if self._task is None or self._task.done():
            self._last = now
            self._task = asyncio.get_running_loop().create_task(self._clock(), name="monitor")
        return watch

    def unwatch(self, game_id: str) -> None:
        self.watches.pop(game_id, None)

    def release(self, game_id: str, pid: str) -> None:
        """``pid`` is no longer watched in ``game_id`` (excluded; a policy plays their agent)."""
        watch = self.watches.get(game_id)
        seat = watch.seats.pop(pid, None) if watch is not None else None
        if seat is not None:
            seat.gone = True

    def seat(self, game_id: Any, pid: str) -> Seat | None:
        watch = self.watches.get(game_id) if isinstance(game_id, str) else None
        return watch.seats.get(pid) if watch is not None else None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for task in list(self._work):
            task.cancel()
        self.watches.clear()

    # -- what the pages and the games tell -------------------------------------------------

    async def message(self, pid: str, kind: str, data: Any) -> dict:
        """A page's ``presence`` or ``monitor_pong`` (protocol.py); the acknowledgement."""
        if not isinstance(data, dict) or not isinstance(data.get("game"), str):
            return {"ok": False, "error": f"{kind} must be an object with the game's id"}
        watch = self.watches.get(data["game"])
        seat = watch.seats.get(pid) if watch is not None else None
        if seat is None:
            return {"ok": False, "stale": True, "error": "that game is not monitored for you (it is over, or not yours)"}
        if kind == "presence":
            return self._presence(watch, seat, data)
        return await self._pong(watch, seat, data)

    def _presence(self, watch: Watch, seat: Seat, data: dict) -> dict:
        hidden, focused = data.get("hidden"), data.get("focused", True)
        if not isinstance(hidden, bool) or not isinstance(focused, bool):
            return {"ok": False, "error": "presence must carry hidden: true | false and focused: true | false"}
        self.presence(watch, seat, hidden, focused)
        return {"ok": True}

    def presence(self, watch: Watch, seat: Seat, hidden: bool, focused: bool = True, heartbeat: bool = True) -> None:
        """``seat``'s page is hidden or shown (focused or not); ``heartbeat``: it is a heartbeat."""
        now = time.monotonic()
        if heartbeat:
            seat.seen_at = now
        seat.hidden, seat.focused = hidden, focused
        away = hidden or (watch.rule.focus_lost and not focused)
        if away and seat.away_at is None:
            seat.away_at = now
        elif not away:
            seat.away_at = None

    def hidden(self, game_id: str, pid: str, hidden: bool) -> None:
        """A browser game's peer said its tab is hidden or shown (``peer_status``: not a heartbeat)."""
        watch = self.watches.get(game_id)
        seat = watch.seats.get(pid) if watch is not None else None
        if seat is not None:
            self.presence(watch, seat, hidden, seat.focused, heartbeat=False)

    async def _pong(self, watch: Watch, seat: Seat, data: dict) -> dict:
        sent = seat.pending.pop(data.get("id"), None) if isinstance(data.get("id"), str) else None
        if sent is None:  # never sent, answered already, or counted as unanswered: nothing to learn
            return {"ok": False, "stale": True, "error": "monitor_pong.id names no ping waiting for an answer"}
        await self._sample(watch, seat, (time.monotonic() - sent) * 1000.0)
        return {"ok": True}

    def keys(self, game_id: str, pid: str) -> None:
        """A key went down or up in ``pid``'s server game: input."""
        seat = self.seat(game_id, pid)
        if seat is not None:
            self._input(game_id, seat)

    def rows(self, game_id: str, pid: str, agent: Any, rows: list) -> None:
        """New stored rows of ``pid``'s browser game: a human row whose keys differ from the one
        before is input; the first rows say the game plays in their page."""
        seat = self.seat(game_id, pid)
        if seat is None:
            return
        seat.playing = True
        for row in rows:
            if row.agent != agent or row.frame == 0:
                continue
            keys = tuple(row.keys or ())
            if keys != seat.last_keys and (keys or seat.last_keys):
                self._input(game_id, seat)
            seat.last_keys = keys

    def _input(self, game_id: str, seat: Seat) -> None:
        seat.idle = 0.0
        self._clear(self.watches[game_id], seat, "idle")

    # -- the clock -------------------------------------------------------------------------

    async def _clock(self) -> None:
        while self.watches:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            # A stalled loop (a busy machine) must not count its stall as a participant's idle time.
            dt, self._last = min(now - self._last, 2 * TICK_SECONDS), now
            for watch in list(self.watches.values()):
                try:
                    if not watch.alive():
                        self.unwatch(watch.game_id)
                        continue
                    await self._look(watch, now, dt)
                except Exception:  # one game's failure must not stop the others' monitoring
                    log.exception("game %s: monitoring failed once; it goes on", watch.game_id)

    async def _look(self, watch: Watch, now: float, dt: float) -> None:
        rule = watch.rule
        ping = rule.max_rtt_ms is not None and now - watch.pinged_at >= rule.ping_seconds
        if ping:
            watch.pinged_at = now
        for seat in list(watch.seats.values()):
            if seat.gone:
                continue
            if not self.connected(seat.pid):  # no connection: the game's grace clock decides
                seat.seen_at, seat.pending = now, {}
                seat.away_at = now if seat.away_at is not None else None
                continue
            if rule.hidden_seconds is not None:
                await self._away(watch, seat, now)
            if rule.idle_seconds is not None and not seat.gone and watch.playing(seat):
                seat.idle += dt
                await self._limit(watch, seat, "idle", rule.idle_seconds - seat.idle)
            if rule.max_rtt_ms is not None and not seat.gone:
                await self._expire_pings(watch, seat, now)
                if ping and not seat.gone:
                    await self._ping(watch, seat, now)

    async def _away(self, watch: Watch, seat: Seat, now: float) -> None:
        silent = watch.heartbeats and now - seat.seen_at > HEARTBEAT_GAP
        if seat.away_at is not None:
            kind, since = "tab_hidden", seat.away_at
        elif silent:  # away since its silence was noticed: the warning comes before the end
            kind, since = "unresponsive", seat.seen_at + HEARTBEAT_GAP
        else:
            self._clear(watch, seat, "tab_hidden")
            self._clear(watch, seat, "unresponsive")
            return
        self._clear(watch, seat, "unresponsive" if kind == "tab_hidden" else "tab_hidden")
        await self._limit(watch, seat, kind, watch.rule.hidden_seconds - (now - since))

    async def _limit(self, watch: Watch, seat: Seat, kind: str, left: float) -> None:
        """Warns ``warn_seconds`` before the limit, excludes at it."""
        if left <= 0:
            await self._over(watch, seat, kind)
        elif left <= watch.rule.warn_seconds and watch.warn and kind not in seat.warned:
            await self._warn(watch, seat, kind, left)

    async def _ping(self, watch: Watch, seat: Seat, now: float) -> None:
        ping_id = secrets.token_urlsafe(9)  # unguessable: a pong cannot come before its ping
        seat.pending[ping_id] = now
        await self.emit("monitor_ping", {"game": watch.game_id, "id": ping_id}, room=f"p:{seat.pid}")

    async def _expire_pings(self, watch: Watch, seat: Seat, now: float) -> None:
        wait = max(2.0, watch.rule.ping_seconds, 3 * watch.rule.max_rtt_ms / 1000.0)
        for ping_id, sent in list(seat.pending.items()):
            if now - sent > wait and seat.pending.pop(ping_id, None) is not None:
                await self._sample(watch, seat, None)

    async def _sample(self, watch: Watch, seat: Seat, rtt_ms: float | None) -> None:
        k, n = watch.rule.rtt_violations
        seat.samples.append(None if rtt_ms is None else round(rtt_ms, 1))
        while len(seat.samples) > n:
            seat.samples.popleft()
        slow = [s for s in seat.samples if s is None or s > watch.rule.max_rtt_ms]
        if len(slow) >= k:
            await self._over(watch, seat, "rtt" if any(s is not None for s in slow) else "unresponsive")
        elif k >= 2 and len(slow) >= k - 1:
            if "rtt" not in seat.warned and watch.warn:
                await self._warn(watch, seat, "rtt", None)
        else:
            self._clear(watch, seat, "rtt")

    # -- warnings and the end --------------------------------------------------------------

    async def _warn(self, watch: Watch, seat: Seat, kind: str, left: float | None) -> None:
        seat.warned.add(kind)
        seconds = None if left is None else max(1, round(left))
        # A window behind another one (focus_lost) is not hidden: the warning says what it is.
        text = _WARNINGS["unfocused" if kind == "tab_hidden" and not seat.hidden else kind].format(s=seconds)
        await self.emit("monitor_warning", {"game": watch.game_id, "kind": kind, "seconds_left": seconds,
                                            "text": text}, room=f"p:{seat.pid}")
        await self._event(watch, seat, "monitor_warning", {"kind": kind, "seconds_left": seconds})

    def _clear(self, watch: Watch, seat: Seat, kind: str) -> None:
        if kind not in seat.warned or seat.gone:
            return
        seat.warned.discard(kind)
        self._spawn(self._cleared(watch, seat, kind))

    async def _cleared(self, watch: Watch, seat: Seat, kind: str) -> None:
        await self.emit("monitor_warning", {"game": watch.game_id, "kind": kind, "clear": True}, room=f"p:{seat.pid}")
        await self._event(watch, seat, "monitor_cleared", {"kind": kind})

    async def _event(self, watch: Watch, seat: Seat, kind: str, detail: dict) -> None:
        if seat.events >= MAX_SEAT_EVENTS:
            return
        seat.events += 1
        await self.store(seat.pid, watch.step.name, watch.repetition, kind, {"game": watch.game_id, **detail})

    async def _over(self, watch: Watch, seat: Seat, reason: str) -> None:
        """``seat`` passed a limit: excluded (or the rule's own action), in a task of its own (the
        exclusion ends or changes the game, which may take a while)."""
        seat.gone = True
        watch.seats.pop(seat.pid, None)
        detail = {"game": watch.game_id, "agent": seat.agent, "monitor": reason}
        if reason == "rtt" or (reason == "unresponsive" and seat.samples):
            detail["rtt_ms"] = list(seat.samples)
        log.info("game %s: participant %s passed the monitor's limit (%s)", watch.game_id, seat.pid, reason)
        if watch.on_limit is not None:
            self._spawn(watch.on_limit(seat, reason))
        else:
            self._spawn(self.exclude(seat.pid, reason, exclusion_text(reason, watch.rule), detail))

    def _spawn(self, work: Awaitable) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the monitor's action failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self._work.add(task)
        task.add_done_callback(self._work.discard)
