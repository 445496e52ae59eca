"""The contract of SharedState, held by MemoryState (one process) and RedisState (several, on a
real redis-server), and the races between processes that RedisState must win: two RedisState
instances on one Redis are two server processes of one study."""

from __future__ import annotations

import asyncio
import time

import pytest

from mugkit.web import shared_redis
from mugkit.web.shared import LEASE_SECONDS, MemoryState, SharedStateError, open_state
from mugkit.web.shared_redis import RedisState


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["memory", "redis"])
def states(request):
    """``states()`` → a new SharedState of the test's study: a new "process" on Redis; the one
    process in memory."""
    if request.param == "memory":
        memory = MemoryState()
        yield lambda: memory
        return
    url, study = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_study")
    yield lambda: RedisState(url, study)


async def until(predicate, seconds: float = 10.0):
    """Waits (polling) until ``predicate()`` (a coroutine function) is true; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await predicate():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.02)


class Who:
    def __init__(self, pid: str):
        self.id = pid


# -- the contract, on both ---------------------------------------------------------------------

def test_transition_is_held_by_one_task_at_a_time_and_reentrant_for_it(states):
    async def main():
        state, order = states(), []

        async def one(name):
            async with state.transition("p:a"):
                order.append(f"{name} in")
                async with state.transition("p:a"):  # the holder enters again
                    await asyncio.sleep(0.05)
                order.append(f"{name} out")

        async def other_key():
            async with state.transition("p:b"):
                order.append("b")

        await asyncio.gather(one("x"), one("y"), other_key())
        await state.close()
        return order

    order = run(main())
    assert order.index("x out") == order.index("x in") + 1 or order.index("y out") == order.index("y in") + 1
    pairs = [e for e in order if e != "b"]
    assert pairs in (["x in", "x out", "y in", "y out"], ["y in", "y out", "x in", "x out"])
    assert "b" in order


def test_participants_are_cached_and_forgotten(states):
    async def main():
        state = states()
        p = Who("p1")
        assert state.participant("p1") is None
        state.keep_participant(p)
        assert state.participant("p1") is p and state.cached_participants() == {"p1": p}
        state.forget_participant("p1")
        assert state.participant("p1") is None and state.cached_participants() == {}
        await state.close()

    run(main())


def test_counters_count_from_zero_by_key(states):
    async def main():
        state = states()
        assert await state.count("arrivals:x") == 0
        assert await state.count("arrivals:x") == 1
        assert await state.count("conditions:x", "a", by=3) == 0
        assert await state.count("conditions:x", "a") == 3
        await state.count("conditions:x", "b")
        got = (await state.counts("arrivals:x"), await state.counts("conditions:x"), await state.counts("none"))
        await state.close()
        return got

    assert run(main()) == ({None: 2}, {"a": 4, "b": 1}, {})


def test_first_is_true_once(states):
    async def main():
        a, b = states(), states()
        got = [await a.first("seed"), await b.first("seed"), await a.first("seed"), await b.first("other")]
        await a.close(), await b.close()
        return got

    assert run(main()) == [True, False, False, True]


def test_waitroom_forms_a_group_once_and_reports_who_waits(states):
    room = ("exp", "game", 0)

    async def main():
        state = states()
        assert await state.join_waitroom(room, "a", 3, 60) is None
        assert await state.join_waitroom(room, "a", 3, 60) is None  # again: no change
        assert await state.join_waitroom(room, "b", 3, 60) is None
        status = await state.waitroom_status(room, "b")
        waiting = await state.waiting()
        await state.leave_waitrooms("b")
        after_leave = await state.waiting()
        await state.join_waitroom(room, "c", 3, 60)
        group = await state.join_waitroom(room, "d", 3, 60)
        empty = await state.waiting()
        await state.close()
        return status, waiting, after_leave, group, empty

    status, waiting, after_leave, group, empty = run(main())
    assert status["present"] == 2 and status["needed"] == 3 and 0 < status["timeout"] <= 60
    assert waiting == {room: ["a", "b"]}
    assert after_leave == {room: ["a"]}
    assert group == ["a", "c", "d"]
    assert empty == {}


def test_waitroom_timeouts_take_out_whoever_waited_too_long(states):
    room = ("exp", "game", 1)

    async def main():
        state = states()
        await state.join_waitroom(room, "slow", 2, 0.2)
        first = await state.waitroom_timeouts()
        await asyncio.sleep(0.4)
        remaining = (await state.waitroom_status(room, "slow"))["timeout"]
        out = await state.waitroom_timeouts()
        again = await state.waitroom_timeouts()
        waiting = await state.waiting()
        await state.close()
        return first, remaining, out, again, waiting

    first, remaining, out, again, waiting = run(main())
    assert first == [] and remaining == 0 and out == ["slow"] and again == [] and waiting == {}


def test_heartbeats_tell_which_processes_are_alive(states):
    async def main():
        state = states()
        await state.heartbeat("w1", {"games": 2}, ttl=60)
        await state.heartbeat("w2", {"games": 0}, ttl=0.2)
        both = await state.processes()
        await until(lambda: _lacks(state, "w2"))
        alive = await state.processes()
        await state.close()
        return both, alive

    both, alive = run(main())
    assert both == {"w1": {"games": 2}, "w2": {"games": 0}}
    assert alive == {"w1": {"games": 2}}


async def _lacks(state, process):
    return process not in await state.processes()


def test_game_leases_have_one_owner_until_released(states):
    async def main():
        state = states()
        got = [await state.own_game("g1", "w1"), await state.own_game("g1", "w2"), await state.own_game("g1", "w1"),
               await state.game_owner("g1"), await state.renew_games("w1", ["g1"]),
               await state.renew_games("w2", ["g1", "unknown"]), await state.orphaned_games()]
        await state.release_game("g1")
        got += [await state.game_owner("g1"), await state.own_game("g1", "w2"), await state.orphaned_games()]
        await state.close()
        return got

    assert run(main()) == [True, False, True, "w1", [], ["g1", "unknown"], [], None, True, []]


def test_messages_arrive_in_order_and_broadcasts_reach_every_inbox(states):
    async def main():
        state = states()
        mine, theirs = state.inbox("w1"), state.inbox("w2")
        await state.send("w1", {"n": 0})  # sent before the inbox is read: kept
        first = await asyncio.wait_for(anext(mine), 10)
        first_theirs = asyncio.ensure_future(anext(theirs))  # w2 listens from now on
        await asyncio.sleep(0.1)
        await state.broadcast({"all": 1})
        for n in range(1, 30):
            await state.send("w1", {"n": n})
        got = [first] + [await asyncio.wait_for(anext(mine), 10) for _ in range(30)]
        got_theirs = await asyncio.wait_for(first_theirs, 10)
        await mine.aclose(), await theirs.aclose()
        await state.close()
        return got, got_theirs

    got, got_theirs = run(main())
    assert got == [{"n": 0}, {"all": 1}] + [{"n": n} for n in range(1, 30)]
    assert got_theirs == {"all": 1}


def test_open_state_is_memory_without_a_redis_url():
    assert isinstance(open_state(None, "study"), MemoryState)
    assert LEASE_SECONDS == 10.0


# -- two processes on one Redis ----------------------------------------------------------------

def test_a_transition_held_by_one_process_blocks_the_other(redis_url, redis_study, monkeypatch):
    monkeypatch.setattr(shared_redis, "LOCK_SECONDS", 0.3)  # held longer than this: renewed meanwhile

    async def main():
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        order, held = [], asyncio.Event()

        async def in_a():
            async with a.transition("p:x"):
                held.set()
                order.append("a in")
                await asyncio.sleep(1.0)
                order.append("a out")

        async def in_b():
            await held.wait()
            async with b.transition("p:x"):
                order.append("b in")

        await asyncio.gather(in_a(), in_b())
        await a.close(), await b.close()
        return order

    assert run(main()) == ["a in", "a out", "b in"]


def test_fifty_participants_through_two_processes_form_twenty_five_groups(redis_url, redis_study):
    room = ("exp", "duo", 0)

    async def main():
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        groups = await asyncio.gather(*[(a if i % 2 else b).join_waitroom(room, f"p{i}", 2, 60) for i in range(50)])
        waiting = await a.waiting()
        await a.close(), await b.close()
        return [g for g in groups if g], waiting

    groups, waiting = run(main())
    members = [pid for g in groups for pid in g]
    assert len(groups) == 25 and all(len(g) == 2 for g in groups)
    assert sorted(members) == sorted(f"p{i}" for i in range(50))
    assert waiting == {}


def test_a_timed_out_participant_is_returned_to_one_process_only(redis_url, redis_study):
    async def main():
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        for i in range(20):
            await a.join_waitroom(("exp", "trio", i % 3), f"p{i}", 30, 0.1)
        await asyncio.sleep(0.3)
        outs = await asyncio.gather(*[(a, b)[i % 2].waitroom_timeouts() for i in range(10)])
        await a.close(), await b.close()
        return [pid for out in outs for pid in out]

    out = run(main())
    assert sorted(out) == sorted(f"p{i}" for i in range(20))


def test_an_expired_lease_is_orphaned_and_exactly_one_claimant_gets_it(redis_url, redis_study):
    async def main():
        dead, b, c = (RedisState(redis_url, redis_study) for _ in range(3))
        assert await dead.own_game("g", "dead", ttl=0.2)
        assert await b.orphaned_games() == [] and await b.game_owner("g") == "dead"
        await until(lambda: _orphaned(b, "g"))
        claims = await asyncio.gather(b.own_game("g", "b"), c.own_game("g", "c"))
        owner = await b.game_owner("g")
        lost = await dead.renew_games("dead", ["g"])
        orphans = await c.orphaned_games()
        for s in (dead, b, c):
            await s.close()
        return claims, owner, lost, orphans

    claims, owner, lost, orphans = run(main())
    assert sorted(claims) == [False, True]
    assert owner == ("b" if claims[0] else "c")
    assert lost == ["g"] and orphans == []


async def _orphaned(state, game):
    return game in await state.orphaned_games()


def test_a_late_renewal_of_an_unclaimed_lease_keeps_the_game(redis_url, redis_study):
    async def main():
        a = RedisState(redis_url, redis_study)
        await a.own_game("g", "a", ttl=0.1)
        await until(lambda: _orphaned(a, "g"))
        lost = await a.renew_games("a", ["g"])
        owner, orphans = await a.game_owner("g"), await a.orphaned_games()
        await a.close()
        return lost, owner, orphans

    assert run(main()) == ([], "a", [])


def test_counters_of_two_processes_add_up(redis_url, redis_study):
    async def main():
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        befores = await asyncio.gather(*[(a, b)[i % 2].count("arrivals:x") for i in range(100)])
        total = await b.counts("arrivals:x")
        await a.close(), await b.close()
        return befores, total

    befores, total = run(main())
    assert sorted(befores) == list(range(100)) and total == {None: 100}


def test_messages_between_processes_arrive_in_order(redis_url, redis_study):
    async def main():
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        inbox_b, inbox_a = b.inbox("B"), a.inbox("A")
        for n in range(200):
            await a.send("B", {"n": n, "blob": "x" * (n % 7)})
        got = [(await asyncio.wait_for(anext(inbox_b), 10))["n"] for _ in range(200)]
        listening_a = asyncio.ensure_future(anext(inbox_a))
        await asyncio.sleep(0.2)
        await b.broadcast({"from": "B"})
        to_b = await asyncio.wait_for(anext(inbox_b), 10)
        to_a = await asyncio.wait_for(listening_a, 10)
        await inbox_a.aclose(), await inbox_b.aclose()
        await a.close(), await b.close()
        return got, to_a, to_b

    got, to_a, to_b = run(main())
    assert got == list(range(200))
    assert to_a == to_b == {"from": "B"}


def test_a_participant_moved_by_one_process_is_read_again_by_the_other(redis_url, redis_study, tmp_path):
    from mugkit.web.registry import Participant, Registry
    from mugkit.web.storage import SQLiteStorage

    async def main():
        storage = SQLiteStorage.in_folder(tmp_path)
        await storage.start()
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        reg_a, reg_b = Registry(storage, a, b"s" * 32), Registry(storage, b, b"s" * 32)
        p = Participant("p1", "exp", "tok", [["one", 0], ["two", 0], ["three", 0]])
        p.row = {"participant_id": "p1", "experiment": "exp", "token": "tok", "flow": p.flow, "status": "active",
                 "position": p.position(), "started_at": 0.0, "updated_at": 0.0, "params": {}}
        await reg_a.add(p, p.row)
        on_b = await reg_b.get("p1")
        on_b.screens = True
        async with reg_b.transition(on_b):
            seen_first = on_b.index
        on_a = await reg_a.get("p1")
        async with reg_a.transition(on_a):
            await reg_a.move(on_a, 2)
        async with reg_b.transition(on_b):  # b's copy is stale: read again
            seen_after = on_b.index
            await reg_b.move(on_b, 1)
        async with reg_a.transition(on_a):
            seen_by_a = on_a.index
        await a.close(), await b.close()
        await storage.close()
        return seen_first, seen_after, on_b.screens, seen_by_a

    assert run(main()) == (0, 2, True, 1)


def test_a_participant_moved_outside_their_transition_is_read_again_by_the_other_process(
        redis_url, redis_study, tmp_path):
    """A partner's transition on process A puts them in a game (not their own transition): their
    next transition on process B sees it."""
    from mugkit.web.registry import Participant, Registry
    from mugkit.web.storage import SQLiteStorage

    async def main():
        storage = SQLiteStorage.in_folder(tmp_path)
        await storage.start()
        a, b = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        reg_a, reg_b = Registry(storage, a, b"s" * 32), Registry(storage, b, b"s" * 32)
        p = Participant("p1", "exp", "tok", [["duo", 0], ["end", 0]])
        p.row = {"participant_id": "p1", "experiment": "exp", "token": "tok", "flow": p.flow, "status": "active",
                 "position": p.position(), "started_at": 0.0, "updated_at": 0.0, "params": {}}
        await reg_b.add(p, p.row)
        async with reg_b.transition(p):  # b's copy is current
            pass
        partner_view = await reg_a.get("p1")
        await reg_a.move(partner_view, 0, "game-1")  # inside the partner's transition, not p1's
        async with reg_b.transition(p):
            seen = p.game
        async with reg_a.transition(partner_view):  # a's copy is the one it changed: not read again
            kept = partner_view.game
        await a.close(), await b.close()
        await storage.close()
        return seen, kept

    assert run(main()) == ("game-1", "game-1")


# -- Redis unreachable, Redis restarted --------------------------------------------------------

def test_an_unreachable_redis_is_a_clear_error_naming_it(redis_server, redis_study, monkeypatch):
    monkeypatch.setattr(shared_redis, "RETRY_SECONDS", 0.3)

    async def main():
        state = RedisState(redis_server.url, redis_study)
        assert await state.first("seeded")
        await state.count("arrivals:x")
        redis_server.stop()
        errors = []
        for call in (lambda: state.count("arrivals:x"), lambda: state.first("seeded"),
                     lambda: state.join_waitroom(("e", "s", 0), "p", 2, 5), lambda: state.own_game("g", "w"),
                     lambda: state.send("w", {}), lambda: _enter(state)):
            with pytest.raises(SharedStateError) as info:
                await call()
            errors.append(str(info.value))
        redis_server.start()  # empty again: no persistence
        again = await state.first("seeded")
        counts = await state.counts("arrivals:x")
        await state.close()
        return errors, again, counts

    errors, again, counts = run(main())
    assert all(redis_server.url in e for e in errors), errors
    assert again is True and counts == {}


async def _enter(state):
    async with state.transition("p:x"):
        pass


def test_an_inbox_goes_on_after_a_redis_restart(redis_server, redis_study):
    async def main():
        a, b = RedisState(redis_server.url, redis_study), RedisState(redis_server.url, redis_study)
        inbox = b.inbox("B")
        await a.send("B", {"n": 1})
        first = await asyncio.wait_for(anext(inbox), 10)
        waiting = asyncio.ensure_future(anext(inbox))
        redis_server.restart()
        for _ in range(100):  # the sender retries until Redis answers again
            try:
                await a.send("B", {"n": 2})
                break
            except SharedStateError:
                await asyncio.sleep(0.1)
        second = await asyncio.wait_for(waiting, 20)
        await inbox.aclose()
        await a.close(), await b.close()
        return first, second

    assert run(main()) == ({"n": 1}, {"n": 2})


def test_a_bad_study_key_is_refused():
    with pytest.raises(ValueError, match="study's id"):
        RedisState("redis://127.0.0.1:1/0", "")


def test_a_brief_redis_restart_is_waited_out(redis_server, redis_study):
    import threading

    async def main():
        state = RedisState(redis_server.url, redis_study)
        await state.count("arrivals:x")
        redis_server.stop()
        threading.Timer(0.5, redis_server.start).start()
        got = await state.count("arrivals:x")  # retried until Redis is back (empty: it counts from 0)
        await state.close()
        return got

    assert run(main()) == 0


def test_after_a_restart_a_process_puts_back_its_leases_and_its_waiting_participants(redis_server, redis_study):
    room = ("exp", "duo", 0)

    async def main():
        a, b = RedisState(redis_server.url, redis_study), RedisState(redis_server.url, redis_study)
        await a.heartbeat("A", {}, 5)
        await b.heartbeat("B", {}, 5)
        assert await a.own_game("g", "A")
        assert await a.join_waitroom(room, "waiting", 2, 60) is None
        redis_server.restart()
        lost = await a.renew_games("A", ["g"])   # notices the restart: the lease is put back first
        owner, orphans = await b.game_owner("g"), await b.orphaned_games()
        waiting = await b.waiting()
        group = await b.join_waitroom(room, "newcomer", 2, 60)
        await a.close(), await b.close()
        return lost, owner, orphans, waiting, group

    lost, owner, orphans, waiting, group = run(main())
    assert lost == [] and owner == "A" and orphans == []
    assert waiting == {room: ["waiting"]} and group == ["waiting", "newcomer"]


@pytest.mark.timeout(120)
def test_a_transition_waiting_for_another_process_can_always_be_cancelled(redis_url, redis_study):
    """Cancelled at any moment while it polls a lock held elsewhere, a transition ends, and never
    keeps the lock. (Python 3.11's wait_for inside redis-py lost a cancel that came with a reply:
    the caller's wait_for then waited forever; CI hung on it once in a few hundred.)"""
    import random

    async def main():
        holder, other = RedisState(redis_url, redis_study), RedisState(redis_url, redis_study)
        held, stuck = asyncio.Event(), 0

        async def hold():
            async with holder.transition("p:x"):
                held.set()
                await asyncio.sleep(3600)

        async def enter():
            async with other.transition("p:x"):
                return True

        holding = asyncio.create_task(hold())
        await held.wait()
        rng = random.Random(7)
        for _ in range(300):
            waiting = asyncio.create_task(enter())
            await asyncio.sleep(rng.uniform(0.0005, 0.03))
            waiting.cancel()
            done, _ = await asyncio.wait([waiting], timeout=3)
            stuck += not done
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
        freed = await asyncio.wait_for(enter(), 5)   # nothing cancelled kept the lock
        await holder.close(), await other.close()
        return stuck, freed

    assert run(main()) == (0, True)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_transition_held_by_a_killed_process_is_free_once_its_lock_expires(redis_url, redis_study):
    """Another process holds ``p:x`` with a 0.5 s lock that it renews: the transition stays
    blocked past that TTL; once the process is SIGKILLed, the lock expires and the transition
    goes in."""
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", f"""
import asyncio
from mugkit.web import shared_redis
shared_redis.LOCK_SECONDS = 0.5
async def main():
    state = shared_redis.RedisState({redis_url!r}, {redis_study!r})
    async with state.transition("p:x"):
        print("held", flush=True)
        await asyncio.sleep(120)
asyncio.run(main())
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    async def enter(state):
        async with state.transition("p:x"):
            return True

    async def main():
        state = RedisState(redis_url, redis_study)
        try:
            with pytest.raises(asyncio.TimeoutError):  # held and renewed beyond its 0.5 s
                await asyncio.wait_for(enter(state), 2.0)
            holder.kill()
            holder.wait(10)
            return await asyncio.wait_for(enter(state), 10.0)
        finally:
            await state.close()

    try:
        import select

        # The holder says so once it holds the lock; a holder that failed says why (never hang here).
        ready, _, _ = select.select([holder.stdout], [], [], 30)
        assert ready, "the holding process never held the lock"
        line = holder.stdout.readline().strip()
        assert line == "held", holder.stderr.read() if holder.poll() is not None else line
        assert run(main()) is True
    finally:
        holder.kill()
        holder.wait(10)


def test_a_password_in_the_url_is_never_in_errors(monkeypatch):
    monkeypatch.setattr(shared_redis, "RETRY_SECONDS", 0.1)

    async def main():
        state = RedisState("redis://:s3cret@127.0.0.1:1/0", "study")
        with pytest.raises(SharedStateError) as info:
            await state.count("x")
        await state.close()
        return str(info.value)

    message = run(main())
    assert "s3cret" not in message and "redis://:***@127.0.0.1:1/0" in message


def test_closing_the_state_ends_an_inbox_being_read(redis_url, redis_study):
    async def main():
        state = RedisState(redis_url, redis_study)
        inbox = state.inbox("A")

        async def read_all():
            return [m async for m in inbox]

        reader = asyncio.ensure_future(read_all())
        await state.send("A", {"n": 1})
        await asyncio.sleep(0.3)
        await state.close()
        return await asyncio.wait_for(reader, 20)

    assert run(main()) == [{"n": 1}]
