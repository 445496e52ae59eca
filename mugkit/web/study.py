"""The participant flow on the server: who is where, what they see, and what happens next.

:class:`Study` knows every collected experiment, the study seed and the storage. The socket layer
(:mod:`mugkit.web.server`) calls it — :meth:`Study.enter` when a browser connects,
:meth:`Study.advance` when a participant leaves a step, :meth:`Study.keys` for key presses — and
it answers with ``view`` messages (:mod:`mugkit.web.protocol`), pushing news to a participant's
socket.io room ``"p:<id>"`` through ``emit``. Everything a participant did is stored before it is
acknowledged, and their place in the flow is stored at every step, so a reload or a server restart
resumes where they were.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ..collect import Experiment
from ..flow import assign_condition, condition_name, expand
from ..games import Participant as Who
from ..games import build_game, game_seed
from ..pages import Completion, Consent
from ..runtime.seeding import derive_rng
from ..steps import GameStep, PageStep, SurveyStep
from ..runtime.values import from_json, to_json
from .browser_games import BrowserGame, BrowserGames, RowError, runs_in_browser
from .entry import Entry, new_id, new_token, parse_entry
from .gameloop import GRACE_SECONDS, OUTCOME_REASONS, ServerGame
from .matchmaking import Waitroom
from .protocol import ProtocolError, parse_advance, parse_keys
from .views import check_answers, markdown_html, page_view, survey_view

__all__ = ["Study", "Participant"]

log = logging.getLogger("mugkit.study")

#: The statuses of a participant who will not go on.
FINISHED = ("completed", "declined", "timed_out", "excluded")


@dataclass
class Participant:
    """One participant, as the server holds them while they take part (their row in storage)."""

    id: str
    experiment: str
    token: str
    flow: list                   # [step name, repetition] per visit, in order
    index: int = 0               # where in the flow they are
    status: str = "active"
    condition: Any = None
    params: dict = field(default_factory=dict)
    outcome_code: str | None = None
    game: str | None = None      # the game they are in (its id), if any
    row: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> "Participant":
        position = row.get("position") or {}
        return cls(row["participant_id"], row["experiment"], row["token"], row.get("flow") or [],
                   position.get("index", 0), row.get("status") or "active", row.get("condition"),
                   row.get("params") or {}, row.get("outcome_code"), position.get("game"), row)

    def who(self) -> Who:
        """The participant as step functions get them (``participant`` / ``group``)."""
        return Who(self.id, dict(self.params), self.condition)


def _game_message(step: GameStep, game_id: str, **fields: Any) -> dict:
    """A ``game`` view (protocol.py): the step's canvas, clock and keys, and ``fields``."""
    options = step.options
    return {"kind": "game", "game": game_id, "width": options.width, "height": options.height, "fps": options.fps,
            "keys": sorted({k for combo, _ in options.combos for k in combo}), **fields}


async def _nothing(*args: Any) -> None:
    return None


