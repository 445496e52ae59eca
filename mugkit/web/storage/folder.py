"""The data folder's start-up check: a server never silently starts a new study over an old one,
nor writes to a damaged database (docs/security/datafolder.md).

A data folder (``mugkit serve --data DIR``) holds, besides SQLite's ``mugkit.sqlite``,
``mugkit.sqlite-wal`` and ``mugkit.sqlite-shm``:

- ``mugkit-study.json``, the folder's *identity*, written once at the first start: the study's id
  (also stored in the database's ``meta`` table) and a hash of its seed. A database whose study id
  or seed differs from the identity is not this folder's database (replaced, emptied, or zeroed);
  a missing database with an identity present was deleted.
- ``mugkit.running``, a marker that exists while a server has the SQLite database open and is removed
  after a clean shutdown. Found at start, it says the last server was killed (or the machine lost
  power): then the write-ahead log holds data committed since the last checkpoint, so a missing
  WAL was deleted, and a WAL whose frames fail their checksums before a valid later commit was
  damaged (SQLite would silently drop every transaction from the damaged frame on).

:func:`check_folder` runs before the database is opened; :class:`DataFolder` then ties the
identity to the opened storage and keeps the marker.

With a PostgreSQL database (``mugkit serve --database URL``) the folder keeps the identity only:
the study id lives in the database's ``meta`` table, and a folder whose identity names another
study (or a database that holds none: dropped, emptied, replaced) is refused the same way. The
checks of SQLite's files (marker, WAL, quick_check) do not apply: PostgreSQL recovers from a
crash by itself, and several server processes of one study legitimately share its database. A
process belongs to the study when its folder's identity names the database's study, or when its
folder is new: then it joins the study in the database and records it (each machine of a study
has its own folder). docs/postgres.md says more.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import time
import uuid
from typing import Any

from .base import DB_FILENAME
from .schema import StorageError

__all__ = ["DataFolder", "DataFolderError", "IDENTITY_FILENAME", "RUNNING_FILENAME", "check_folder", "wal_damage"]

#: The identity file of a data folder.
IDENTITY_FILENAME = "mugkit-study.json"
#: The marker a running server keeps in its data folder.
RUNNING_FILENAME = "mugkit.running"

_FIX_RESTORE = ("Restore the data folder from your backup, or to start a new study give another "
                "--data folder (keep this one: it is the old study's evidence).")
_FIX_RESTORE_DATABASE = ("Restore the database from your backup (or give the --database of the study this folder "
                         "records); to start a new study give another --data folder and a new database.")


class DataFolderError(StorageError):
    """The data folder is damaged or is not the study it says it is; the message says what was
    found and what to do. The server refuses to start on it."""


def _sha(study_id: str, seed: int) -> str:
    return hashlib.sha256(f"mugkit study {study_id} seed {int(seed)}".encode()).hexdigest()


def _write_atomically(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


def read_identity(directory: str) -> dict | None:
    """The folder's identity (``{"study_id", "seed_sha256", "created_at"}``), or None when it has none."""
    path = os.path.join(directory, IDENTITY_FILENAME)
    try:
        with open(path, encoding="utf-8") as f:
            identity = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataFolderError(f"{path} cannot be read ({exc}). {_FIX_RESTORE}") from None
    if not isinstance(identity, dict) or not isinstance(identity.get("study_id"), str):
        raise DataFolderError(f"{path} is not a mugkit identity file. {_FIX_RESTORE}")
    return identity


