"""The flow on the server: arriving, pages, surveys, leaving a step, and the end.

:class:`Flow` answers a participant's browser: who they are when it connects (:meth:`Flow.enter`),
what they see (:meth:`Flow.view`), and what happens when they leave a step (:meth:`Flow.advance`).
Games are the lobby's (:mod:`mugkit.web.lobby`). Every message that moves a participant names the
step it belongs to and is handled inside the participant's transition
(:meth:`~mugkit.web.registry.Registry.transition`): sent twice, late or at once, it moves nobody
twice, skips no step and starts no second game.

Identity. A browser that has been here before shows its resume key. A panel id alone (Prolific's
``PROLIFIC_PID``, MTurk's ``workerId``) never gives a browser someone's place: others can know it.
A person who opens the study in another browser, with the same panel attempt (``SESSION_ID`` /
``assignmentId``), is asked whether to continue there; saying yes is a recorded ``device_moved``
event, gives that browser a new resume key and closes the old window, and is only possible
between steps, never in the middle of a game. Any other browser with a known panel id is refused
with a message, and the conflict is stored as a ``panel_conflict`` event for the researcher.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..collect import Experiment
from ..flow import assign_condition, condition_name, expand
from ..pages import Completion, Consent
from ..questions import answer_rows
from ..runtime.seeding import keyed_rng
from ..screening import ScreenStep
from ..steps import GameStep, PageStep, SurveyStep
from .entry import Entry, mturk_submit_to, new_id, new_token, parse_entry
from .lobby import GameOver, Lobby
from .logs import PARTICIPANT
from .problems import game_problem, new_ref, study_problem_view
from .protocol import ProtocolError, parse_advance
from .plugins import participant_info
from .registry import FINISHED, Participant, Registry
from .shared import SharedState
from .storage.schema import StorageError
from .timeouts import STEP_TIMEOUT, StepTimeouts
from .views import check_answers, markdown_html, page_view, paused_view, survey_view

__all__ = ["Flow", "Arrival"]

log = logging.getLogger("mugkit.study")

_ENDED_TEXT = {"completed": "You have finished. Thank you!",
               "declined": "You chose not to take part. Thank you for your time.",
               "timed_out": "No partner could be found in time. Thank you for waiting.",
               "excluded": "This study has ended for you. Thank you for your time.",
               "screened_out": "Thank you for your interest in this study."}
#: What a new arrival reads while an admin has paused new entries (mugkit/web/admin_live.py).
ENTRIES_PAUSED = ("This study is not taking new participants now. Please try again later, or return it on the site "
                  "you came from.")
_NO_CODE = "Please return this study on the site you came from (no completion code is given for it)."


@dataclass
class Arrival:
    """What :meth:`Flow.enter` found: the participant (None when the browser gets no place), the
    view to show, and the participant this browser may move to (a ``transfer`` offer), if any."""

    participant: Participant | None
    view: dict
    offer: Participant | None = None


def _refused(text: str) -> dict:
    return {"kind": "refused", "html": markdown_html(text)}


class Flow:
    """Participants' way through their experiment (see the module's docstring).

    Args:
        experiments: name → collected experiment.
        registry: the participants.
        state: the state shared between server processes (counters, transitions).
        seed: the study seed.
        emit: ``(event, data, room) -> awaitable``: the socket layer's emit.
        evict: ``(participant id) -> awaitable``: closes that participant's open windows (they
            moved to another browser).
    """

    def __init__(self, experiments: dict[str, Experiment], registry: Registry, state: SharedState, seed: int,
                 emit: Callable[..., Awaitable], evict: Callable[[str], Awaitable]):
        self.experiments = experiments
        self.registry = registry
        self.storage = registry.storage
        self.state = state
        self.seed = seed
        self.emit = emit
        self.evict = evict
        self.lobby: Lobby | None = None  # set by the study, which builds both
        self.screening: Any = None  # the screening steps (mugkit/web/screening.py), set by the study
        #: Why the study is paused (the server is stopping; the storage cannot write), or None:
        #: meanwhile every participant's view is the ``paused`` view (mugkit/web/pause.py).
        self.paused: str | None = None
        self._seeding = asyncio.Lock()
        #: Page and survey time limits (mugkit/web/timeouts.py); the study starts its clock.
        self.timeouts = StepTimeouts(self)

    async def start(self) -> None:
        """Counts the participants already stored (a restart): arrival numbers and conditions."""
        await self._seed_counters()

    async def _seed_counters(self) -> None:
        """Counts the stored participants into the shared counters once per shared state's life:
        once per study (not once per process), and again after a Redis that restarted empty."""
        async with self._seeding:  # this process's arrivals wait: else one could be counted twice
            if not await self.state.first("counters_seeded"):
                return
            counts: dict[tuple, int] = {}  # (counter, key) -> stored participants: one call each (a Redis round trip)
            for row in await self.storage.participants():
                name = row["experiment"]
                counts[(f"arrivals:{name}", None)] = counts.get((f"arrivals:{name}", None), 0) + 1
                if row.get("condition") is not None:
                    key = (f"conditions:{name}", condition_name(row["condition"]))
                    counts[key] = counts.get(key, 0) + 1
            for (counter, key), n in counts.items():
                await self.state.count(counter, key, by=n)

    # -- arriving --------------------------------------------------------------------------

    async def enter(self, auth: Any, user_agent: str = "", admit: Callable[[], None] = lambda: None) -> Arrival:
        """A browser connects with ``auth`` (protocol.py): find or create its participant.
        ``admit()`` is called just before one is created, and raises to refuse (a limit)."""
        auth = auth if isinstance(auth, dict) else {}
        name = auth.get("experiment")
        if not isinstance(name, str) or name not in self.experiments:
            return Arrival(None, _refused("This study link is not valid."))
        entry = parse_entry(auth.get("query"))
        if entry.preview:
            return Arrival(None, {"kind": "preview", "html": markdown_html(
                "**Preview.** Accept the HIT to take part. Nothing has started yet.")})
        if entry.invalid:
            return Arrival(None, _refused(f"This study link is not valid: {entry.invalid}. Please open the "
                                          "study again from the panel's page."))
        p = await self.registry.resumed(name, auth.get("participant"), auth.get("resume"))
        if p is not None and entry.panel_id and p.row.get(entry.panel_key) != entry.panel_id:
            p = None  # this browser kept someone else's place (a lab's shared computer): not theirs
        if p is None and entry.panel_id:
            # One person, one participant: two browsers arriving at once with a new panel id
            # must not both create one.
            async with self.state.transition(f"panel:{name}:{entry.panel_key}:{entry.panel_id}"):
                row = await self.storage.find_participant(name, entry.panel_key, entry.panel_id)
                if row is not None:
                    return await self._known_panel_id(name, entry, row, user_agent)
                if await self._entries_paused():
                    return Arrival(None, _refused(ENTRIES_PAUSED))
                admit()
                p = await self._create(name, entry, user_agent)
        elif p is None:
            if await self._entries_paused():
                return Arrival(None, _refused(ENTRIES_PAUSED))
            admit()
            p = await self._create(name, entry, user_agent)
        p.screens = bool(auth.get("screens"))  # this page shows the screens around games: they wait for it
        async with self.registry.transition(p):
            return Arrival(p, await self.view(p))

    async def _entries_paused(self) -> bool:
        """Whether an admin paused new entries (stored, so every process and a restart agree)."""
        from .admin_live import entries_state

        return bool((await entries_state(self.storage)).get("paused"))

    async def _known_panel_id(self, name: str, entry: Entry, row: dict, user_agent: str) -> Arrival:
        """A browser without this participant's resume key shows their panel id."""
        p = await self.registry.get(row["participant_id"])
        attempt = row.get("session_id" if entry.panel == "prolific" else "assignment_id")
        same_attempt = entry.attempt is not None and attempt == entry.attempt
        if same_attempt and p.status == "active":
            return Arrival(None, {"kind": "transfer", "title": "Continue in this browser?", "html": markdown_html(
                "You have already started this study in another browser or on another device. You can go on "
                "here: the other window will stop. (In the middle of a game, finish it there first.)"),
                "button": "Continue here"}, offer=p)
        if same_attempt:
            return Arrival(None, self._final_view(p))  # their own ending again (the code, for a lost tab)
        await self.event(p, "panel_conflict", {"attempt": entry.attempt, "user_agent": str(user_agent)[:300]})
        log.warning("participant %s: another browser arrived with their panel id (attempt %r); refused",
                    p.id, entry.attempt)
        return Arrival(None, _refused(
            "Someone with this panel id has already taken part in this study, so it cannot start again here. "
            f"If that was not you, please contact the researchers and give them this reference: `{p.id}`."))

    async def transfer(self, p: Participant, user_agent: str = "") -> tuple[Participant | None, dict]:
        """A browser offered ``p``'s place (:class:`Arrival`) takes it: recorded, with a new resume
        key; their other windows close. Refused in the middle of a game."""
        async with self.registry.transition(p):
            if p.status != "active":
                return None, self._final_view(p)
            if await self.lobby.game_alive(p):
                return None, _refused("You are in the middle of a game in your other window. Please finish it "
                                      "there; afterwards you can continue here by reloading this page.")
            await self.evict(p.id)
            await self.registry.new_device(p)
            await self.event(p, "device_moved", {"device": p.device, "user_agent": str(user_agent)[:300]})
            log.info("participant %s: moved to another browser (device %d)", p.id, p.device)
            return p, await self.view(p)

    async def _create(self, name: str, entry: Entry, user_agent: str) -> Participant:
        experiment = self.experiments[name]
        await self._seed_counters()  # a no-op unless the shared state lost them (a Redis restart)
        arrival = await self.state.count(f"arrivals:{name}")
        # Orders are balanced across groups: participants who arrive together, and will be matched
        # into one game, share their order (else two neighbours would wait at different steps).
        number = arrival // max([len(s.humans) for s in experiment.steps if isinstance(s, GameStep)] or [1])
        pid = new_id()
        PARTICIPANT.set(pid)  # the log lines of their arrival name them (mugkit/web/logs.py)
        # Read and counted under one lock: with several processes (a Redis round trip between
        # the two), arrivals at once read the same counts and took the same condition.
        async with self.state.transition(f"conditions:{name}"):
            condition = assign_condition(experiment.conditions, await self.state.counts(f"conditions:{name}"))
            if condition is not None:
                await self.state.count(f"conditions:{name}", condition_name(condition))
        rng = keyed_rng(self.seed, name, "flow", pid)
        flow = [[step.name, rep] for step, rep in expand(experiment.flow, number, rng)]
        now = time.time()
        p = Participant(pid, name, new_token(), flow, condition=condition, params=dict(entry.params), entered=now)
        p.row = {"participant_id": pid, "experiment": name, "params": p.params, "condition": condition,
                 "status": "active", "token": p.token, "user_agent": str(user_agent)[:500], "flow": flow,
                 "position": p.position(), "started_at": now, "updated_at": now, **entry.columns()}
        await self.registry.add(p, p.row)
        log.info("participant %s: arrived at %s (%s)", pid, name, entry.panel or "no panel")
        self.registry.hook("mugkit_participant_entered", participant=participant_info(p))
        return p

    # -- where they are --------------------------------------------------------------------

    def step_of(self, p: Participant) -> tuple[Any, int] | None:
        """The participant's current step and repetition, or None past the end of the flow."""
        if p.index >= len(p.flow):
            return None
        name, rep = p.flow[p.index]
        return self.experiments[p.experiment].step(name), rep

    async def view(self, p: Participant) -> dict:
        """What participant ``p`` should see now (called inside their transition)."""
        if self.paused is not None and p.status not in FINISHED:
            return paused_view(self.paused)
        if p.status in FINISHED:
            return self._final_view(p)
        if p.game is not None and not await self.lobby.game_alive(p):
            ended = await self._past_game(p)
            if ended is not None:
                return ended
        try:
            return await self._here(p)
        except GameOver:  # their game ended elsewhere while its view was being made
            return await self._past_game(p) or await self._here(p)

    async def _past_game(self, p: Participant) -> dict | None:
        """``p``'s game ``p.game`` runs nowhere any more, yet they were not moved on: its process
        died before it could, or it is ending now. They move on as its end would have moved them
        (an event when it did not complete); the view when that ends their study (it does not
        count), else None."""
        game_id = p.game
        if not await self.lobby.counts(game_id):  # verify="require": it ended, and does not count
            return await self.not_counted(p, game_id)
        row = await self.registry.storage.get_game(game_id) or {}
        outcome = row.get("outcome") or "interrupted"  # not stored: its process died mid-game
        if outcome != "completed":
            reason = row.get("outcome_reason")
            await self.event(p, f"game_{outcome}", {"game": game_id, **({"reason": reason} if reason else {})})
        await self.registry.move(p, p.index + 1)
        return None

    async def _here(self, p: Participant) -> dict:
        """The view of ``p``'s current step (they are in no game that ended)."""
        here = self.step_of(p)
        if here is None:  # a flow without a Completion page
            await self.registry.set_status(p, "completed", None)
            return self._final_view(p)
        step, rep = here
        base = {"index": p.index, "total": len(p.flow), "step": step.name}
        try:
            view = {**base, **await self._step_view(p, step, rep)}
        except (StorageError, GameOver):
            raise  # the server's own trouble (the study pauses: pause.py), or a game that ended (view)
        except Exception as exc:  # the researcher's page, survey or env: the participant must not pay for it
            return await self._failed(p, step, exc)
        return {**view, **await self.timeouts.arm(p, step)}  # a page's time limit: its deadline, the time left

    async def _step_view(self, p: Participant, step: Any, rep: int) -> dict:
        if isinstance(step, PageStep):
            return await self._page(p, step)
        if isinstance(step, ScreenStep):
            return self.screening.view(p, step)
        if isinstance(step, SurveyStep):
            return survey_view(step.name.replace("_", " ").capitalize(), self._questions(p, step))
        return await self.lobby.game_view(p, step, rep)

    async def _failed(self, p: Participant, step: Any, exc: Exception) -> dict:
        """Step ``step`` raised while it was being shown to ``p``: logged with its traceback and a
        reference code, stored as a ``step_failed`` event; a game step is skipped (the participant
        reads why, then goes on), a page or survey ends the study for ``p`` with the completion's
        error code (docs/participants.md)."""
        ref = new_ref()
        log.error("participant %s: step %s failed (reference %s); the participant %s", p.id, step.name, ref,
                  "goes on to the next step" if isinstance(step, GameStep) else "is sent back with the error code",
                  exc_info=exc)
        await self.event(p, "step_failed", {"ref": ref, "error": f"{type(exc).__name__}: {exc}"[:2000]})
        if isinstance(step, GameStep):
            if p.game is not None:
                await self.lobby.abandon(p, ref)
            await self.registry.move(p, p.index + 1)
            return self.with_problem(await self.view(p), game_problem(ref, started=False))
        completion = self._completion_step(p)
        await self.registry.set_status(p, "error", (completion.error_code or completion.code) if completion else None)
        return self._final_view(p, ref)

    @staticmethod
    def with_problem(view: dict, problem: dict | None) -> dict:
        """``view`` preceded by ``problem`` (the client shows it first, then the view), unless it
        already has one (the next step failed too: that notice says enough)."""
        if problem is None or "problem" in view:
            return view
        return {**view, "problem": problem}

    def _call(self, p: Participant, step: Any) -> Any:
        return step.fn(**({"participant": p.who()} if "participant" in step.params else {}))

    def _questions(self, p: Participant, step: SurveyStep) -> list:
        return list(self._call(p, step))

    async def _page(self, p: Participant, step: PageStep) -> dict:
        page = self._call(p, step)
        if isinstance(page, Completion):
            await self.registry.set_status(p, "completed", page.code)
            return self._completion_view(p, page)
        return page_view(page)

    def _completion_view(self, p: Participant, page: Completion, code: str | None = None) -> dict:
        view = page_view(page, code=code or page.code, token=p.token)
        submit_to = mturk_submit_to(p.params.get("turkSubmitTo"))  # MTurk's own hosts only
        if submit_to and p.params.get("assignmentId"):
            view["mturk"] = {"submit_to": submit_to, "assignment_id": p.params["assignmentId"]}
        return view

    def _final_view(self, p: Participant, ref: str | None = None) -> dict:
        completion = self._completion_step(p)
        if p.status == "error":
            return study_problem_view(ref, p.outcome_code, completion.redirect if completion else None, p.token)
        timed_out_page = p.status == "timed_out" and p.row.get("reason") == STEP_TIMEOUT  # a consent page's timeout
        if p.status in ("completed", "timed_out") and completion is not None and not timed_out_page:
            return self._completion_view(p, completion, p.outcome_code)
        text = "Thank you for your time." if timed_out_page else _ENDED_TEXT.get(p.status, "Thank you!")
        if p.status in ("screened_out", "excluded") or timed_out_page:
            why = p.row.get("reason_text")
            # The code itself is shown under the text (the view's ``code``), once.
            text = (f"{why}\n\n" if why else "") + text + ("" if p.outcome_code else f"\n\n{_NO_CODE}")
        title = "You cannot take part from here" if p.status == "screened_out" else "Thank you"
        view = {"kind": "ended", "title": title, "html": markdown_html(text), "code": p.outcome_code,
                "status": p.status}
        if p.status in ("screened_out", "excluded"):
            view["reason"] = p.row.get("reason")  # the reason key (docs/screening.md), for bots and tests
        return view

    def _completion_step(self, p: Participant) -> Completion | None:
        """The Completion page at the end of the participant's flow, if it has one."""
        for name, _ in reversed(p.flow):
            step = self.experiments[p.experiment].step(name)
            if isinstance(step, PageStep):
                try:
                    page = self._call(p, step)
                except Exception:  # a broken page: its own visit reports it; here it gives no code
                    continue
                if isinstance(page, Completion):
                    return page
        return None

    # -- leaving a step --------------------------------------------------------------------

    async def advance(self, p: Participant, data: Any) -> dict:
        """``advance`` from the browser; the ack: ``{"ok": True}``, or ``{"ok": False, "error"}``
        (with ``"stale": True`` when the step was already left: nothing to retry)."""
        try:
            data = parse_advance(data)
        except ProtocolError as exc:
            return {"ok": False, "error": str(exc)}
        async with self.registry.transition(p):
            if p.status in FINISHED or data["index"] < p.index:
                # A second click, a second tab, a message sent twice: the step is already left.
                return {"ok": False, "stale": True, "index": p.index, "error": "that step was already left"}
            if data["index"] > p.index:
                return {"ok": False, "error": "that step is not reached yet"}
            step, _ = self.step_of(p) or (None, 0)
            error = await self._leave(p, step, data)
            if error:
                return {"ok": False, "error": error}
            await self.push(p)
        return {"ok": True}

    async def _leave(self, p: Participant, step: Any, data: dict) -> str | None:
        if isinstance(step, (GameStep, ScreenStep)) or step is None:
            return "this step ends by itself"
        if isinstance(step, SurveyStep):
            questions = self._questions(p, step)
            error = check_answers(questions, data.get("answers"))
            if error:
                return error
            await self.storage.add_answers(p.id, step.name, answer_rows(questions, data["answers"]),
                                           repetition=p.flow[p.index][1])
            self.registry.hook("mugkit_answers_stored", participant=participant_info(p), step=step.name,
                               answers=dict(data["answers"]))
        page = self._call(p, step) if isinstance(step, PageStep) else None
        if isinstance(page, Completion):
            return "the study is finished"
        if isinstance(page, Consent):
            if data.get("agree") is not True:
                await self.event(p, "declined")
                await self.registry.set_status(p, "declined", page.decline_code)
                return None
            await self.event(p, "consented")
        await self.registry.move(p, p.index + 1)
        return None

    # -- what the lobby asks of the flow -------------------------------------------------------

    async def push(self, p: Participant, problem: dict | None = None) -> None:
        """Sends participant ``p`` their current view (every socket they have open), preceded by
        ``problem`` (:mod:`mugkit.web.problems`) when their game just failed."""
        await self.emit("view", self.with_problem(await self.view(p), problem), room=f"p:{p.id}")

    async def event(self, p: Participant, kind: str, detail: dict | None = None) -> None:
        """Stores a flow event of ``p`` at their current step."""
        here = self.step_of(p)
        await self.storage.add_event(p.id, here[0].name if here else None, kind, detail,
                                     repetition=here[1] if here else None)

    async def exclude(self, p: Participant, reason: str, text: str, by: str = "server",
                      detail: dict | None = None) -> bool:
        """Ends the study for ``p``: status ``excluded``, the completion's ``exclusion_code``.

        ``reason`` is a short key stored in ``participants.reason`` (``tab_hidden``, ``idle``,
        ``rtt``, ``admin``, …); ``text`` is what the participant reads (``participants.reason_text``);
        ``by`` who decided (``"server"``, or the admin's name); ``detail`` goes into the
        ``excluded`` event. Out of any waitroom; a game they are in goes on without them or ends
        (:meth:`~mugkit.web.lobby.Lobby.player_excluded`). Takes their transition (re-entrant).
        Returns False when they had finished already (nothing done)."""
        return await self._turn_away(p, "excluded", reason, text, by, detail)

    async def screen_out(self, p: Participant, reason: str, text: str, detail: dict | None = None) -> bool:
        """Like :meth:`exclude`, for a screening step that turned ``p`` away: status
        ``screened_out``, the completion's ``screening_code``, event ``screened_out``."""
        return await self._turn_away(p, "screened_out", reason, text, "screening", detail)

    async def _turn_away(self, p: Participant, status: str, reason: str, text: str, by: str,
                         detail: dict | None) -> bool:
        async with self.registry.transition(p):
            if p.status in FINISHED:
                return False
            await self.state.leave_waitrooms(p.id)
            if p.game is not None:
                await self.lobby.player_excluded(p, reason)
            completion = self._completion_step(p)
            code = getattr(completion, "exclusion_code" if status == "excluded" else "screening_code", None)
            await self.event(p, status, {"reason": reason, "text": text, "by": by, **(detail or {})})
            await self.registry.set_status(p, status, code, reason, text)
            log.warning("participant %s: %s (%s) by %s", p.id, status.replace("_", " "), reason, by)
            self.registry.hook("mugkit_participant_excluded", participant=participant_info(p), reason=reason, by=by,
                               detail=dict(detail or {}))
            await self.push(p)
        return True

    async def end_waiting(self, p: Participant, by: str) -> bool:
        """An admin ends ``p``'s wait for partners: out of the waitroom, status ``timed_out`` with
        the completion's timeout code (as if the waitroom had timed out), event ``admin_ended``
        naming ``by``. False (nothing done) when ``p`` is not waiting in a waitroom now."""
        async with self.registry.transition(p):
            waiting = any(p.id in pids for pids in (await self.state.waiting()).values())
            if p.status != "active" or p.game is not None or not waiting:
                return False
            await self.state.leave_waitrooms(p.id)
            completion = self._completion_step(p)
            code = (getattr(completion, "timeout_code", None) or completion.code) if completion else None
            await self.event(p, "admin_ended", {"by": by})
            await self.registry.set_status(p, "timed_out", code)
            log.warning("participant %s: their wait was ended by %s", p.id, by)
            await self.push(p)
        return True

    async def not_counted(self, p: Participant, game_id: str) -> dict:
        """A game of a ``verify="require"`` step that is not both completed and verified: ``p`` is
        excluded, without a completion code (docs/game-steps.md); returns their view."""
        await self.event(p, "game_not_counted", {"game": game_id})
        await self._excluded_without_code(p, "game_not_counted", "Your game could not be counted towards this study.",
                                          {"game": game_id})
        return self._final_view(p)

    async def _excluded_without_code(self, p: Participant, reason: str, text: str, detail: dict) -> None:
        """``p`` is ``excluded`` by a rule of the study that earns no code (a game not counted, never
        ready), with ``reason`` stored and the plugins told, as for any exclusion."""
        await self.registry.set_status(p, "excluded", None, reason, text)
        self.registry.hook("mugkit_participant_excluded", participant=participant_info(p), reason=reason,
                           by="server", detail=detail)

    async def waitroom_timed_out(self, p: Participant, game: str | None = None, detail: dict | None = None) -> None:
        """``p`` waited for partners in vain: they finish with the completion's timeout code. With
        ``game``: the players of that game were not all ready in time (``ready=``), so it never
        started; the event is ``game_not_ready`` (``detail``: whether ``p`` was ready), and a player
        who was not ready is ``excluded``, with no code."""
        async with self.registry.transition(p):
            if p.status != "active" or p.game != game:
                return  # grouped or gone meanwhile
            completion = self._completion_step(p)
            code = (getattr(completion, "timeout_code", None) or completion.code) if completion else None
            status = "timed_out"
            if game is None:
                await self.event(p, "waitroom_timeout")
            else:
                await self.event(p, "game_not_ready", {"game": game, **(detail or {})})
                await self.registry.move(p, p.index)  # out of the game that never started
                if not (detail or {}).get("ready"):
                    # They never pressed "ready": waiting it out must not earn the study's code.
                    await self._excluded_without_code(p, "not_ready", "You did not press ready in time.",
                                                      {"game": game})
                    await self.push(p)
                    return
            await self.registry.set_status(p, status, code)
            await self.push(p)
