"""A server game whose process dies mid-game is taken over from its record (mugkit/web/takeover.py),
in one process: the dead owner is simulated by a shared state whose lease of the game expires by
hand (as Redis's does when its owner stops renewing it). The owner then finds its lease lost and
stops the game storing nothing more; the sweep takes it over from the stored rows."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from mugkit.collect import collect
from mugkit.games import Participant, build_game
from mugkit.runtime.values import from_json
from mugkit.runtime.verification import replay
from mugkit.web.shared import LEASE_SECONDS, MemoryState
from mugkit.web.storage.sqlite import SQLiteStorage
from mugkit.web.study import Study

STUDY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studies", "_takeover.py")


class Dying(MemoryState):
    """MemoryState with a test hook: :meth:`expire` makes a lease expire, as Redis's does when the
    process holding it dies (MemoryState's never do)."""

    def __init__(self) -> None:
        super().__init__()
        self.expired: set[str] = set()

    def expire(self, game_id: str) -> None:
        self.expired.add(game_id)

    async def own_game(self, game_id: str, owner: str, ttl: float = LEASE_SECONDS) -> bool:
        if game_id in self.expired:
            self.expired.discard(game_id)
            self._games[game_id] = owner
            return True
        return await super().own_game(game_id, owner, ttl)

    async def renew_games(self, owner: str, game_ids: list[str], ttl: float = LEASE_SECONDS) -> list[str]:
        return [g for g in game_ids if g in self.expired or self._games.get(g) != owner]

    async def game_owner(self, game_id: str) -> str | None:
        return None if game_id in self.expired else await super().game_owner(game_id)

    async def orphaned_games(self) -> list[str]:
        return sorted(self.expired)


class Run:
    """One study in this process, a participant, and what was emitted to them."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.state = Dying()
        self.emitted: list = []

    async def __aenter__(self) -> "Run":
        self.storage = SQLiteStorage(str(self.tmp_path / "mugkit.sqlite"))
        await self.storage.start()
        self.experiments = {e.name: e for e in collect([STUDY])}

        async def emit(event, data, room=None, **_):
            self.emitted.append((event, data, room))

        self.study = Study(self.experiments, self.storage, seed=11, emit=emit, state=self.state, grace=30)
        await self.study.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.study.close()
        await self.storage.close()

    async def arrive(self):
        arrival = await self.study.enter({"experiment": "_takeover", "query": {}})
        p = arrival.participant
        assert arrival.view["kind"] == "page"
        assert await self.study.advance(p, {"index": 0}) == {"ok": True}
        return p

    def view(self, p) -> dict:
        return [d for e, d, room in self.emitted if e == "view" and room == f"p:{p.id}"][-1]

    async def play(self, p, game_id: str, until, seconds: float = 30.0) -> None:
        """Presses keys in ``game_id`` (right for a while, then left, …) until ``until()``."""
        loop = asyncio.get_running_loop()
        deadline, seq = loop.time() + seconds, 0
        while not await until():
            assert loop.time() < deadline, "the game did not get there in time"
            held = ["ArrowRight"] if (seq // 7) % 3 else ["ArrowLeft"]
            keys = {"game": game_id, "seq": seq, "held": held, "down": held, "up": [], "t": 1000.0 + seq}
            await self.study.keys(p, keys)
            seq += 1
            await asyncio.sleep(0.02)

    async def frames(self, game_id: str) -> int:
        return len({(r["episode"], r["frame"]) for r in await self.storage.game_steps(game_id)})

    async def die(self, game_id: str) -> None:
        """The game's owner 'dies': its lease expires; the owner finds it lost and stops the game."""
        original = self.study.games[game_id]
        self.state.expire(game_id)
        await self.study.lobby.takeover.renew()  # (the renewal task may have found it first)
        assert game_id not in self.study.games or self.study.games[game_id] is not original


def test_a_server_game_whose_owner_died_is_resumed_from_its_record_and_completes(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p = await run.arrive()
            game_id = p.game
            assert game_id is not None and game_id in run.study.games

            await run.play(p, game_id, lambda: _at_least(run, game_id, 40))
            await run.die(game_id)
            stopped_at = await run.frames(game_id)
            await asyncio.sleep(0.3)  # the stopped game stores nothing more
            assert await run.frames(game_id) == stopped_at

            taken = await run.study.lobby.takeover.sweep()
            assert taken == [game_id] or game_id in run.study.games  # (the sweep task may have been first)
            resumed = run.study.games[game_id]
            assert resumed.driver.frame.index == stopped_at - 1  # replayed up to the last stored frame

            async def past_the_game():  # (p.game is None for a moment, between the two games)
                return p.game not in (game_id, None)
            await run.play(p, game_id, past_the_game)
            assert p.index == 2 and p.game is not None  # on to the next game
            return p, game_id, stopped_at

    async def check(p, game_id, stopped_at):
        storage = SQLiteStorage(str(tmp_path / "mugkit.sqlite"))
        await storage.start()
        try:
            return await storage.get_game(game_id), await storage.game_steps(game_id), await _events(storage, p.id)
        finally:
            await storage.close()

    p, game_id, stopped_at = asyncio.run(main())
    row, steps, events = asyncio.run(check(p, game_id, stopped_at))
    assert row["outcome"] == "completed" and row["outcome_reason"] == "game_over"
    # Every frame of both episodes stored once: 0..75 each, two agents a frame.
    keys = [(r["episode"], r["frame"], r["agent"]) for r in steps]
    assert len(keys) == len(set(keys)) == 2 * 76 * 2
    assert {(e, f) for e, f, _ in keys} == {(e, f) for e in (0, 1) for f in range(76)}
    assert stopped_at < 2 * 76  # it was taken over mid-game
    # The same rows as an uninterrupted run of the same seed and inputs: a fresh game replays them all.
    experiment = collect([STUDY])[0]
    step = experiment.step("walk")
    game = build_game(step, experiment.policies, seed=int(row["seed"]), participant=Participant(p.id, {}, None),
                      group=[Participant(p.id, {}, None)])
    verdict = replay(game.driver(), steps, "left", observations=bool(step.options.record_observations))
    assert verdict.agrees and verdict.complete, verdict.plain()
    resumed = [e for e in events if e[0] == "game_resumed"]
    assert len(resumed) == 1 and resumed[0][1]["game"] == game_id and resumed[0][1]["frames"] == stopped_at


def test_a_server_game_that_cannot_be_replayed_ends_interrupted_worker_lost_and_its_player_moves_on(tmp_path):
    async def main():
        async with Run(tmp_path) as run:
            p = await run.arrive()
            walk = p.game

            async def past(game_id):  # (p.game is None for a moment, between the two games)
                return p.game not in (game_id, None)
            await run.play(p, walk, lambda: past(walk))
            flaky = p.game
            assert flaky is not None and flaky != walk and p.index == 2
            await run.play(p, flaky, lambda: _at_least(run, flaky, 20))
            await run.die(flaky)
            await run.study.lobby.takeover.sweep()
            for _ in range(100):  # the sweep task may be the one ending it
                if p.index == 3:
                    break
                await asyncio.sleep(0.05)
            assert p.index == 3 and p.game is None
            assert run.view(p)["kind"] == "completion" and run.view(p)["code"] == "TAKEN1"
            assert flaky not in run.study.games
            return p, flaky, await run.storage.get_game(flaky), await _events(run.storage, p.id)

    p, flaky, row, events = asyncio.run(main())
    assert row["outcome"] == "interrupted" and row["outcome_reason"] == "worker_lost"
    assert "replay differs" in row["detail"]["not_resumed"] and "not deterministic" in row["detail"]["not_resumed"]
    assert ("game_interrupted", {"game": flaky, "reason": "worker_lost"}) in events


async def _at_least(run: Run, game_id: str, frames: int) -> bool:
    return await run.frames(game_id) >= frames


async def _events(storage, pid: str) -> list:
    """``(kind, detail)`` of the participant's stored events, read as an analyst reads them."""
    with sqlite3.connect(storage.path) as db:
        rows = db.execute("SELECT kind, detail FROM events WHERE participant_id = ? ORDER BY rowid", (pid,)).fetchall()
    return [(kind, from_json(detail) if detail else None) for kind, detail in rows]


def test_a_lease_is_trusted_by_this_process_only_while_its_renewal_is_recent():
    """Where leases can expire, a process stores a game's rows only while its own clock says its
    lease holds (a margin before another process could claim it); in one process's memory a lease
    holds until released. A lease lost to another process is reported by the renewal."""
    from mugkit.web.takeover import Leases

    async def main():
        state = Dying()
        shared, alone = Leases(state, "me", ttl=0.001), Leases(MemoryState(), "me", ttl=0.001, expire=False)
        assert await shared.claim("g1") and await alone.claim("g1")
        await asyncio.sleep(0.01)
        lapsed = (shared.holds("g1"), alone.holds("g1"))
        long = Leases(state, "me", ttl=60)
        assert await long.claim("g2") and long.holds("g2")
        assert not await Leases(state, "other", ttl=60).claim("g2")  # held by a live owner
        state.expire("g2")
        lost = await long.renew(["g2"])
        return lapsed, lost, long.holds("g2"), await Leases(state, "other", ttl=60).claim("g2")

    lapsed, lost, still, taken = asyncio.run(main())
    assert lapsed == (False, True)
    assert lost == ["g2"] and not still and taken
