"""A study on the server: the registry, the lobby and the flow, put together.

:class:`Study` is what the socket layer (:mod:`mugkit.web.server`) talks to. It owns nothing of
its own but the parts, each with one job:

- :mod:`mugkit.web.registry`: participants, their place and status, one transition at a time;
- :mod:`mugkit.web.lobby`: waitrooms and the games of both runtimes;
- :mod:`mugkit.web.flow`: arriving, pages, surveys, leaving a step;
- :mod:`mugkit.web.shared`: the state several server processes will share (in memory here).

The socket layer is passed in, as python-socketio passes its manager into ``AsyncServer``:
``emit`` sends to a room, ``join`` puts a participant's sockets into a room, ``evict`` closes a
participant's windows. Everything a participant did is stored before it is acknowledged, and
their place in the flow is stored at every step, so a reload or a server restart resumes where
they were. While the shared state cannot be reached (Redis down), a message is answered
``{"ok": False, "retry": True, "error": …}`` and nothing is acknowledged: the page keeps what it
sent and the participant tries again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any, Awaitable, Callable

from ..collect import Experiment
from .browser.games import BrowserGames
from .flow import Arrival, Flow
from .gameloop import GRACE_SECONDS, ServerGame
from .lobby import Lobby
from .plugins import Plugins
from .registry import FINISHED, Participant, Registry
from .screening import Screening
from .shared import MemoryState, SharedState, SharedStateError
from .takeover import interrupt_unowned
from .views import paused_view

__all__ = ["Study", "Participant", "Arrival", "FINISHED"]

log = logging.getLogger("mugkit.study")


async def _nobody(*args: Any, **kwargs: Any) -> None:
    return None


#: What a participant's message is answered while the shared state cannot be reached.
UNAVAILABLE = ("The study server is briefly unavailable. Please try again in a moment: nothing you have done so far "
               "is lost.")
_reported = [0.0]  # when the shared state's failure was last logged (one line every few seconds)


def _unavailable(exc: SharedStateError) -> dict:
    """Logs ``exc`` (at most every 5 s) and answers: try again; nothing was acknowledged."""
    now = time.monotonic()
    if now - _reported[0] >= 5.0:
        _reported[0] = now
        log.error("a participant's message could not be handled and was refused with 'try again': %s", exc)
    return {"ok": False, "error": UNAVAILABLE, "retry": True}


class Study:
    """Every experiment served, and the participants going through them.

    Args:
        experiments: name → collected experiment.
        storage: a started :class:`~mugkit.web.storage.Storage`.
        seed: the study seed.
        emit: ``(event, data, room=...) -> awaitable``: the socket layer's emit.
        join: ``(participant id, room) -> awaitable``: puts that participant's sockets in a room.
        evict: ``(participant id) -> awaitable``: closes that participant's windows.
        grace: seconds a game waits for a player whose connection dropped.
        browser: the browser runtime (None: every game runs on the server).
        state: the state shared between server processes (default: this process's memory).
        plugins: the server's plugins (default: none; ``mugkit serve`` loads ``--plugin`` and
            installed packages' ``mugkit`` entry points).
        cluster: this process among several (``mugkit serve --workers``; mugkit/web/cluster.py):
            messages of games another process runs are forwarded there (mugkit/web/remote.py), and
            start-up leaves the games of the other processes alone. None: the only process.
    """

    def __init__(self, experiments: dict[str, Experiment], storage: Any, seed: int,
                 emit: Callable[..., Awaitable] = _nobody, join: Callable[[str, str], Awaitable] = _nobody,
                 evict: Callable[[str], Awaitable] = _nobody, grace: float = GRACE_SECONDS,
                 browser: BrowserGames | None = None, state: SharedState | None = None, cluster: Any = None,
                 plugins: Plugins | None = None):
        self.experiments = experiments
        self.storage = storage
        self.seed = seed
        self.browser = browser
        self.state = state or MemoryState()
        self._parts = (emit, join, evict, grace)
        self.cluster = cluster
        #: The server's plugins (mugkit/web/plugins.py): the hooks of its events.
        self.plugins = plugins if plugins is not None else Plugins(entry_points=False)
        self.registry: Registry | None = None
        self.flow: Flow | None = None
        self.lobby: Lobby | None = None
        self._pushing: set[asyncio.Task] = set()  # views sent once the shared state answers again

    async def start(self) -> None:
        """Reads what the storage already holds (a restart): the secret of resume keys, arrival
        numbers, condition counts; games on the server cut by the restart (that no other live process
        runs) are marked interrupted."""
        emit, join, evict, grace = self._parts
        # meta_once: several processes of one study starting at once agree on one secret
        secret = await self.storage.meta_once("resume_secret", secrets.token_hex(32))
        self.registry = Registry(self.storage, self.state, bytes.fromhex(secret))
        self.registry.plugins = self.plugins
        self.flow = Flow(self.experiments, self.registry, self.state, self.seed, emit, evict)
        self.lobby = Lobby(self.experiments, self.registry, self.state, self.seed, emit, join, self.flow,
                           grace=grace, browser=self.browser)
        self.flow.lobby = self.lobby
        self.flow.screening = Screening(self.flow, connected=lambda pid: bool(self.lobby.sockets.get(pid)))
        if self.cluster is not None:
            from .remote import RemoteGames

            # One of several processes: the parent marked the games a stop cut before starting
            # this one; a game without a live owner now is the takeover's (a process died).
            self.lobby.remote = RemoteGames(self.lobby, self.cluster)
        else:
            # Only games no live process runs (and none will take over): with a shared state,
            # another process of the study may be playing the others (mugkit/web/takeover.py).
            interrupted = await interrupt_unowned(self.storage, self.state)
            if interrupted:
                log.warning("%d game(s) on the server were cut by the restart and are marked interrupted",
                            len(interrupted))
        await self.flow.start()
        self.lobby.start()
        self.flow.timeouts.start()  # page and survey time limits (mugkit/web/timeouts.py)

    async def close(self) -> None:
        """A shutdown: stops the waitroom clock, ends every game running on the server with the
        outcome ``"interrupted"`` and moves its players on (they are shown the ``paused`` view
        while their connections are still open: the server is stopping). Games in participants'
        browsers go on there; their rows are stored once the server is back. Safe to call again."""
        for task in list(self._pushing):  # waiting for a shared state that is not back: the page resumes later
            task.cancel()
        if self.flow is not None:
            self.flow.paused = self.flow.paused or "the server is stopping"  # no new game; players see why
            if self.flow.screening is not None:
                self.flow.screening.close()
            self.flow.timeouts.stop()  # the deadlines are kept: the next start derives them again
        if self.lobby is not None:
            await self.lobby.close()

    @property
    def paused(self) -> str | None:
        """Why the study is paused (the server is stopping; ``"storage"``: it cannot write), or None."""
        return self.flow.paused if self.flow is not None else None

    # -- what the socket layer calls -----------------------------------------------------------

    async def enter(self, auth: Any, user_agent: str = "", admit: Callable[[], None] = lambda: None) -> Arrival:
        """A browser connects: its participant (found or created), their view, or a refusal.
        ``admit`` is called just before a participant is created and raises to refuse (the socket
        layer's per-address limit, mugkit/web/limits/arrivals.py)."""
        try:
            return await self.flow.enter(auth, user_agent, admit)
        except SharedStateError as exc:
            _unavailable(exc)
            return Arrival(None, paused_view("unavailable"))

    async def transfer(self, p: Participant, user_agent: str = "") -> tuple[Participant | None, dict]:
        """A browser takes the place it was offered (:attr:`Arrival.offer`)."""
        try:
            return await self.flow.transfer(p, user_agent)
        except SharedStateError as exc:
            _unavailable(exc)
            return None, paused_view("unavailable")

    async def advance(self, p: Participant, data: Any) -> dict:
        """``advance`` from the browser; its acknowledgement."""
        before = (p.index, p.game, p.status)
        try:
            return await self.flow.advance(p, data)
        except SharedStateError as exc:
            if (p.index, p.game, p.status) == before:
                return _unavailable(exc)
            # They moved, and it is stored: acknowledged. Their next view (a waitroom, say) needs
            # the shared state: it is sent once that answers again.
            _unavailable(exc)
            self._push_later(p)
            return {"ok": True}

    async def screen_report(self, p: Participant, data: Any, ping: Callable[[], Awaitable[float | None]],
                            user_agent: str | None = None) -> dict:
        """A ``screen_report`` from the page at a screening step (mugkit/web/screening.py); ``ping``
        measures one round trip to the socket it came on, ``user_agent`` is that socket's header.
        Its acknowledgement."""
        try:
            return await self.flow.screening.report(p, data, ping, user_agent)
        except SharedStateError as exc:
            return _unavailable(exc)

    async def draft(self, p: Participant, data: Any) -> dict:
        """A ``draft`` message (a timed survey's answers so far, mugkit/web/timeouts.py); its ack."""
        try:
            return await self.flow.timeouts.draft(p, data)
        except SharedStateError as exc:
            return _unavailable(exc)

    async def keys(self, p: Participant, data: Any) -> str | None:
        """A ``keys`` message; an error text for the client when it is not valid."""
        try:
            return await self.lobby.keys(p, data)
        except SharedStateError as exc:  # for a game another process runs: lost, as on a dropped connection
            _unavailable(exc)
            return None

    async def ready(self, p: Participant, data: Any) -> dict:
        """A ``ready`` message (the screens around a game); the acknowledgement."""
        try:
            return await self.lobby.ready(p, data)
        except SharedStateError as exc:
            return _unavailable(exc)

    async def browser_message(self, p: Participant, kind: str, data: Any) -> dict:
        """A browser runtime's message (protocol.py); its acknowledgement."""
        try:
            return await self.lobby.browser_message(p, kind, data)
        except SharedStateError as exc:  # rows not acknowledged: the page keeps them and sends them again
            return _unavailable(exc)

    async def monitor_message(self, p: Participant, kind: str, data: Any) -> dict:
        """A monitored game's ``presence`` or ``monitor_pong`` (mugkit/web/monitor.py); its ack."""
        try:
            return await self.lobby.monitor_message(p, kind, data)
        except SharedStateError as exc:
            return _unavailable(exc)

    def _push_later(self, p: Participant) -> None:
        async def push() -> None:
            while True:
                try:
                    async with self.registry.transition(p):
                        await self.flow.push(p)
                    return
                except SharedStateError:
                    await asyncio.sleep(1.0)

        task = asyncio.get_running_loop().create_task(push())
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    def connected(self, p: Participant) -> None:
        self.lobby.connected(p)

    async def disconnected(self, p: Participant) -> None:
        try:
            await self.lobby.disconnected(p)
        except SharedStateError as exc:  # they stay in a waitroom until its timeout takes them out
            _unavailable(exc)

    async def participant(self, participant_id: Any) -> Participant | None:
        """A participant by id (None when unknown)."""
        return await self.registry.get(participant_id)

    def resume_key(self, p: Participant) -> str:
        """What ``p``'s browser keeps to resume after a reload."""
        return self.registry.resume_key(p)

    def snapshot(self, game_id: str) -> dict | None:
        """The current frame of a server game, for a player who (re)joins."""
        return self.lobby.snapshot(game_id)

    # -- what the admin page reads -------------------------------------------------------------

    @property
    def games(self) -> dict[str, ServerGame]:
        """The server games running."""
        return self.lobby.games if self.lobby is not None else {}

    @property
    def sockets(self) -> dict[str, int]:
        """Participant id → open sockets."""
        return self.lobby.sockets if self.lobby is not None else {}

    @property
    def participants(self) -> dict[str, Participant]:
        """The participants this server holds in memory."""
        return self.state.cached_participants()
