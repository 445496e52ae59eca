"""What only PostgreSQL's storage has to do: share one database between processes, create the
tables once, refuse a database of another mugkit version or of something else, survive a
restart of the database server without losing or doubling a write, and never show a password.
(What both backends do is tested in test_storage.py, against both.)"""

import asyncio
import threading
import time

import psycopg
import pytest

from mugkit.runtime.rows import StepRow
from mugkit.web.storage import PostgresStorage, StorageClosedError, StorageError


def run(coro):
    return asyncio.run(coro)


async def started(url) -> PostgresStorage:
    storage = PostgresStorage(url)
    await storage.start()
    return storage


def create_tables(url) -> None:
    async def start_and_close():
        await (await started(url)).close()

    run(start_and_close())


def test_life_cycle_errors(postgres_url):
    async def main():
        storage = PostgresStorage(postgres_url)
        with pytest.raises(StorageClosedError, match="not started"):
            await storage.add_participant({"participant_id": "p", "experiment": "x"})
        await storage.start()
        await storage.close()
        await storage.close()  # idempotent
        with pytest.raises(StorageClosedError, match="^the storage is closed: nothing more can be written$"):
            await storage.add_participant({"participant_id": "p", "experiment": "x"})

    run(main())
    with pytest.raises(ValueError, match=r"^'data/x.db' is not a PostgreSQL URL: give postgresql://"):
        PostgresStorage("data/x.db")


def test_several_processes_start_on_one_empty_database_and_share_it(postgres_url):
    """Storages starting at once create the tables once (an advisory lock), then each sees the
    others' committed writes, and agree on one study seed (``meta_once``)."""
    async def main():
        storages = await asyncio.gather(*(started(postgres_url) for _ in range(4)))
        seeds = await asyncio.gather(*(s.meta_once("study_seed", 100 + i) for i, s in enumerate(storages)))
        await storages[0].add_game({"game_id": "g", "experiment": "x", "step": "s"})
        await asyncio.gather(*(s.add_steps("g", [StepRow(0, 0, f"a{i}")], t_server=1.0)
                               for i, s in enumerate(storages)))
        frames = [len(await s.game_steps("g")) for s in storages]
        for s in storages:
            await s.close()
        return seeds, frames

    seeds, frames = run(main())
    assert len(set(seeds)) == 1 and seeds[0] in range(100, 104)
    assert frames == [4, 4, 4, 4]


def test_a_database_of_a_newer_mugkit_is_refused_saying_what_to_do(postgres_url):
    create_tables(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE mugkit_schema SET version = 99")

    async def main():
        with pytest.raises(StorageError, match=r"^cannot open postgresql://\S+: it was written by a newer mugkit "
                                               r"\(schema 99, this one knows \d+\): upgrade mugkit here to the "
                                               r"version the study's other servers run"):
            await started(postgres_url)

    run(main())
    with pytest.raises(ValueError, match="is not a mugkit database this mugkit can read"):
        PostgresStorage.reader(postgres_url)


def test_a_database_of_an_older_schema_with_no_migration_is_refused(postgres_url):
    create_tables(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE mugkit_schema SET version = 1")
    with pytest.raises(StorageError, match=r"^cannot open postgresql://\S+: it has schema 1, which this mugkit "
                                           r"\(schema \d+\) cannot upgrade: serve it with the mugkit that made it"):
        create_tables(postgres_url)


def test_a_database_holding_other_tables_is_refused_and_left_alone(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE participants (name TEXT)")
    with pytest.raises(StorageError, match=r"^cannot open postgresql://\S+: it holds tables that are not mugkit's "
                                           r"\(participants\): give the study a database of its own \(CREATE DATABASE"):
        create_tables(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'public'")]
    assert tables == ["participants"]
    with pytest.raises(ValueError, match="is not a mugkit database .it has no mugkit_schema table.: is it the "
                                         "database given to mugkit serve --database"):
        PostgresStorage.reader(postgres_url)


def test_an_unreachable_database_fails_start_without_showing_the_password(postgres_server):
    url = f"postgresql://someone:s3cret@127.0.0.1:{postgres_server.port + 1}/nothing"

    async def main():
        with pytest.raises(StorageError) as caught:
            await started(url)
        return str(caught.value)

    message = run(main())
    assert "s3cret" not in message and "postgresql://someone:***@127.0.0.1" in message, message
    assert "cannot connect to the database" in message, message


def test_a_database_restart_loses_and_doubles_nothing(postgres_server, postgres_url):
    """Writes made while the database server restarts wait (``failure`` says why), then land:
    every acknowledged row is there once, and the writer goes on."""
    async def main():
        storage = await started(postgres_url)
        await storage.add_game({"game_id": "g", "experiment": "x", "step": "s"})
        await storage.add_participant({"participant_id": "p", "experiment": "x"})
        restarted = threading.Event()

        def restart():
            time.sleep(0.3)
            postgres_server.restart()
            restarted.set()

        thread = threading.Thread(target=restart)
        thread.start()
        failures, frame = set(), 0
        while not restarted.is_set() or frame < 200:  # rows before, during and after the restart
            await storage.add_steps("g", [StepRow(0, frame, "a")], t_server=time.time())
            await storage.add_event("p", "s", "tick", {"frame": frame})  # events have no key: a double would show
            failures.add(storage.failure)
            frame += 1
        thread.join()
        steps = await storage.game_steps("g")
        await storage.close()
        return frame, steps, failures

    frames, steps, failures = run(main())
    assert [r["frame"] for r in steps] == list(range(frames))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        ticks = [r[0] for r in conn.execute("SELECT detail FROM events WHERE kind = 'tick' ORDER BY id")]
    assert ticks == [f'{{"frame":{f}}}' for f in range(frames)]
    assert failures == {None}  # each write returned only once the database was back


def test_failure_says_why_while_the_database_is_down(postgres_server, postgres_url, monkeypatch):
    """While the server is unreachable, a write waits, and once that lasted QUIET_SECONDS
    ``failure`` names the database (the study pauses); once the server is back, the write lands."""
    import mugkit.web.storage.postgres_writer as writer

    monkeypatch.setattr(writer, "QUIET_SECONDS", 1.0)

    async def main():
        storage = await started(postgres_url)
        await storage.add_game({"game_id": "g", "experiment": "x", "step": "s"})
        await asyncio.to_thread(postgres_server.stop_server)
        write = asyncio.ensure_future(storage.add_steps("g", [StepRow(0, 0, "a")], t_server=1.0))
        down = time.monotonic()
        while storage.failure is None:
            assert not write.done(), write
            await asyncio.sleep(0.1)
        failure, quiet = storage.failure, time.monotonic() - down
        await asyncio.to_thread(postgres_server.start_server)
        await write
        last = await storage.last_frame("g")
        gone = storage.failure
        await storage.close()
        return failure, last, gone, quiet

    failure, last, gone, quiet = run(main())
    assert quiet >= 1.0  # not reported at once: a restart takes less
    assert "127.0.0.1" in failure, failure
    assert last == (0, 0) and gone is None
