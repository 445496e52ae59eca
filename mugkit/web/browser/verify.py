"""Verifying browser-runtime games on the server, away from the event loop.

A browser game's rows come from the participant's page, so they prove nothing by themselves.
When such a game ends, :class:`Verifier` re-simulates it in a worker process — the game built from
the experiment, its seed and its participant exactly as the browser built it, each frame played
with the human's stored action (:func:`mugkit.runtime.verification.replay`) — and compares every
stored row with its own. The result goes to the ``games`` table (docs/data.md):

``verification``
    ``"pending"`` (not done yet), ``"verified"`` (every stored row is what the env gives),
    ``"failed"`` (a row differs: ``verification_detail`` names the first differing frame, the
    agent and the columns) or ``"unverifiable"`` (the server could not re-simulate: the experiment
    does not build here, or the worker died; ``verification_detail`` says why).

Worker processes are started with ``spawn`` (the server has threads; a fork would copy their
locks) and import the experiment once each. One worker by default: verification is a background
job, and the game loops of server-run games need the other core.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "Verifier", "run_job", "report_unverified", "VERIFICATIONS"]

log = logging.getLogger("mugkit.verify")

#: The values of ``games.verification``.
VERIFICATIONS = ("pending", "verified", "failed", "unverifiable")


@dataclass(frozen=True)
class Job:
    """One game to verify: everything a worker needs to build and re-simulate it (picklable).

    Attributes:
        game_id: the game.
        path: the experiment module's file.
        step: the game step's name.
        seed: the game seed (``games.seed``).
        participant: ``(id, params, condition)`` of its participant.
        agent: the agent the participant played.
        rows: the stored step rows (column dicts, in frame order).
        completed: the game ended as ``completed``: its rows must then reach the end of its last
            episode (a page that said so earlier ended it before the env did).
        group: a game of several humans (browser peers): ``(agent, (id, params, condition))`` of
            every human, in the step's order of humans; ``participant`` and ``agent`` are then the
            first one's. Empty for a game of one human.
    """

    game_id: str
    path: str
    step: str
    seed: int
    participant: tuple
    agent: Any
    rows: list
    completed: bool = True
    group: tuple = ()


_experiments: dict = {}  # in a worker: experiment path -> collected experiment


def run_job(job: Job) -> dict:
    """Re-simulates ``job`` (in a worker process): ``{"verification", "detail", "timing"}``."""
    from ...collect import CollectError, load_experiment
    from ...games import Participant, build_game
    from ...runtime.verification import replay, timing
    from ...steps import StepError

    humans = [agent for agent, _ in job.group] or [job.agent]
    stats = timing(job.rows, job.agent) if not job.group else {
        "agents": [[agent, timing(job.rows, agent)] for agent in humans]}
    try:
        experiment = _experiments.get(job.path) or load_experiment(job.path)
        _experiments[job.path] = experiment
        step = experiment.step(job.step)
        group = [Participant(pid, dict(params or {}), condition)
                 for pid, params, condition in ([who for _, who in job.group] or [job.participant])]
        game = build_game(step, experiment.policies, seed=job.seed, participant=group[0], group=group)
    except (CollectError, StepError, KeyError) as exc:
        return {"verification": "unverifiable", "detail": {"reason": f"the game does not build on the server: {exc}"},
                "timing": stats}
    verdict = replay(game.driver(), job.rows, job.agent, observations=bool(step.options.record_observations),
                     humans=humans)
    detail = verdict.plain()
    ok = verdict.agrees and (verdict.complete or not job.completed)
    if verdict.agrees and not ok:
        detail["note"] = "the game ended as completed, but the env had not ended its last episode"
    return {"verification": "verified" if ok else "failed", "detail": detail, "timing": stats}


class Verifier:
    """Runs :func:`run_job` in ``workers`` worker processes (started on first use)."""

    def __init__(self, workers: int = 1):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def verify(self, job: Job) -> dict:
        """The job's result; ``"unverifiable"`` when the worker died or mugkit failed in it (logged)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, run_job, job)
        except BrokenProcessPool as exc:
            self._pool = None  # a new pool for the next game
            return _unverifiable(job, f"the verifier process died: {exc}")
        except Exception as exc:  # mugkit's own failure in the worker: logged, the game stays unverified
            log.exception("game %s: verification failed inside mugkit", job.game_id)
            return _unverifiable(job, f"{type(exc).__name__} in the verifier: {exc}")

    async def verify_game(self, storage: Any, paths: dict[str, str], game_id: str, outcome: str | None = None) -> dict:
        """Verifies stored game ``game_id``: its row, player, participant and step rows read from
        ``storage``, its experiment's module from ``paths`` (experiment name → file). ``outcome``:
        how it ended, when that is not stored yet."""
        row = await storage.get_game(game_id)
        humans = [p for p in await storage.players(game_id) if p.get("participant_id")] if row else []
        path = paths.get(row["experiment"]) if row else None
        if row is None or not humans or path is None:
            return {"verification": "unverifiable", "timing": None,
                    "detail": {"reason": "the server does not serve this game's experiment, or no human played it"}}
        # A game of several humans (browser peers): in the order the game was built with them.
        order = (row.get("detail") or {}).get("humans") if len(humans) > 1 else None
        if order:
            humans.sort(key=lambda p: order.index(p["participant_id"]) if p["participant_id"] in order else len(order))
        group = []
        for player in humans:
            who = await storage.get_participant(player["participant_id"]) or {}
            group.append((player["agent"], (player["participant_id"], who.get("params") or {}, who.get("condition"))))
        job = Job(game_id, path, row["step"], int(row["seed"]), group[0][1], group[0][0],
                  await storage.game_steps(game_id), (outcome or row.get("outcome")) == "completed",
                  tuple(group) if len(group) > 1 else ())
        return await self.verify(job)

    def close(self) -> None:
        """Stops the workers (jobs still running are abandoned: their games stay ``pending``)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _unverifiable(job: Job, reason: str) -> dict:
    return {"verification": "unverifiable", "detail": {"reason": reason}, "timing": None}


async def report_unverified(storage: Any, game_id: str, result: dict) -> None:
    """A game that is not verified: logged, and a ``game_unverified`` event of its participant
    (``detail``: the game, the verdict and its detail)."""
    if result["verification"] == "verified":
        return
    row = await storage.get_game(game_id) or {}
    humans = [p["participant_id"] for p in await storage.players(game_id) if p.get("participant_id")]
    log.warning("game %s: %s: %s", game_id, result["verification"], result["detail"])
    for pid in humans:
        await storage.add_event(pid, row.get("step"), "game_unverified",
                                {"game": game_id, "verification": result["verification"], "detail": result["detail"]},
                                repetition=row.get("repetition"))
