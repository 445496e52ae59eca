"""Verified browser games, at the protocol level: a real `mugkit serve` process, python-socketio
clients speaking the browser runtime's protocol, a real database. Honest rows come from mugkit's
own BrowserGame played in CPython (as the load-test bots play); forged ones are those rows edited,
or made up. Each forgery is refused at once or flagged with the first frame that differs."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "web"))

from serving import Browser, serve  # noqa: E402

from mugkit.browser import game_from_spec  # noqa: E402
from mugkit.collect import load_experiment  # noqa: E402
from mugkit.runtime.values import from_json, to_json  # noqa: E402
from mugkit.web.storage.schema import SCHEMA_VERSION  # noqa: E402

pytestmark = pytest.mark.slow

STUDIES = os.path.join(HERE, "studies")
PATHS = {"_verify_flag": os.path.join(STUDIES, "_verify_flag.py"),
         "_verify_require": os.path.join(STUDIES, "_verify_require.py")}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = serve(*PATHS.values(), data=str(tmp_path_factory.mktemp("data")), grace=1)
    yield served
    served.stop()


def query(server, sql: str, *params) -> list:
    with sqlite3.connect(os.path.join(server.data, "mugkit.sqlite")) as db:
        return db.execute(sql, params).fetchall()


def verdict(server, game_id: str) -> dict:
    """The game's row once it has an outcome and its verification is done (bounded wait)."""
    for _ in range(600):
        rows = query(server, "select outcome, outcome_reason, verification, verification_detail, timing from games "
                             "where game_id = ?", game_id)
        if rows and rows[0][0] is not None and rows[0][2] not in (None, "pending"):
            outcome, reason, verification, detail, timing = rows[0]
            return {"outcome": outcome, "reason": reason, "verification": verification,
                    "detail": from_json(detail), "timing": from_json(timing)}
        time.sleep(0.1)
    raise AssertionError(f"game {game_id} was never verified: {rows}")


def honest(experiment: str, view: dict, seed: int = 1) -> list[dict]:
    """Every row of the game, played by mugkit's BrowserGame in CPython with random keys."""
    game = game_from_spec(load_experiment(PATHS[experiment]), from_json(view["boot"]["spec"]))
    rng = random.Random(seed)
    game.start()
    t, seq, held = 1_700_000_000.0, 0, []
    while not game.finished:
        if rng.random() < 0.25:
            now = rng.choice([[], ["ArrowLeft"], ["ArrowRight"], ["ArrowRight"]])
            game.key_message(seq, now, [k for k in now if k not in held], [k for k in held if k not in now], t * 1e3)
            seq, held = seq + 1, now
        game.tick(t, 0.0)
        t += 1 / 30 + rng.uniform(-0.003, 0.003)
    return from_json(game.take_rows())


def at(rows: list[dict], episode: int, frame: int) -> dict:
    return next(r for r in rows if (r["episode"], r["frame"]) == (episode, frame))


class Client:
    """One participant speaking the browser runtime's protocol."""

    def __init__(self, server, experiment: str):
        self.b = Browser(server.url, experiment)
        self.experiment = experiment
        self.batch = 0

    async def enter(self) -> dict:
        await self.b.connect()
        self.view = await self.b.view("game")
        self.game = self.view["game"]
        return self.view

    async def send(self, rows: list[dict], size: int = 25) -> list[dict]:
        """Sends ``rows`` in batches; the acknowledgements (stops at the first refusal)."""
        acks = []
        for i in range(0, len(rows), size):
            ack = await self.b.call("rows", {"game": self.game, "session": "s1", "batch": self.batch,
                                             "rows": to_json(rows[i:i + size])})
            self.batch += 1
            acks.append(ack)
            if not ack["ok"]:
                break
        return acks

    async def over(self) -> dict:
        # With verify="require" the acknowledgement waits for the verdict (a worker process).
        return await self.b.sio.call("game_over", {"game": self.game, "session": "s1"}, timeout=120)

    async def close(self) -> None:
        await self.b.close()


def play(server, experiment: str, edit=None, made_up: list | None = None) -> dict:
    """A whole game: honest rows (changed by ``edit``), or ``made_up`` rows; then ``game_over``."""
    async def main():
        c = Client(server, experiment)
        view = await c.enter()
        rows = made_up if made_up is not None else honest(experiment, view)
        if edit is not None:
            edit(rows)
        acks = await c.send(rows)
        over = await c.over()
        after = await c.b.view(timeout=60) if over.get("ok") else None
        await c.close()
        return {"game": c.game, "acks": acks, "over": over, "after": after, "participant": c.b.identity["participant"]}

    return asyncio.run(main())


