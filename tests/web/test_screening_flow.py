"""Entry screening decided by the server (mugkit/web/screening.py), one study in this process:
what a participant's page would send is sent by hand, and so is what a hostile one would (a
forged report, a wrong step index, a report sent twice, an ``advance`` for the screening step,
nothing at all). Every decision is read back from the database, and from a plugin's hooks."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

import pytest

import mugkit as mk
from mugkit.collect import collect
from mugkit.web.plugins import Plugins
from mugkit.web.storage.sqlite import SQLiteStorage
from mugkit.web.study import Study

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "screening_studies", "_gate.py")
BARE = os.path.join(HERE, "screening_studies", "_bare.py")

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
          "Safari/537.36")
FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.2 Mobile/15E148 Safari/604.1")
BIG = [1280, 800]


class Recorder:
    """A lab's plugin, defined here: keeps what the screening hooks were given."""

    def __init__(self):
        self.screened: list = []
        self.states: list = []
        self.excluded: list = []

    @mk.hookimpl
    def mugkit_participant_screened(self, participant, step, passed, reason, detail):
        self.screened.append((participant["id"], step, passed, reason, detail))
        self.states.append((participant["status"], participant["reason"]))  # as stored when the hook ran

    @mk.hookimpl
    def mugkit_participant_excluded(self, participant, reason, by):
        self.excluded.append((participant["id"], participant["status"], reason, by))


def pings(*values):
    """A ping function answering ``values`` (ms, None: lost) in turn."""
    it = iter(values)

    async def ping():
        return next(it)
    return ping


class Run:
    """One study in this process; what was sent to participants."""

    def __init__(self, tmp_path, path=GATE):
        self.tmp_path, self.path = tmp_path, path
        self.emitted: list = []
        self.plugin = Recorder()

    async def __aenter__(self) -> "Run":
        self.db = str(self.tmp_path / "mugkit.sqlite")
        self.storage = SQLiteStorage(self.db)
        await self.storage.start()
        self.experiments = {e.name: e for e in collect([self.path])}

        async def emit(event, data, room=None, **_):
            self.emitted.append((event, data, room))

        self.study = Study(self.experiments, self.storage, seed=3, emit=emit,
                           plugins=Plugins([self.plugin], entry_points=False))
        await self.study.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.study.close()
        await self.storage.close()

    async def arrive(self, user_agent=CHROME, age=30, connected=True):
        """A participant who answered the survey (``age``), now at the screening step (index 1)."""
        name = os.path.splitext(os.path.basename(self.path))[0]
        arrival = await self.study.enter({"experiment": name, "query": {}}, user_agent)
        p = arrival.participant
        if connected:
            self.study.connected(p)
        if arrival.view["kind"] == "survey":
            assert await self.study.advance(p, {"index": 0, "answers": {"age": age}}) == {"ok": True}
            assert self.last(p)["kind"] == "screen", self.last(p)
        else:
            assert arrival.view["kind"] == "screen", arrival.view
        return p

    def last(self, p) -> dict:
        return [d for e, d, room in self.emitted if e == "view" and room == f"p:{p.id}"][-1]

    def row(self, p) -> dict:
        with sqlite3.connect(self.db) as db:
            db.row_factory = sqlite3.Row
            return dict(db.execute("SELECT * FROM participants WHERE participant_id = ?", (p.id,)).fetchone())

    def events(self, p, kind) -> list:
        with sqlite3.connect(self.db) as db:
            return [json.loads(d) if d else None for (d,) in db.execute(
                "SELECT detail FROM events WHERE participant_id = ? AND kind = ?", (p.id, kind))]


def run(coro):
    return asyncio.run(coro)


