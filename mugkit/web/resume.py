"""Resuming a server game from its record, in another process than the one that started it.

A server game's process may die mid-game (SIGKILL, a crashed machine). Its stored rows are all
that is certain of the game: the frames it played but had not stored yet were never acknowledged.
:func:`rebuild` builds the game again exactly as the lobby built it — the step of the stored game
row, its seed, its participants (their parameters and condition), its players — and re-plays every
stored frame with the humans' recorded ``(action, keys, filled)``
(:meth:`~mugkit.runtime.driver.FrameDriver.tick_recorded`; the AI players decide again), checking
every row against the stored one (:func:`mugkit.runtime.verification.replay`: the columns
verification compares, observations when the step records them, hook columns). The driver is then
where the game was at its last stored frame, and plays on from the next one.

A game that cannot be rebuilt (the step is gone, the env raises, the replay gives other rows: an
env that is not deterministic) raises :class:`CannotResume`, whose message says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..collect import Experiment
from ..games import build_game
from ..runtime.driver import FrameDriver
from ..runtime.rows import FrameResult
from ..runtime.verification import replay
from ..steps import GameStep, StepError

__all__ = ["CannotResume", "Resumed", "rebuild"]


class CannotResume(Exception):
    """The stored game cannot be played on; the message says why."""


@dataclass
class Resumed:
    """A server game rebuilt from its record.

    Attributes:
        step: its game step.
        driver: its frame driver, replayed up to the last stored frame (not started when none is
            stored), rendering every frame from now on.
        last: the last stored frame, as the driver is now (None: nothing stored, start afresh).
        humans: agent → participant id.
        frames: how many stored frames the replay played.
    """

    step: GameStep
    driver: FrameDriver
    last: FrameResult | None
    humans: dict
    frames: int


async def rebuild(storage: Any, experiments: dict[str, Experiment], registry: Any, game_id: str) -> Resumed:
    """The stored server game ``game_id``, rebuilt and replayed up to its last stored frame.

    Raises:
        CannotResume: the game is not an unfinished server game of an experiment served here, its
            step is gone, its participants are unknown, or its replay does not give its rows.
    """
    row = await storage.get_game(game_id)
    if row is None or row.get("runtime") != "server" or row.get("outcome") is not None:
        raise CannotResume("it is not an unfinished server game")
    experiment = experiments.get(row["experiment"])
    if experiment is None:
        raise CannotResume(f"its experiment {row['experiment']!r} is not served by this process")
    try:
        step = experiment.step(row["step"])
    except KeyError:
        raise CannotResume(f"its step {row['step']!r} is gone from {row['experiment']!r}") from None
    if not isinstance(step, GameStep):
        raise CannotResume(f"its step {row['step']!r} is no longer a game step")
    humans = {p["agent"]: p["participant_id"] for p in await storage.players(game_id) if p.get("participant_id")}
    if sorted(map(repr, humans)) != sorted(map(repr, step.humans)):
        raise CannotResume(f"its stored players {sorted(map(repr, humans))} are not the step's humans "
                           f"{sorted(map(repr, step.humans))}")
    group = []
    for agent in step.humans:  # the order the lobby built the game with
        p = await registry.get(humans[agent])
        if p is None:
            raise CannotResume(f"its participant {humans[agent]!r} is not stored")
        group.append(p.who())
    rows = await storage.game_steps(game_id)
    # In a thread: the step function, the env and the policies are the user's code, and a long game
    # takes a while to replay.
    driver, last, frames = await asyncio.to_thread(_replay, step, experiment.policies, int(row["seed"]), group, rows)
    return Resumed(step, driver, last, humans, frames)


def _replay(step: GameStep, policies: dict, seed: int, group: list, rows: list) -> tuple:
    try:
        game = build_game(step, policies, seed=seed, participant=group[0], group=group)
    except StepError as exc:
        raise CannotResume(f"the game does not build: {exc}") from None
    driver = game.driver(render=False)  # drawing the replayed frames would be wasted
    if not rows:
        driver.render_frames = True
        return driver, None, 0
    verdict = replay(driver, rows, step.humans[0], observations=bool(step.options.record_observations),
                     humans=list(step.humans), peers=False)
    if not verdict.agrees:
        d = verdict.difference
        raise CannotResume(f"its replay differs from its stored rows at episode {d.episode}, frame {d.frame}: "
                           f"{d.note} (run mugkit check on the step: its env or a policy is not deterministic)")
    driver.render_frames = True
    last = FrameResult(driver.episode, driver.frame.index, [], {}, driver.render(), bool(driver.frame.done),
                       driver.finished)
    return driver, last, verdict.frames