def refused(server, edit) -> str:
    """The error of the first batch the server refuses after ``edit`` changed honest rows."""
    async def main():
        c = Client(server, "_verify_flag")
        rows = honest("_verify_flag", await c.enter())
        edit(rows)
        acks = await c.send(rows)
        await c.close()
        return acks

    acks = asyncio.run(main())
    assert acks[-1]["ok"] is False, acks[-1]
    return acks[-1]["error"]


# -- honest games ------------------------------------------------------------------------------


def test_an_honest_game_is_verified_and_its_timing_is_stored(server):
    got = play(server, "_verify_flag")
    assert got["over"] == {"ok": True} and got["after"]["kind"] == "completion" and got["after"]["code"] == "VFLAG1"
    v = verdict(server, got["game"])
    assert (v["outcome"], v["reason"], v["verification"]) == ("completed", "game_over", "verified")
    assert v["detail"]["difference"] is None and v["detail"]["complete"] is True
    stored = query(server, "select count(distinct episode || ':' || frame) from steps where game_id = ?", got["game"])
    assert v["detail"]["frames"] == stored[0][0]
    assert v["timing"]["frames"] == stored[0][0] and abs(v["timing"]["frame_interval_mean"] - 1 / 30) < 0.002
    assert v["timing"]["key_changes"] > 0


def test_an_honest_game_with_verify_require_earns_the_completion_code(server):
    got = play(server, "_verify_require")
    assert got["over"] == {"ok": True} and got["after"]["code"] == "VREQUIRE1"
    assert verdict(server, got["game"])["verification"] == "verified"
    assert query(server, "select status, outcome_code from participants where participant_id = ?",
                 got["participant"]) == [("completed", "VREQUIRE1")]


# -- forged rows, flagged by re-simulation -----------------------------------------------------


def _set(episode: int, frame: int, **values):
    return lambda rows: at(rows, episode, frame).update(values)


@pytest.mark.parametrize("edit, fields", [
    (_set(0, 5, reward=9999.0), ["reward"]),
    (_set(0, 5, terminated=True), ["terminated"]),        # an episode end where the env did not end
    (_set(0, 5, observation=150), ["observation"]),
    (_set(0, 5, info={"x": 150}), ["info"]),
    (_set(0, 5, keys=["ArrowLeft"], action=2, filled=False), ["action", "filled"]),   # keys say 0
], ids=["reward", "terminated", "observation", "info", "action-not-from-keys"])
def test_a_changed_row_is_flagged_at_its_frame_and_the_participant_goes_on(server, edit, fields):
    got = play(server, "_verify_flag", edit=edit)
    assert got["over"] == {"ok": True} and got["after"]["kind"] == "completion"   # verify="flag": goes on
    v = verdict(server, got["game"])
    assert v["verification"] == "failed"
    d = v["detail"]["difference"]
    assert (d["episode"], d["frame"], d["agent"], d["fields"]) == (0, 5, "walker", fields)
    assert v["detail"]["frames"] == 5                           # frames 0-4 agreed
    (detail,), = query(server, "select detail from events where participant_id = ? and kind = 'game_unverified'",
                       got["participant"])
    assert from_json(detail)["detail"]["difference"]["frame"] == 5


def six_rows() -> list[dict]:
    """The attack: two frames per episode, reward 9999, terminated set."""
    rows = []
    for e in range(3):
        rows.append({"episode": e, "frame": 0, "agent": "walker", "action": None, "keys": None, "filled": False,
                     "reward": 0, "terminated": False, "truncated": False, "observation": 100, "info": {}})
        rows.append({"episode": e, "frame": 1, "agent": "walker", "action": 2, "keys": ["ArrowRight"],
                     "filled": False, "reward": 9999.0, "terminated": True, "truncated": False, "observation": 101,
                     "info": {"x": 101}})
    return rows


def test_the_six_row_attack_is_flagged(server):
    got = play(server, "_verify_flag", made_up=six_rows())
    assert got["over"] == {"ok": True}
    v = verdict(server, got["game"])
    assert v["verification"] == "failed" and v["outcome"] == "completed"
    d = v["detail"]["difference"]
    assert (d["episode"], d["frame"], d["fields"]) == (0, 1, ["reward", "terminated"])
    assert d["stored"]["reward"] == "9999.0" and d["replayed"]["reward"] == "1.0"


