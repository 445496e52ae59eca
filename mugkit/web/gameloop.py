"""A game run on the server: a clock around the frame driver.

One :class:`ServerGame` per game (one participant or group, one step). It ticks the
:class:`~mugkit.runtime.driver.FrameDriver` at the step's ``fps`` on absolute deadlines — a late
tick is measured (``stats``), never slept away, so the game keeps its pace — feeds it the humans'
keys, streams each frame to the players' browsers and hands the step rows to storage. The deadlines
of every game of one frame rate lie on one grid of a few slots a period, so the process wakes a
few times a frame for all of them rather than once per game.

Keys arrive as ``keys`` messages with sequence numbers (socket.io handlers may run out of order):
an older message than the last one applied is ignored, and the presses and releases of every
message since the last tick are kept, so a tap between two frames still counts.

Around the frames, the screens of docs/participants.md: before the first episode the clock waits
until every human is ready (``ready=``; a ``ready`` message each, within ``waitroom_timeout``
seconds, else the game ends ``not_ready``), then counts down (``countdown=``); after each episode
but the last it waits while the round-over screen shows (``round_over=``) and counts down again.
Only humans whose page shows these screens are waited for (:attr:`Participant.screens`); a game
with none (bots) plays at once, as before.

When a human's connection drops, the game pauses for everyone (no frame is played without them,
so the rows have no gap) and resumes when they are back; after ``grace`` seconds away the game ends
with the outcome ``"abandoned"`` (one human) or ``"partner_left"``.

The game does not run ahead of its storage: while more than :data:`MAX_UNSAVED_SECONDS` of its
frames wait to be committed (a slow disk), it waits too. A write that fails ends the game with the
outcome ``"storage_failed"`` (a full disk pauses the whole study: mugkit/web/pause.py).
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import logging
import math
import time
from typing import Any, Awaitable, Callable, Hashable

from ..runtime.frames import FrameEncoder, KeyState
from ..runtime.rows import FrameResult
from .logs import GAME, PARTICIPANT
from .protocol import Keys
from .ticks import GameStats, TickTotals

__all__ = ["ServerGame", "GameStats", "GRACE_SECONDS", "IMAGE_FPS", "OUTCOME_REASONS", "SCREENS"]

log = logging.getLogger("mugkit.game")

#: Seconds a game waits for a human whose connection dropped.
GRACE_SECONDS = 20.0
#: A server-run game's outcome → ``games.outcome_reason``: who ended it, and why.
OUTCOME_REASONS = {"completed": "game_over", "abandoned": "grace_expired", "partner_left": "grace_expired",
                   "interrupted": "server_stop", "storage_failed": "storage_failed", "error": "env_raised",
                   "not_ready": "not_ready"}
#: The screens a ``ready`` message answers: "ready" (before the first episode) and "round_over".
SCREENS = ("ready", "round_over")
#: Most images per second an RGB-array env streams (each is a compressed JPEG).
IMAGE_FPS = 15
#: Seconds of frames whose rows may wait to be committed before the game waits for its storage.
MAX_UNSAVED_SECONDS = 2.0
#: How far one ``keys`` message's ``seq`` may run ahead of the last one applied. A page sends one
#: message per keyboard change, so a few messages lost or reordered jump a little; a forged huge
#: ``seq`` would make every later honest message look old, and is refused instead.
MAX_SEQ_STEP = 1000


#: The grid's slots a frame: games are dealt to them in turn, so the loop wakes a few times a frame
#: (each time for a share of the games) rather than once per game, or once for all of them in
#: one long burst that would delay the last games' frames.
GRID_SLOTS = 4
_slots = itertools.count()


def _on_grid(now: float, period: float, slot: int) -> float:
    """The first tick time after ``now`` on the process's grid of ``period`` in slot ``slot``."""
    phase = period * (slot % GRID_SLOTS) / GRID_SLOTS
    return (math.floor((now - phase) / period) + 1) * period + phase


