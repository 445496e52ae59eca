"""Glue between a session's requests and a game: :class:`GameRunner` fulfils ``SaveState``,
``LoadState`` and ``AdvanceFrame`` against a :class:`~mugkit.runtime.adapter.GameEnv` (or any
object with ``agents``, ``reset(seed)``, ``step(actions)``, ``save()``, ``load(snapshot)`` and
``checksum(frame)``).

Episodes: when an ``AdvanceFrame`` finds the episode over (``frame.done``), it resets the game
with the next episode's seed, ``episode_seed(seed, episode)`` (episode counts from 0), instead of stepping; that
frame's inputs are ignored. The terminal frame therefore keeps its own saved state and
checksum, every peer resets on the same frame, and the episode counter is part of the saved
state, so a rollback across an episode boundary replays it exactly.

Example::

    runner = GameRunner(adapt(env, agents=("p0", "p1")), seed=7)
    ...                                        # each frame:
    runner.fulfil(session.advance_frame())
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..runtime.seeding import episode_seed
from .requests import AdvanceFrame, LoadState, SaveState

__all__ = ["GameRunner"]


class GameRunner:
    """Runs one game for a session: resets it on creation, then fulfils requests.

    Args:
        game: a GameEnv (see the module docstring).
        seed: the game seed; episode ``e`` resets with ``episode_seed(seed, e)``, as everywhere.
        agents: agent id per session handle, in handle order. Default: ``game.agents``.
        always_checksum: hash every saved state, even when the request says the session does
            not need it (``SaveState.checksum_needed``); for runs that record every confirmed
            checksum (:func:`~mugkit.netcode.simnet.run_peers`). Hashing is most of the cost
            of a save, so the default is False.

    Attributes:
        frame: the game's current Frame (what the last reset/step returned).
        episode: the current episode, from 0.
        sim_frame: the session frame the game is at (frames simulated since the start).
        steps: AdvanceFrame requests fulfilled, re-simulations included.
    """

    def __init__(self, game: Any, seed: int = 0, agents: Sequence[str] | None = None,
                 always_checksum: bool = False):
        self.game = game
        self.always_checksum = always_checksum
        self.agents = tuple(agents if agents is not None else game.agents)
        self.seed = seed
        self.episode = 0
        self.sim_frame = 0
        self.steps = 0
        self.frame = game.reset(episode_seed(seed, 0))

    def checksum(self) -> Any:
        """The checksum of the game as it is now (state and current frame)."""
        return self.game.checksum(self.frame)

    def fulfil(self, requests: Iterable) -> list:
        """Fulfils ``requests`` in order.

        Returns:
            ``(request, frame)`` for every AdvanceFrame, in order (re-simulations included:
            a later pair for the same ``request.frame`` replaces an earlier one).

        Raises:
            AssertionError: a request's frame does not match the frame the game is at (a
                request was skipped or fulfilled twice).
        """
        advanced = []
        for r in requests:
            if isinstance(r, SaveState):
                if r.frame != self.sim_frame:  # raised, not asserted: `assert` vanishes under python -O
                    raise AssertionError(f"SaveState({r.frame}) but the game is at frame {self.sim_frame}")
                checksum = self.checksum() if r.checksum_needed or self.always_checksum else None
                r.cell.save((self.game.save(), self.frame, self.episode, self.sim_frame), checksum)
            elif isinstance(r, LoadState):
                snapshot, frame, episode, sim_frame = r.cell.load()
                if sim_frame != r.frame:  # raised, not asserted: `assert` vanishes under python -O
                    raise AssertionError(f"LoadState({r.frame}) but the cell holds frame {sim_frame}")
                self.game.load(snapshot)
                self.frame, self.episode, self.sim_frame = frame, episode, sim_frame
            elif isinstance(r, AdvanceFrame):
                if r.frame != self.sim_frame:  # raised, not asserted: `assert` vanishes under python -O
                    raise AssertionError(f"AdvanceFrame({r.frame}) but the game is at frame {self.sim_frame}")
                self.advance(r.actions)
                advanced.append((r, self.frame))
            else:
                raise TypeError(f"not a session request: {r!r}")
        return advanced

    def advance(self, actions: Sequence[Any]) -> Any:
        """Simulates one frame with ``actions`` (by handle), or starts the next episode when the
        current one is over; returns the new Frame. Used by :meth:`fulfil` and by runs without
        a session (the reference run of the ``rollback`` check)."""
        if self.frame.done:
            self.episode += 1
            self.frame = self.game.reset(episode_seed(self.seed, self.episode))
        else:
            self.frame = self.game.step(dict(zip(self.agents, actions)))
        self.sim_frame += 1
        self.steps += 1
        return self.frame
