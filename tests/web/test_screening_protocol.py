"""Entry screening against a real ``mugkit serve``, spoken to by raw socket.io clients that do not
run the page's part (or do it wrong): the server screens them anyway, from what it sees itself —
the User-Agent header of the socket, its own pings, the step's deadline."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

import pytest

from serving import serve

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "screening_studies", "_gate.py")
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
          "Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.2 Mobile/15E148 Safari/604.1")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    served = serve(GATE, data=str(tmp_path_factory.mktemp("gate")))
    yield served
    served.stop()


class Raw:
    """A socket.io client with a chosen User-Agent header; answers ``screen_ping`` after
    ``pong_after`` seconds, or never (None)."""

    def __init__(self, url: str, user_agent: str = CHROME, pong_after: float | None = 0.0):
        import socketio

        self.url, self.user_agent = url, user_agent
        self.sio = socketio.AsyncClient(reconnection=False)
        self.views: asyncio.Queue = asyncio.Queue()
        self.pings = 0
        self.sio.on("view", self.views.put)
        self.sio.on("identity", self._identity)
        # python-socketio's client acknowledges an event it has no handler for: a page that never
        # answers is one whose handler never returns.
        async def pong(data=None):
            self.pings += 1
            await asyncio.sleep(3600 if pong_after is None else pong_after)
            return {}
        self.sio.on("screen_ping", pong)

    async def _identity(self, data):
        self.participant = data["participant"]

    async def to_screening(self) -> dict:
        """Connects, answers the survey (age 30); returns the screening step's view."""
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io",
                               headers={"User-Agent": self.user_agent}, auth={"experiment": "_gate", "query": {}})
        survey = await self.view("survey")
        assert await self.sio.call("advance", {"index": survey["index"], "answers": {"age": 30}}, timeout=10) == {
            "ok": True}
        return await self.view("screen")

    async def view(self, kind: str, timeout: float = 20.0) -> dict:
        view = await asyncio.wait_for(self.views.get(), timeout)
        assert view["kind"] == kind, view
        return view

    async def close(self) -> None:
        await asyncio.wait_for(self.sio.disconnect(), 5)


def stored(data: str, pid: str) -> tuple:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        row = db.execute("SELECT status, reason, outcome_code, user_agent FROM participants WHERE participant_id = ?",
                         (pid,)).fetchone()
        events = {kind: json.loads(detail) if detail else None for kind, detail in db.execute(
            "SELECT kind, detail FROM events WHERE participant_id = ?", (pid,))}
    return row, events


def test_a_client_that_skips_the_screening_and_advances_is_refused_then_screened_out(gate):
    async def main():
        raw = Raw(gate.url)
        view = await raw.to_screening()
        assert view["index"] == 1 and view["timeout"] == 4
        reply = await raw.sio.call("advance", {"index": 1}, timeout=10)
        assert reply == {"ok": False, "error": "this step ends by itself"}
        ended = await raw.view("ended", timeout=15)  # nothing reported within the step's 4 s
        assert ended["status"] == "screened_out" and ended["code"] == "SGATE1"
        assert "did not complete the study's entry check" in ended["html"]
        await raw.close()
        (status, reason, code, _), events = stored(gate.data, raw.participant)
        assert (status, reason, code) == ("screened_out", "no_report", "SGATE1")
        assert events["screened_out"]["reason"] == "no_report" and "inside" not in str(events)
    asyncio.run(main())


def test_the_user_agent_header_decides_not_a_forged_report(gate):
    async def main():
        raw = Raw(gate.url, IPHONE)
        view = await raw.to_screening()
        forged = {"index": view["index"], "window": [1920, 1080], "screen": [1920, 1080], "device": "desktop",
                  "user_agent": CHROME}
        assert await raw.sio.call("screen_report", forged, timeout=20) == {"ok": True}
        ended = await raw.view("ended")
        assert "cannot be done on a mobile phone" in ended["html"]
        await raw.close()
        (status, reason, _, user_agent), events = stored(gate.data, raw.participant)
        assert (status, reason, user_agent) == ("screened_out", "device", IPHONE)
        assert events["screened_out"]["device"] == "mobile" and events["screened_out"]["browser"] == "safari"
    asyncio.run(main())


def test_a_page_that_never_answers_the_servers_pings_is_not_let_in(gate):
    async def main():
        raw = Raw(gate.url, pong_after=None)
        view = await raw.to_screening()
        assert await raw.sio.call("screen_report", {"index": view["index"], "window": [1280, 800]},
                                  timeout=20) == {"ok": True}
        await raw.view("ended")
        await raw.close()
        (status, reason, _, _), events = stored(gate.data, raw.participant)
        assert (status, reason) == ("screened_out", "no_report")
        assert events["screened_out"]["rtt_ms"] == [None, None, None]
    asyncio.run(main())


def test_a_slow_connection_is_measured_by_the_server_and_turned_away(gate):
    async def main():
        raw = Raw(gate.url, pong_after=0.4)
        view = await raw.to_screening()
        assert await raw.sio.call("screen_report", {"index": view["index"], "window": [1280, 800]},
                                  timeout=20) == {"ok": True}
        ended = await raw.view("ended")
        assert "too slow" in ended["html"]
        await raw.close()
        (status, reason, _, _), events = stored(gate.data, raw.participant)
        assert (status, reason) == ("screened_out", "rtt") and raw.pings == 3
        assert all(400 <= x < 2000 for x in events["screened_out"]["rtt_ms"])
    asyncio.run(main())


def test_a_client_that_reports_and_answers_pings_goes_on_with_its_measures_stored(gate):
    async def main():
        raw = Raw(gate.url)
        view = await raw.to_screening()
        report = {"index": view["index"], "window": [1280, 800], "screen": [1920, 1080]}
        replies = await asyncio.gather(raw.sio.call("screen_report", report, timeout=20),
                                       raw.sio.call("screen_report", report, timeout=20))
        assert sorted(r["ok"] for r in replies) == [False, True]  # sent twice: decided once
        page = await raw.view("page")
        assert page["title"] == "Inside" and raw.pings == 3
        await raw.close()
        (status, reason, _, _), events = stored(gate.data, raw.participant)
        assert (status, reason) == ("active", None)
        screened = events["screened"]
        assert screened["passed"] is True and screened["window"] == [1280, 800] and len(screened["rtt_ms"]) == 3
        assert all(0 < x < 250 for x in screened["rtt_ms"])
    asyncio.run(main())