def check_folder(directory: str) -> None:
    """Checks the data folder before the database is opened (which would create an empty one, or
    let SQLite drop a damaged WAL's transactions). A folder that does not exist yet, or is empty,
    passes: the first start creates it.

    Raises:
        DataFolderError: another server uses the folder; the database was deleted, damaged, or
            its WAL was deleted or damaged after an unclean stop. The message says what to do.
    """
    db = os.path.join(directory, DB_FILENAME)
    identity = read_identity(directory)
    if not os.path.exists(db):
        if identity is not None:
            raise DataFolderError(
                f"{db} is missing, but {directory} holds study {identity['study_id']} ({IDENTITY_FILENAME}): its "
                f"database was deleted or moved. The server does not start a new study over an old one, "
                f"whose participants could then take part again. {_FIX_RESTORE}")
        return
    marker = os.path.join(directory, RUNNING_FILENAME)
    if os.path.exists(marker):
        owner = _live_owner(marker)
        if owner is not None:
            raise DataFolderError(
                f"another mugkit server (process {owner}) is using {directory}: two servers on one data folder "
                f"would mix their studies. Stop it first, or give another --data folder.")
        _check_wal(db)
    study_id, seed = _quick_check(db)
    if identity is not None:
        _check_identity(directory, identity, study_id, seed)


def _check_identity(directory: str, identity: dict, study_id: str | None, seed: Any,
                    database: str | None = None) -> None:
    """``database``: the PostgreSQL database's URL (redacted), when the data are there."""
    db = database or os.path.join(directory, DB_FILENAME)
    fix = _FIX_RESTORE_DATABASE if database else _FIX_RESTORE
    if study_id != identity["study_id"]:
        found = f"study {study_id}" if study_id else "no study (an empty or emptied database)"
        raise DataFolderError(
            f"{db} holds {found}, but {directory} is study {identity['study_id']} ({IDENTITY_FILENAME}): "
            f"the database was replaced or emptied. {fix}")
    if seed is None or identity.get("seed_sha256") != _sha(study_id, seed):
        raise DataFolderError(
            f"{db} holds another study seed than {IDENTITY_FILENAME} records: the database was edited or "
            f"replaced. {fix}")


