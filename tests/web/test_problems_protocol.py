"""Failures on the study's side at the protocol level (docs/participants.md): a survey that
raises after the consent ends the study for the participant with the error code, a neutral view
and a reference that the log and the events share; a protocol client that shows no screens is not
waited for."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import textwrap

import pytest

from serving import Browser, serve

pytestmark = pytest.mark.slow

STUDY = '''
    import mugkit as mk

    @mk.scene
    def consent():
        return mk.Consent(body="You agree.", decline_code="NO1")

    @mk.survey
    def questions():
        raise KeyError("a question the researcher forgot to define")

    @mk.scene
    def done():
        return mk.Completion(code="OK1", error_code="ERR1")
'''


def test_a_survey_that_raises_after_the_consent_ends_the_study_with_the_error_code(tmp_path):
    (tmp_path / "study.py").write_text(textwrap.dedent(STUDY))
    served = serve(str(tmp_path / "study.py"), data=str(tmp_path / "data"), extra=["--no-preflight"])  # broken on purpose
    try:
        async def main():
            b = Browser(served.url, "study")
            await b.connect()
            await b.view("consent")
            assert await b.call("advance", {"index": 0, "agree": True}) == {"ok": True}
            problem = await b.view("problem")
            again = Browser(served.url, "study", identity=b.identity)   # a reload shows it again
            await b.close()
            await again.connect()
            reloaded = await again.view("problem")
            await again.close()
            return problem, reloaded

        problem, reloaded = asyncio.run(main())
        assert problem["code"] == reloaded["code"] == "ERR1" and problem["redirect"] is None
        assert "technical problem on our side" in problem["html"] and "nothing to do with your computer" in problem["html"]
        with sqlite3.connect(os.path.join(served.data, "mugkit.sqlite")) as db:
            (detail,), = db.execute("select detail from events where kind = 'step_failed'").fetchall()
            status = db.execute("select status, outcome_code from participants").fetchall()
        detail = json.loads(detail)
        assert detail["ref"] == problem["ref"] and "forgot to define" in detail["error"]
        assert status == [("error", "ERR1")]
        log = "".join(served.output)
        assert problem["ref"] in log and "Traceback" in log and "KeyError" in log
    finally:
        served.stop()


ENV = """
    import mugkit as mk
    from mugkit import draw, spaces

    class Walkers:
        metadata = {"render_modes": ["mug"]}
        possible_agents = ["a"]

        def action_space(self, agent):
            return spaces.Discrete(2)

        def observation_space(self, agent):
            return spaces.Discrete(2)

        def reset(self, seed=None, options=None):
            self.agents = list(self.possible_agents)
            return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

        def step(self, actions):
            n = self.possible_agents
            return ({a: 0 for a in n}, {a: 0.0 for a in n}, {a: False for a in n}, {a: False for a in n},
                    {a: {} for a in n})

        def render(self):
            return [draw.rect(0, 0, 10, 10)]

    class BrokenPair(Walkers):
        possible_agents = ["a", "b"]

        def reset(self, seed=None, options=None):
            raise RuntimeError("reset forgot the second walker")

    @mk.scene
    def done():
        return mk.Completion(code="OK2")
"""

PAIR_STUDY = ENV + """
    @mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"ArrowRight": 1}, default_action=0, max_steps=30)
    def pair(group):
        return BrokenPair()

    FLOW = [pair, done]
"""

SOLO_STUDY = ENV + """
    @mk.scene(players={"a": mk.HUMAN}, keys={"ArrowRight": 1}, default_action=0, max_steps=60, runtime="browser")
    def solo(seed):
        return Walkers()

    FLOW = [solo, done]
"""


async def until(b: Browser, kind: str) -> dict:
    """The first view of ``kind``, or carrying a notice of that kind (a waitroom and the game's own
    view may come first)."""
    while (view := await b.view(timeout=30))["kind"] != kind and kind not in view:
        pass
    return view


def test_a_multiplayer_server_game_whose_reset_raises_moves_every_player_on(tmp_path):
    """Before: reset() ran after the players were moved into the game; its exception left the game
    running nowhere and the partner waiting on the waitroom screen for ever."""
    (tmp_path / "pair.py").write_text(textwrap.dedent(PAIR_STUDY))
    served = serve(str(tmp_path / "pair.py"), data=str(tmp_path / "data"), extra=["--no-preflight"])
    try:
        async def main():
            one, two = Browser(served.url, "pair"), Browser(served.url, "pair")
            for b in (one, two):
                await b.connect()
            notices = [await until(b, "problem") for b in (one, two)]
            for b in (one, two):
                await b.close()
            return notices

        notices = asyncio.run(main())
        assert all("technical problem on our side" in n["problem"]["title"] for n in notices)
        with sqlite3.connect(os.path.join(served.data, "mugkit.sqlite")) as db:
            assert db.execute("select step, outcome from games").fetchall() == [("pair", "error")]
            assert len(db.execute("select * from events where kind = 'game_error'").fetchall()) == 2
        assert "reset forgot the second walker" in "".join(served.output)
    finally:
        served.stop()


def test_ready_sent_twice_or_flooded_is_stored_once(tmp_path):
    """A browser game's clock runs in the page, so the server only records its ``ready``: before,
    every copy became a ``game_ready`` row (a script could add rows at the message rate)."""
    (tmp_path / "solo.py").write_text(textwrap.dedent(SOLO_STUDY))
    served = serve(str(tmp_path / "solo.py"), data=str(tmp_path / "data"))
    try:
        async def main():
            b = Browser(served.url, "solo")
            # As the participant's page: it shows the screens around games, so the game waits for it.
            await b.sio.connect(served.url, transports=["websocket"], socketio_path="socket.io",
                                auth={"experiment": "solo", "query": {}, "screens": True})
            game = await until(b, "game")
            replies = [await b.call("ready", {"game": game["game"], "screen": "ready", "episode": None})
                       for _ in range(20)]
            await b.close()
            return replies

        replies = asyncio.run(main())
        assert replies[0] == {"ok": True} and all(r.get("stale") for r in replies[1:]), replies[:3]
        with sqlite3.connect(os.path.join(served.data, "mugkit.sqlite")) as db:
            assert len(db.execute("select * from events where kind = 'game_ready'").fetchall()) == 1
    finally:
        served.stop()