def test_with_verify_require_the_six_row_attack_earns_no_completion_code(server):
    got = play(server, "_verify_require", made_up=six_rows())
    assert got["over"] == {"ok": True}
    assert got["after"]["kind"] == "ended" and got["after"]["code"] is None
    assert verdict(server, got["game"])["verification"] == "failed"
    assert query(server, "select status, outcome_code, reason from participants where participant_id = ?",
                 got["participant"]) == [("excluded", None, "game_not_counted")]
    kinds = [k for (k,) in query(server, "select kind from events where participant_id = ?", got["participant"])]
    assert "game_unverified" in kinds and "game_not_counted" in kinds


def test_with_verify_require_a_changed_reward_earns_no_completion_code(server):
    got = play(server, "_verify_require", edit=_set(1, 3, reward=5.0))
    assert got["after"]["kind"] == "ended" and got["after"]["code"] is None
    d = verdict(server, got["game"])["detail"]["difference"]
    assert (d["episode"], d["frame"], d["fields"]) == (1, 3, ["reward"])


# -- implausible rows, refused at once ---------------------------------------------------------


@pytest.mark.parametrize("edit, error", [
    (_set(0, 3, action=7), "rows[3].action 7 is outside 'walker''s action space Discrete(3)"),
    (lambda rows: rows.insert(4, {**at(rows, 0, 3), "frame": 21}), "rows[4].frame 21 is past the episode's last frame 20 (the step's max_steps)"),
    (lambda rows: rows.remove(at(rows, 0, 4)), "rows must continue the game frame by frame: after episode 0 frame 3 "
                                               "comes episode 0 frame 4, not episode 0 frame 5"),
    (lambda rows: rows.insert(4, dict(at(rows, 0, 3))), "episode 0 frame 3 has two rows of agent 'walker'"),
    (lambda rows: rows.insert(4, {**at(rows, 0, 0), "episode": 1}), "rows must continue the game frame by frame: "
     "after episode 0 frame 3 comes episode 0 frame 4, not episode 1 frame 0"),
], ids=["action-outside-space", "beyond-max-steps", "gap", "agent-twice", "episode-before-end"])
def test_implausible_rows_are_refused_at_once_with_what_is_wrong(server, edit, error):
    assert refused(server, edit) == error


# -- games the page or the server ends ---------------------------------------------------------


def ended_by_page(server, experiment: str) -> dict:
    async def main():
        c = Client(server, experiment)
        rows = honest(experiment, await c.enter())
        await c.send(rows[:10])
        ack = await c.b.sio.call("load_failed", {"game": c.game, "stage": "game", "package": None,
                                                 "reason": "ZeroDivisionError in step"}, timeout=120)
        after = await c.b.view(timeout=60)
        await c.close()
        return {"game": c.game, "ack": ack, "after": after}

    return asyncio.run(main())


def test_a_game_the_page_ends_with_an_error_carries_its_reason(server):
    got = ended_by_page(server, "_verify_flag")
    assert got["ack"]["ok"] is True and got["ack"]["ended"] is True and got["after"]["kind"] == "completion"
    assert got["after"]["problem"]["ref"] == got["ack"]["ref"]   # the participant reads it: a neutral notice
    v = verdict(server, got["game"])
    assert (v["outcome"], v["reason"], v["verification"]) == ("error", "client_error", "verified")
    assert v["detail"]["complete"] is False and v["detail"]["frames"] == 10


def test_with_verify_require_a_game_the_page_ended_earns_no_completion_code(server):
    got = ended_by_page(server, "_verify_require")
    assert got["after"]["kind"] == "ended" and got["after"]["code"] is None
    assert verdict(server, got["game"])["reason"] == "client_error"


@pytest.mark.parametrize("experiment, next_kind", [("_verify_flag", "completion"), ("_verify_require", "ended")])
def test_an_abandoned_game_ends_after_the_grace_with_its_reason(server, experiment, next_kind):
    async def leave():
        c = Client(server, experiment)
        rows = honest(experiment, await c.enter())
        await c.send(rows[:8])
        await c.close()
        return c

    c = asyncio.run(leave())
    v = verdict(server, c.game)          # the server's grace (1 s here) runs out
    assert (v["outcome"], v["reason"], v["verification"]) == ("abandoned", "grace_expired", "verified")

    async def back():
        again = Browser(server.url, experiment, identity=c.b.identity)
        await again.connect()
        view = await again.view()
        await again.close()
        return view

    assert asyncio.run(back())["kind"] == next_kind


