""":class:`SQLiteStorage`: the :class:`~mugkit.web.storage.Storage` interface on one SQLite
file in WAL mode, written by one thread with group commit (``writer``)."""

from __future__ import annotations

import asyncio
import collections
import os
import sqlite3
import time
from typing import Any, Callable

from .base import PANEL_KEYS, STATUSES, Storage, database_path
from .schema import (DDL, SCHEMA_VERSION, STEP_COLUMNS, DuplicateRowError, InvalidRowError,
                             MissingRowError, StorageClosedError, StorageError, decode_row, decode_step, encode_columns,
                             encode_step)
from ...runtime.values import from_json, warm_up
from .reader import SQLiteReader
from .writer import Readers, Writer, WriterStats

__all__ = ["SQLiteStorage"]

#: At most this many writes are queued or in a transaction; a write beyond waits (awaits) for room,
#: so a disk slower than the writes holds the writers back instead of filling the memory.
MAX_PENDING_WRITES = 5000

_STEP_INSERT = f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) VALUES ({', '.join('?' * len(STEP_COLUMNS))})"


class SQLiteStorage(Storage):
    """The storage in one SQLite database file (``path``; see :meth:`in_folder` for a data folder).

    The database is in WAL mode with ``synchronous=FULL``: each commit syncs the write-ahead log,
    so a write acknowledged by returning survives a power cut, not only a crash of the process.
    Foreign keys are enforced: events and answers need their participant stored first, players
    and step rows their game.
    """

    def __init__(self, path: str | os.PathLike):
        path = os.fspath(path)
        if os.path.isdir(path):
            raise ValueError(f"{path} is a folder; SQLiteStorage takes the database file. For a data "
                             f"folder use SQLiteStorage.in_folder({path!r})")
        self.path = path
        self._writer: Writer | None = None
        self._readers: Readers | None = None
        self._slots = _Slots(MAX_PENDING_WRITES)

    @classmethod
    def in_folder(cls, directory: str | os.PathLike) -> "SQLiteStorage":
        """The storage of a data folder: ``<directory>/mugkit.sqlite`` (``start`` creates both)."""
        return cls(database_path(directory))

    @classmethod
    def reader(cls, location: str | os.PathLike) -> SQLiteReader:
        if str(location).startswith(("postgresql://", "postgres://")):
            from .postgres_schema import redact

            raise ValueError(f"{redact(str(location))} is a PostgreSQL database: read it with PostgresStorage.reader, or "
                             f"mugkit.data.open_tables (either database)")
        return SQLiteReader(os.fspath(location))

    @property
    def stats(self) -> WriterStats:
        """What the writer thread has committed so far."""
        return self._writer.stats if self._writer is not None else WriterStats()

    @property
    def pending_writes(self) -> int:
        """Writes queued and not yet in a transaction: grows when the disk cannot keep up."""
        return self._writer.pending if self._writer is not None else 0

    @property
    def waiting_writes(self) -> int:
        """Writes waiting for room in the queue (it holds :data:`MAX_PENDING_WRITES`)."""
        return len(self._slots.waiting)

    @property
    def failure(self) -> str | None:
        return self._writer.failure if self._writer is not None else None

    # -- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._writer is not None:
            raise StorageError("start() was called already")
        await asyncio.to_thread(_prepare, self.path)
        self._writer = Writer(self.path, _setup)
        self._writer.start()
        try:
            await self._writer.submit(lambda conn: None)  # resolves once _setup ran (or fails with it)
        except BaseException:
            await self.close()
            raise
        self._readers = Readers(self.path)

    async def close(self) -> None:
        if self._writer is None:
            return
        self._writer.stop()  # the queued writes are committed first
        await asyncio.to_thread(self._writer.join)
        if self._readers is not None:
            self._readers.close()

    # -- writes -------------------------------------------------------------------------------

    async def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._writer is None:
            raise StorageClosedError("the storage is not started: await start() first")
        await self._slots.take()
        return await self._submit(work)

    def _submit(self, work: Callable[[sqlite3.Connection], Any]) -> asyncio.Future:
        """Queues ``work`` on a slot already taken; the slot is free again once it is settled."""
        try:
            future = self._writer.submit(work)
        except BaseException:
            self._slots.give()
            raise
        future.add_done_callback(self._slots.give)
        return future

    async def _submit_later(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        await self._slots.take()
        return await self._submit(work)

    async def add_participant(self, row: dict) -> None:
        now = time.time()
        cols = encode_columns("participants", {"status": "active", "started_at": now, "updated_at": now, **row},
                              required=("participant_id", "experiment"))
        what = f"participant {row['participant_id']!r}"
        await self._write(self._insert_work("participants", [cols], what))

    async def update_participant(self, participant_id: str, **fields: Any) -> None:
        if "participant_id" in fields:
            raise InvalidRowError("participants.participant_id cannot be changed")
        cols = encode_columns("participants", {"updated_at": time.time(), **fields})
        await self._write(self._update_work("participants", "participant_id", participant_id, cols))

    async def add_event(self, participant_id: str, step: str | None, kind: str, detail: dict | None = None,
                        t: float | None = None, *, repetition: int | None = None) -> None:
        cols = encode_columns("events", {
            "participant_id": participant_id, "step": step, "repetition": repetition, "kind": kind,
            "t": time.time() if t is None else t, "detail": detail}, required=("participant_id", "kind"))
        await self._write(self._insert_work("events", [cols], f"event {kind!r} of participant {participant_id!r}"))

    async def add_answers(self, participant_id: str, step: str, answers: dict, *,
                          repetition: int | None = None, t: float | None = None) -> None:
        if not isinstance(answers, dict) or not all(isinstance(q, str) for q in answers):
            raise InvalidRowError(f"answers must be a dict of question name (str) -> value, got {answers!r:.60}")
        t = time.time() if t is None else t
        rows = [encode_columns("answers", {"participant_id": participant_id, "step": step, "repetition": repetition,
                                           "question": question, "value": value, "t": t},
                               required=("participant_id", "step"))
                for question, value in answers.items()]
        if rows:
            await self._write(self._insert_work("answers", rows, f"answers to {step!r} of participant {participant_id!r}"))

    async def add_game(self, row: dict) -> None:
        cols = encode_columns("games", {"started_at": time.time(), **row}, required=("game_id", "experiment", "step"))
        await self._write(self._insert_work("games", [cols], f"game {row['game_id']!r}"))

    async def end_game(self, game_id: str, outcome: str, **fields: Any) -> None:
        if "game_id" in fields:
            raise InvalidRowError("games.game_id cannot be changed")
        cols = encode_columns("games", {"ended_at": time.time(), **fields, "outcome": outcome}, required=("outcome",))
        await self._write(self._update_work("games", "game_id", game_id, cols))

    async def update_game(self, game_id: str, **fields: Any) -> None:
        if "game_id" in fields:
            raise InvalidRowError("games.game_id cannot be changed")
        await self._write(self._update_work("games", "game_id", game_id, encode_columns("games", fields)))

    async def add_players(self, rows: list[dict]) -> None:
        if not isinstance(rows, (list, tuple)):
            raise InvalidRowError(f"players: rows must be a list of dicts, got {type(rows).__name__}")
        encoded = [encode_columns("players", row, required=("game_id", "agent")) for row in rows]
        if encoded:
            await self._write(self._insert_work("players", encoded, "a player"))

    def add_steps(self, game_id: str, rows: list, *, t_server: float, t_client: Any = None,
                  keep_observations: bool = True, late_ms: Any = None) -> asyncio.Future:
        # Not a coroutine: a coroutine's body runs only once awaited or scheduled, and by then the
        # env may have changed the arrays the rows hold. The rows are encoded here, during the call.
        loop = asyncio.get_running_loop()
        try:
            if not isinstance(game_id, str):
                raise InvalidRowError(f"steps.game_id must be a str, got {type(game_id).__name__} {game_id!r:.60}")
            t_clients, lates = _per_row(t_client, len(rows)), _per_row(late_ms, len(rows))
            values = [encode_step(game_id, row, t_server, tc, keep_observations, late)
                      for row, tc, late in zip(rows, t_clients, lates)]
            if self._writer is None:
                raise StorageClosedError("the storage is not started: await start() first")
            if not values:
                return _done(loop, None)
            work = self._steps_work(game_id, rows, values)
            if self._slots.take_now():
                return self._submit(work)
            return asyncio.ensure_future(self._submit_later(work))  # waits for room in the queue
        except StorageError as exc:  # given to whoever awaits, like an error of the write itself
            return _done(loop, exc)

    # What the writer thread runs for a write, per database (PostgresStorage has its own SQL).

    def _insert_work(self, table: str, rows: list[dict], what: str) -> Callable[[Any], None]:
        return _insert(table, rows, what)

    def _update_work(self, table: str, key: str, key_value: Any, cols: dict) -> Callable[[Any], None]:
        return _update(table, key, key_value, cols)

    def _steps_work(self, game_id: str, rows: list, values: list[tuple]) -> Callable[[Any], None]:
        return lambda conn: _insert_steps(conn, game_id, rows, values)

    async def meta_once(self, key: str, value: Any) -> Any:
        cols = encode_columns("meta", {"key": key, "value": value}, required=("key",))

        def work(conn: sqlite3.Connection) -> Any:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                         (cols["key"], cols["value"]))
            return conn.execute("SELECT value FROM meta WHERE key = ?", (cols["key"],)).fetchone()[0]

        return from_json(await self._write(work))

    async def set_meta(self, key: str, value: Any) -> None:
        cols = encode_columns("meta", {"key": key, "value": value}, required=("key",))
        sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(sql, (cols["key"], cols["value"]))

        await self._write(work)

    async def interrupt_unfinished_games(self, runtime: str | None = None) -> list[str]:
        where = "outcome IS NULL" + ("" if runtime is None else " AND runtime = ?")
        params = () if runtime is None else (runtime,)

        def work(conn: sqlite3.Connection) -> list[str]:
            ids = [r[0] for r in conn.execute(f"SELECT game_id FROM games WHERE {where} ORDER BY rowid", params)]
            conn.execute(f"UPDATE games SET outcome = 'interrupted', outcome_reason = 'server_stop', ended_at = ? "
                         f"WHERE {where}", (time.time(), *params))
            return ids

        return await self._write(work)

    # -- reads --------------------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._readers is None:
            raise StorageClosedError("the storage is not started: await start() first")
        return await asyncio.to_thread(self._readers.run, fn)

    async def _rows(self, table: str, where: str = "", params: tuple = (), tail: str = "ORDER BY rowid") -> list[dict]:
        sql = f"SELECT * FROM {table} {where} {tail}"
        return await self._read(lambda conn: [decode_row(table, r) for r in conn.execute(sql, params)])

    async def get_participant(self, participant_id: str) -> dict | None:
        rows = await self._rows("participants", "WHERE participant_id = ?", (participant_id,), "")
        return rows[0] if rows else None

    async def find_participant(self, experiment: str, panel_key: str, panel_id: str) -> dict | None:
        if panel_key not in PANEL_KEYS:
            raise ValueError(f"panel_key must be one of {', '.join(PANEL_KEYS)}, got {panel_key!r}")
        rows = await self._rows("participants", f"WHERE experiment = ? AND {panel_key} = ?", (experiment, panel_id),
                                "ORDER BY rowid DESC LIMIT 1")
        return rows[0] if rows else None

    async def participant_answers(self, participant_id: str) -> list[dict]:
        return await self._rows("answers", "WHERE participant_id = ?", (participant_id,))

    async def participants(self, experiment: str | None = None) -> list[dict]:
        if experiment is None:
            return await self._rows("participants")
        return await self._rows("participants", "WHERE experiment = ?", (experiment,))

    async def games(self, experiment: str | None = None) -> list[dict]:
        if experiment is None:
            return await self._rows("games")
        return await self._rows("games", "WHERE experiment = ?", (experiment,))

    async def get_meta(self, key: str) -> Any:
        rows = await self._read(lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchall())
        return from_json(rows[0][0]) if rows else None

    async def last_frame(self, game_id: str) -> tuple[int, int] | None:
        sql = "SELECT episode, frame FROM steps WHERE game_id = ? ORDER BY episode DESC, frame DESC LIMIT 1"
        rows = await self._read(lambda conn: conn.execute(sql, (game_id,)).fetchall())
        return (rows[0][0], rows[0][1]) if rows else None

    async def get_game(self, game_id: str) -> dict | None:
        rows = await self._rows("games", "WHERE game_id = ?", (game_id,), "")
        return rows[0] if rows else None

    async def players(self, game_id: str) -> list[dict]:
        return await self._rows("players", "WHERE game_id = ?", (game_id,))

    async def game_steps(self, game_id: str) -> list[dict]:
        sql = "SELECT * FROM steps WHERE game_id = ? ORDER BY episode, frame, rowid"
        return await self._read(lambda conn: [decode_step(r) for r in conn.execute(sql, (game_id,))])

    async def step_inputs(self, game_id: str, episode: int) -> list[tuple]:
        sql = ("SELECT frame, agent, action, keys, filled, reward, terminated OR truncated FROM steps "
               "WHERE game_id = ? AND episode = ? ORDER BY frame, rowid")

        def work(conn: sqlite3.Connection) -> list[tuple]:
            return [(f, from_json(a), from_json(act), from_json(k), bool(filled), from_json(r), bool(done))
                    for f, a, act, k, filled, r, done in conn.execute(sql, (game_id, episode))]

        return await self._read(work)

    async def counts(self) -> dict[str, dict[str, Any]]:
        def work(conn: sqlite3.Connection) -> dict:
            out: dict[str, dict[str, Any]] = {}
            for experiment, status, n in conn.execute(
                    "SELECT experiment, status, COUNT(*) FROM participants GROUP BY experiment, status"):
                c = out.setdefault(experiment, _empty_counts())
                c["participants"] += n
                c["by_status"][status] = n
            for experiment, n in conn.execute(
                    "SELECT experiment, COUNT(*) FROM games WHERE outcome IS NULL GROUP BY experiment"):
                out.setdefault(experiment, _empty_counts())["games_running"] = n
            for c in out.values():
                active, completed, excluded = (c["by_status"].get(s, 0) for s in STATUSES)
                c.update(active=active, completions=completed, exclusions=excluded)
            return out

        return await self._read(work)


