"""The one thread that writes to SQLite, committing whatever is queued together, and the pool of
read connections beside it.

SQLite allows one writer at a time, and a durable commit costs an fsync (milliseconds). Committing
each write on its own would cap the server at a few hundred writes a second and block whoever
waits. So every write goes through one thread that owns the only write connection: it takes all
queued writes, runs each inside a savepoint of one transaction, commits once (*group commit*),
and only then resolves the waiting coroutines' futures, on their event loop. A write that fails
is rolled back to its savepoint alone, and its future gets the error; the other writes of the
batch commit as usual.

When the disk is full (or fails to write), a batch is not failed: its transaction is rolled back
and retried every :data:`RETRY_SECONDS` until it commits, so nothing a caller is waiting for is
lost and nothing is acknowledged that was not stored. Meanwhile :attr:`Writer.failure` says why
(the server pauses the study, mugkit/web/pause.py). Only when the storage is closing does a
batch that still cannot commit fail, after :data:`CLOSE_RETRY_SECONDS`.

Reads run on separate connections in worker threads (``asyncio.to_thread``); in WAL mode they see
the last committed state and never wait for the writer.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .schema import StorageClosedError, StorageError

__all__ = ["Writer", "Readers", "WriterStats", "connect"]

log = logging.getLogger("mugkit.storage")

#: How long a connection waits for a lock held by another process (another server on the same
#: file, a backup tool) before the write fails with "database is locked".
BUSY_TIMEOUT_MS = 10_000

#: At most this many writes in one transaction: bounds the time one commit keeps writes waiting.
MAX_BATCH = 2000

#: Seconds between two tries of a batch the disk did not take (full, or an I/O error).
RETRY_SECONDS = 1.0
#: How long a closing storage goes on retrying such a batch before failing its writes.
CLOSE_RETRY_SECONDS = 5.0

# SQLite's result codes for a disk that did not take a write: SQLITE_FULL, SQLITE_IOERR (and its
# extended codes, whose low byte is SQLITE_IOERR).
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun and committed explicitly)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not readonly)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
        conn.row_factory = sqlite3.Row
    return conn


@dataclass
class WriterStats:
    """What the writer has done (for benchmarks and /admin)."""

    writes: int = 0          # writes committed (each write: one coroutine's await)
    failed: int = 0          # writes that raised
    batches: int = 0         # transactions committed
    largest_batch: int = 0
    commit_seconds: float = 0.0  # time spent in COMMIT (the fsync)


class _Write:
    __slots__ = ("work", "future", "loop")

    def __init__(self, work: Callable[[sqlite3.Connection], Any], future: asyncio.Future, loop: Any):
        self.work, self.future, self.loop = work, future, loop


class Writer:
    """The writer thread. ``setup(conn)`` runs once on the new connection, outside any transaction
    (pragmas, schema); if it raises, every write fails with that error."""

    def __init__(self, path: str, setup: Callable[[sqlite3.Connection], None]):
        self.path = path
        self.stats = WriterStats()
        self._setup = setup
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()   # makes "not closing, then enqueue" atomic against stop()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mugkit-storage-writer", daemon=True)
        #: Why the last try to commit failed while the writer retries (the disk is full …), else None.
        self.failure: str | None = None

    def start(self) -> None:
        self._thread.start()

    def submit(self, work: Callable[[sqlite3.Connection], Any]) -> asyncio.Future:
        """Queues ``work(conn)``; the future resolves to its result once its transaction committed
        (or to its exception). Must be called on the event loop that awaits the future."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if self._closing:
                raise StorageClosedError("the storage is closed: nothing more can be written")
            self._queue.put(_Write(work, future, loop))
        return future

    def stop(self) -> None:
        """Lets the thread finish every write queued so far, then close its connection."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._queue.put(None)

    @property
    def pending(self) -> int:
        """Writes queued and not yet taken into a transaction."""
        return self._queue.qsize()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _connect(self) -> Any:
        """The write connection (a subclass for another database opens its own)."""
        return connect(self.path)

    def _run(self) -> None:
        conn, fatal = None, None
        try:
            conn = self._connect()
            self._setup(conn)
        except Exception as exc:  # reported to every write, starting with the one start() awaits
            fatal = exc
        done = False
        while not done:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH and batch[-1] is not None:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is None:
                done = True
                batch.pop()
            if not batch:
                continue
            if fatal is not None:
                _settle([(w, None, StorageError(f"cannot open {self.path}: {fatal}")) for w in batch])
                continue
            _settle(self._commit_retrying(conn, batch))
        if conn is not None:
            conn.close()

    def _commit_retrying(self, conn: sqlite3.Connection, batch: list[_Write]) -> list[tuple]:
        """Commits the batch, trying again while the disk does not take it (see the module
        docstring); returns what :meth:`_commit` returns."""
        given_up_at = None
        while True:
            try:
                outcomes = self._commit(conn, batch)
            except _DiskError as exc:
                if self.failure is None:
                    log.error("the storage cannot write to %s (%s); retrying every %g s, and the writes wait",
                              self.path, exc, RETRY_SECONDS)
                self.failure = f"{exc} (writing {self.path})"
                with self._lock:
                    closing = self._closing
                if closing:
                    given_up_at = given_up_at or time.monotonic() + CLOSE_RETRY_SECONDS
                    if time.monotonic() > given_up_at:
                        error = StorageError(f"could not commit to {self.path}: {exc}")
                        return [(w, None, error) for w in batch]
                time.sleep(RETRY_SECONDS)
                continue
            except Exception as exc:  # the thread must not die: every waiting write hears back
                return [(w, None, StorageError(f"could not write to {self.path}: {exc}")) for w in batch]
            if self.failure is not None:
                log.warning("the storage writes to %s again", self.path)
                self.failure = None
            return outcomes

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> list[tuple]:
        """Runs the batch in one transaction, each write in its own savepoint; returns
        (write, result, exception) triples, which hold results only if the commit succeeded."""
        out = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for w in batch:
                conn.execute("SAVEPOINT one")
                try:
                    result = w.work(conn)
                except sqlite3.Error as exc:
                    if _disk_failed(exc):
                        raise  # the whole batch is tried again (below)
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    out.append((w, None, exc))
                    continue
                except Exception as exc:
                    # Undo this write only; the others in the transaction are unaffected.
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    out.append((w, None, exc))
                    continue
                conn.execute("RELEASE one")
                out.append((w, result, None))
            started = time.perf_counter()
            conn.execute("COMMIT")
            self.stats.commit_seconds += time.perf_counter() - started
        except sqlite3.Error as exc:
            # BEGIN, a savepoint or COMMIT failed (disk full, I/O error, locked by another
            # process): nothing of the batch is stored, and every write says so.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolls back by itself when the connection's next BEGIN comes
            if _disk_failed(exc):
                raise _DiskError(str(exc)) from None
            error = StorageError(f"could not commit to {self.path}: {exc}")
            return [(w, None, error) for w in batch]
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        failed = sum(1 for _, _, exc in out if exc is not None)
        self.stats.failed += failed
        self.stats.writes += len(out) - failed
        return out


def _disk_failed(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in (_SQLITE_FULL, _SQLITE_IOERR)


class _DiskError(Exception):
    """The disk did not take a batch (full, or an I/O error): worth trying again."""


def _settle(outcomes: list[tuple]) -> None:
    """Resolves the futures on their own loops, one wake-up per loop per batch."""
    per_loop: dict[Any, list] = {}
    for w, result, exc in outcomes:
        per_loop.setdefault(w.loop, []).append((w.future, result, exc))
    for loop, items in per_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


def _resolve(items: list[tuple]) -> None:
    for future, result, exc in items:
        if future.done():  # the awaiting coroutine was cancelled; the write happened anyway
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


class Readers:
    """Read connections for worker threads: each read takes an idle one (or opens one) and runs
    in one read transaction, so a read of several queries sees one committed state."""

    def __init__(self, path: str):
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            if self._closed:
                raise StorageClosedError("the storage is closed: nothing more can be read")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connect(self.path, readonly=True)
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")
        finally:
            with self._lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
