"""The two storage backends, for tests that run against both (the ``backend`` fixture of
tests/conftest.py): where a backend's data live, how to open its storage, and how to look at its
tables from outside the storage (another connection)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from mugkit.web.storage import DB_FILENAME, PostgresStorage, SQLiteStorage, Storage

__all__ = ["Backend", "BACKENDS"]

#: The backends' names, as the ``backend`` fixture's parameters.
BACKENDS = ("sqlite", "postgres")


class Backend:
    """One backend's data: a data folder (SQLite) or a fresh database's URL (PostgreSQL).

    ``location`` is what ``mk.data.load``, ``mugkit data export`` and ``--database``/``--data``
    take: the folder for SQLite, the URL for PostgreSQL."""

    def __init__(self, name: str, folder: str, url: str | None = None):
        self.name, self.folder, self.url = name, folder, url
        self.location = url if name == "postgres" else folder

    def __repr__(self) -> str:
        return f"Backend({self.name})"

    def storage(self) -> Storage:
        """A new (not started) storage on this backend's data."""
        return PostgresStorage(self.url) if self.name == "postgres" else SQLiteStorage.in_folder(self.folder)

    @property
    def reader_location(self) -> str:
        """What ``Storage.reader`` takes: the database file, or the URL."""
        return self.url if self.name == "postgres" else os.path.join(self.folder, DB_FILENAME)

    @property
    def serve_args(self) -> list[str]:
        """``mugkit serve`` options that put the data here (a data folder in both cases)."""
        return ["--data", self.folder] + (["--database", self.url] if self.name == "postgres" else [])

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """``sql`` (``?`` placeholders) run on a connection of its own, outside the storage."""
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params)]
        with sqlite3.connect(os.path.join(self.folder, DB_FILENAME)) as conn:
            return list(conn.execute(sql, params))

    def execute(self, sql: str, params: tuple = ()) -> None:
        """A statement that returns no rows (``?`` placeholders), committed, outside the storage."""
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql.replace("?", "%s"), params)
            return
        with sqlite3.connect(os.path.join(self.folder, DB_FILENAME)) as conn:
            conn.execute(sql, params)

    def set_schema_version(self, version: int) -> None:
        """Marks the data as written by the mugkit of schema ``version`` (a migration's test)."""
        if self.name == "postgres":
            self.execute("UPDATE mugkit_schema SET version = ?", (version,))
        else:
            self.execute(f"PRAGMA user_version = {int(version)}")

    @property
    def last_row(self) -> str:
        """The column in which rows are numbered in the order they were stored."""
        return "seq" if self.name == "postgres" else "rowid"

    def outside(self) -> Any:
        """A connection of its own, with ``execute(sql with ?, params).fetchone()``."""
        if self.name == "postgres":
            import psycopg

            return _Pg(psycopg.connect(self.url, autocommit=True))
        return sqlite3.connect(os.path.join(self.folder, DB_FILENAME))

    def stored_keys(self) -> set:
        """(game_id, episode, frame, agent as stored) of every step row."""
        return set(self.query("SELECT game_id, episode, frame, agent FROM steps"))


class _Pg:
    def __init__(self, conn: Any):
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.conn.close()