class _Slots:
    """Room for ``size`` writes queued or in a transaction. :meth:`take` waits for a free slot,
    first come first served; :meth:`give` frees one (to the longest waiter)."""

    def __init__(self, size: int):
        self.size, self.used = size, 0
        self.waiting: collections.deque = collections.deque()

    def take_now(self) -> bool:
        if self.used < self.size and not self.waiting:
            self.used += 1
            return True
        return False

    async def take(self) -> None:
        if self.take_now():
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn  # give() handed its slot over
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give()  # handed over just as the waiter was cancelled: pass it on
            raise

    def give(self, _: Any = None) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes to this waiter: ``used`` stays
                return
        self.used -= 1


def _done(loop: asyncio.AbstractEventLoop, exc: BaseException | None) -> asyncio.Future:
    future = loop.create_future()
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
    return future


def _empty_counts() -> dict[str, Any]:
    return {"participants": 0, "active": 0, "completions": 0, "exclusions": 0, "by_status": {}, "games_running": 0}


# --- what the writer thread runs ------------------------------------------------------------------


def _per_row(value: Any, n: int) -> list:
    """One value for every row, or a list of one per row."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InvalidRowError(f"steps: {len(value)} timings given for {n} rows")
        return list(value)
    return [value] * n


def _prepare(path: str) -> None:
    """Creates the database's folder, and imports what compressing arrays needs (pyarrow), so
    neither happens on the event loop later."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    warm_up()


