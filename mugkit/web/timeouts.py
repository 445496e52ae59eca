"""Page and survey time limits (``@mk.scene(timeout=S)``, ``@mk.survey(timeout=S)``), enforced by
the server: a participant is moved on when the time is up, even with their browser closed.

The clock. A participant's place (``participants.position``) holds when they reached their step
(``entered``). The deadline, ``entered + timeout``, is put in the shared state
(:meth:`~mugkit.web.shared.SharedState.set_deadline`) whenever their view of a timed step is made —
every move is followed by one — and every process's clock (:meth:`StepTimeouts.run`, once a second)
takes the deadlines that are due; each is taken by one process only. At every process's start,
and after a Redis that restarted empty, the deadlines are derived again from the stored places
(:meth:`StepTimeouts.derive`), so a deadline outlives its server. A deadline that comes due for a
step the participant already left does nothing, and puts back the deadline of their current step
(a derivation that read them just before they moved replaced it).

When the time is up (:meth:`StepTimeouts.expire`, inside the participant's transition; a deadline
of a step they already left does nothing):

- a page: event ``step_timeout`` ``{"timeout": S}``, on to the next step;
- a survey: the answers its page sent so far (``draft`` messages: protocol.py) that are valid are
  stored, one row per question answered; event ``step_timeout`` ``{"timeout", "answered",
  "unanswered"}`` (question names); on to the next step. A page that sent nothing stores none;
- a consent page: they never agreed, so the study ends for them: status ``timed_out``, reason
  ``step_timeout``, the consent's ``decline_code`` (a panel treats it as not taking part: never the
  study's completion code), and event ``step_timeout``;
- a completion page: nothing (they have finished).

A page shows the time left (the view's ``time_left``, in seconds).

A participant moved on while no page of theirs is open (on any process) is not sent the view of a
next step that is a game: that view would start their game, or put them in a waitroom where a
partner could be matched with nobody. Their game step's view is made when they come back. The
next page or survey's view is made (its own deadline is armed by it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..pages import Completion, Consent
from ..conditions import is_empty
from ..questions import visible_questions
from ..steps import GameStep, PageStep, SurveyStep
from .plugins import participant_info
from .registry import FINISHED, Participant
from .shared import SharedStateError

__all__ = ["StepTimeouts", "TICK_SECONDS", "STEP_TIMEOUT", "partial_answers"]

log = logging.getLogger("mugkit.study")

#: Seconds between two looks at the deadlines.
TICK_SECONDS = 1.0
#: ``participants.reason`` of a participant whose consent page timed out.
STEP_TIMEOUT = "step_timeout"
#: What a participant whose consent page timed out reads.
CONSENT_TIMED_OUT = "The time to answer the consent page ran out, so the study did not start for you."
#: Seconds a survey's draft answers are kept after its deadline (a clock a little late still finds them).
DRAFT_MARGIN = 120.0
#: Seconds after which a time-up that failed (the storage could not write) is tried again.
RETRY_SECONDS = 5.0


def timeout_of(step: Any) -> float | None:
    """The step's time limit in seconds, or None (a game, or a page without one)."""
    return getattr(step, "timeout", None) if isinstance(step, (PageStep, SurveyStep)) else None


def partial_answers(questions: list, answers: Any) -> tuple[dict, list[str]]:
    """Of the answers a survey's page sent before its time ran out, those the server would accept
    one by one (a known question, shown after the earlier answers, a value it takes): ``(answers,
    names of the questions shown but not answered)``."""
    answers = answers if isinstance(answers, dict) else {}
    kept, missing = {}, []
    for q in visible_questions(questions, answers):
        value = answers.get(q.name)
        if not is_empty(value) and q.why_not(value) is None:
            kept[q.name] = value
        else:
            missing.append(q.name)
    return kept, missing


