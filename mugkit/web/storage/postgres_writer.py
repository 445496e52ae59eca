"""The one thread that writes to PostgreSQL with group commit, and the pool of read connections
beside it: :mod:`~mugkit.web.storage.writer`'s design on a psycopg connection.

The writer thread takes every queued write, runs them in one transaction, commits once, and only
then resolves the waiting coroutines' futures. A failing write fails alone: the batch is then run
again with each write in its own savepoint (rolled back for the failing write only). Savepoints
are not used otherwise, since each costs a round trip to the server.

What differs from SQLite is what "the database cannot take writes now" means: the server is
unreachable, restarting, out of disk or of connections (SQLSTATE classes 08, 53, 57P, and a
connection that broke). Then the batch is not failed: the writer reconnects and tries
again every :data:`~mugkit.web.storage.writer.RETRY_SECONDS`, and once that has lasted
:data:`QUIET_SECONDS` (longer than a restart takes), :attr:`failure` says why (the server then
pauses the study). A connection that broke *during* COMMIT leaves the outcome unknown: the
writer asks the server, once reconnected, whether the batch's transaction id committed
(``txid_status``), so a committed batch is acknowledged and never written twice.

Reads run on their own connections in worker threads, each read in one ``REPEATABLE READ READ
ONLY`` transaction (one snapshot for its queries); PostgreSQL's MVCC never makes them wait for
the writer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from .postgres_schema import redact
from .schema import StorageClosedError, StorageError
from .writer import Writer, _DiskError

__all__ = ["PostgresWriter", "PostgresReaders", "connect", "transient"]

log = logging.getLogger("mugkit.storage")

#: Seconds a connection attempt may take before it counts as failed.
CONNECT_TIMEOUT = 10

#: For this long a database that went away is not reported as a :attr:`PostgresWriter.failure`
#: (writes wait meanwhile, and are retried): a restart or a failover takes a second or two, and
#: a reported failure pauses the study, which ends its server games.
QUIET_SECONDS = 10.0
#: Seconds between two tries of a read the database could not serve.
RETRY_READ_SECONDS = 0.25


def connect(url: str, **kwargs: Any) -> Any:
    """A psycopg connection to ``url`` in autocommit mode (transactions are begun explicitly)."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, application_name="mugkit",
                               connect_timeout=CONNECT_TIMEOUT, **kwargs)
    except psycopg.Error as exc:
        raise StorageError(f"cannot connect to the database {redact(url)}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def transient(exc: BaseException, conn: Any = None) -> bool:
    """Whether ``exc`` says the database cannot take writes *now* (worth trying again), not that
    this write is wrong: the connection broke, the server is shutting down or starting, its disk
    or its connections ran out, or a serialization conflict."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return False
    if conn is not None and (conn.closed or conn.broken):
        return True
    state = exc.sqlstate or ""
    if not state:  # a client-side error: no server answer (a lost connection)
        return isinstance(exc, psycopg.OperationalError)
    return state[:2] in ("08", "53") or state.startswith("57P") or state in ("40001", "40P01", "58030")


class _Link:
    """The writer's connection, opened again when it broke."""

    def __init__(self, url: str):
        self.url = url
        self.conn = connect(url)

    def get(self) -> Any:
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            try:
                self.conn = connect(self.url)
            except StorageError as exc:
                raise _DiskError(str(exc)) from None
        return self.conn

    def close(self) -> None:
        self.conn.close()


class PostgresWriter(Writer):
    """The writer thread on PostgreSQL. ``path`` is the redacted URL (for messages); ``setup``
    runs once on the first connection (the schema check)."""

    def __init__(self, url: str, setup: Callable[[Any], None]):
        super().__init__(redact(url), setup)
        self.url = url

    @property  # type: ignore[override]
    def failure(self) -> str | None:
        """Why the database cannot take writes, once that has lasted :data:`QUIET_SECONDS`."""
        since = getattr(self, "_failing_since", None)
        if since is None or time.monotonic() - since < QUIET_SECONDS:
            return None
        return self._failure

    @failure.setter
    def failure(self, value: str | None) -> None:
        if value is None:
            self._failing_since = None
        elif getattr(self, "_failing_since", None) is None:
            self._failing_since = time.monotonic()
        self._failure = value

    def _connect(self) -> _Link:
        return _Link(self.url)

    def _commit(self, link: _Link, batch: list) -> list[tuple]:
        """Runs the batch in one transaction; returns (write, result, exception) triples. Raises
        ``_DiskError`` when the database cannot take the batch now (the caller tries again).

        Optimistically first: the writes one after the other, no savepoints (each costs a round
        trip to the server), the step rows of consecutive writes in one COPY. Only when a write
        fails is the transaction rolled back and the batch run again with each write in its own
        savepoint, so that the failing write fails alone."""
        try:
            return self._commit_once(link, batch)
        except _DiskError:
            # Once more at once, on a new connection: a connection cut by a restart or a failover
            # while idle fails its next use, and a reconnection is not worth pausing the study for.
            return self._commit_once(link, batch)

    def _commit_once(self, link: _Link, batch: list) -> list[tuple]:
        conn = link.get()
        out = self._transaction(link, conn, batch, alone=False)
        if out is None:
            out = self._transaction(link, conn, batch, alone=True)
        return out

    def _transaction(self, link: _Link, conn: Any, batch: list, alone: bool) -> list[tuple] | None:
        """The batch in one transaction, each write in a savepoint when ``alone``; None when a
        write failed and not ``alone`` (nothing was committed)."""
        import psycopg

        out, xid = [], None
        try:
            conn.execute("BEGIN")
            xid = conn.execute("SELECT txid_current()").fetchone()[0]
            copies: list = []  # writes whose rows go into the database by one COPY, in order
            for w in batch:
                if not alone and getattr(w.work, "copy", None) is not None:
                    copies.append(w)
                    continue
                outcome = self._copied(conn, copies, out) and (self._one(conn, w) if alone else self._plain(conn, w))
                if not outcome:
                    _rollback(conn)
                    return None
                out.append(outcome)
            if not self._copied(conn, copies, out):
                _rollback(conn)
                return None
            started = time.perf_counter()
            conn.execute("COMMIT")
            self.stats.commit_seconds += time.perf_counter() - started
        except psycopg.Error as exc:
            if transient(exc, conn):
                if xid is not None and _committed(link, xid):  # the COMMIT went through before the break
                    return self._counted(out)
                _rollback(conn)
                raise _DiskError(_first_line(exc)) from None
            _rollback(conn)
            error = StorageError(f"could not commit to {self.path}: {_first_line(exc)}")
            return [(w, None, error) for w in batch]
        return self._counted(out)

    def _copied(self, conn: Any, copies: list, out: list) -> bool:
        """The rows of the writes in ``copies`` (their ``work.copy``: the COPY statement and its
        rows; all the same statement) stored by one COPY, which is much cheaper than an INSERT
        per write; ``out`` gets their outcomes and ``copies`` is emptied. False when it failed
        (a duplicate, a missing game …): the batch then runs again, each write alone. A transient
        database error propagates."""
        import psycopg

        if not copies:
            return True
        try:
            with conn.cursor() as cur, cur.copy(copies[0].work.copy[0]) as copy:
                for w in copies:
                    for row in w.work.copy[1]:
                        copy.write_row(row)
        except psycopg.Error as exc:
            if transient(exc, conn):
                raise
            return False
        out.extend((w, None, None) for w in copies)
        copies.clear()
        return True

    def _plain(self, conn: Any, w: Any) -> tuple | None:
        """One write, no savepoint: ``(write, result, None)``, or None when it failed. A transient
        database error propagates (the batch is retried)."""
        import psycopg

        try:
            return (w, w.work(conn), None)
        except Exception as exc:
            if isinstance(exc, psycopg.Error) and transient(exc, conn):
                raise
            return None

    def _one(self, conn: Any, w: Any) -> tuple:
        """One write in its savepoint: ``(write, result, None)``, or ``(write, None, error)``
        with the write undone. A transient database error propagates (the batch is retried)."""
        import psycopg

        conn.execute("SAVEPOINT one")
        try:
            result = w.work(conn)
        except Exception as exc:
            if isinstance(exc, psycopg.Error) and transient(exc, conn):
                raise
            conn.execute("ROLLBACK TO SAVEPOINT one")  # undo this write only
            conn.execute("RELEASE SAVEPOINT one")
            return (w, None, exc)
        conn.execute("RELEASE SAVEPOINT one")
        return (w, result, None)

    def _counted(self, out: list[tuple]) -> list[tuple]:
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(out))
        failed = sum(1 for _, _, exc in out if exc is not None)
        self.stats.failed += failed
        self.stats.writes += len(out) - failed
        return out