def _setup(conn: sqlite3.Connection) -> None:
    """WAL mode, durable commits, foreign keys, then the tables (in the writer thread)."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageError(f"SQLite could not use WAL mode here (journal mode {mode!r}); "
                           f"is the data folder on a network file system?")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageError(f"the database was written by a newer mugkit (schema {version}, this one "
                           f"knows {SCHEMA_VERSION}): upgrade mugkit")
    conn.execute("BEGIN IMMEDIATE")
    for statement in DDL:
        conn.execute(statement)
    if 0 < version < 2:  # schema 1 had no late_ms (how late a frame was played)
        _add_columns(conn, "steps", ["late_ms REAL"])
    if 0 < version < 3:  # schema 3: why a game ended, and a browser game's verification
        _add_columns(conn, "games", ["outcome_reason TEXT", "verification TEXT", "verification_detail TEXT", "timing TEXT"])
    if 0 < version < 4:  # schema 4: why a participant was screened out or excluded
        _add_columns(conn, "participants", ["reason TEXT", "reason_text TEXT"])
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def _add_columns(conn: sqlite3.Connection, table: str, columns: list[str]) -> None:
    """Adds the ``columns`` (``"name TYPE"``) that ``table`` lacks (a migration: a column a
    later schema added may be there already, from a database copied between versions)."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for column in columns:
        if column.split()[0] not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


