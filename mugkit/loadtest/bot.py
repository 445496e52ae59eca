"""A protocol bot: one simulated participant speaking the browser client's socket.io protocol
(:mod:`mugkit.web.protocol`) through a whole flow — pages, consent, surveys, waitrooms, games,
completion — and writing down what it did (:class:`~mugkit.loadtest.log.BotLog`).

A bot never hangs. It is *stuck* when nothing moves on for ``Bounds.stuck_after`` seconds (no new
view, no frame, no acknowledgement; in a waitroom, the waitroom's own timeout comes first), when a
game runs far past its length, or when the run's deadline passes; it is *failed* when the server
refuses what a browser would do (valid answers rejected, invalid ones accepted, a lost connection,
a refused entry). Either way it ends with the step it was at.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from ..web.entry import prolific_like
from .answers import invalid_answers, valid_answers
from .log import BotLog, GameLog, Outcome
from .peer_runtime import PEER_EVENTS
from .players import Player, make_player
from .presence import BotPresence
from .screening import ScreenPlan

__all__ = ["Bounds", "ProtocolBot", "Stuck", "Failed", "GAME_PLAYERS"]

def _browser_player(view: dict, *args: Any) -> Player:
    if view.get("peer") is not None:  # a browser game with several humans: one peer of it
        from .peer_runtime import PeerRuntime

        return PeerRuntime(view, *args)
    from .browser_runtime import BrowserRuntime

    return BrowserRuntime(view, *args)


#: ``runtime`` of a game view → ``(view, step, link, log, rng, experiment) -> Player``.
GAME_PLAYERS: dict[str, Any] = {"server": make_player, "browser": _browser_player}


@dataclass(frozen=True)
class Bounds:
    """How long a bot waits before it calls itself stuck (seconds).

    Attributes:
        stuck_after: longest time with no progress.
        connect: longest time to connect and get the first view.
        deadline: ``time.monotonic()`` after which every bot still going is stuck (the run's
            ``--duration``), or None.
    """

    stuck_after: float = 60.0
    connect: float = 30.0
    deadline: float | None = None


#: How a bot's failure reason starts when the server took answers it should have refused.
ACCEPTED_INVALID = "the server accepted invalid answers"


class Stuck(Exception):
    """The bot made no progress within its bound; the message says what it waited for."""


class Failed(Exception):
    """The server did something a browser would not accept; the message says what."""


class ProtocolBot:
    """One simulated participant.

    Args:
        number: the bot's number in the run (seeds its choices, names its panel id).
        url: the server's base URL.
        experiment: the experiment's name (its path on the server).
        collected: the collected experiment (its steps' key combinations and lengths, its
            policies for browser-run games), or None when unknown.
        run_id: the run's id, part of the bot's panel id (so runs never collide).
        invalid: first send invalid survey answers, which the server must reject.
        bounds: when the bot calls itself stuck.
        reload: reload the page once during the bot's first game (20–60 % into it): the
            connection closes and a new one comes back with the identity the server gave, as
            a reloaded page does; the game resumes (a browser-run game re-simulates the episode
            from the server's record).
        reconnect: a connection the server drops is opened again, as a page's socket.io client
            does by itself: the page (its game too) goes on. Without it a dropped connection fails
            the bot. (For runs that kill a server process: its participants reconnect to another.)
        screen: what the bot shows an entry screening (mugkit/loadtest/screening.py): a browser's
            User-Agent and window, and whether it is built to fail (``--screen-fail``).
    """

    def __init__(self, number: int, url: str, experiment: str, collected: Any, *, run_id: str,
                 invalid: bool = False, bounds: Bounds = Bounds(), reload: bool = False, reconnect: bool = False,
                 screen: ScreenPlan = ScreenPlan()):
        self.url, self.experiment, self.collected = url, experiment, collected
        self.screen = screen
        self.steps = {s.name: s for s in collected.steps} if collected is not None else {}
        self.invalid, self.bounds, self.reconnect = invalid, bounds, reconnect
        self._reconnecting = asyncio.Lock()
        self.rng = random.Random(f"{run_id}:{number}")
        self.query = {"PROLIFIC_PID": prolific_like(f"lt-{run_id}-{number}"), "STUDY_ID": "loadtest",
                      "SESSION_ID": run_id}
        self.log = BotLog(number, experiment, screen_fail=screen.fail)
        self.screened_at: int | None = None  # the index of the screening step it reported at
        self.reload_at: float | None = None if reload else float("inf")  # inf: never
        self.identity: dict = {}
        self.carry: Any = None          # what a reloaded page kept of its game (unacknowledged rows)
        self.generation = 0             # of the connection: events of a closed one are ignored
        self.sio = self._client()
        self.views: asyncio.Queue = asyncio.Queue()
        self.player: Player | None = None
        self.player_task: asyncio.Task | None = None
        self.presence: BotPresence | None = None   # its reports in a monitored game
        self.early: list = []           # frames that arrived before their game view
        self.progress_at = time.monotonic()
        self.last: dict = {}

    def _client(self) -> Any:
        """A socket.io client with the bot's handlers (a new one per connection)."""
        import socketio

        sio = socketio.AsyncClient(reconnection=False)
        for event, handler in (("view", self._on_view), ("frame", self._on_frame), ("identity", self._on_identity),
                               ("waitroom", self._on_other), ("error", self._on_error),
                               ("screen_ping", self._on_ping)):
            sio.on(event, handler)
        for event in PEER_EVENTS:
            sio.on(event, self._peer_handler(event))
        for event in ("monitor_warning", "monitor_notice"):
            sio.on(event, self._on_other)
        sio.on("monitor_ping", self._on_monitor_ping)
        generation = self.generation

        async def disconnected(*args: Any) -> None:
            if generation == self.generation:
                await self._on_disconnect(generation)

        sio.on("disconnect", disconnected)
        return sio

    # -- socket handlers (they may run concurrently: socket.io runs each message as a task) ---

    def moved(self) -> None:
        """Something moved on: the stuck clock starts again."""
        self.progress_at = time.monotonic()

    async def _on_view(self, view: dict) -> None:
        self.log.received += 1
        self.moved()
        if self.player is not None and view.get("game") != self.player.game:
            self._stop_player()
        if view.get("kind") == "game" and self.player is None:
            try:
                self._start_player(view)
            except Exception as exc:  # raised here it would vanish into socket.io's task
                view = {"kind": "_failed", "reason": f"cannot play game {view.get('game')}: {exc}", "view": view}
        await self.views.put(view)

    async def _on_frame(self, frame: dict) -> None:
        self.log.received += 1
        if self.player is not None and frame.get("game") == self.player.game:
            await self.player.on_frame(frame)
        elif len(self.early) < 100:
            self.early.append(frame)

    async def _on_identity(self, data: dict) -> None:
        self.log.received += 1
        self.log.participant = data.get("participant")
        self.identity = dict(data)

    def _peer_handler(self, event: str):
        async def handler(data: Any = None) -> None:
            self.log.received += 1
            player = self.player
            if player is not None and hasattr(player, "on_peer"):
                try:
                    await player.on_peer(event, data)
                except Exception as exc:  # raised here it would vanish into socket.io's task
                    self.views.put_nowait({"kind": "_failed", "reason": f"{event}: {type(exc).__name__}: {exc}"})
        return handler

    async def _on_other(self, data: Any = None) -> None:
        self.log.received += 1

    async def _on_monitor_ping(self, data: Any = None) -> None:
        self.log.received += 1
        if self.presence is not None:
            await self.presence.ping(data)

    async def _on_ping(self, data: Any = None) -> dict:
        """The server's round-trip ping at a screening step: answered at once, or (built to fail
        with ``no_pongs``) only after the server stopped waiting."""
        self.log.received += 1
        if self.screen.fail == "no_pongs":
            from ..web.screening import PING_TIMEOUT

            await asyncio.sleep(PING_TIMEOUT + 0.5)
        return {}

    async def _on_error(self, data: Any = None) -> None:
        self.log.received += 1
        self.log.errors.append((self.log.step, data.get("message") if isinstance(data, dict) else str(data)))

    async def _on_disconnect(self, generation: int = 0) -> None:
        if self.log.outcome is None:
            await self.views.put({"kind": "_disconnected", "generation": generation})

    async def emit(self, event: str, data: dict) -> None:
        """A message without acknowledgement (``keys``); none once the bot has ended (a frame handled
        while it disconnects)."""
        if self.log.outcome is not None or not await self._ready():
            return
        self.log.sent += 1
        await self.sio.emit(event, data)

    async def _ready(self) -> bool:
        """Waits (up to the connect bound) until the connection's namespace is open: after a reload
        the server's first messages (the game view) come before the client counts as connected."""
        deadline = time.monotonic() + self.bounds.connect
        while "/" not in self.sio.namespaces:
            if time.monotonic() > deadline or self.log.outcome is not None:
                return False
            await asyncio.sleep(0.01)
        return True

    async def call(self, event: str, data: dict) -> dict:
        """A message with an acknowledgement; its round trip is a latency sample."""
        from socketio.exceptions import TimeoutError as NoAck

        if not await self._ready():
            raise Failed(f"{event} could not be sent: not connected")
        self.log.sent += 1
        sent = time.monotonic()

        while True:
            generation = self.generation
            try:
                reply = await self.sio.call(event, data, timeout=self._ack_timeout())
            except NoAck:
                if not self.reconnect or time.monotonic() - sent > self.bounds.stuck_after:
                    raise Stuck(f"{event} not acknowledged within {self.bounds.stuck_after:g} s") from None
                await self._reconnect(generation)  # sent again, on a new connection if it dropped
                continue
            except Exception as exc:  # the connection dropped
                if not self.reconnect:
                    raise Failed(f"{event} could not be sent: {type(exc).__name__}: {exc}") from None
                await self._reconnect(generation)  # sent again once a connection is open, as a page's client does
                continue
            if not (isinstance(reply, dict) and reply.get("retry") is True):
                break
            # The server asks to try again (its shared state is briefly down, or the process running
            # the game did not answer), as a page does.
            self.log.retried += 1
            if time.monotonic() - sent > self.bounds.stuck_after:
                raise Stuck(f"{event} answered 'try again' for {self.bounds.stuck_after:g} s: {reply.get('error')}")
            await asyncio.sleep(0.5)
        self.log.latencies.append((event, time.monotonic() - sent))
        self.log.received += 1
        self.moved()
        return reply if isinstance(reply, dict) else {"ok": False, "error": f"reply {reply!r}"}

    def _ack_timeout(self) -> float:
        """How long a call waits for its acknowledgement: a reconnecting bot gives up sooner and
        sends it again (an acknowledgement lost with its connection never comes)."""
        return min(self.bounds.stuck_after, 10.0) if self.reconnect else self.bounds.stuck_after

    async def _reconnect(self, generation: int) -> None:
        """The connection of ``generation`` dropped (or an acknowledgement did not come): a new
        one, with the identity the server gave (the page and its game go on), tried until the
        connect bound. Nothing to do when another task reconnected since, or it is still open."""
        async with self._reconnecting:
            if self.generation != generation or self.sio.connected:
                return
            self.log.reconnects += 1
            self.generation += 1
            await self._disconnect()
            deadline = time.monotonic() + self.bounds.connect
            while True:
                self.sio = self._client()
                try:
                    await self._connect()
                    return
                except (Failed, Stuck):
                    await self._disconnect()
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)

    # -- games ---------------------------------------------------------------------------------

    def _start_player(self, view: dict) -> None:
        runtime = view.get("runtime", "server")
        factory = GAME_PLAYERS.get(runtime)
        if factory is None:
            raise ValueError(f"runtime {runtime!r} has no bot player")
        game = self.log.games.setdefault(view["game"], GameLog(view["game"], view.get("step"), view.get("you"), runtime))
        self.player = factory(view, self.steps.get(view.get("step")), self, game, self.rng, self.collected)
        self.player.resuming, self.carry = self.carry, None
        if self.reload_at is None:  # the first game of a bot that reloads: when
            self.reload_at = time.monotonic() + self._reload_delay(self.steps.get(view.get("step")))
        self.player_task = asyncio.get_running_loop().create_task(self.player.run())
        self.player_task.add_done_callback(self._player_ended)
        if isinstance(view.get("monitor"), dict):
            self.presence = BotPresence(view["game"], view["monitor"], self.emit).start()
        early, self.early = [f for f in self.early if f.get("game") == view["game"]], []
        for frame in early:
            asyncio.get_running_loop().create_task(self.player.on_frame(frame))

    def _player_ended(self, task: asyncio.Task) -> None:
        """A player whose clock raised ends the bot: stuck when it waited too long, else failed."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        kind = "_stuck" if isinstance(exc, Stuck) else "_failed"
        reason = str(exc) if isinstance(exc, (Stuck, Failed)) else f"{type(exc).__name__}: {exc}"
        self.views.put_nowait({"kind": kind, "reason": reason})

    def _stop_player(self) -> None:
        if self.presence is not None:
            self.presence.stop()
            self.presence = None
        if self.player is not None:
            self.player.log.over = True
            self.player.stop()
        # A player ending the game itself (game_over) gets the next view before its acknowledgement:
        # let it take the acknowledgement (its latency) rather than cancel it.
        if self.player_task is not None and not (self.player is not None and self.player.finishing):
            self.player_task.cancel()
        self.player, self.player_task = None, None

    # -- the flow ------------------------------------------------------------------------------

    async def run(self) -> BotLog:
        """Goes through the flow until a final view, a failure or being stuck; returns the log."""
        try:
            await self._connect()
            while self.log.outcome is None:
                await self._handle(await self._next_view())
        except Stuck as exc:
            self.log.outcome = Outcome("stuck", self.log.step, str(exc), self.last.get("kind", ""))
        except Failed as exc:
            self.log.outcome = Outcome("failed", self.log.step, str(exc), self.last.get("kind", ""))
        except Exception as exc:  # a bug or the unexpected: reported, never raised out of a load run
            self.log.outcome = Outcome("failed", self.log.step, f"{type(exc).__name__}: {exc}", self.last.get("kind", ""))
        finally:
            self._stop_player()
            self.log.finished_at = time.monotonic()
            await self._disconnect()
        return self.log

    async def _disconnect(self) -> None:
        """Closes the connection, giving up after 5 s (a server gone already is no error here)."""
        try:
            await asyncio.wait_for(self.sio.disconnect(), 5)
        except Exception:
            pass

    async def _connect(self) -> None:
        auth = {"experiment": self.experiment, "query": self.query, "participant": self.identity.get("participant"),
                "resume": self.identity.get("resume")}
        try:
            # wait_timeout: as long as the page's socket.io client waits for the server's answer
            # (its default 20 s; python-socketio's 1 s would fail a server that waits out a short
            # database restart before it answers)
            await asyncio.wait_for(self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io",
                                                    auth=auth, wait_timeout=self.bounds.connect,
                                                    headers={"User-Agent": self.screen.user_agent}),
                                   self.bounds.connect)
        except asyncio.TimeoutError:
            raise Stuck(f"no connection within {self.bounds.connect:g} s") from None
        except Exception as exc:
            raise Failed(f"cannot connect: {exc}") from None
        if self.log.connected_at is None:
            self.log.connected_at = time.monotonic()
        self.moved()

    def _reload_delay(self, step: Any) -> float:
        """Seconds into the game to reload: 20–60 % of its length when known, else 1–3 s."""
        options = getattr(step, "options", None)
        if options is None or options.max_steps is None or options.turn_based:
            return self.rng.uniform(1.0, 3.0)
        return self.rng.uniform(0.2, 0.6) * options.episodes * options.max_steps / options.fps

    async def _reload(self) -> None:
        """A page reload: the connection closes, the page keeps what a browser keeps (identity,
        unacknowledged rows), and a new connection comes back; the server resends the game view."""
        self.reload_at = float("inf")
        self.log.reloads += 1
        carry = self.player.carry() if self.player is not None else None
        self._stop_player()
        self.generation += 1
        await self._disconnect()
        self.carry, self.last = carry, {}  # the same game view comes again: a new player for it
        self.sio = self._client()
        await self._connect()

    async def _come_back(self) -> None:
        """Opens the page again a second later, as a participant told to reload does."""
        self.log.retried += 1
        await asyncio.sleep(1.0)
        self.generation += 1
        await self._disconnect()
        self.last = {}
        self.sio = self._client()
        await self._connect()

    def _allowed(self) -> tuple[float, str]:
        """How long the bot may go without progress now, and what it is waiting for."""
        kind = self.last.get("kind")
        if kind == "waitroom":
            return float(self.last.get("timeout") or 0) + self.bounds.stuck_after, "a partner or the waitroom timeout"
        if kind == "game":
            return self.bounds.stuck_after, "the game's next frame or its end"
        if kind == "screen":
            return float(self.last.get("timeout") or 0) + self.bounds.stuck_after, "the screening's decision"
        return self.bounds.stuck_after, "the next step" if self.last else "the first view"

    async def _next_view(self) -> dict:
        while True:
            allowed, waiting_for = self._allowed()
            now = time.monotonic()
            if self.bounds.deadline is not None and now > self.bounds.deadline:
                raise Stuck(f"still waiting for {waiting_for} when the run's --duration ended")
            if now - self.progress_at > allowed:
                raise Stuck(f"waited {allowed:g} s for {waiting_for}")
            self._check_game_length(now)
            if self.last.get("kind") == "game" and now >= (self.reload_at or float("inf")):
                await self._reload()
                continue
            wait = min(1.0, max(0.01, (self.reload_at or float("inf")) - now))
            try:
                view = await asyncio.wait_for(self.views.get(), wait)
            except asyncio.TimeoutError:
                continue
            if view.get("kind") == "_disconnected":
                if self.reconnect:
                    await self._reconnect(view["generation"])
                    continue
                raise Failed("the server closed the connection")
            if view.get("kind") == "_failed":
                if "view" in view:  # the game view it could not play: that is where it failed
                    self.last = view["view"]
                    self.log.view(self.last)
                raise Failed(view["reason"])
            if view.get("kind") == "_stuck":
                raise Stuck(view["reason"])
            if self._same_as_last(view):
                continue
            self.last = view
            self.log.view(view)
            return view

    def _same_as_last(self, view: dict) -> bool:
        keys = ("kind", "index", "game")
        return bool(self.last) and all(view.get(k) == self.last.get(k) for k in keys)

    def _check_game_length(self, now: float) -> None:
        """A game whose length is known that runs twice as long (plus the bound) is stuck."""
        step = self.steps.get(self.last.get("step")) if self.last.get("kind") == "game" else None
        options = getattr(step, "options", None)
        if options is None or options.max_steps is None or getattr(options, "turn_based", False):
            return
        expected = options.episodes * (options.max_steps + 1) / options.fps
        started = self.log.views[-1][0]
        if now - started > 2 * expected + self.bounds.stuck_after:
            raise Stuck(f"the game runs {now - started:.0f} s, its {options.episodes} episode(s) of "
                        f"{options.max_steps} frames take {expected:.0f} s")

    async def _handle(self, view: dict) -> None:
        kind = view.get("kind")
        let_in = self.screened_at is not None and kind != "ended" and view.get("index") != self.screened_at
        if let_in and self.screen.fail:
            raise Failed(f"built to fail the screening ({self.screen.fail}) but let in")
        if kind == "ended" and view.get("status") == "screened_out":
            # The study's own check may turn away a bot for its random answers: a path, not a failure.
            by_check = view.get("reason") == "check"
            if not self.screen.fail and not by_check:
                raise Failed(f"screened out ({view.get('reason')}): {str(view.get('html'))[:160]}")
            self.log.outcome = Outcome("completed", self.log.step, code=view.get("code"),
                                       kind="screened_out" if self.screen.fail else "screened_out by the study's check")
        elif kind == "screen":
            await self._screen(view)
        elif kind in ("page", "consent"):
            extra = {"agree": True} if kind == "consent" else {}
            reply = await self.call("advance", {"index": view["index"], **extra})
            if not reply.get("ok"):
                raise Failed(f"the server refused to leave the {kind}: {reply.get('error')}")
            if kind == "consent":
                self.log.consents.append(view.get("step"))
        elif kind == "survey":
            await self._survey(view)
        elif kind in ("completion", "ended"):
            self.log.outcome = Outcome("completed", self.log.step, kind=kind, code=view.get("code"))
        elif kind in ("refused", "preview"):
            raise Failed(f"the server showed a {kind!r} view: {str(view.get('html'))[:120]}")
        elif kind == "problem":
            raise Failed(f"the study failed on its side (reference {view.get('ref')}): see the server's log")
        elif kind == "paused" and view.get("reason") == "unavailable":
            await self._come_back()  # "reload this page in a minute": the server could not take it in
        elif kind == "paused":
            pass  # the server sends the step again when it can go on
        elif kind not in ("waitroom", "game"):
            raise Failed(f"unknown view kind {kind!r}")

    async def _screen(self, view: dict) -> None:
        """A screening step: the page's report (none when built to fail ``silent``); the server
        pings, decides and sends the next view."""
        self.screened_at = view.get("index")
        if self.screen.fail == "silent":
            return  # says nothing: the server must screen it out at the step's timeout
        w, h = self.screen.window
        reply = await self.call("screen_report", {"index": view["index"], "window": [w, h], "screen": [w, h]})
        if not reply.get("ok") and not reply.get("stale"):
            raise Failed(f"the server refused the screening report: {reply.get('error')}")

    async def _survey(self, view: dict) -> None:
        model = view.get("survey")
        if self.invalid:
            bad, what = invalid_answers(model, self.rng, view.get("conditions"))
            reply = await self.call("advance", {"index": view["index"], "answers": bad})
            if reply.get("ok"):
                raise Failed(f"{ACCEPTED_INVALID} ({what})")
            self.log.rejected.append((view.get("step"), what, reply.get("error")))
        answers = valid_answers(model, self.rng, view.get("conditions"))
        reply = await self.call("advance", {"index": view["index"], "answers": answers})
        if not reply.get("ok"):
            raise Failed(f"the server rejected valid answers {answers}: {reply.get('error')}")
        self.log.answers.append((view.get("step"), view.get("index"), answers))