# -- the load test's audit ---------------------------------------------------------------------


@pytest.mark.load
@pytest.mark.timeout(300)
def test_the_load_test_audit_checks_every_browser_game_is_verified(tmp_path):
    """The bots play real BrowserGames, so their games verify; a verdict changed behind their
    backs fails the run."""
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    brief = os.path.join(os.path.dirname(HERE), "loadtest", "studies", "_brief.py")

    def spoil(database: str) -> None:
        with sqlite3.connect(database) as db:
            for _ in range(600):  # the server may still be verifying
                if db.execute("select count(*) from games where runtime = 'browser' and verification = 'verified'"
                              ).fetchone()[0] == 3:
                    break
                time.sleep(0.1)
            db.execute("update games set verification = 'failed' where game_id = (select min(game_id) from games "
                       "where runtime = 'browser')")

    report = run_loadtest(LoadTestConfig([brief], 3, rate=10, stuck_after=30, progress=False,
                                         data=str(tmp_path / "data"), before_audit=spoil))
    d = report.data
    assert d["completed"] == 3 and d["lost_rows"] == 0, d["failures"]
    assert d["audit"]["checked"]["verification"] == 3
    assert d["unverified_games"] == 1 and d["audit"]["unverified"] == 1 and not report.ok
    assert any(e.startswith("verification: bot") and "is failed" in e for e in d["audit"]["examples"])
    assert "1 browser game(s) not verified" in report.text()


def test_a_game_a_stop_left_unverified_is_verified_after_the_restart(tmp_path):
    data = str(tmp_path / "data")
    served = serve(PATHS["_verify_flag"], data=data)
    try:
        got = play(served, "_verify_flag", edit=_set(2, 1, reward=3.0))
        assert verdict(served, got["game"])["verification"] == "failed"
        served.stop()
        with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:   # as if the stop came first
            db.execute("update games set verification = 'pending', verification_detail = null")
        served = serve(PATHS["_verify_flag"], data=data)
        v = verdict(served, got["game"])
        assert v["verification"] == "failed" and v["detail"]["difference"]["episode"] == 2
    finally:
        served.stop()


def test_game_over_sent_twice_at_once_moves_the_participant_on_once(server):
    async def main():
        c = Client(server, "_verify_require")
        await c.send(honest("_verify_require", await c.enter()))
        acks = await asyncio.gather(c.over(), c.over(), c.b.sio.call(
            "load_failed", {"game": c.game, "stage": "game", "reason": "late"}, timeout=120))
        after = await c.b.view(timeout=60)
        await c.close()
        return c, acks, after

    c, acks, after = asyncio.run(main())
    assert sorted(a["ok"] for a in acks) == [False, False, True] and after["code"] == "VREQUIRE1"
    assert all(a["stale"] for a in acks if not a["ok"])     # told: nothing to retry
    [(status, code, position)] = query(server, "select status, outcome_code, position from participants "
                                                "where participant_id = ?", c.b.identity["participant"])
    assert (status, code) == ("completed", "VREQUIRE1")
    assert {k: v for k, v in json.loads(position).items() if k != "entered"} == {"index": 1, "game": None, "device": 0}
    assert verdict(server, c.game)["outcome"] == "completed"


def test_a_schema_2_database_gets_the_verification_columns_and_keeps_its_games(tmp_path):
    from mugkit.web.storage import SQLiteStorage

    path = str(tmp_path / "mugkit.sqlite")

    async def write():
        storage = SQLiteStorage(path)
        await storage.start()
        await storage.add_game({"game_id": "g1", "experiment": "e", "step": "s", "runtime": "browser", "seed": 1})
        await storage.close()

    asyncio.run(write())
    with sqlite3.connect(path) as db:   # as mugkit wrote it before verification
        for column in ("outcome_reason", "verification", "verification_detail", "timing"):
            db.execute(f"alter table games drop column {column}")
        db.execute("pragma user_version = 2")

    async def again():
        storage = SQLiteStorage(path)
        await storage.start()
        await storage.update_game("g1", verification="verified", verification_detail={"frames": 3})
        row = await storage.get_game("g1")
        await storage.close()
        return row

    row = asyncio.run(again())
    assert (row["seed"], row["verification"], row["verification_detail"]) == (1, "verified", {"frames": 3})
    with sqlite3.connect(path) as db:
        assert db.execute("pragma user_version").fetchone() == (SCHEMA_VERSION,)
