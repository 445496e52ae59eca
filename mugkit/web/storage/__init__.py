"""Where the server writes its data (docs/data.md): the :class:`Storage` interface,
:class:`SQLiteStorage`, its SQLite implementation (the default: a file in the data folder), and
:class:`PostgresStorage`, its PostgreSQL implementation (``--database postgresql://…``,
docs/postgres.md). :func:`open_storage` chooses between them (``mugkit.data.open_tables`` for readers).

Every method is a coroutine and never blocks the event loop: writes are committed by one writer
thread that groups whatever is queued into one transaction (``writer``), reads run on
their own connections in worker threads. A write returns only once the transaction holding it has
committed with ``synchronous=FULL`` in WAL mode, so an acknowledged row survives a crash of the
server, of the operating system and a power cut (SQLite's ``PRAGMA synchronous`` documentation:
with NORMAL, "a transaction committed in WAL mode ... might roll back following a power loss or
system crash"; with FULL the WAL is synced at every commit). Group commit pays that fsync once
per batch, not once per row.

Typical use, by the server::

    storage = SQLiteStorage.in_folder("data")
    await storage.start()
    await storage.add_game({"game_id": gid, "experiment": "chase", "step": "chase", "seed": 7})
    await storage.add_steps(gid, result.rows, t_server=time.time())
    await storage.close()

How values are stored (agent ids and actions of any type, observations as compressed arrays) is
described in ``mugkit.runtime.values``; the tables and their columns in ``schema``.

The package's modules: ``base`` (the :class:`Storage` and :class:`TableReader` interfaces),
``schema`` (tables, encoding), ``sqlite`` (:class:`SQLiteStorage`), ``writer`` (its writer thread:
group commit, retries on a full disk), ``reader`` (:class:`SQLiteReader`, the read-only view
readers outside the server use: ``SQLiteStorage.reader(path)``) and ``folder`` (the data folder's
start-up check: identity, damage, a deleted or damaged WAL). PostgreSQL's: ``postgres`` (its
storage, and why psycopg 3 in a writer thread), ``postgres_writer``, ``postgres_reader`` and
``postgres_schema`` (its tables, and the schema check).
"""

from __future__ import annotations

from .base import DB_FILENAME, PANEL_KEYS, STATUSES, Storage, TableReader, database_path
from .schema import (DuplicateRowError, InvalidRowError, MissingRowError, StorageClosedError,
                             StorageError)
from .postgres import PostgresStorage, is_database_url
from .sqlite import SQLiteStorage

__all__ = ["Storage", "TableReader", "SQLiteStorage", "PostgresStorage", "StorageError", "InvalidRowError",
           "DuplicateRowError", "MissingRowError", "StorageClosedError", "DB_FILENAME", "PANEL_KEYS", "STATUSES",
           "database_path", "open_storage", "is_database_url", "describe"]


def open_storage(data_dir: str, database_url: str | None = None) -> Storage:
    """The server's storage (not started): the PostgreSQL database at ``database_url`` when one
    is given (``mugkit serve --database URL``), else SQLite in the data folder ``data_dir``.

    Raises:
        ValueError: ``database_url`` is not a PostgreSQL URL.
    """
    if database_url is not None:
        return PostgresStorage(database_url)
    return SQLiteStorage.in_folder(data_dir)


def describe(data_dir: str, database_url: str | None = None) -> str:
    """Where the data go, for messages: the SQLite file's path, or the URL without its password."""
    from .postgres_schema import redact
    import os

    return redact(database_url) if database_url is not None else os.path.abspath(database_path(data_dir))
