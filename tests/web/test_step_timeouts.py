"""Page and survey timeouts (mugkit/web/timeouts.py) in one process: a Study on SQLite, its
participants arriving through the flow as a browser's connection would make them, and what the
data hold. The attacks on the clock are here: an ``advance`` at the very moment the time runs out,
the same deadline taken twice, messages for a step the clock already left. The same with a real
server and socket.io clients: test_timeouts.py; the deadlines in Redis: at the end."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

import pytest

import mugkit as mk
from mugkit.collect import collect
from mugkit.steps import StepError
from mugkit.web.shared import MemoryState
from mugkit.web.storage.sqlite import SQLiteStorage
from mugkit.web.study import Study
from mugkit.web.timeouts import partial_answers

STUDIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studies")
TIMED = os.path.join(STUDIES, "_timed.py")            # intro: page, 2 s; quiz: survey, 3 s; done
CONSENT = os.path.join(STUDIES, "_timed_consent.py")  # consent, 2 s; done
GAME = os.path.join(STUDIES, "_timed_game.py")        # rules, 1 s; a two-player server game; done


class Run:
    """A study in this process; ``clock=False`` stops its timeout clock (a test then plays it)."""

    def __init__(self, tmp_path, clock: bool = True, state=None):
        self.path = str(tmp_path / "mugkit.sqlite")
        self.clock = clock
        self.state = state or MemoryState()
        self.emitted: list = []

    async def __aenter__(self) -> "Run":
        self.storage = SQLiteStorage(self.path)
        await self.storage.start()

        async def emit(event, data, room=None, **_):
            self.emitted.append((event, data, room))

        self.study = Study({e.name: e for e in collect([TIMED, CONSENT, GAME])}, self.storage, seed=5, emit=emit,
                           state=self.state)
        await self.study.start()
        if not self.clock:
            self.study.flow.timeouts.stop()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.study.close()
        await self.storage.close()

    async def arrive(self, experiment: str = "_timed"):
        arrival = await self.study.enter({"experiment": experiment, "query": {}})
        return arrival.participant, arrival.view

    def views(self, p) -> list[dict]:
        return [d for e, d, room in self.emitted if e == "view" and room == f"p:{p.id}"]

    def rows(self, sql: str, *args) -> list:
        with sqlite3.connect(self.path) as db:
            return db.execute(sql, args).fetchall()

    async def until(self, check, seconds: float = 15.0) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert time.monotonic() < deadline, "the clock did not move the participant on"
            await asyncio.sleep(0.1)

    async def past_deadline(self, p) -> None:
        """Waits until ``p``'s step's time is up (the clock stopped, nothing moves them)."""
        step, _ = self.study.flow.step_of(p)
        await asyncio.sleep(max(0.0, p.entered + step.timeout - time.time()) + 0.05)


# -- the options ---------------------------------------------------------------------------------


def test_pages_and_surveys_take_a_timeout_and_the_bare_forms_keep_working():
    @mk.scene(timeout=90)
    def page():
        return mk.Page(title="t", body="b")

    @mk.survey(timeout=2.5)
    def timed():
        return []

    @mk.survey
    def bare():
        return []

    @mk.scene
    def plain():
        return mk.Page(title="t", body="b")

    assert (page.timeout, timed.timeout, bare.timeout, plain.timeout) == (90.0, 2.5, None, None)
    assert (page.kind, timed.kind) == ("page", "survey")


@pytest.mark.parametrize("decorate, words", [
    (lambda: mk.survey(timeout=0), "timeout must be a positive number of seconds"),
    (lambda: mk.survey(timeout="60"), "got '60'"),
    (lambda: mk.scene(timeout=True), "got True"),
    (lambda: mk.scene(timeout=-5), "got -5"),
    (lambda: mk.survey(timout=60), "unknown option 'timout' (did you mean 'timeout'?)"),
    (lambda: mk.scene(timeout=60, fps=30), "unknown option 'fps'; a page scene takes timeout= only"),
    (lambda: mk.scene(timeout=60, players={"a": mk.HUMAN}, keys={"x": 0}, default_action=0),
     "timeout= is for pages and surveys"),
])
def test_a_bad_timeout_is_an_error_that_names_the_function_and_what_to_fix(decorate, words):
    with pytest.raises(StepError) as caught:
        @decorate()
        def step():
            return []
    assert words in str(caught.value) and "step" in str(caught.value) and __file__.split("/")[-1] in str(caught.value)


# -- the clock moves participants on -------------------------------------------------------------


def test_a_timed_page_moves_its_participant_on_with_no_connection_and_says_so_in_the_data(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p, view = await run.arrive()
            assert view["kind"] == "page" and 1.5 <= view["time_left"] <= 2.0
            await run.study.disconnected(p)  # the browser closed: nobody will press the button (p is dropped
            await run.until(lambda: len(run.views(p)) == 1)  # from memory: the clock reads them from storage)
            assert run.views(p)[-1]["kind"] == "survey" and run.views(p)[-1]["step"] == "quiz"
            (kind, step, detail), = run.rows("select kind, step, detail from events where participant_id = ?", p.id)
            assert (kind, step, detail) == ("step_timeout", "intro", '{"timeout":2.0}')
            (position,), = run.rows("select position from participants where participant_id = ?", p.id)
            assert '"index":1' in position  # stored: a restart finds them at the survey

    asyncio.run(main())


def test_a_timed_survey_stores_the_valid_answers_its_page_sent_so_far_and_says_which_are_missing(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p, _ = await run.arrive()
            assert await run.study.advance(p, {"index": 0}) == {"ok": True}
            # What the page held when it last sent a draft: a valid answer, one out of range, none yet.
            assert await run.study.draft(p, {"index": 1, "answers": {"fun": 4, "hand": "middle"}}) == {"ok": True}
            await run.until(lambda: run.views(p) and run.views(p)[-1]["kind"] == "completion", 20)
            assert run.rows("select step, question, value from answers") == [("quiz", "fun", "4")]
            (detail,), = run.rows("select detail from events where kind = 'step_timeout'")
            assert detail == '{"timeout":3.0,"answered":["fun"],"unanswered":["hand","comments"]}'
            assert run.views(p)[-1]["kind"] == "completion" and p.status == "completed"

    asyncio.run(main())


def test_a_timed_survey_whose_page_sent_nothing_stores_no_answers(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p, _ = await run.arrive()
            await run.study.advance(p, {"index": 0})
            await run.until(lambda: p.index == 2, 20)
            assert run.rows("select count(*) from answers") == [(0,)]
            (detail,), = run.rows("select detail from events where kind = 'step_timeout' and step = 'quiz'")
            assert '"answered":[]' in detail

    asyncio.run(main())


def test_a_consent_page_that_times_out_ends_the_study_with_the_decline_code_never_the_completion_code(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p, view = await run.arrive("_timed_consent")
            assert view["kind"] == "consent" and view["time_left"] > 0
            await run.until(lambda: run.views(p) and run.views(p)[-1]["kind"] == "ended")
            final = run.views(p)[-1]
            assert final["kind"] == "ended" and final["code"] == "CDECLINE" and "ran out" in final["html"]
            assert "TIMED2" not in final["html"] and "WAITED" not in final["html"]
            assert run.rows("select status, outcome_code, reason from participants") == [
                ("timed_out", "CDECLINE", "step_timeout")]
            assert run.rows("select kind from events") == [("step_timeout",)]
            # Agreeing now is too late.
            reply = await run.study.advance(p, {"index": 0, "agree": True})
            assert reply["ok"] is False and reply["stale"] is True

    asyncio.run(main())


def test_partial_answers_keep_only_what_the_server_would_accept_question_by_question():
    questions = [mk.Likert("fun", "Fun?", points=5), mk.Choice("hand", "Hand?", ["left", "right"]),
                 mk.Text("why", "Why left?", visible_if=("hand", "==", "left"))]
    assert partial_answers(questions, {"fun": 9, "hand": "left", "why": "habit", "bogus": 1}) == (
        {"hand": "left", "why": "habit"}, ["fun"])
    assert partial_answers(questions, {"hand": "right", "why": "hidden, so not kept"}) == ({"hand": "right"}, ["fun"])
    assert partial_answers(questions, None) == ({}, ["fun", "hand"])


def test_a_closed_page_moved_on_to_a_game_step_waits_for_its_participant_not_in_the_waitroom(tmp_path):
    """Moved on by the clock with no page open, a participant is at the game step but neither in
    its waitroom nor in a game: a partner cannot be matched with nobody. Back, they join it."""
    async def main():
        async with Run(tmp_path) as run:
            here, _ = await run.arrive("_timed_game")
            run.study.connected(here)  # this one's page is open
            gone, _ = await run.arrive("_timed_game")  # this one's is not
            await run.until(lambda: run.views(here) and run.views(here)[-1]["kind"] == "waitroom")
            await run.until(lambda: run.rows("select count(*) from events where kind = 'step_timeout'") == [(2,)])
            assert await run.state.waiting() == {("_timed_game", "pair", 0): [here.id]}
            assert run.views(gone) == [] and run.rows("select count(*) from games") == [(0,)]
            (position,), = run.rows("select position from participants where participant_id = ?", gone.id)
            assert '"index":1' in position  # at the game step, waiting to come back
            back = await run.study.enter({"experiment": "_timed_game", "query": {},
                                          "participant": gone.id, "resume": run.study.resume_key(gone)})
            assert back.view["kind"] == "game"  # back: grouped with the one who waited
            assert run.views(here)[-1]["kind"] == "game" and run.rows("select count(*) from games") == [(1,)]

    asyncio.run(main())


# -- attacks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("advance_first", [True, False])
def test_an_advance_at_the_very_moment_the_time_runs_out_moves_the_participant_once(tmp_path, advance_first):
    """The page's click and the server's clock, at once, for many participants: each moves on one
    step, never two; either the answers are stored (the click won) or the timeout (the clock
    won), never both, and the loser is told the step was left."""
    async def main():
        async with Run(tmp_path, clock=False) as run:
            arrivals = [await run.arrive() for _ in range(12)]
            people = [p for p, _ in arrivals]
            for p in people:
                await run.study.advance(p, {"index": 0})  # on to the survey (3 s)
            await run.past_deadline(people[-1])
            answers = {"fun": 5, "hand": "left", "comments": None}
            clock = run.study.flow.timeouts

            async def race(p):
                click = run.study.advance(p, {"index": 1, "answers": answers})
                tick = clock.expire(p.id, 1)
                return await asyncio.gather(*((click, tick) if advance_first else (tick, click)))

            results = await asyncio.gather(*(race(p) for p in people))
            for p, result in zip(people, results):
                ack, expired = result if advance_first else result[::-1]
                assert p.index == 2 and p.status == "completed"
                assert ack["ok"] != expired, (ack, expired)  # exactly one of them moved them on
                if not ack["ok"]:
                    assert ack.get("stale") is True
                stored = run.rows("select count(*) from answers where participant_id = ?", p.id)[0][0]
                timeouts = run.rows("select count(*) from events where participant_id = ? and kind = 'step_timeout'",
                                    p.id)[0][0]
                assert (stored, timeouts) == ((3, 0) if ack["ok"] else (0, 1))

    asyncio.run(main())


def test_the_same_deadline_twice_moves_nobody_twice_and_a_late_one_does_nothing(tmp_path):
    async def main():
        async with Run(tmp_path, clock=False) as run:
            p, _ = await run.arrive()
            clock = run.study.flow.timeouts
            assert await clock.expire(p.id, 0) is False  # not yet: nothing done (and re-armed)
            assert p.index == 0
            await run.past_deadline(p)
            assert await asyncio.gather(clock.expire(p.id, 0), clock.expire(p.id, 0)) in ([True, False], [False, True])
            assert p.index == 1
            assert await clock.expire(p.id, 0) is False  # a deadline re-derived after a restart, say
            assert await clock.expire("nobody", 0) is False
            assert p.index == 1 and run.rows("select count(*) from events")[0][0] == 1

    asyncio.run(main())


def test_messages_for_a_step_the_clock_already_left_are_refused_as_stale(tmp_path):
    async def main():
        async with Run(tmp_path, clock=False) as run:
            p, _ = await run.arrive()
            await run.past_deadline(p)
            assert await run.study.flow.timeouts.expire(p.id, 0)
            for reply in (await run.study.advance(p, {"index": 0}),
                          await run.study.draft(p, {"index": 0, "answers": {"fun": 1}})):
                assert reply["ok"] is False and reply["stale"] is True, reply
            assert p.index == 1
            # Drafts only for the survey the participant is at, well formed.
            assert (await run.study.draft(p, {"index": 2, "answers": {}}))["stale"] is True
            assert "draft.answers" in (await run.study.draft(p, {"index": 1, "answers": [1]}))["error"]
            assert "draft.index" in (await run.study.draft(p, {"index": True, "answers": {}}))["error"]
            assert "draft.index" in (await run.study.draft(p, "junk"))["error"]

    asyncio.run(main())


def test_a_draft_for_a_survey_without_a_time_limit_is_refused(tmp_path):
    async def main():
        async with Run(tmp_path, clock=False) as run:
            p, _ = await run.arrive()
            reply = await run.study.draft(p, {"index": 0, "answers": {"fun": 1}})  # a page, not a survey
            assert reply["ok"] is False and "not a survey with a time limit" in reply["error"]

    asyncio.run(main())


# -- restarts and several processes --------------------------------------------------------------


def test_a_restart_keeps_the_deadline_from_the_stored_step_entry(tmp_path):
    """The server stops before the time is up; the next one (a new, empty shared state) derives
    the deadline from storage and moves the participant on, without any connection."""
    async def main():
        async with Run(tmp_path, clock=False) as run:
            p, _ = await run.arrive()
            pid, entered = p.id, p.entered
        async with Run(tmp_path) as again:  # a fresh MemoryState: what it knows comes from storage
            await again.until(lambda: again.rows("select count(*) from events")[0][0] == 1)
            (t, kind), = again.rows("select t, kind from events where participant_id = ?", pid)
            assert kind == "step_timeout" and t >= entered + 2.0  # never before the time was up
            (position,), = again.rows("select position from participants")
            assert '"index":1' in position

    asyncio.run(main())


def test_deadlines_in_memory_are_taken_once_and_replaced_per_participant():
    async def main():
        state = MemoryState()
        await state.set_deadline("a", 0, 100.0)
        await state.set_deadline("a", 1, 200.0)  # a is at step 1 now: the old deadline is gone
        await state.set_deadline("b", 3, 150.0)
        assert await state.due_deadlines(120.0) == []
        assert sorted(await state.due_deadlines(250.0)) == [("a", 1), ("b", 3)]
        assert await state.due_deadlines(250.0) == []
        await state.keep_draft("a", 1, {"x": 1}, ttl=30)
        assert await state.draft("a", 1) == {"x": 1} and await state.draft("a", 2) is None

    asyncio.run(main())


def test_deadlines_in_redis_are_taken_by_one_process_only(redis_url, redis_study):
    """Two processes' shared states on one Redis: each due deadline goes to exactly one of them,
    at once; drafts are seen by both."""
    from mugkit.web.shared_redis import RedisState

    async def main():
        one, two = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        try:
            for i in range(200):
                await one.set_deadline(f"p{i}", i % 7, 1000.0 + i)
            await two.set_deadline("p0", 5, 5000.0)  # replaced by another process: not due yet
            assert await one.due_deadlines(999.0) == []
            got = await asyncio.gather(*(s.due_deadlines(2000.0) for s in (one, two, one, two)))
            taken = [d for batch in got for d in batch]
            assert sorted(taken) == sorted((f"p{i}", i % 7) for i in range(1, 200))
            assert await two.due_deadlines(6000.0) == [("p0", 5)]
            await one.keep_draft("p1", 3, {"fun": 4}, ttl=30)
            assert await two.draft("p1", 3) == {"fun": 4} and await two.draft("p1", 4) is None
        finally:
            await one.close()
            await two.close()

    asyncio.run(main())


def test_a_redis_that_restarted_empty_gets_the_deadlines_back_from_storage(tmp_path, redis_server):
    """The study runs on; Redis restarts empty (no persistence), losing the deadlines: the clock
    notices (its ``first`` answers again) and derives them from storage."""
    from mugkit.web.shared_redis import RedisState

    async def main():
        state = RedisState(redis_server.url, "restarted")
        async with Run(tmp_path, state=state) as run:
            p, _ = await run.arrive()
            redis_server.restart()
            await run.until(lambda: p.index == 1, 20)
            assert run.rows("select kind from events") == [("step_timeout",)]

    asyncio.run(main())


def test_the_page_check_refuses_a_timeout_on_a_completion_page(tmp_path):
    """``mugkit check``: a timeout on the page where the participant finishes could do nothing."""
    from checkrun import run_check

    (tmp_path / "lab.py").write_text(
        "import mugkit as mk\n\n\n@mk.scene(timeout=30)\ndef intro():\n"
        "    return mk.Page(title='Hi', body='Read.')\n\n\n"
        "@mk.scene(timeout=60)\ndef done():\n    return mk.Completion(code='C1')\n")
    results = run_check(str(tmp_path / "lab.py"), tmp_path=tmp_path)
    assert results.outcome("intro::page") == "passed"
    assert results.outcome("done::page") == "failed"
    assert "a completion page with timeout=60: the participant has finished there" in results.message("done::page")
    assert results.returncode == 1


def test_the_deadline_outlives_a_restart_on_both_storage_backends(backend):
    """SQLite and PostgreSQL keep when the participant reached their step: the next server
    derives the deadline from it and moves them on."""
    experiments = {e.name: e for e in collect([TIMED])}

    async def serve_once(until=None):
        storage = backend.storage()
        await storage.start()
        study = Study(experiments, storage, seed=5)
        await study.start()
        try:
            if until is None:
                study.flow.timeouts.stop()  # this one stops before the time is up
                arrival = await study.enter({"experiment": "_timed", "query": {}})
                return arrival.participant.id
            deadline = time.monotonic() + 20
            while not await until(storage):
                assert time.monotonic() < deadline, "the restarted server did not move the participant on"
                await asyncio.sleep(0.1)
        finally:
            await study.close()
            await storage.close()

    async def moved(storage) -> bool:
        return (await storage.get_participant(pid))["position"]["index"] == 1

    pid = asyncio.run(serve_once())
    asyncio.run(serve_once(until=moved))
    with type(backend.storage()).reader(backend.reader_location) as reader:
        found = [(e["step"], e["kind"]) for e in reader.rows("events")]
    assert found == [("intro", "step_timeout")]


def test_a_stale_deadline_that_replaced_the_current_one_puts_it_back(tmp_path):
    """A deadline of a step already left (from a derivation that read the participant just before
    they moved) replaced the one of their current step: when it comes due it does nothing, and
    the current step's deadline is back in the shared state."""
    async def main():
        async with Run(tmp_path, clock=False) as run:
            p, _ = await run.arrive()
            await run.study.advance(p, {"index": 0})  # at the survey (3 s): its deadline is armed
            await run.state.set_deadline(p.id, 0, time.time() - 1)  # the stale one replaces it
            (pid, index), = await run.state.due_deadlines(time.time())
            assert await run.study.flow.timeouts.expire(pid, index) is False and p.index == 1
            assert await run.state.due_deadlines(time.time()) == []
            assert await run.state.due_deadlines(p.entered + 3.0) == [(p.id, 1)]  # the survey's, back

    asyncio.run(main())