class Study:
    """Every experiment served, and the participants going through them.

    Args:
        experiments: name → collected experiment.
        storage: a started :class:`~mugkit.web.storage.Storage`.
        seed: the study seed.
        emit: ``(event, data, room) -> awaitable``: the socket layer's emit.
        grace: seconds a game waits for a player whose connection dropped.
        browser: the browser runtime (None: every game runs on the server).
    """

    def __init__(self, experiments: dict[str, Experiment], storage: Any, seed: int,
                 emit: Callable[..., Awaitable], grace: float = GRACE_SECONDS, browser: BrowserGames | None = None):
        self.experiments = experiments
        self.storage = storage
        self.seed = seed
        self.emit = emit
        self.grace = grace
        self.browser = browser
        self.participants: dict[str, Participant] = {}
        self.games: dict[str, ServerGame] = {}
        self.waitrooms: dict[tuple, Waitroom] = {}
        self.sockets: dict[str, int] = {}          # participant id -> open sockets
        self.arrivals: dict[str, int] = {}
        self.conditions: dict[str, dict] = {}
        self._ticker: asyncio.Task | None = None
        self.join: Callable[[str, str], Awaitable] = _nothing  # (participant id, room): the socket layer's

    async def start(self) -> None:
        """Reads what the storage already holds (a restart): arrival numbers, condition counts, the
        secret of resume keys; games cut by the restart are marked interrupted."""
        secret = await self.storage.get_meta("resume_secret")
        if secret is None:
            secret = secrets.token_hex(32)
            await self.storage.set_meta("resume_secret", secret)
        self._secret = bytes.fromhex(secret)
        interrupted = await self.storage.interrupt_unfinished_games(runtime="server")
        if interrupted:
            log.warning("%d game(s) on the server were cut by the restart and are marked interrupted",
                        len(interrupted))
        for row in await self.storage.participants():
            name = row["experiment"]
            self.arrivals[name] = self.arrivals.get(name, 0) + 1
            counts = self.conditions.setdefault(name, {})
            key = condition_name(row.get("condition")) if row.get("condition") is not None else None
            counts[key] = counts.get(key, 0) + 1
        self._ticker = asyncio.get_running_loop().create_task(self._tick_waitrooms())

    async def close(self) -> None:
        """Stops the games (marked interrupted) and the waitroom clock."""
        if self._ticker is not None:
            self._ticker.cancel()
        for game in list(self.games.values()):
            await game.stop("interrupted")

    # -- arriving --------------------------------------------------------------------------

    async def enter(self, auth: Any, user_agent: str = "") -> tuple[Participant | None, dict]:
        """A browser connects: find or create its participant; returns them and their view."""
        auth = auth if isinstance(auth, dict) else {}
        name = auth.get("experiment")
        if name not in self.experiments:
            return None, {"kind": "refused", "html": "<p>This study link is not valid.</p>"}
        entry = parse_entry(auth.get("query"))
        if entry.preview:
            return None, {"kind": "preview", "html": markdown_html(
                "**Preview.** Accept the HIT to take part. Nothing has started yet.")}
        p = await self._resumed(name, auth.get("participant"), auth.get("resume"))
        if p is None and entry.panel_id:
            row = await self.storage.find_participant(name, entry.panel_key, entry.panel_id)
            if row is not None:
                p = self.participants.get(row["participant_id"]) or Participant.from_row(row)
                if p.status in FINISHED:
                    return None, {"kind": "refused", "html": markdown_html(
                        "You have already taken part in this study, so you cannot start it again. Thank you!")}
        if p is None:
            p = await self._create(name, entry, user_agent)
        self.participants[p.id] = p
        return p, await self.view(p)

    async def _resumed(self, name: str, pid: Any, resume: Any) -> Participant | None:
        if not isinstance(pid, str) or not isinstance(resume, str):
            return None
        p = self.participants.get(pid)
        if p is None:
            row = await self.storage.get_participant(pid)
            p = Participant.from_row(row) if row is not None else None
        ok = p is not None and p.experiment == name and hmac.compare_digest(resume, self.resume_key(p.id))
        return p if ok else None

    def resume_key(self, participant_id: str) -> str:
        """What a browser shows to resume participant ``participant_id`` after a reload. Derived
        from a secret kept in the database, and unlike the completion ``{token}`` never sent to
        a panel."""
        return hmac.new(self._secret, participant_id.encode(), hashlib.sha256).hexdigest()[:32]

    async def _create(self, name: str, entry: Entry, user_agent: str) -> Participant:
        experiment = self.experiments[name]
        arrival = self.arrivals.get(name, 0)
        self.arrivals[name] = arrival + 1
        # Orders are balanced across groups: participants who arrive together, and will be matched
        # into one game, share their order (else two neighbours would wait at different steps).
        number = arrival // max([len(s.humans) for s in experiment.steps if isinstance(s, GameStep)] or [1])
        pid = new_id()
        counts = self.conditions.setdefault(name, {})
        condition = assign_condition(experiment.conditions, counts)
        if condition is not None:
            counts[condition_name(condition)] = counts.get(condition_name(condition), 0) + 1
        rng = derive_rng(self.seed, name, "flow", pid)
        flow = [[step.name, rep] for step, rep in expand(experiment.flow, number, rng)]
        p = Participant(pid, name, new_token(), flow, condition=condition, params=dict(entry.params))
        now = time.time()
        await self.storage.add_participant({
            "participant_id": pid, "experiment": name, "params": p.params, "condition": condition,
            "status": "active", "token": p.token, "user_agent": str(user_agent)[:500], "flow": flow,
            "position": {"index": 0, "game": None}, "started_at": now, "updated_at": now, **entry.columns()})
        log.info("participant %s: arrived at %s (%s)", pid, name, entry.panel or "no panel")
        return p

    # -- where they are --------------------------------------------------------------------

    def step_of(self, p: Participant) -> tuple[Any, int] | None:
        """The participant's current step and repetition, or None past the end of the flow."""
        if p.index >= len(p.flow):
            return None
        name, rep = p.flow[p.index]
        return self.experiments[p.experiment].step(name), rep

    async def view(self, p: Participant) -> dict:
        """What participant ``p`` should see now."""
        if p.status in FINISHED:
            return self._final_view(p)
        if p.game is not None and p.game not in self.games and await self._browser_game(p, p.game) is None:
            if self.browser is not None and not await self.browser.counts(p.game):  # [verify] verify="require"
                return await self._not_counted(p, p.game)
            await self._event(p, "game_interrupted", {"game": p.game})
            await self._move(p, p.index + 1)
        here = self.step_of(p)
        if here is None:  # a flow without a Completion page
            await self._set_status(p, "completed", None)
            return self._final_view(p)
        step, rep = here
        base = {"index": p.index, "total": len(p.flow), "step": step.name}
        if isinstance(step, PageStep):
            return {**base, **await self._page(p, step)}
        if isinstance(step, SurveyStep):
            return {**base, **survey_view(step.name.replace("_", " ").capitalize(), self._questions(p, step))}
        return {**base, **await self._game_view(p, step, rep)}

    def _call(self, p: Participant, step: Any) -> Any:
        return step.fn(**({"participant": p.who()} if "participant" in step.params else {}))

    def _questions(self, p: Participant, step: SurveyStep) -> list:
        return list(self._call(p, step))

    async def _page(self, p: Participant, step: PageStep) -> dict:
        page = self._call(p, step)
        if isinstance(page, Completion):
            await self._set_status(p, "completed", page.code)
            return self._completion_view(p, page)
        return page_view(page)

    def _completion_view(self, p: Participant, page: Completion, code: str | None = None) -> dict:
        view = page_view(page, code=code or page.code, token=p.token)
        if p.params.get("turkSubmitTo") and p.params.get("assignmentId"):
            view["mturk"] = {"submit_to": p.params["turkSubmitTo"], "assignment_id": p.params["assignmentId"]}
        return view

    def _final_view(self, p: Participant) -> dict:
        completion = self._completion_step(p)
        if p.status in ("completed", "timed_out") and completion is not None:
            return self._completion_view(p, completion, p.outcome_code)
        text = {"completed": "You have finished. Thank you!",
                "declined": "You chose not to take part. Thank you for your time.",
                "timed_out": "No partner could be found in time. Thank you for waiting.",
                "excluded": "This study has ended for you. Thank you for your time."}.get(p.status, "Thank you!")
        return {"kind": "ended", "title": "Thank you", "html": markdown_html(text), "code": p.outcome_code}

    def _completion_step(self, p: Participant) -> Completion | None:
        """The Completion page at the end of the participant's flow, if it has one."""
        for name, _ in reversed(p.flow):
            step = self.experiments[p.experiment].step(name)
            if isinstance(step, PageStep):
                page = self._call(p, step)
                if isinstance(page, Completion):
                    return page
        return None

    # -- leaving a step --------------------------------------------------------------------

    async def advance(self, p: Participant, data: Any) -> dict:
        """``advance`` from the browser; the ack: ``{"ok": True}`` or ``{"ok": False, "error": ...}``."""
        try:
            data = parse_advance(data)
        except ProtocolError as exc:
            return {"ok": False, "error": str(exc)}
        if data["index"] < p.index or p.status in FINISHED:
            return {"ok": True}  # a second click on a step already left
        if data["index"] > p.index:
            return {"ok": False, "error": "that step is not reached yet"}
        step, _ = self.step_of(p) or (None, 0)
        error = await self._leave(p, step, data)
        if error:
            return {"ok": False, "error": error}
        await self._push(p)
        return {"ok": True}

    async def _leave(self, p: Participant, step: Any, data: dict) -> str | None:
        if isinstance(step, GameStep) or step is None:
            return "this step ends by itself"
        if isinstance(step, SurveyStep):
            questions = self._questions(p, step)
            error = check_answers(questions, data.get("answers"))
            if error:
                return error
            await self.storage.add_answers(p.id, step.name, {q.name: data["answers"].get(q.name) for q in questions},
                                           repetition=p.flow[p.index][1])
        page = self._call(p, step) if isinstance(step, PageStep) else None
        if isinstance(page, Completion):
            return "the study is finished"
        if isinstance(page, Consent):
            if data.get("agree") is not True:
                await self._event(p, "declined")
                await self._set_status(p, "declined", page.decline_code)
                return None
            await self._event(p, "consented")
        await self._move(p, p.index + 1)
        return None

    async def _move(self, p: Participant, index: int, game: str | None = None) -> None:
        p.index, p.game = index, game
        await self.storage.update_participant(p.id, position={"index": index, "game": game}, updated_at=time.time())

    async def _set_status(self, p: Participant, status: str, code: str | None) -> None:
        if p.status == status:
            return
        p.status, p.outcome_code = status, code
        now = time.time()
        await self.storage.update_participant(p.id, status=status, outcome_code=code, finished_at=now, updated_at=now)
        log.info("participant %s: %s (code %s)", p.id, status, code)

    async def _event(self, p: Participant, kind: str, detail: dict | None = None) -> None:
        here = self.step_of(p)
        await self.storage.add_event(p.id, here[0].name if here else None, kind, detail,
                                     repetition=here[1] if here else None)

    async def _push(self, p: Participant) -> None:
        """Sends participant ``p`` their current view (every socket they have open)."""
        await self.emit("view", await self.view(p), room=f"p:{p.id}")

    # -- connections -----------------------------------------------------------------------

    def connected(self, p: Participant) -> None:
        self.sockets[p.id] = self.sockets.get(p.id, 0) + 1
        if self.browser is not None and p.game:  # [verify] back: their browser game's grace clock stops
            self.browser.back(p.game)
        game = self.games.get(p.game or "")
        if game is not None:
            game.back(self._agent_of(game, p.id))

    async def disconnected(self, p: Participant) -> None:
        left = self.sockets.get(p.id, 1) - 1
        self.sockets[p.id] = left
        if left > 0:
            return
        for room in self.waitrooms.values():
            room.leave(p.id)
        if self.browser is not None and p.game:  # [verify] gone: their browser game ends after the grace
            self.browser.left(p.game, self.grace)
        game = self.games.get(p.game or "")
        if game is not None:
            game.left(self._agent_of(game, p.id))
            await self._event(p, "disconnected", {"game": game.game_id})

    @staticmethod
    def _agent_of(game: ServerGame, pid: str) -> Any:
        return next((agent for agent, who in game.humans.items() if who == pid), None)

    # -- games -----------------------------------------------------------------------------

    async def _game_view(self, p: Participant, step: GameStep, rep: int) -> dict:
        if self.browser is not None and runs_in_browser(step):
            return await self._browser_game_view(p, step, rep)
        game = self.games.get(p.game or "")
        if game is None:
            group = await self._group(p, step, rep)
            if group is None:
                room = self.waitrooms[(p.experiment, step.name, rep)]
                return {"kind": "waitroom", "present": len(room.waiting), "needed": room.needed,
                        "timeout": room.remaining(p.id)}
            game = await self._start_game(p.experiment, step, rep, group, p)
        return _game_message(step, game.game_id, turn_based=game.driver.turn_based, you=self._agent_of(game, p.id),
                          agents=list(game.driver.agents), runtime="server")

    def _game_seed(self, experiment: str, step: GameStep, rep: int, who: list[str]) -> int:
        return game_seed(self.seed, experiment, step.name if not rep else f"{step.name}#{rep}", who)

    # -- games in the browser --------------------------------------------------------------

    async def _browser_game(self, p: Participant, game_id: str) -> BrowserGame | None:
        if self.browser is None:
            return None
        game = await self.browser.find(game_id, self.experiments)
        return game if game is not None and game.participant == p.id else None

    async def _browser_game_view(self, p: Participant, step: GameStep, rep: int) -> dict:
        game = await self._browser_game(p, p.game) if p.game else None
        seed = self._game_seed(p.experiment, step, rep, [p.id])
        if game is None:
            game = BrowserGame(new_id(), p.id, p.experiment, step, step.humans[0])
            await self.storage.add_game({"game_id": game.game_id, "experiment": p.experiment, "step": step.name,
                                         "repetition": rep, "runtime": "browser", "seed": seed,
                                         "started_at": time.time(), "detail": {"step_runtime": step.runtime}})
            await self.storage.add_players([{"game_id": game.game_id, "agent": agent,
                                             "participant_id": p.id if agent == game.agent else None,
                                             "policy": None if agent == game.agent else policy}
                                            for agent, policy in step.players.items()])
            await self.browser.add(game)
            await self._move(p, p.index, game.game_id)
            log.info("game %s: %s::%s started in the browser of %s", game.game_id, p.experiment, step.name, p.id)
        return _game_message(step, game.game_id, turn_based=bool(step.options.turn_based), you=game.agent,
                          agents=list(step.players), runtime="browser", boot=self.browser.boot(game, seed, p.who()))

    async def browser_message(self, p: Participant, kind: str, data: Any) -> dict:
        """A browser runtime's ``rows``, ``resume``, ``loaded``, ``load_failed`` or ``game_over``
        message; the acknowledgement (``{"ok": False, "error"}`` for a bad one, nothing lost)."""
        if not isinstance(data, dict) or not isinstance(data.get("game"), str):
            return {"ok": False, "error": f"{kind} must be an object with the game's id"}
        game = await self._browser_game(p, data["game"])
        if game is None or p.game != game.game_id:
            return {"ok": False, "error": "you are not in that game"}
        try:
            if kind == "rows":
                return await self.browser.rows(game, data)
        except RowError as exc:
            return {"ok": False, "error": str(exc)}
        if kind == "resume":
            record = await self.browser.record(game, data.get("session"))
            return {"ok": True, "record": None if record is None else to_json(record, "the game's record")}
        if kind in ("loaded", "load_failed"):
            detail = {k: data.get(k) for k in ("stages", "bytes", "cached", "stage", "package", "reason")
                      if k in data}
            if kind == "loaded" and isinstance(data.get("diverged"), str):
                await self._resume_diverged(p, game, data["diverged"][:2000])
            if kind == "load_failed" and data.get("stage") == "game":
                # The env, a policy or a hook raised: the game ends as on the server, and the
                # participant goes on (the page sent every row before saying so).
                log.warning("participant %s, game %s: the game raised in the browser: %s", p.id, game.game_id,
                            str(data.get("reason"))[:500])
                await self._browser_game_end(p, game, "error", {"reason": str(data.get("reason"))[:2000]},
                                             reason="client_error")
                return {"ok": True}
            if kind == "load_failed":
                log.warning("participant %s, game %s: the browser runtime failed at %s%s: %s", p.id, game.game_id,
                            data.get("stage"), f" (package {data['package']})" if data.get("package") else "",
                            str(data.get("reason"))[:500])
            await self._event(p, f"game_{kind}", {"game": game.game_id, **detail})
            return {"ok": True}
        return await self._browser_game_over(p, game, data)

    async def _resume_diverged(self, p: Participant, game: BrowserGame, diverged: str) -> None:
        """A reloaded page's re-simulation did not give the stored actions or rewards: the env or a
        policy is not deterministic (``mugkit check`` says which). The game goes on; the data say
        from which frame on it is not one continuous play."""
        log.warning("participant %s, game %s: the resumed game's replay differs from its stored rows (%s); "
                    "run mugkit check on the step: its env or a policy is not deterministic", p.id, game.game_id,
                    diverged)
        try:
            where: Any = from_json(diverged)
        except (ValueError, KeyError, TypeError):
            where = diverged  # kept as sent
        await self._event(p, "game_resume_diverged", {"game": game.game_id, "diverged": where})

    async def _browser_game_over(self, p: Participant, game: BrowserGame, data: dict) -> dict:
        if not game.plays_here(data):
            return {"ok": False, "superseded": True, "error": "this game continues in another window or tab"}
        if not game.over:
            return {"ok": False, "error": "the rows of the last episode are not stored yet: send them first"}
        await self._browser_game_end(p, game, "completed", reason="game_over")
        return {"ok": True}

    async def _browser_game_end(self, p: Participant, game: BrowserGame, outcome: str,
                                detail: dict | None = None, *, reason: str) -> None:
        counts = await self.browser.finish(game, outcome, reason)  # [verify]
        if counts is None:  # [verify] ending already: a second game_over or load_failed
            return
        if not counts:  # [verify] verify="require", not verified
            await self._not_counted(p, game.game_id)
            await self._push(p)
            return
        await self._leave_game(p, game.game_id, outcome, detail)

    async def _not_counted(self, p: Participant, game_id: str) -> dict:
        """[verify] A game of a ``verify="require"`` step that is not completed and verified: the
        participant is excluded, without a completion code (docs/game-steps.md)."""
        await self._event(p, "game_not_counted", {"game": game_id})
        await self._set_status(p, "excluded", None)
        return self._final_view(p)

    async def _leave_game(self, p: Participant, game_id: str, outcome: str, detail: dict | None = None) -> None:
        """``p``'s game ``game_id`` ended with ``outcome``: noted (with ``detail``) when not
        completed; on to the next step."""
        if outcome != "completed":
            await self._event(p, f"game_{outcome}", {"game": game_id, **(detail or {})})
        await self._move(p, p.index + 1)
        await self._push(p)

    async def _group(self, p: Participant, step: GameStep, rep: int) -> list[Participant] | None:
        if len(step.humans) == 1:
            return [p]
        key = (p.experiment, step.name, rep)
        room = self.waitrooms.setdefault(key, Waitroom(len(step.humans), step.options.waitroom_timeout))
        ids = room.join(p.id)
        if ids is None:
            await self._waitroom_news(room)
            return None
        return [self.participants[pid] for pid in ids]

    async def _start_game(self, name: str, step: GameStep, rep: int, group: list[Participant],
                          asking: Participant) -> ServerGame:
        """Builds and starts the game of ``group``; every member but ``asking`` (who gets the view
        as an answer) is sent the game view."""
        experiment = self.experiments[name]
        who = [q.id for q in group]
        seed = self._game_seed(name, step, rep, who)
        built = await asyncio.to_thread(build_game, step, experiment.policies, seed=seed, participant=group[0].who(),
                                        group=[q.who() for q in group])
        game_id = new_id()
        humans = dict(zip(step.humans, who))
        game = ServerGame(game_id, built.driver(render=True), humans, self.emit,
                          lambda rows, t, tc, late: self.storage.add_steps(
                              game_id, rows, t_server=t, t_client=tc, late_ms=late,
                              keep_observations=step.options.record_observations),
                          self._game_over, grace=self.grace)
        await self.storage.add_game({"game_id": game_id, "experiment": name, "step": step.name, "repetition": rep,
                                     "runtime": "server", "seed": seed, "started_at": time.time(),
                                     "detail": {"step_runtime": step.runtime}})
        await self.storage.add_players([{"game_id": game_id, "agent": agent, "participant_id": humans.get(agent),
                                         "policy": None if agent in humans else step.players[agent]}
                                        for agent in built.env.agents])
        self.games[game_id] = game
        for q in group:
            await self._move(q, q.index, game_id)
            await self.join(q.id, game.room)
        game.start()
        log.info("game %s: %s::%s started for %s", game_id, name, step.name, ", ".join(who))
        for q in group:
            if q is not asking:
                await self._push(q)
        return game

    async def _game_over(self, game: ServerGame, outcome: str) -> None:
        self.games.pop(game.game_id, None)
        await self.storage.end_game(game.game_id, outcome, ended_at=time.time(),
                                    outcome_reason=OUTCOME_REASONS.get(outcome))  # [verify] why it ended
        log.info("game %s: over (%s)", game.game_id, outcome)
        for pid in game.humans.values():
            p = self.participants.get(pid)
            if p is None or p.game != game.game_id:
                continue
            await self._leave_game(p, game.game_id, outcome)

    def keys(self, p: Participant, data: Any) -> str | None:
        """A ``keys`` message; an error text for the client when it is not valid."""
        try:
            keys = parse_keys(data)
        except ProtocolError as exc:
            return str(exc)
        game = self.games.get(p.game or "")
        if game is None or keys.game != game.game_id:
            return "you are not in that game"
        game.on_keys(self._agent_of(game, p.id), keys)
        return None

    # -- waitrooms -------------------------------------------------------------------------

    async def _waitroom_news(self, room: Waitroom) -> None:
        for pid in room.waiting:
            await self.emit("waitroom", {"present": len(room.waiting), "needed": room.needed,
                                         "timeout": room.remaining(pid)}, room=f"p:{pid}")

    async def _tick_waitrooms(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for room in list(self.waitrooms.values()):
                for pid in room.timed_out():
                    await self._waitroom_timeout(self.participants[pid])
                await self._waitroom_news(room)

    async def _waitroom_timeout(self, p: Participant) -> None:
        completion = self._completion_step(p)
        code = (getattr(completion, "timeout_code", None) or completion.code) if completion else None
        await self._event(p, "waitroom_timeout")
        await self._set_status(p, "timed_out", code)
        await self._push(p)
