""":class:`PostgresStorage`: the :class:`~mugkit.web.storage.Storage` interface on a PostgreSQL
database (docs/postgres.md), with SQLite's guarantees: a write is acknowledged only after the
transaction holding it committed; one writer commits whatever is queued together (group commit),
each write in a savepoint so that one failing write fails alone; at most
:data:`~mugkit.web.storage.sqlite.MAX_PENDING_WRITES` writes are queued, and a write beyond waits
for room; reads never wait for the writer; values come back as they went in.

Why psycopg 3 and not asyncpg: the storage writes from one thread with a blocking connection
(below), and the readers outside the server (``mk.data.load``, ``mugkit data export``, the load
test's audit) are plain functions: psycopg has a synchronous API, asyncpg only an asynchronous
one (each of those would need an event loop of its own). psycopg is libpq, so a lab's connection
settings work as with ``psql``: ``sslmode``, ``.pgpass``, ``PGPASSWORD``, service files. Its
server-side cursors stream a large ``steps`` table to ``mk.data.load`` without holding it all.

Why its synchronous connection in a writer thread rather than its async API: the server's event
loop is what holds the games' frame rate, and the storage must not spend it. With one thread
owning the write connection, the protocol's encoding and decoding and the waits for the
database's round trips happen off the loop, the design is the SQLite writer's (``writer``, one
queue, one transaction per batch, futures resolved after COMMIT) and so are its tests. Reads run
in worker threads (``asyncio.to_thread``) on a small pool of connections.

The tables, their types and the schema check: ``postgres_schema``; the writer thread and the
read connections: ``postgres_writer``; the read-only view for readers: ``postgres_reader``.

Typical use::

    storage = PostgresStorage("postgresql://mugkit@db.lab.example/chase_study")
    await storage.start()      # creates the tables in an empty database, checks them otherwise
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from ...runtime.values import from_json, warm_up
from .base import PANEL_KEYS, STATUSES
from .postgres_schema import ORDER, check_schema, column_list, merge_observation, redact
from .postgres_writer import PostgresReaders, PostgresWriter
from .schema import (COLUMNS, STEP_COLUMNS, DuplicateRowError, InvalidRowError, MissingRowError,
                     StorageError, decode_row, decode_step, encode_columns)
from .sqlite import SQLiteStorage, _empty_counts

__all__ = ["PostgresStorage", "is_database_url"]

_URL_PREFIXES = ("postgresql://", "postgres://")

_BOOLS = tuple(i for i, name in enumerate(STEP_COLUMNS) if COLUMNS["steps"][name] == "bool")
_OBS = STEP_COLUMNS.index("observation")
_STEP_INSERT = (f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}, observation_json) "
                f"VALUES ({', '.join(['%s'] * (len(STEP_COLUMNS) + 1))})")
_STEP_COPY = f"COPY steps ({', '.join(STEP_COLUMNS)}, observation_json) FROM STDIN"
_STEP_KEY = "SELECT 1 FROM steps WHERE game_id = %s AND episode = %s AND frame = %s AND agent = %s"


def is_database_url(location: Any) -> bool:
    """Whether ``location`` is a PostgreSQL URL (``postgresql://…``), not a path."""
    return isinstance(location, str) and location.startswith(_URL_PREFIXES)


class PostgresStorage(SQLiteStorage):
    """The storage in the PostgreSQL database at ``url`` (``postgresql://user@host:port/dbname``;
    any libpq connection URL). Several server processes of one study may share the database.

    It shares :class:`SQLiteStorage`'s checking, encoding and queueing of writes (the promises of
    :class:`~mugkit.web.storage.Storage` are kept by the same code); what runs in the database is
    its own.
    """

    def __init__(self, url: str):
        if not is_database_url(url):
            raise ValueError(f"{url!r} is not a PostgreSQL URL: give postgresql://user@host:port/dbname")
        super().__init__(url)
        self.url = url
        self.path = redact(url)  # what messages show: never the password

    @classmethod
    def in_folder(cls, directory: Any) -> "SQLiteStorage":
        raise TypeError("a PostgreSQL storage is not in a data folder: PostgresStorage(url)")

    @classmethod
    def reader(cls, location: str) -> Any:
        from .postgres_reader import PostgresReader

        return PostgresReader(location)

    # -- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._writer is not None:
            raise StorageError("start() was called already")
        await asyncio.to_thread(warm_up)  # pyarrow (compressed arrays) imported off the loop

        def setup(link: Any) -> None:
            conn = link.conn
            conn.execute("BEGIN")
            try:
                check_schema(conn, time.time())
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        self._writer = PostgresWriter(self.url, setup)
        self._writer.start()
        try:
            await self._writer.submit(lambda conn: None)  # resolves once setup ran (or fails with it)
        except BaseException:
            await self.close()
            raise
        self._readers = PostgresReaders(self.url)

    # -- what the writer thread runs ------------------------------------------------------------

    def _insert_work(self, table: str, rows: list[dict], what: str) -> Callable[[Any], None]:
        def work(conn: Any) -> None:
            import psycopg

            for cols in rows:
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
                try:
                    conn.execute(sql, tuple(cols.values()))
                except (psycopg.IntegrityError, psycopg.DataError) as exc:
                    raise _integrity_error(table, what, cols, exc) from None

        return work

    def _update_work(self, table: str, key: str, key_value: Any, cols: dict) -> Callable[[Any], None]:
        sql = f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in cols)} WHERE {key} = %s"

        def work(conn: Any) -> None:
            import psycopg

            try:
                updated = conn.execute(sql, (*cols.values(), key_value)).rowcount
            except psycopg.DataError as exc:
                raise InvalidRowError(f"{table}: {key_value!r}: {_message(exc)}") from None
            if updated == 0:
                raise MissingRowError(f"{table}: no {table[:-1]} {key_value!r} is stored")

        return work

    def _steps_work(self, game_id: str, rows: list, values: list[tuple]) -> Callable[[Any], None]:
        params = [_step_params(v) for v in values]

        def work(conn: Any) -> None:
            import psycopg

            try:
                with conn.cursor() as cur:
                    cur.executemany(_STEP_INSERT, params)  # pipelined: one round trip for the rows
            except psycopg.errors.ForeignKeyViolation:
                raise MissingRowError(f"steps: no game {game_id!r} is stored (add_game first)") from None
            except psycopg.errors.UniqueViolation:
                row = _first_duplicate(conn, rows, params)
                raise DuplicateRowError(f"steps: game {game_id!r} episode {row.episode} frame {row.frame} agent "
                                        f"{row.agent!r} is stored already (a frame is written once)") from None
            except (psycopg.IntegrityError, psycopg.DataError) as exc:
                raise InvalidRowError(f"steps: game {game_id!r}: {_message(exc)}") from None

        work.copy = (_STEP_COPY, params)  # the writer may COPY these rows with others' (postgres_writer)
        return work

    async def meta_once(self, key: str, value: Any) -> Any:
        cols = encode_columns("meta", {"key": key, "value": value}, required=("key",))

        def work(conn: Any) -> Any:
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                         (cols["key"], cols["value"]))
            return conn.execute("SELECT value FROM meta WHERE key = %s", (cols["key"],)).fetchone()[0]

        return from_json(await self._write(work))

    async def set_meta(self, key: str, value: Any) -> None:
        cols = encode_columns("meta", {"key": key, "value": value}, required=("key",))
        sql = ("INSERT INTO meta (key, value) VALUES (%s, %s) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        await self._write(lambda conn: conn.execute(sql, (cols["key"], cols["value"])) and None)

    async def interrupt_unfinished_games(self, runtime: str | None = None) -> list[str]:
        where = "outcome IS NULL" + ("" if runtime is None else " AND runtime = %s")
        params = () if runtime is None else (runtime,)

        def work(conn: Any) -> list[str]:
            ids = [r[0] for r in conn.execute(f"SELECT game_id FROM games WHERE {where} ORDER BY seq", params)]
            conn.execute(f"UPDATE games SET outcome = 'interrupted', outcome_reason = 'server_stop', ended_at = %s "
                         f"WHERE {where}", (time.time(), *params))
            return ids

        return await self._write(work)

    # -- reads --------------------------------------------------------------------------------

    async def _rows(self, table: str, where: str = "", params: tuple = (), tail: str | None = None) -> list[dict]:
        tail = f"ORDER BY {ORDER[table]}" if tail is None else tail
        sql = f"SELECT {column_list(table, tuple(COLUMNS[table]))} FROM {table} {where} {tail}"
        decode = (lambda r: decode_step(merge_observation(r))) if table == "steps" else (lambda r: decode_row(table, r))
        return await self._read(lambda conn: [decode(r) for r in conn.execute(sql, params)])

    async def get_participant(self, participant_id: str) -> dict | None:
        rows = await self._rows("participants", "WHERE participant_id = %s", (participant_id,), "")
        return rows[0] if rows else None

    async def find_participant(self, experiment: str, panel_key: str, panel_id: str) -> dict | None:
        if panel_key not in PANEL_KEYS:
            raise ValueError(f"panel_key must be one of {', '.join(PANEL_KEYS)}, got {panel_key!r}")
        rows = await self._rows("participants", f"WHERE experiment = %s AND {panel_key} = %s", (experiment, panel_id),
                                "ORDER BY seq DESC LIMIT 1")
        return rows[0] if rows else None

    async def participant_answers(self, participant_id: str) -> list[dict]:
        return await self._rows("answers", "WHERE participant_id = %s", (participant_id,))

    async def participants(self, experiment: str | None = None) -> list[dict]:
        if experiment is None:
            return await self._rows("participants")
        return await self._rows("participants", "WHERE experiment = %s", (experiment,))

    async def games(self, experiment: str | None = None) -> list[dict]:
        if experiment is None:
            return await self._rows("games")
        return await self._rows("games", "WHERE experiment = %s", (experiment,))

    async def get_meta(self, key: str) -> Any:
        rows = await self._read(lambda conn: conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchall())
        return from_json(rows[0]["value"]) if rows else None

    async def last_frame(self, game_id: str) -> tuple[int, int] | None:
        sql = "SELECT episode, frame FROM steps WHERE game_id = %s ORDER BY episode DESC, frame DESC LIMIT 1"
        rows = await self._read(lambda conn: conn.execute(sql, (game_id,)).fetchall())
        return (rows[0]["episode"], rows[0]["frame"]) if rows else None

    async def get_game(self, game_id: str) -> dict | None:
        rows = await self._rows("games", "WHERE game_id = %s", (game_id,), "")
        return rows[0] if rows else None

    async def players(self, game_id: str) -> list[dict]:
        return await self._rows("players", "WHERE game_id = %s", (game_id,))

    async def game_steps(self, game_id: str) -> list[dict]:
        return await self._rows("steps", "WHERE game_id = %s", (game_id,), "ORDER BY episode, frame, seq")

    async def step_inputs(self, game_id: str, episode: int) -> list[tuple]:
        sql = ("SELECT frame, agent, action, keys, filled, reward, terminated OR truncated AS done FROM steps "
               "WHERE game_id = %s AND episode = %s ORDER BY frame, seq")

        def work(conn: Any) -> list[tuple]:
            return [(r["frame"], from_json(r["agent"]), from_json(r["action"]), from_json(r["keys"]),
                     bool(r["filled"]), from_json(r["reward"]), bool(r["done"]))
                    for r in conn.execute(sql, (game_id, episode))]

        return await self._read(work)

    async def counts(self) -> dict[str, dict[str, Any]]:
        def work(conn: Any) -> dict:
            out: dict[str, dict[str, Any]] = {}
            for r in conn.execute("SELECT experiment, status, COUNT(*) AS n FROM participants "
                                  "GROUP BY experiment, status ORDER BY experiment, status"):
                c = out.setdefault(r["experiment"], _empty_counts())
                c["participants"] += r["n"]
                c["by_status"][r["status"]] = r["n"]
            for r in conn.execute("SELECT experiment, COUNT(*) AS n FROM games WHERE outcome IS NULL "
                                  "GROUP BY experiment"):
                out.setdefault(r["experiment"], _empty_counts())["games_running"] = r["n"]
            for c in out.values():
                active, completed, excluded = (c["by_status"].get(s, 0) for s in STATUSES)
                c.update(active=active, completions=completed, exclusions=excluded)
            return out

        return await self._read(work)


def _step_params(values: tuple) -> tuple:
    """An encoded step row (:func:`~mugkit.web.storage.schema.encode_step`) as this table's
    parameters: bools as bools, the observation in ``observation`` (bytes) or ``observation_json``
    (text)."""
    out = list(values)
    for i in _BOOLS:
        if out[i] is not None:
            out[i] = bool(out[i])
    obs = out[_OBS]
    text = obs if isinstance(obs, str) else None
    if text is not None:
        out[_OBS] = None
    return (*out, text)


def _first_duplicate(conn: Any, rows: list, params: list[tuple]) -> Any:
    """The first of ``rows`` whose key is stored already or repeats an earlier row's (as
    SQLite, inserting row by row, would name it). Rolls the failed insert back to the writer's
    savepoint first, so that the transaction can be read."""
    conn.execute("ROLLBACK TO SAVEPOINT one")
    seen = set()
    for row, p in zip(rows, params):
        key = p[:4]  # game_id, episode, frame, agent: the first columns of STEP_COLUMNS
        if key in seen or conn.execute(_STEP_KEY, key).fetchone() is not None:
            return row
        seen.add(key)
    return rows[0]


def _message(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    return (getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]) if diag else str(exc)


def _integrity_error(table: str, what: str, cols: dict, exc: Any) -> StorageError:
    import psycopg

    if isinstance(exc, psycopg.errors.UniqueViolation):
        if table == "players":
            return DuplicateRowError(f"players: game {cols.get('game_id')!r} has a player for agent "
                                     f"{from_json(cols.get('agent'))!r} already")
        return DuplicateRowError(f"{table}: {what} is stored already")
    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
        refs = {k: v for k, v in cols.items() if k in ("participant_id", "game_id") and v is not None}
        return MissingRowError(f"{table}: {what} refers to {' or '.join(f'{k} {v!r}' for k, v in refs.items())}, "
                               f"which is not stored (add it first)")
    if isinstance(exc, psycopg.errors.CheckViolation) and table == "players":
        return InvalidRowError("players: a player has either a participant_id (a human) or a policy (an AI), "
                               f"not both or neither; got {cols.get('participant_id')!r} and {cols.get('policy')!r}")
    return InvalidRowError(f"{table}: {what}: {_message(exc)}")
