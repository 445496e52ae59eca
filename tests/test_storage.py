"""The server's storage: acknowledged means committed (and survives a SIGKILL), one failing write
never loses another, values and observations come back as they went in. Real SQLite files and a
real PostgreSQL server (every test taking ``backend`` runs against both: tests/conftest.py), real
asyncio, real threads. Tests of SQLite-only matters (its WAL, its file locks) say so."""

import asyncio
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from mugkit.runtime.rows import StepRow
from storage_backends import Backend
from mugkit.web.storage import (DB_FILENAME, DuplicateRowError, InvalidRowError, MissingRowError, PostgresStorage,
                                SQLiteStorage, Storage, StorageClosedError, StorageError)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(coro):
    return asyncio.run(coro)


async def opened(backend) -> Storage:
    storage = backend.storage()
    await storage.start()
    return storage


async def with_game(backend, game_id="g", participants=("p",)) -> Storage:
    storage = await opened(backend)
    for pid in participants:
        await storage.add_participant({"participant_id": pid, "experiment": "chase"})
    await storage.add_game({"game_id": game_id, "experiment": "chase", "step": "chase", "seed": 7})
    return storage


def submit(storage, work):
    """Queues ``work(conn)`` on the writer thread now (not when awaited), as the write methods do."""
    return storage._writer.submit(work)


async def hold_writer(storage):
    """Keeps the writer thread busy until the returned function is called: writes made meanwhile
    queue up and go into one transaction."""
    started, release = threading.Event(), threading.Event()

    def busy(conn):
        started.set()
        release.wait(10)

    held = submit(storage, busy)
    await asyncio.to_thread(started.wait, 10)

    async def let_go():
        release.set()
        await held

    return let_go


def frame_rows(frame, agents=("a", "b"), episode=0, **kw):
    return [StepRow(episode, frame, agent, action=None if frame == 0 else 1, **kw) for agent in agents]


def test_both_storages_implement_the_storage_interface():
    for cls in (SQLiteStorage, PostgresStorage):
        assert issubclass(cls, Storage)
        assert not cls.__abstractmethods__


def test_acknowledged_rows_are_there_after_close_and_reopen(backend):
    async def write():
        storage = await with_game(backend)
        for frame in range(20):
            await storage.add_steps("g", frame_rows(frame), t_server=time.time())
        await storage.set_meta("study_seed", 2**40)
        await storage.close()

    async def read():
        storage = await opened(backend)
        try:
            return await storage.last_frame("g"), await storage.get_meta("study_seed"), await storage.games()
        finally:
            await storage.close()

    run(write())
    last, seed, games = run(read())
    assert last == (0, 19) and seed == 2**40 and games[0]["seed"] == 7
    assert len(backend.stored_keys()) == 40


def test_a_write_is_acknowledged_only_once_another_connection_sees_it(backend):
    """A reader outside the storage, checked right after each await (no yield in between), sees
    the row: the future resolved after COMMIT, not before."""
    async def main():
        storage = await with_game(backend)
        outside = backend.outside()

        async def player(agent):
            for frame in range(30):
                await storage.add_steps("g", [StepRow(0, frame, agent)], t_server=time.time())
                seen = outside.execute("SELECT 1 FROM steps WHERE game_id = 'g' AND agent = ? AND frame = ?",
                                       (f'"{agent}"', frame)).fetchone()
                assert seen is not None, (agent, frame)

        await asyncio.gather(*(player(f"agent{i}") for i in range(20)))
        outside.close()
        await storage.close()

    run(main())


CHILD = r'''
import asyncio, sys, time
from mugkit.runtime.rows import StepRow
from mugkit.web.storage import open_storage

async def main(folder, url):
    storage = open_storage(folder, url or None)
    await storage.start()
    await storage.add_game({"game_id": "g", "experiment": "x", "step": "s"})
    async def game(agent):
        for frame in range(100_000):
            await storage.add_steps("g", [StepRow(0, frame, agent, action=frame)], t_server=time.time())
            print(agent, frame, flush=True)  # printed only once acknowledged
    await asyncio.gather(*(game(f"a{i}") for i in range(8)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
'''