def _live_owner(marker: str) -> int | None:
    """The process id in a running marker when that process still runs mugkit (Linux's /proc;
    elsewhere, when it runs at all), else None: the marker is a leftover of an unclean stop."""
    try:
        with open(marker, encoding="utf-8") as f:
            pid = int(json.load(f)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return pid if b"mugkit" in f.read() else None
    except FileNotFoundError:
        return None  # no such process
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def _check_wal(db: str) -> None:
    wal = db + "-wal"
    if not os.path.exists(wal):
        raise DataFolderError(
            f"the last server on {os.path.dirname(db) or '.'} did not shut down cleanly ({RUNNING_FILENAME} is "
            f"there), and its write-ahead log {wal} is missing: it held the data committed since the last "
            f"checkpoint, so deleting it loses acknowledged data. Restore {os.path.basename(wal)} from your "
            f"backup. If you know nothing was deleted (the server was killed after it closed the database), "
            f"remove {RUNNING_FILENAME} and start again.")
    damage = wal_damage(wal)
    if damage is not None:
        raise DataFolderError(
            f"the write-ahead log {wal} is damaged ({damage}): SQLite would silently drop every "
            f"transaction from there on, acknowledged data included. Restore the data folder from your "
            f"backup; to keep what can be kept, copy the folder and open the copy with the sqlite3 "
            f"tool (.recover).")


def _quick_check(db: str) -> tuple[str | None, Any]:
    """Runs SQLite's quick_check on the database, read-only; returns its study id and seed."""
    from ...runtime.values import from_json

    meta: dict = {}
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            result = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if result == ["ok"] and conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                meta = {k: from_json(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        result = [str(exc)]
    if result != ["ok"]:
        raise DataFolderError(
            f"{db} is damaged (SQLite's quick_check: {'; '.join(result[:3])}). The server does not write to a "
            f"damaged database. Restore it from your backup; to keep what can be kept, copy the folder and "
            f"run `sqlite3 copy/{DB_FILENAME} .recover` on the copy.")
    return meta.get("study_id"), meta.get("study_seed")


def wal_damage(path: str) -> str | None:
    """What is wrong with a WAL file, or None when every frame SQLite's recovery would drop is
    one it may drop (a leftover of an earlier log, or the torn tail of a transaction never
    committed). A frame whose checksum fails, followed by a valid commit frame of the same log,
    is damage: that commit was acknowledged, and recovery would stop before it."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 32:
        return None if not data else f"{len(data)}-byte header"
    magic, _, page_size, _, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:32])
    if magic not in (0x377F0682, 0x377F0683):
        return "not a write-ahead log (bad magic number)"
    big = magic & 1
    if _checksum(data[:24], big, 0, 0) != (c1, c2):
        return "its header fails its checksum"
    frame = 24 + page_size
    good, first_bad = (c1, c2), None
    for i, at in enumerate(range(32, len(data) - frame + 1, frame)):
        page, commit, s1, s2, f1, f2 = struct.unpack(">6I", data[at:at + 24])
        if (s1, s2) != (salt1, salt2):
            break  # a frame of an earlier log: the current log ends here
        ok = _checksum(data[at:at + 8] + data[at + 24:at + frame], big, *good) == (f1, f2)
        if not ok and first_bad is None:
            first_bad = i
        elif ok and commit and first_bad is not None:
            return f"frame {first_bad} fails its checksum, but a later commit (frame {i}) is intact"
        good = (f1, f2)  # each frame's checksum chains from the one stored before it
    return None


def _checksum(data: bytes, big: int, s0: int, s1: int) -> tuple[int, int]:
    """SQLite's WAL checksum (wal.c, walChecksumBytes)."""
    words = struct.unpack(f"{'>' if big else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


class DataFolder:
    """A checked data folder, tied to its opened storage.

    Typical use (``mugkit serve``)::

        folder = DataFolder(directory)
        folder.check()                   # before the storage opens the database
        await storage.start()
        await folder.claim(storage, seed)
        ...
        await storage.close()
        folder.release()                 # after a clean shutdown
    """

    def __init__(self, directory: str | os.PathLike, database_url: str | None = None):
        from .postgres_schema import redact

        self.directory = os.fspath(directory)
        self.database = None if database_url is None else redact(database_url)  # the data are there, not here
        self.study_id: str | None = None

    def check(self) -> None:
        """See :func:`check_folder` (with a PostgreSQL database: only that the identity can be read;
        the database is checked once opened, by :meth:`claim`)."""
        if self.database is not None:
            read_identity(self.directory)
            return
        check_folder(self.directory)

    async def claim(self, storage: Any, seed: int) -> str:
        """Ties the folder's identity to the opened ``storage`` (its ``meta`` table) and the study
        ``seed`` stored there: at the first start, draws the study id and writes both; later,
        checks they agree. Then marks the folder as in use. Returns the study id.

        Raises:
            DataFolderError: the database is not the one this folder's identity names.
        """
        identity = read_identity(self.directory)
        stored = await storage.get_meta("study_id")
        if identity is not None:  # checked before the database was opened; again, as it is now
            _check_identity(self.directory, identity, stored, seed, self.database)
        if stored is None:  # meta_once: processes of a new study starting at once agree on its id
            stored = await storage.meta_once("study_id", uuid.uuid4().hex)
        if identity is None:  # a new folder, or one from before identity files: the database names it
            _write_atomically(os.path.join(self.directory, IDENTITY_FILENAME), json.dumps(
                {"study_id": stored, "seed_sha256": _sha(stored, seed), "created_at": time.time()}, indent=1) + "\n")
        if self.database is None:  # several processes share a PostgreSQL database: no marker
            _write_atomically(os.path.join(self.directory, RUNNING_FILENAME), json.dumps({"pid": os.getpid()}) + "\n")
        self.study_id = stored
        return stored

    def release(self) -> None:
        """The server closed the database cleanly: the folder is no longer in use."""
        try:
            os.remove(os.path.join(self.directory, RUNNING_FILENAME))
        except FileNotFoundError:
            pass
