"""Where the server writes its data (docs/data.md): the :class:`Storage` interface and
:class:`SQLiteStorage`, its SQLite implementation.

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
start-up check: identity, damage, a deleted or damaged WAL).
"""

from __future__ import annotations

from .base import DB_FILENAME, PANEL_KEYS, STATUSES, Storage, TableReader, database_path
from .schema import (DuplicateRowError, InvalidRowError, MissingRowError, StorageClosedError,
                             StorageError)
from .sqlite import SQLiteStorage

__all__ = ["Storage", "TableReader", "SQLiteStorage", "StorageError", "InvalidRowError", "DuplicateRowError",
           "MissingRowError", "StorageClosedError", "DB_FILENAME", "PANEL_KEYS", "STATUSES", "database_path"]