def test_a_sigkill_loses_no_acknowledged_row(backend):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, backend.folder, backend.url or ""], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    acknowledged = []
    try:
        for line in proc.stdout:
            agent, frame = line.split()
            acknowledged.append(("g", 0, int(frame), f'"{agent}"'))
            if len(acknowledged) >= 1500:
                break
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-stream: writes are queued and in flight
        proc.wait(timeout=30)
    assert len(acknowledged) >= 1500, "the child stopped early"
    stored = backend.stored_keys()
    missing = [key for key in acknowledged if key not in stored]
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {missing[:3]}"


def test_a_frame_is_written_once_and_a_duplicate_stores_nothing_of_its_call(backend):
    async def main():
        storage = await with_game(backend)
        await storage.add_steps("g", frame_rows(0), t_server=1.0)
        new_and_old = [StepRow(0, 1, "a")] + frame_rows(0)
        with pytest.raises(DuplicateRowError, match=r"^steps: game 'g' episode 0 frame 0 agent 'a' is stored "
                                                    r"already \(a frame is written once\)$"):
            await storage.add_steps("g", new_and_old, t_server=2.0)
        assert await storage.last_frame("g") == (0, 0)  # frame 1 of that call was not stored either
        with pytest.raises(DuplicateRowError, match="^participants: participant 'p' is stored already$"):
            await storage.add_participant({"participant_id": "p", "experiment": "chase"})
        with pytest.raises(DuplicateRowError, match="^games: game 'g' is stored already$"):
            await storage.add_game({"game_id": "g", "experiment": "chase", "step": "chase"})
        await storage.add_players([{"game_id": "g", "agent": (0, 1), "participant_id": "p"}])
        with pytest.raises(DuplicateRowError, match=r"^players: game 'g' has a player for agent \(0, 1\) already$"):
            await storage.add_players([{"game_id": "g", "agent": (0, 1), "policy": "random"}])
        await storage.close()

    run(main())


def test_a_failing_write_loses_no_other_write_of_its_batch(backend):
    async def main():
        storage = await with_game(backend)
        await storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0)
        let_go = await hold_writer(storage)
        writes = [storage.add_steps("g", [StepRow(0, f, "b")], t_server=1.0) for f in range(50)]
        writes.insert(10, storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0))    # duplicate
        writes.insert(20, storage.add_steps("nope", [StepRow(0, 0, "a")], t_server=1.0))  # no such game
        writes.insert(30, storage.add_event("nobody", "s", "consented"))                    # no such participant
        writes.insert(40, storage.update_participant("nobody", status="completed"))
        writes = [asyncio.ensure_future(w) for w in writes]
        await asyncio.sleep(0)  # the coroutines among them run up to their await: every write is queued
        batches_before = storage.stats.batches
        await let_go()
        results = await asyncio.gather(*writes, return_exceptions=True)
        assert [type(r).__name__ for r in results if r is not None] == [
            "DuplicateRowError", "MissingRowError", "MissingRowError", "MissingRowError"]
        assert storage.stats.batches - batches_before == 2  # the held write's, then all 54 together
        assert await storage.last_frame("g") == (0, 49)
        await storage.add_steps("g", [StepRow(0, 1, "a")], t_server=1.0)  # the writer still serves
        await storage.close()
        return results

    results = run(main())
    assert str(results[20]) == "steps: no game 'nope' is stored (add_game first)"
    assert str(results[30]) == ("events: event 'consented' of participant 'nobody' refers to participant_id "
                                "'nobody', which is not stored (add it first)")
    assert str(results[40]) == "participants: no participant 'nobody' is stored"
    assert len(backend.stored_keys()) == 52


def test_the_writer_survives_a_broken_transaction(backend):
    """Whatever goes wrong in a batch, every write in it hears back and the next batch is served."""
    def breaks_the_transaction(conn):
        conn.execute("ROLLBACK")  # the savepoint is gone: the writer cannot undo this write alone
        raise RuntimeError("broken")

    async def main():
        storage = await with_game(backend)
        let_go = await hold_writer(storage)
        writes = [storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0), submit(storage, breaks_the_transaction)]
        await let_go()
        results = await asyncio.gather(*writes, return_exceptions=True)
        await storage.add_steps("g", [StepRow(0, 1, "a")], t_server=1.0)
        last = await storage.last_frame("g")
        await storage.close()
        return results, last

    results, last = run(main())
    assert all(isinstance(r, StorageError) and "could not commit to" in str(r) for r in results), results
    assert last == (0, 1)


