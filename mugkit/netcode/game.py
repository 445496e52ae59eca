"""Glue between a session's requests and a game: :class:`GameRunner` fulfils ``SaveState``,
``LoadState`` and ``AdvanceFrame`` with a :class:`~mugkit.runtime.driver.FrameDriver` — the
same driver that plays every frame on the server, in the browser and in the checks.

Episodes are the driver's: when an ``AdvanceFrame`` finds the episode over, the driver starts
the next one (``episode_seed(seed, episode)``) instead of stepping, and that frame's inputs are
ignored. The terminal frame therefore keeps its own saved state and checksum, every peer resets on
the same frame, and the episode counter is part of the saved state, so a rollback across an
episode boundary replays it exactly.

Example::

    runner = GameRunner(game.driver(), seed=7)   # or GameRunner(adapt(env, agents=("p0", "p1")))
    ...                                          # each frame:
    runner.fulfil(session.advance_frame())
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..runtime.driver import FrameDriver
from ..runtime.errors import InternalError
from .requests import AdvanceFrame, LoadState, SaveState

__all__ = ["GameRunner"]


class GameRunner:
    """Runs one game for a session: starts it on creation, then fulfils requests.

    Args:
        game: a :class:`FrameDriver`, or an env it can drive (a GameEnv, or any object with
            ``agents``, ``reset(seed)``, ``step(actions)``, ``save()``, ``load(snapshot)`` and
            ``checksum(frame)``), which is then played with endless episodes.
        seed: the game seed when ``game`` is an env (a driver has its own).
        agents: agent id per session handle, in handle order. Default: the game's agents.
        always_checksum: hash every saved state, even when the request says the session does
            not need it (``SaveState.checksum_needed``); for runs that record every confirmed
            checksum (:func:`~mugkit.netcode.simnet.run_peers`). Hashing is most of the cost
            of a save, so the default is False.
        checksum_episode_ends: also hash every saved state that ends an episode (a browser peer
            reports the checksum of each episode's last frame).
        start_episode, start_frame: start the driver at this episode, as session frame
            ``start_frame`` (a peer that rejoins a running game re-simulates from the start of
            the current episode); default the game's start.

    Attributes:
        driver: the frame driver.
        sim_frame: the session frame the game is at (frames simulated since the start).
        steps: AdvanceFrame requests fulfilled, re-simulations included.
    """

    #: Frame results kept for :meth:`confirmed_rows` when nobody asks for them.
    RESULTS_KEPT = 512

    def __init__(self, game: Any, seed: int = 0, agents: Sequence[Any] | None = None,
                 always_checksum: bool = False, *, checksum_episode_ends: bool = False, start_episode: int = 0,
                 start_frame: int = 0):
        self.driver = game if isinstance(game, FrameDriver) else FrameDriver(game, seed=seed)
        self.always_checksum = always_checksum
        self.checksum_episode_ends = checksum_episode_ends
        self.agents = tuple(agents if agents is not None else self.driver.agents)
        self.sim_frame = start_frame
        self.steps = 0
        self._results: dict[int, Any] = {}  # AdvanceFrame frame -> the driver's latest FrameResult
        #: What the driver's start returned (the rows of the first episode's frame 0).
        self.start_result = self.driver.start(start_episode)

    @property
    def frame(self) -> Any:
        """The game's current Frame (what the last reset or step returned)."""
        return self.driver.frame

    @property
    def episode(self) -> int:
        """The current episode, from 0."""
        return self.driver.episode

    def checksum(self) -> Any:
        """The checksum of the game as it is now (state and current frame)."""
        return self.driver.checksum()

    def fulfil(self, requests: Iterable) -> list:
        """Fulfils ``requests`` in order.

        Returns:
            ``(request, frame)`` for every AdvanceFrame, in order (re-simulations included:
            a later pair for the same ``request.frame`` replaces an earlier one).

        Raises:
            InternalError: a request's frame does not match the frame the game is at (a
                request was skipped or fulfilled twice: a bug in mugkit, not in the game).
        """
        advanced = []
        for r in requests:
            if isinstance(r, SaveState):
                self._expect(r, self.sim_frame)
                needed = r.checksum_needed or self.always_checksum or (
                    self.checksum_episode_ends and bool(getattr(self.frame, "done", False)))
                checksum = self.checksum() if needed else None
                r.cell.save((self.driver.save(), self.sim_frame), checksum)
            elif isinstance(r, LoadState):
                snapshot, sim_frame = r.cell.load()
                self._expect(r, sim_frame)
                self.driver.load(snapshot)
                self.sim_frame = sim_frame
            elif isinstance(r, AdvanceFrame):
                self._expect(r, self.sim_frame)
                self._keep(r.frame, self._advance(r.actions))
                advanced.append((r, self.frame))
            else:
                raise TypeError(f"not a session request: {r!r}")
        return advanced

    @staticmethod
    def _expect(request: Any, frame: int) -> None:
        if request.frame != frame:
            raise InternalError(f"{type(request).__name__}({request.frame}) but the game is at frame {frame}")

    def advance(self, actions: Sequence[Any]) -> Any:
        """Simulates one frame with ``actions`` (by handle), or starts the next episode when the
        current one is over; returns the new Frame. Used by :meth:`fulfil` and by runs without
        a session (the reference run of the ``rollback`` check)."""
        self._advance(actions)
        return self.frame

    def replay(self, actions: Sequence[Any]) -> Any:
        """Like :meth:`advance`, but returns the driver's FrameResult (None once every episode
        is over): a rejoining peer re-simulates the game so far this way, recording its rows."""
        return self._advance(actions)

    def _advance(self, actions: Sequence[Any]) -> Any:
        result = self.driver.advance(dict(zip(self.agents, actions)))
        self.sim_frame += 1
        self.steps += 1
        return result

    def _keep(self, frame: int, result: Any) -> None:
        self._results[frame] = result  # a re-simulation replaces the earlier result
        if len(self._results) > self.RESULTS_KEPT:
            del self._results[min(self._results)]

    def confirmed_results(self, confirmed: Iterable) -> list:
        """``(confirmed frame, FrameResult or None)`` for each confirmed frame
        (:class:`~mugkit.netcode.confirmed.ConfirmedFrame`), as finally simulated; the runner
        forgets them. None: a frame this runner no longer holds, or one simulated after every
        episode ended."""
        return [(c, self._results.pop(c.frame, None)) for c in confirmed]

    def confirmed_rows(self, confirmed: Iterable) -> list:
        """The step rows of confirmed frames (:class:`~mugkit.netcode.confirmed.ConfirmedFrame`,
        e.g. from ``session.drain_confirmed_frames()``), as finally simulated, each marked
        ``predicted`` and ``rollback_depth``: what a browser peer records. A frame this runner
        no longer holds (or one simulated after every episode ended) gives no rows."""
        rows = []
        for c, result in self.confirmed_results(confirmed):
            for row in result.rows if result is not None else ():
                row.predicted, row.rollback_depth = c.predicted, c.rollback_depth
                rows.append(row)
        return rows