def test_a_desktop_chrome_with_a_big_window_and_a_fast_connection_goes_on(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()
            reply = await r.study.screen_report(p, {"index": 1, "window": BIG, "screen": [1920, 1080]},
                                                pings(12.0, 30.0, 9.0))
            assert reply == {"ok": True}
            assert r.last(p)["kind"] == "page" and r.last(p)["title"] == "Inside"
            (event,) = r.events(p, "screened")
            assert event["passed"] is True and event["browser"] == "chrome" and event["device"] == "desktop"
            assert event["window"] == BIG and event["rtt_ms"] == [12.0, 30.0, 9.0] and event["rtt_median_ms"] == 12.0
            assert r.row(p)["status"] == "active" and r.row(p)["reason"] is None
            assert r.plugin.screened == [(p.id, "entry", True, None, {k: v for k, v in event.items() if k != "passed"})]
            assert r.plugin.excluded == [] and r.plugin.states == [("active", None)]
    run(main())


@pytest.mark.parametrize("user_agent, age, window, rtts, reason, words", [
    (FIREFOX, 30, BIG, (10.0, 10.0, 10.0), "browser", "cannot be done in Firefox"),
    (IPHONE, 30, BIG, (10.0, 10.0, 10.0), "device", "cannot be done on a mobile phone"),
    (CHROME, 30, [640, 480], (10.0, 10.0, 10.0), "window", "at least 800 × 600 pixels; yours was 640 × 480"),
    (CHROME, 30, BIG, (300.0, 20.0, 400.0), "rtt", "too slow"),
    (CHROME, 30, BIG, (None, 20.0, None), "rtt", "most messages were lost"),
    (CHROME, 30, BIG, (None, None, None), "no_report", "did not answer"),
    (CHROME, 16, BIG, (10.0, 10.0, 10.0), "check", "This study is for adults only."),
])
def test_each_requirement_turns_away_with_its_reason_its_words_and_the_screening_code(
        tmp_path, user_agent, age, window, rtts, reason, words):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive(user_agent, age)
            assert await r.study.screen_report(p, {"index": 1, "window": window}, pings(*rtts)) == {"ok": True}
            row = r.row(p)
            assert (row["status"], row["reason"], row["outcome_code"]) == ("screened_out", reason, "SGATE1")
            assert words in row["reason_text"]
            view = r.last(p)
            assert view["kind"] == "ended" and view["status"] == "screened_out" and view["code"] == "SGATE1"
            assert words.split(";")[0] in view["html"].replace("&#x27;", "'") and "SGATE1" not in view["html"]
            (event,) = r.events(p, "screened_out")
            assert event["reason"] == reason and event["by"] == "screening" and event["step"] == "entry"
            assert r.events(p, "screened") == []
            assert [(s[2], s[3]) for s in r.plugin.screened] == [(False, reason)]
            assert r.plugin.states == [("screened_out", reason)]
            assert r.plugin.excluded == [(p.id, "screened_out", reason, "screening")]
    run(main())


def test_the_user_agent_is_the_one_the_server_saw_not_one_the_page_reports(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive(IPHONE)
            report = {"index": 1, "window": BIG, "user_agent": CHROME, "browser": "chrome", "device": "desktop"}
            assert await r.study.screen_report(p, report, pings(5.0, 5.0, 5.0)) == {"ok": True}
            assert r.row(p)["reason"] == "device"
    run(main())


def test_an_advance_for_the_screening_step_is_refused_and_moves_nobody(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()
            reply = await r.study.advance(p, {"index": 1})
            assert reply == {"ok": False, "error": "this step ends by itself"}
            assert p.index == 1 and r.row(p)["status"] == "active"
    run(main())


def test_reports_for_the_wrong_step_or_of_the_wrong_shape_are_refused_with_what_is_wrong(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()
            ping = pings(*[5.0] * 30)
            ahead = await r.study.screen_report(p, {"index": 2, "window": BIG}, ping)
            assert ahead == {"ok": False, "error": "that step is not reached yet"}
            behind = await r.study.screen_report(p, {"index": 0, "window": BIG}, ping)
            assert behind["ok"] is False and behind["stale"] is True
            for bad, what in (([1, 2], "must be an object"), ({"window": BIG}, "index"),
                              ({"index": 1}, "window"), ({"index": 1, "window": [800]}, "window"),
                              ({"index": 1, "window": [-1, 600]}, "window"),
                              ({"index": 1, "window": [True, 600]}, "window"),
                              ({"index": 1, "window": BIG, "screen": "big"}, "screen"),
                              ({"index": True, "window": BIG}, "index")):
                reply = await r.study.screen_report(p, bad, ping)
                assert reply["ok"] is False and what in reply["error"], (bad, reply)
            assert p.index == 1 and r.events(p, "screened") == [] and r.row(p)["status"] == "active"
    run(main())


def test_a_report_sent_twice_at_once_is_decided_once(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()

            async def slow():
                await asyncio.sleep(0.05)
                return 10.0

            report = {"index": 1, "window": BIG}
            replies = await asyncio.gather(*(r.study.screen_report(p, dict(report), slow) for _ in range(3)))
            assert sorted(x["ok"] for x in replies) == [False, False, True]
            assert all(x.get("stale") for x in replies if not x["ok"])
            again = await r.study.screen_report(p, report, slow)  # late: that step is over
            assert again["ok"] is False and again["stale"] is True
            assert len(r.events(p, "screened")) == 1 and p.index == 2
            assert len(r.plugin.screened) == 1
    run(main())


def test_a_page_that_never_reports_is_screened_out_when_the_step_times_out(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()
            await asyncio.sleep(4.5)  # the step's timeout is 4 s
            row = r.row(p)
            assert (row["status"], row["reason"], row["outcome_code"]) == ("screened_out", "no_report", "SGATE1")
            assert r.last(p)["kind"] == "ended"
    run(main())


def test_a_blocked_browser_that_never_reports_is_turned_away_for_its_browser(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive(FIREFOX)
            await asyncio.sleep(4.5)
            assert r.row(p)["reason"] == "browser"
    run(main())


def test_no_decision_without_a_connection_the_participant_is_screened_when_back(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive(connected=False)
            await asyncio.sleep(4.5)
            assert r.row(p)["status"] == "active" and p.index == 1
            assert await r.study.screen_report(p, {"index": 1, "window": BIG}, pings(5.0, 5.0, 5.0)) == {"ok": True}
            assert p.index == 2
    run(main())


def test_without_max_rtt_no_ping_is_sent_and_without_a_screening_code_none_is_shown(tmp_path):
    async def main():
        async with Run(tmp_path, BARE) as r:
            p = await r.arrive()

            async def never():
                raise AssertionError("pinged")

            assert await r.study.screen_report(p, {"index": 0, "window": [500, 900]}, never) == {"ok": True}
            row = r.row(p)
            assert (row["status"], row["reason"], row["outcome_code"]) == ("screened_out", "window", None)
            view = r.last(p)
            assert view["code"] is None and "return this study" in view["html"]
    run(main())


@pytest.mark.parametrize("verdict", ["raise", 0])
def test_an_own_check_that_raises_or_returns_nonsense_ends_with_the_error_code_not_a_pass(tmp_path, verdict,
                                                                                          monkeypatch):
    async def main():
        async with Run(tmp_path) as r:
            step = r.experiments["_gate"].step("entry")

            def broken(answers):
                if verdict == "raise":
                    raise RuntimeError("the lab's bug")
                return verdict

            monkeypatch.setattr(step, "fn", broken)  # the module is imported once per process: undone after
            p = await r.arrive()
            assert await r.study.screen_report(p, {"index": 1, "window": BIG}, pings(5.0, 5.0, 5.0)) == {"ok": True}
            row = r.row(p)
            assert row["status"] == "error" and row["outcome_code"] == "CGATE1"
            assert r.last(p)["kind"] == "problem"
            (failed,) = r.events(p, "step_failed")
            assert ("the lab's bug" if verdict == "raise" else "returned 0") in failed["error"]
    run(main())


def test_a_report_at_a_step_that_is_not_a_screening_step_is_refused(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            arrival = await r.study.enter({"experiment": "_gate", "query": {}}, CHROME)
            p = arrival.participant
            assert arrival.view["kind"] == "survey"
            reply = await r.study.screen_report(p, {"index": 0, "window": BIG}, pings(5.0, 5.0, 5.0))
            assert reply == {"ok": False, "error": "that step is not a screening step"}
            assert p.index == 0 and r.events(p, "screened") == [] and r.plugin.screened == []
    run(main())


def test_the_connection_that_reports_decides_when_it_is_not_the_one_they_arrived_with(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive(CHROME)  # arrived on a desktop, now reports from a phone (moved browsers)
            assert await r.study.screen_report(p, {"index": 1, "window": BIG}, pings(5.0, 5.0, 5.0), IPHONE) == {
                "ok": True}
            row = r.row(p)
            assert (row["status"], row["reason"]) == ("screened_out", "device")
            assert r.events(p, "screened_out")[0]["user_agent"] == IPHONE
    run(main())


def test_a_report_being_checked_when_the_deadline_passes_is_decided_by_the_report_once(tmp_path):
    async def main():
        async with Run(tmp_path) as r:
            p = await r.arrive()

            async def slow():  # three pings of 1.5 s: the step's 4 s deadline passes meanwhile
                await asyncio.sleep(1.5)
                return 40.0

            reply = await r.study.screen_report(p, {"index": 1, "window": BIG}, slow)
            assert reply == {"ok": True} and p.index == 2
            await asyncio.sleep(0.5)
            assert r.row(p)["status"] == "active" and len(r.events(p, "screened")) == 1
            assert r.events(p, "screened_out") == []
    run(main())


def test_a_phone_the_step_refuses_is_not_first_asked_for_a_larger_window(tmp_path):
    """The device is known from the header it arrived with: its page is not asked to grow the
    window first (a step it cannot pass anyway); a desktop is."""
    async def main():
        async with Run(tmp_path) as r:
            phone, desktop = await r.arrive(IPHONE), await r.arrive(CHROME)
            assert r.last(phone)["min_window"] is None
            assert r.last(desktop)["min_window"] == [800, 600]
            reply = await r.study.screen_report(phone, {"index": 1, "window": [390, 664], "screen": [390, 844]},
                                                pings(12.0, 30.0, 9.0))
            assert reply == {"ok": True}
            assert r.row(phone)["reason"] == "device"
    run(main())