def test_a_database_locked_by_another_process_fails_the_write_not_the_writer(tmp_path, monkeypatch):
    """SQLite only: one writer at a time per file (PostgreSQL's writers do not lock each other out)."""
    import mugkit.web.storage.writer

    monkeypatch.setattr(mugkit.web.storage.writer, "BUSY_TIMEOUT_MS", 100)

    async def main():
        storage = await with_game(Backend("sqlite", str(tmp_path)))
        other = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(StorageError, match="could not commit to .*: database is locked$"):
            await storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0)
        other.execute("ROLLBACK")
        await storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0)
        assert storage.pending_writes == 0
        await storage.close()

    run(main())


def test_bad_rows_and_values_are_refused_saying_what_is_wrong(backend):
    async def main():
        storage = await with_game(backend)
        writes = storage.stats.writes
        with pytest.raises(InvalidRowError, match=r"^participants: unknown column 'experimnt' \(did you mean "
                                                  r"'experiment'\?\); its columns: participant_id, experiment, "):
            await storage.add_participant({"participant_id": "q", "experimnt": "chase"})
        with pytest.raises(InvalidRowError, match=r"^participants: 'experiment' must be given \(not None\)$"):
            await storage.add_participant({"participant_id": "q"})
        with pytest.raises(InvalidRowError, match=r"^steps.action\[1\]: cannot store a builtins.set \(\{2\}\); "):
            await storage.add_steps("g", [StepRow(0, 0, "a", action=[1, {2}])], t_server=1.0)
        with pytest.raises(InvalidRowError, match=r"^steps.observation: cannot store a complex array"):
            await storage.add_steps("g", [StepRow(0, 0, "a", observation=np.zeros(100, complex))], t_server=1.0)
        with pytest.raises(InvalidRowError, match=r"^steps.terminated must be a bool, got str 'no'$"):
            await storage.add_steps("g", [StepRow(0, 0, "a", terminated="no")], t_server=1.0)
        with pytest.raises(InvalidRowError, match=r"^steps: rows must be StepRow objects"):
            await storage.add_steps("g", [{"episode": 0}], t_server=1.0)
        with pytest.raises(InvalidRowError, match=r"^games.seed must be an int, got float 1.5$"):
            await storage.add_game({"game_id": "h", "experiment": "chase", "step": "s", "seed": 1.5})
        with pytest.raises(MissingRowError, match=r"^players: a player refers to game_id 'g' or participant_id "
                                                  r"'nobody', which is not stored \(add it first\)$"):
            await storage.add_players([{"game_id": "g", "agent": "a", "participant_id": "nobody"}])
        with pytest.raises(InvalidRowError, match=r"^players: a player has either a participant_id"):
            await storage.add_players([{"game_id": "g", "agent": "a", "participant_id": "p", "policy": "x"}])
        with pytest.raises(ValueError, match="^panel_key must be one of prolific_pid, worker_id"):
            await storage.find_participant("chase", "email", "x")
        assert storage.stats.writes == writes
        await storage.close()

    run(main())


def test_many_concurrent_games_all_land(backend):
    async def main():
        storage = await with_game(backend, participants=())
        for g in range(1, 40):
            await storage.add_game({"game_id": f"g{g}", "experiment": "chase", "step": "chase"})

        async def game(g):
            for frame in range(50):
                await storage.add_steps(f"g{g}" if g else "g", frame_rows(frame), t_server=time.time())

        await asyncio.gather(*(game(g) for g in range(40)))
        stats = storage.stats
        await storage.close()
        return stats

    stats = run(main())
    assert len(backend.stored_keys()) == 40 * 50 * 2
    assert stats.largest_batch > 1  # group commit happened


AGENTS_AND_ACTIONS = [
    ("runner", 3), (0, -1), (1, 2**70), ((0, "x"), (1, 2)), ("b", [1, [2, (3,)]]), ("c", {"dx": -0.0, "dy": 1.5}),
    ("d", {0: "x", (1, 2): None}), ("e", True), ("f", 1.0), ("g", float("inf")), ("h", b"\x00\xff"),
    ("i", "ArrowUp"), ("j", {"$x": 1}), ("k", np.int64(4)), ("l", np.array([1, 0, 2], dtype=np.int8)),
]