def _insert(table: str, rows: list[dict], what: str) -> Callable[[sqlite3.Connection], None]:
    """Work inserting encoded ``rows`` (all with the same columns, or each its own) into ``table``."""
    def work(conn: sqlite3.Connection) -> None:
        for cols in rows:
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            try:
                conn.execute(sql, tuple(cols.values()))
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(table, what, cols, exc) from None

    return work


def _update(table: str, key: str, key_value: Any, cols: dict) -> Callable[[sqlite3.Connection], None]:
    sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {key} = ?"

    def work(conn: sqlite3.Connection) -> None:
        if conn.execute(sql, (*cols.values(), key_value)).rowcount == 0:
            raise MissingRowError(f"{table}: no {table[:-1]} {key_value!r} is stored")

    return work


def _integrity_error(table: str, what: str, cols: dict, exc: sqlite3.IntegrityError) -> StorageError:
    message = str(exc)
    if message.startswith("UNIQUE") or "PRIMARY KEY" in message:
        if table == "players":
            return DuplicateRowError(f"players: game {cols.get('game_id')!r} has a player for agent "
                                     f"{from_json(cols.get('agent'))!r} already")
        return DuplicateRowError(f"{table}: {what} is stored already")
    if message.startswith("FOREIGN KEY"):
        refs = {k: v for k, v in cols.items() if k in ("participant_id", "game_id") and v is not None}
        return MissingRowError(f"{table}: {what} refers to {' or '.join(f'{k} {v!r}' for k, v in refs.items())}, "
                               f"which is not stored (add it first)")
    if message.startswith("CHECK") and table == "players":
        return InvalidRowError("players: a player has either a participant_id (a human) or a policy (an AI), "
                               f"not both or neither; got {cols.get('participant_id')!r} and {cols.get('policy')!r}")
    return InvalidRowError(f"{table}: {what}: {message}")


def _insert_steps(conn: sqlite3.Connection, game_id: str, rows: list, values: list[tuple]) -> None:
    # Row by row, not executemany, so that a duplicate is named; the writer's savepoint undoes the
    # rows inserted before it, so a call stores all its rows or none.
    for row, params in zip(rows, values):
        try:
            conn.execute(_STEP_INSERT, params)
        except sqlite3.IntegrityError as exc:
            if str(exc).startswith("FOREIGN KEY"):
                raise MissingRowError(f"steps: no game {game_id!r} is stored (add_game first)") from None
            if str(exc).startswith("UNIQUE"):
                raise DuplicateRowError(f"steps: game {game_id!r} episode {row.episode} frame {row.frame} agent "
                                        f"{row.agent!r} is stored already (a frame is written once)") from None
            raise InvalidRowError(f"steps: game {game_id!r} episode {row.episode} frame {row.frame}: {exc}") from None

