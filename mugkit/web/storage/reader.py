""":class:`SQLiteReader`: a read-only view of a SQLite data folder's tables, for readers outside
the server (``mk.data.load``, ``mugkit data export``, the load test's audit)."""

from __future__ import annotations

import sqlite3
from typing import Any, Iterator, Sequence

from .base import TableReader
from .schema import SCHEMA_VERSION, decode_row

__all__ = ["SQLiteReader"]


class SQLiteReader(TableReader):
    """The tables of the SQLite database at ``path``, read in one transaction (one snapshot, even
    while a server writes), through a connection that cannot write.

    Raises:
        ValueError: the file is not a mugkit database, or one of a newer schema.
    """

    def __init__(self, path: str, *, timeout: float = 30.0):
        self.path = path
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("BEGIN")  # one snapshot for every table
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ValueError(f"{path} is not a mugkit database: {exc}") from None
        if version == 0 or version > SCHEMA_VERSION:
            self._conn.close()
            raise ValueError(f"{path} is not a mugkit database this mugkit can read (schema version "
                             f"{version}, this one reads {SCHEMA_VERSION})")

    def rows(self, table: str, *, columns: Sequence[str] | None = None, observations: bool | str = True,
             where: dict[str, Any] | None = None) -> Iterator[dict]:
        from ...runtime.values import observation_text

        names, stored = self.chosen(table, columns, observations, where)
        clause = " AND ".join(f"{c} = ?" for c in where or {})
        sql = f"SELECT {', '.join(names)} FROM {table} {'WHERE ' + clause if clause else ''} ORDER BY rowid"
        for row in self._conn.execute(sql, tuple((where or {}).values())):
            if stored:
                values = decode_row(table, _Without(row, "observation"))
                values["observation"] = observation_text(row["observation"])
                yield values
            else:
                yield decode_row(table, row)

    def close(self) -> None:
        self._conn.close()


class _Without:
    """A row without one column, for decoding the others."""

    def __init__(self, row: Any, name: str):
        self._row, self._name = row, name

    def keys(self) -> list[str]:
        return [k for k in self._row.keys() if k != self._name]

    def __getitem__(self, key: str) -> Any:
        return self._row[key]