def test_agent_ids_and_actions_come_back_as_they_went_in(backend):
    from mugkit.data import load

    async def main():
        storage = await with_game(backend)
        await storage.add_players([{"game_id": "g", "agent": agent, "policy": "random"}
                                   for agent, _ in AGENTS_AND_ACTIONS])
        rows = [StepRow(0, 1, agent, action=action, keys=("ArrowUp",), info={"n": i}, x={"score": i, "where": (i, i)})
                for i, (agent, action) in enumerate(AGENTS_AND_ACTIONS)]
        await storage.add_steps("g", rows, t_server=1.5, t_client=1.25)
        await storage.close()

    run(main())
    steps = load(backend.location)["steps"]
    players = load(backend.location)["players"]
    for i, (agent, action) in enumerate(AGENTS_AND_ACTIONS):
        row = steps.iloc[i]
        assert row.agent == agent and type(row.agent) is type(agent) and players.agent.iloc[i] == agent
        if isinstance(action, np.ndarray):
            assert row.action.dtype == action.dtype and (row.action == action).all()
        else:
            assert row.action == action and type(row.action) is type(action if type(action).__module__ != "numpy"
                                                                        else action.item())
        assert row.active_keys == ("ArrowUp",) and row.env_info == {"n": i} and row.x_score == i and row.x_where == (i, i)
    assert steps.action.iloc[2] == 2**70
    assert str(steps.action.iloc[5]["dx"]) == "-0.0"


def test_observations_round_trip_compactly(backend):
    from mugkit.data import load

    image = np.random.default_rng(0).integers(0, 255, (280, 480, 3), dtype=np.uint8)
    observations = {
        "image": image, "view": image[::2, ::3, 1],  # not contiguous
        "vector": np.array([0.1, -0.0, 3e38, 1e-45], dtype=np.float32), "nan": np.array([np.nan, np.inf, 1.0]),
        "bools": np.zeros((8, 9), dtype=bool), "big": np.array([2**63 - 1, -2**63], dtype=np.int64),
        "scalar": np.array(2.5), "empty": np.zeros((0, 3), np.float32), "plain": [1, 2.5, "x"],
        "dict": {"pixels": image[:10], "mask": np.array([1, 0], np.int8), "t": 3}, "none": None,
    }

    async def main():
        storage = await with_game(backend)
        rows = [StepRow(0, 0, name, observation=obs) for name, obs in observations.items()]
        await storage.add_steps("g", rows, t_server=1.0)
        await storage.add_steps("g", [StepRow(0, 1, "image", observation=image)], t_server=1.0, keep_observations=False)
        await storage.close()

    run(main())
    steps = load(backend.location)["steps"]
    got = dict(zip(steps.agent[:len(observations)], steps.observation[:len(observations)]))
    for name, obs in observations.items():
        assert_same(got[name], obs, name)
    assert steps.observation.iloc[-1] is None  # keep_observations=False
    if backend.name == "sqlite":
        kinds = dict(backend.query("SELECT agent, typeof(observation) FROM steps WHERE frame = 0"))
        assert kinds['"image"'] == "blob" and kinds['"vector"'] == "text" and kinds['"plain"'] == "text"
        assert backend.query("SELECT typeof(observation) FROM steps WHERE frame = 1") == [("null",)]
    else:  # arrays in the BYTEA column, tagged JSON in the TEXT one
        kinds = {agent: (blob is not None, text is not None) for agent, blob, text in backend.query(
            "SELECT agent, observation, observation_json FROM steps WHERE frame = 0")}
        assert kinds['"image"'] == (True, False) and kinds['"vector"'] == (False, True)
        assert kinds['"plain"'] == (False, True)
        assert backend.query("SELECT observation, observation_json FROM steps WHERE frame = 1") == [(None, None)]


def assert_same(got, want, name):
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), name
        assert got.flags.writeable, name
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), name
        for k in want:
            assert_same(got[k], want[k], f"{name}[{k}]")
    else:
        assert got == want, name