def _rollback(conn: Any) -> None:
    import psycopg

    try:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # a broken connection: its transaction is gone with it


def _committed(link: _Link, xid: int) -> bool:
    """Whether transaction ``xid`` committed, asked on a new connection (waits while the server
    still has it in progress). False when that cannot be known now: the batch is tried again."""
    import psycopg

    for _ in range(50):
        try:
            status = link.get().execute("SELECT txid_status(%s)", (xid,)).fetchone()[0]
        except (psycopg.Error, _DiskError):
            return False
        if status != "in progress":
            return status == "committed"
        time.sleep(0.1)
    return False


class PostgresReaders:
    """Read connections for worker threads: each read takes an idle one (or opens one) and runs
    in one read-only snapshot. A read the database cannot serve now (the connection broke, the
    server restarts) is tried again on a new connection, for up to :data:`QUIET_SECONDS`, as
    writes wait out a restart."""

    def __init__(self, url: str):
        self.url = url
        self._idle: list = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, fn: Callable[[Any], Any]) -> Any:
        import psycopg

        deadline = time.monotonic() + QUIET_SECONDS
        while True:
            try:
                conn = self._take()
            except StorageError:  # cannot connect now
                if time.monotonic() > deadline:
                    raise
                time.sleep(RETRY_READ_SECONDS)
                continue
            try:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                result = fn(conn)
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                again = transient(exc, conn) and time.monotonic() < deadline
                _rollback(conn)
                self._give(conn)
                if again:
                    time.sleep(RETRY_READ_SECONDS)
                    continue
                raise StorageError(f"could not read from {redact(self.url)}: {_first_line(exc)}") from None
            except BaseException:
                _rollback(conn)
                self._give(conn)
                raise
            self._give(conn)
            return result

    def _take(self) -> Any:
        from psycopg.rows import dict_row

        with self._lock:
            if self._closed:
                raise StorageClosedError("the storage is closed: nothing more can be read")
            conn = self._idle.pop() if self._idle else None
        return conn if conn is not None else connect(self.url, row_factory=dict_row)

    def _give(self, conn: Any) -> None:
        with self._lock:
            if self._closed or conn.closed or conn.broken:
                conn.close()
            else:
                self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