class ServerGame:
    """Plays one game on the server.

    Args:
        game_id: its id (the socket.io room of its players is ``"g:" + game_id``).
        driver: the game's frame driver, rendering every frame.
        humans: agent id → participant id.
        emit: ``(event, data, room) -> awaitable``, the socket layer's emit.
        store_rows: ``(rows, t_server, t_client, late_ms) -> awaitable``, called with each frame's rows.
        on_end: ``(game, outcome) -> awaitable``, called once when the game is over.
        grace: seconds to wait for a human who dropped out.
        totals: the process's tick totals, which its ``stats`` feed too (mugkit/web/ticks.py).
    """

    def __init__(self, game_id: str, driver: Any, humans: dict, emit: Callable[..., Awaitable],
                 store_rows: Callable[..., Awaitable], on_end: Callable[..., Awaitable], *,
                 grace: float = GRACE_SECONDS, screens: Any = (), totals: TickTotals | None = None):
        self.game_id = game_id
        self.room = f"g:{game_id}"
        self.driver = driver
        self.humans = dict(humans)
        self.keys = {agent: KeyState() for agent in humans}
        self.emit, self.store_rows, self.on_end = emit, store_rows, on_end
        self.grace = grace
        self.fps = float(driver.options.fps)
        self.absent: dict[Hashable, float] = {}
        self.stats = GameStats(self.fps, totals)  # its clock's figures (mugkit/web/ticks.py)
        self.outcome: str | None = None
        self.frames = FrameEncoder(game_id, driver, self._image_url)
        self._last_image = 0.0
        self._task: asyncio.Task | None = None
        self._slot = next(_slots)  # its place on the grid of tick times (see _on_grid)
        self._pending_writes: set = set()
        self._done = False
        #: Agents whose page shows the screens around the game: the clock waits for them.
        self.screens = set(screens)
        #: The screen shown now (``{"screen": "ready" | "countdown" | "round_over", ...}``), or None
        #: while the game plays: a page that (re)joins gets it with its view.
        self.screen: dict | None = None
        #: Agents that answered the screen shown now; :attr:`ready_agents` those ready for the game.
        self._answered: set = set()
        self.ready_agents: set = set()
        self._all_answered: asyncio.Event | None = None
        #: The reference of the failure that ended the game (outcome ``error``), as in the log.
        self.error_ref: str | None = None
        #: Participant id -> ``{"agent", "reason"}`` of its humans excluded (mugkit/web/watching.py).
        self.excluded: dict = {}
        #: Agent (as text) -> who took over an excluded human's agent (``games.detail.takeovers``).
        self.takeovers: dict = {}

    # -- control ---------------------------------------------------------------------------

    def start(self, resumed: FrameResult | None = None) -> None:
        """Starts the clock (an asyncio task). ``resumed``: the last stored frame of a game taken
        over from a process that died (mugkit/web/takeover.py), whose driver was replayed up to it:
        that frame is shown again but not stored again, and after the countdown (the round-over
        screen first, when it ended an episode) play goes on from the next frame."""
        options = self.driver.options
        self._resumed = resumed if resumed is not None and (resumed.episode, resumed.frame) != (0, 0) else None
        if self.screens and options.ready and self._resumed is None:
            # Set now, so the players' first view (made before the clock's task runs) shows it.
            self.screen = {"game": self.game_id, "screen": "ready", "timeout": options.waitroom_timeout}
        # Frame 0 now, too: a player's page that joins before the clock's task runs gets it as
        # the snapshot, and shows the game behind the ready screen. An env whose reset() raises
        # ends the game in the task, as any crash does (outcome error, the players move on).
        self._start_failed: Exception | None = None
        self._stored_first = resumed is not None
        try:
            self._first = resumed if resumed is not None else self.driver.start()
            self._first_message = self.frames.encode(self._first)
        except Exception as exc:
            self._start_failed, self.screen = exc, None
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"game {self.game_id}")

    def on_keys(self, agent: Hashable, keys: Keys) -> str | None:
        """A ``keys`` message of ``agent``'s participant; an error text when it is refused."""
        state = self.keys.get(agent)
        if state is None:
            return None
        if state.seq >= 0 and keys.seq > state.seq + MAX_SEQ_STEP:
            return (f"keys.seq {keys.seq} jumps more than {MAX_SEQ_STEP} past the last one applied ({state.seq}); "
                    "number messages one after another")
        state.apply(keys)
        return None

    def on_ready(self, agent: Hashable, screen: str) -> bool:
        """``agent``'s participant is ready (``screen`` "ready") or dismissed the round-over screen;
        False when that screen is not the one shown now."""
        if self.screen is None or self.screen["screen"] != screen or agent not in self.humans or agent in self._answered:
            return False  # not shown now, or answered already (a message sent twice: stored once)
        self._answered.add(agent)
        if screen == "ready":
            self.ready_agents.add(agent)
        if self.screens <= self._answered and self._all_answered is not None:
            self._all_answered.set()
        return True

    def left(self, agent: Hashable) -> None:
        """``agent``'s participant lost their connection: the game pauses for them."""
        self.absent.setdefault(agent, time.monotonic())

    def back(self, agent: Hashable) -> None:
        """``agent``'s participant is connected (again): a new connection numbers its ``keys``
        messages afresh (another device), so the sequence starts over."""
        self.absent.pop(agent, None)
        if agent in self.keys:
            self.keys[agent] = KeyState()

    def take_over(self, agent: Hashable, ai: Any) -> None:
        """``ai`` (an :class:`~mugkit.runtime.ai.AIPlayer`) plays ``agent`` from the next frame on,
        instead of its human (excluded): nobody waits for that human's keys or screens any more."""
        self.humans.pop(agent, None)
        self.keys.pop(agent, None)
        self.absent.pop(agent, None)
        self.screens.discard(agent)
        self.driver.hand_over(agent, ai)
        if self._all_answered is not None and self.screens <= self._answered:
            self._all_answered.set()

    def snapshot(self) -> dict:
        """A full ``frame`` message of the current frame, for a player who (re)joins (None when
        the env's reset() raised: the game is ending)."""
        return None if self._start_failed is not None else self.frames.snapshot()

    async def stop(self, outcome: str) -> None:
        """Ends the game now (a server shutting down, an operator, a full disk). A game already
        ending (its last rows being stored) ends with its own outcome: this waits for that."""
        if self._done:
            if self._task is not None and self._task is not asyncio.current_task():
                await asyncio.wait({self._task})
            return
        if self._task is not None:
            self._task.cancel()
        await self._finish(outcome)

    # -- the clock -------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        GAME.set(self.game_id)  # its log lines name it (mugkit/web/logs.py)
        PARTICIPANT.set(None)   # not whoever's message started it
        try:
            if self._start_failed is not None:
                raise self._start_failed
            if self._stored_first:  # a resumed game's last stored frame: shown, not stored twice
                await self.emit("frame", self._first_message, room=self.room)
            else:
                await self._publish(self._first, message=self._first_message)
            if not await self._before_first_episode():
                await self._finish("not_ready")
                return
            period = 1.0 / self.fps
            deadline = _on_grid(loop.time(), period, self._slot)
            while not self.driver.finished and self.outcome is None:
                await asyncio.sleep(max(0.0, deadline - loop.time()))
                lateness = loop.time() - deadline
                # Absolute deadlines keep the pace; after a long stall (a paused game, a busy
                # machine) start counting again from now rather than playing a burst of frames.
                deadline = deadline + period if lateness < 5 * period else _on_grid(loop.time(), period, self._slot)
                if self._waiting_for_absent() or len(self._pending_writes) > MAX_UNSAVED_SECONDS * self.fps:
                    continue
                self.stats.note(lateness, loop.time())
                result = self.driver.tick({agent: state.take() for agent, state in self.keys.items()})
                if result is not None:
                    await self._publish(result, lateness * 1000.0)
                    if result.episode_over and not result.finished and self.screens:
                        await self._between_episodes()
                        deadline = _on_grid(loop.time(), period, self._slot)
            await self._finish(self.outcome or "completed")
        except asyncio.CancelledError:
            raise
        except Exception:
            from .problems import new_ref

            self.error_ref = new_ref()
            log.exception("game %s crashed (reference %s)", self.game_id, self.error_ref)
            await self._finish("error")

    # -- the screens around the frames -----------------------------------------------------

    async def _before_first_episode(self) -> bool:
        """The ready screen, then the countdown; False when not every human was ready in time."""
        if self._resumed is not None:  # taken over mid-game: the players' pages were reconnecting
            if self._resumed.episode_over and self.screens:
                await self._between_episodes()
            else:
                await self._countdown()
            return True
        if not self.screens:
            return True
        options = self.driver.options
        if options.ready and not await self._wait_for_all("ready", options.waitroom_timeout):
            log.info("game %s: not every player was ready within %ss", self.game_id, options.waitroom_timeout)
            return False
        await self._countdown()
        return True

    async def _between_episodes(self) -> None:
        """The round-over screen (until every human dismissed it, or its time is up), then the countdown."""
        options = self.driver.options
        if options.round_over:
            await self._wait_for_all("round_over", options.round_over, episode=self.driver.episode)
        await self._countdown()

    async def _wait_for_all(self, screen: str, timeout: float, **extra: Any) -> bool:
        """Shows ``screen`` to the players; True when every one answered it within ``timeout`` s."""
        self._answered = set()
        self._all_answered = asyncio.Event()
        await self._show({"screen": screen, "timeout": timeout, **extra})
        try:
            await asyncio.wait_for(self._all_answered.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self._all_answered = None

    async def _countdown(self) -> None:
        seconds = self.driver.options.countdown
        if seconds:
            await self._show({"screen": "countdown", "seconds": seconds})
            await asyncio.sleep(seconds)
        await self._show(None)

    async def _show(self, screen: dict | None) -> None:
        if screen is None:  # the clock starts: a key pressed to say "ready" is no move in the game
            for state in self.keys.values():
                state.down.clear()
                state.up.clear()
        self.screen = None if screen is None else {"game": self.game_id, **screen}
        await self.emit("screen", self.screen or {"game": self.game_id, "screen": "play"}, room=self.room)

    def _waiting_for_absent(self) -> bool:
        """True while a human is away (the game pauses); ends the game once one stayed away too long."""
        if not self.absent:
            return False
        if time.monotonic() - min(self.absent.values()) > self.grace:
            self.outcome = "abandoned" if len(self.humans) == 1 else "partner_left"
        return True

    async def _finish(self, outcome: str) -> None:
        if self._done:
            return
        self._done = True
        self.outcome = outcome
        if self._pending_writes:
            await asyncio.gather(*self._pending_writes, return_exceptions=True)
        on_end, self.on_end = self.on_end, None
        if on_end is not None:
            await on_end(self, outcome)

    # -- frames out ------------------------------------------------------------------------

    async def _publish(self, result: FrameResult, late_ms: float | None = None, message: dict | None = None) -> None:
        t_server = time.time()
        # The newest key message's clock (the client sends milliseconds; stored as seconds).
        t_ms = max((s.t_client for s in self.keys.values() if s.t_client is not None), default=None)
        t_client = None if t_ms is None else t_ms / 1000.0
        write = asyncio.ensure_future(self.store_rows(result.rows, t_server, t_client, late_ms))
        self._pending_writes.add(write)
        write.add_done_callback(self._written)
        await self.emit("frame", message or self.frames.encode(result), room=self.room)

    def _written(self, task: asyncio.Future) -> None:
        self._pending_writes.discard(task)
        if not task.cancelled() and task.exception() is not None and self.outcome is None:
            # Frames whose rows cannot be stored must not go on being played: end the game loudly.
            log.error("game %s: step rows not stored, the game ends: %s", self.game_id, task.exception())
            self.outcome = "storage_failed"

    def _image_url(self, array: Any) -> str | None:
        """An RGB array as a JPEG ``data:`` URL, at most :data:`IMAGE_FPS` a second (None between)."""
        now = time.monotonic()
        if now - self._last_image < 1.0 / IMAGE_FPS:
            return None
        self._last_image = now
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(array[..., :3]).save(buffer, format="JPEG", quality=80)
        return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