def test_rows_are_encoded_before_the_env_can_change_them(backend):
    """Rows hold the env's own arrays; add_steps encodes them during the call."""
    async def main():
        storage = await with_game(backend)
        obs = np.zeros(100, np.int32)
        # As the server's game loop does: the write is scheduled, not awaited, and the env steps on.
        write = asyncio.ensure_future(storage.add_steps("g", [StepRow(0, 0, "a", observation=obs)], t_server=1.0))
        obs[:] = 7
        bad = asyncio.ensure_future(storage.add_steps("g", [StepRow(0, 1, "a", action={1})], t_server=1.0))
        await write
        with pytest.raises(InvalidRowError):  # a bad row is raised by the awaitable, not by the call
            await bad
        await storage.close()

    run(main())
    from mugkit.data import load
    assert (load(backend.location)["steps"].observation[0] == 0).all()


def test_interrupt_unfinished_games(backend):
    async def main():
        storage = await with_game(backend, game_id="done")
        await storage.add_game({"game_id": "cut1", "experiment": "chase", "step": "chase"})
        await storage.add_game({"game_id": "cut2", "experiment": "other", "step": "s"})
        await storage.end_game("done", "completed", detail={"returns": [1.0, 2.0]})
        assert (await storage.counts())["chase"]["games_running"] == 1
        assert await storage.interrupt_unfinished_games() == ["cut1", "cut2"]
        assert await storage.interrupt_unfinished_games() == []
        games = {g["game_id"]: g for g in await storage.games()}
        with pytest.raises(MissingRowError, match="^games: no game 'nope' is stored$"):
            await storage.end_game("nope", "completed")
        await storage.close()
        return games

    games = run(main())
    assert {k: g["outcome"] for k, g in games.items()} == {"done": "completed", "cut1": "interrupted",
                                                           "cut2": "interrupted"}
    assert games["done"]["detail"] == {"returns": [1.0, 2.0]} and games["cut1"]["ended_at"] is not None


def test_participants_reads_and_counts(backend):
    async def main():
        storage = await opened(backend)
        await storage.add_participant({"participant_id": "p1", "experiment": "chase", "prolific_pid": "PID",
                                       "params": {"PROLIFIC_PID": "PID"}, "condition": {"speed": 2},
                                       "flow": [["welcome", 0], ["chase", 0]], "position": {"index": 0}})
        await storage.add_participant({"participant_id": "p2", "experiment": "chase", "worker_id": "W"})
        await storage.add_participant({"participant_id": "p3", "experiment": "other"})
        await storage.update_participant("p1", status="completed", outcome_code="C0DE", position={"index": 2})
        await storage.update_participant("p3", status="excluded")
        await storage.add_event("p1", "welcome", "consented", {"at": 1}, repetition=0)
        await storage.add_answers("p1", "after", {"fun": 5, "why": "yes"}, repetition=1)
        p1 = await storage.get_participant("p1")
        assert p1["condition"] == {"speed": 2} and p1["flow"] == [["welcome", 0], ["chase", 0]]
        assert p1["status"] == "completed" and p1["position"] == {"index": 2} and p1["updated_at"] >= p1["started_at"]
        assert (await storage.find_participant("chase", "prolific_pid", "PID"))["participant_id"] == "p1"
        assert (await storage.find_participant("chase", "worker_id", "W"))["participant_id"] == "p2"
        assert await storage.find_participant("other", "prolific_pid", "PID") is None
        assert await storage.get_participant("nobody") is None and await storage.get_meta("nothing") is None
        assert [p["participant_id"] for p in await storage.participants()] == ["p1", "p2", "p3"]
        assert [p["participant_id"] for p in await storage.participants("chase")] == ["p1", "p2"]
        counts = await storage.counts()
        await storage.close()
        return counts

    counts = run(main())
    assert counts == {
        "chase": {"participants": 2, "active": 1, "completions": 1, "exclusions": 0,
                  "by_status": {"active": 1, "completed": 1}, "games_running": 0},
        "other": {"participants": 1, "active": 0, "completions": 0, "exclusions": 1,
                  "by_status": {"excluded": 1}, "games_running": 0}}


def test_writes_never_block_the_event_loop(backend):
    """A slow commit (here a write that takes 0.3 s in the writer) leaves the loop free."""
    async def main():
        storage = await with_game(backend)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await submit(storage, lambda conn: time.sleep(0.3))
        task.cancel()
        await storage.close()
        return ticks

    assert run(main()) >= 10