class StepTimeouts:
    """The time limits of pages and surveys of one server process (see the module's docstring).

    Args:
        flow: the study's flow (:class:`~mugkit.web.flow.Flow`).
    """

    def __init__(self, flow: Any):
        self.flow = flow
        self.state = flow.state
        self.registry = flow.registry
        self.storage = flow.storage
        self._task: asyncio.Task | None = None

    def deadline(self, p: Participant, step: Any) -> float | None:
        """When ``p`` must leave ``step`` (``time.time()``), or None without a limit."""
        timeout = timeout_of(step)
        return None if timeout is None else p.entered + timeout

    async def arm(self, p: Participant, step: Any) -> dict:
        """Called as ``p``'s view of ``step`` is made: puts the deadline in the shared state and
        returns ``{"time_left": seconds}`` for the view (``{}`` for a step without a limit)."""
        at = self.deadline(p, step)
        if at is None or p.status in FINISHED:
            return {}
        await self.state.set_deadline(p.id, p.index, at)
        return {"time_left": max(0.0, round(at - time.time(), 1))}

    # -- the clock -------------------------------------------------------------------------

    def start(self) -> None:
        """Starts this process's clock (and, with several processes, answers whether a participant
        has a page open here)."""
        cluster = getattr(self.flow.lobby.remote, "cluster", None)
        if cluster is not None:
            async def sockets_of(message: dict) -> dict:
                return {"sockets": self.flow.lobby.sockets.get(message.get("pid"), 0)}

            cluster.on("sockets_of", sockets_of)
        self._task = asyncio.get_running_loop().create_task(self.run())

    def stop(self) -> None:
        """Stops this process's clock (the deadlines stay in the shared state and in storage)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def run(self) -> None:
        """Once a second: the deadlines due, each moved on (a failure is logged, the clock goes on).
        At its start, and whenever the shared state restarted empty, the deadlines are derived from
        storage (every process at its start: one that died holding a deadline it had taken lost it)."""
        derive = True
        while True:
            try:
                if self.flow.paused is None:  # paused (the storage cannot write): the deadlines wait
                    # ``first`` answers True once per shared state's life: again after Redis restarted empty.
                    if await self.state.first("step_deadlines_derived") or derive:
                        await self.derive()
                        derive = False
                    for pid, index in await self.state.due_deadlines(time.time()):
                        await self._expire_or_retry(pid, index)
            except SharedStateError as exc:
                log.error("the step timeouts' clock waits for the shared state: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the step timeouts' clock failed once; it goes on")
            await asyncio.sleep(TICK_SECONDS)

    async def derive(self) -> int:
        """Puts in the shared state the deadline of every active participant at a timed step, from
        the stored places (a restart; a Redis that restarted empty). Returns how many."""
        n = 0
        for row in await self.storage.participants():
            if row.get("status") not in (None, "active"):
                continue
            p = Participant.from_row(row)
            here = self.flow.step_of(p) if p.experiment in self.flow.experiments else None
            at = self.deadline(p, here[0]) if here is not None else None
            if at is not None:
                await self.state.set_deadline(p.id, p.index, at)
                n += 1
        if n:
            log.info("%d participant(s) at a timed page or survey: their deadlines are kept", n)
        return n

    async def _expire_or_retry(self, participant_id: str, index: int) -> None:
        try:
            await self.expire(participant_id, index)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the deadline was taken out: put back, to be tried again
            log.warning("participant %s: their time at step %d is up, but moving them on failed (%s: %s); tried "
                        "again in %g s", participant_id, index, type(exc).__name__, exc, RETRY_SECONDS)
            await self.state.set_deadline(participant_id, index, time.time() + RETRY_SECONDS)

    # -- the time is up --------------------------------------------------------------------

    async def expire(self, participant_id: str, index: int) -> bool:
        """``participant_id``'s time at step ``index`` is up: they move on (see the module's
        docstring). False when nothing was done: they left that step already, or finished."""
        p = await self.registry.get(participant_id)
        if p is None:
            return False
        async with self.registry.transition(p):
            here = self.flow.step_of(p)
            if p.status in FINISHED or here is None:
                return False
            step, rep = here
            at = self.deadline(p, step)
            if p.index != index or at is None or at > time.time() + 0.5:
                # An advance came first (or the same deadline twice, or another process's clock is
                # ahead): nothing to do now. This deadline may have replaced the one of their
                # current step (a derivation racing a move): that one is put back.
                if at is not None:
                    await self.state.set_deadline(p.id, p.index, at)
                return False
            await self._time_up(p, step, rep)
        return True

    async def _time_up(self, p: Participant, step: Any, rep: int) -> None:
        detail: dict = {"timeout": step.timeout}
        if isinstance(step, SurveyStep):
            detail.update(await self._store_draft(p, step, rep))
        page = None
        if isinstance(step, PageStep):
            try:
                page = self.flow._call(p, step)
            except Exception:  # a broken page: its view says so; the clock only moves them on
                page = None
        if isinstance(page, Completion):
            return
        await self.flow.event(p, "step_timeout", detail)
        log.info("participant %s: time up at %s (%g s)", p.id, step.name, step.timeout)
        if isinstance(page, Consent):
            await self.registry.set_status(p, "timed_out", page.decline_code, STEP_TIMEOUT, CONSENT_TIMED_OUT)
        else:
            await self.registry.move(p, p.index + 1)
            after = self.flow.step_of(p)
            if after is not None and isinstance(after[0], GameStep) and not await self.present(p):
                return  # their game (or waitroom) waits until they come back
        await self.flow.push(p)

    async def present(self, p: Participant) -> bool:
        """Whether ``p`` has a page open: on this process, or (with several) on another; one that
        does not answer counts as holding one (the view is sent, as after any move)."""
        lobby = self.flow.lobby
        if lobby.sockets.get(p.id):
            return True
        cluster = getattr(lobby.remote, "cluster", None)
        if cluster is None:
            return False
        others = [process for process in cluster.alive_ids if process != cluster.id]
        replies = await asyncio.gather(*(cluster.request(process, "sockets_of", {"pid": p.id}, timeout=2.0)
                                         for process in others), return_exceptions=True)
        return any(isinstance(r, BaseException) or r.get("sockets") for r in replies)

    async def _store_draft(self, p: Participant, step: SurveyStep, rep: int) -> dict:
        questions = self.flow._questions(p, step)
        answers, missing = partial_answers(questions, await self.state.draft(p.id, p.index))
        if answers:
            rows: dict = {}
            for q in questions:
                if q.name in answers:
                    rows.update(q.rows(answers[q.name]))
            await self.storage.add_answers(p.id, step.name, rows, repetition=rep)
            self.registry.hook("mugkit_answers_stored", participant=participant_info(p), step=step.name,
                               answers=dict(answers))
        return {"answered": sorted(answers), "unanswered": missing}

    # -- a survey's answers so far ---------------------------------------------------------

    async def draft(self, p: Participant, data: Any) -> dict:
        """A ``draft`` message: ``{"index", "answers"}``, the answers a timed survey's page holds
        now; kept (replacing earlier ones) until the survey is left. The acknowledgement."""
        if not isinstance(data, dict) or not isinstance(data.get("index"), int) or isinstance(data["index"], bool):
            return {"ok": False, "error": "draft.index must be the index of the survey step"}
        if not isinstance(data.get("answers"), dict):
            return {"ok": False, "error": "draft.answers must be an object: question name -> answer"}
        async with self.registry.transition(p):  # not kept after the clock moved them on
            here = self.flow.step_of(p)
            if p.status in FINISHED or data["index"] != p.index or here is None:
                return {"ok": False, "stale": True, "error": "that step was already left"}
            at = self.deadline(p, here[0])
            if at is None or not isinstance(here[0], SurveyStep):
                return {"ok": False, "error": "this step is not a survey with a time limit: nothing to keep"}
            ttl = max(at - time.time(), 0.0) + DRAFT_MARGIN
            await self.state.keep_draft(p.id, p.index, data["answers"], ttl)
        return {"ok": True}