def test_life_cycle_errors(tmp_path):
    """SQLite's file and folders (PostgreSQL's: test_storage_postgres.py)."""
    folder = tmp_path / "data" / "nested"

    async def main():
        storage = SQLiteStorage.in_folder(folder)
        with pytest.raises(StorageClosedError, match="not started"):
            await storage.add_participant({"participant_id": "p", "experiment": "x"})
        await storage.start()  # creates the folders
        await storage.close()
        await storage.close()  # idempotent
        with pytest.raises(StorageClosedError, match="^the storage is closed: nothing more can be written$"):
            await storage.add_participant({"participant_id": "p", "experiment": "x"})

    run(main())
    assert (folder / DB_FILENAME).is_file()
    with pytest.raises(ValueError, match=r"is a folder; SQLiteStorage takes the database file. For a data folder "
                                         r"use SQLiteStorage.in_folder\("):
        SQLiteStorage(folder)


def test_the_database_is_in_wal_mode_with_full_sync(tmp_path):
    """SQLite only (PostgreSQL's durability is its server's: fsync and synchronous_commit on)."""
    async def main():
        storage = await opened(Backend("sqlite", str(tmp_path)))
        modes = await submit(storage, lambda conn: (conn.execute("PRAGMA journal_mode").fetchone()[0],
                                                   conn.execute("PRAGMA synchronous").fetchone()[0],
                                                   conn.execute("PRAGMA foreign_keys").fetchone()[0]))
        await storage.close()
        return modes

    assert run(main()) == ("wal", 2, 1)  # synchronous 2 = FULL


def same(a, b) -> bool:
    """Equal with the same types all the way down, floats by their bits (-0.0 is not 0.0; NaNs
    compare by payload)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # keys in the same order
    return a == b


def codec_values():
    from hypothesis import strategies as st

    keys = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(),
                     st.tuples(st.integers(), st.text(max_size=3)))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(), st.binary(max_size=8))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


def test_any_codec_value_comes_back_exactly():
    """What the netcode codec carries (actions, agent ids), the storage gives back: types, tuples,
    dict keys and order, big ints, -0.0, NaN payloads, bytes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mugkit.netcode.codec import encode
    from mugkit.runtime.values import from_json, to_json

    nan_with_payload = struct.unpack(">d", bytes.fromhex("7ff8000000000abc"))[0]

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(codec_values(), st.just(nan_with_payload), st.just({"$tuple": [1]}), st.just([{"$x": "$y"}])))
    def round_trip(value):
        assert same(from_json(to_json(value)), value), value
        encode(value)  # every value tried is one the codec carries

    round_trip()


def test_meta_once_keeps_the_first_value_stored(backend):
    """What several processes starting at once use to agree on one seed: the first value stays."""
    async def main():
        storage = await opened(backend)
        first = await asyncio.gather(*(storage.meta_once("study_seed", 2**100 + i) for i in range(5)))
        again = await storage.meta_once("study_seed", 1)
        await storage.set_meta("study_seed", 3)  # set_meta still replaces
        replaced = await storage.get_meta("study_seed")
        await storage.close()
        return first, again, replaced

    first, again, replaced = run(main())
    assert first == [2**100] * 5 and again == 2**100 and replaced == 3


def test_a_schema_3_database_gains_the_reasons_of_schema_4_and_keeps_its_rows(backend):
    """A study served by the mugkit before screening (schema 3, no ``participants.reason``) is
    upgraded in place: its participants are kept, and an exclusion's reason is stored."""
    async def write_then_downgrade():
        storage = await opened(backend)
        await storage.add_participant({"participant_id": "old", "experiment": "chase", "status": "completed"})
        await storage.close()
        backend.execute("ALTER TABLE participants DROP COLUMN reason")
        backend.execute("ALTER TABLE participants DROP COLUMN reason_text")
        backend.set_schema_version(3)

    async def reopen():
        storage = await opened(backend)
        await storage.add_participant({"participant_id": "new", "experiment": "chase"})
        await storage.update_participant("new", status="excluded", reason="idle", reason_text="No input for 60 s.")
        rows = {pid: await storage.get_participant(pid) for pid in ("old", "new")}
        await storage.close()
        return rows

    run(write_then_downgrade())
    rows = run(reopen())
    assert rows["old"]["status"] == "completed" and rows["old"]["reason"] is None
    assert (rows["new"]["status"], rows["new"]["reason"], rows["new"]["reason_text"]) == (
        "excluded", "idle", "No input for 60 s.")
