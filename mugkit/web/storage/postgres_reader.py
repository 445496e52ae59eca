""":class:`PostgresReader`: a read-only view of a PostgreSQL study's tables, for readers outside
the server (``mk.data.load(URL)``, ``mugkit data export URL``, the load test's audit)."""

from __future__ import annotations

import itertools
from typing import Any, Iterator, Sequence

from .base import TableReader
from .postgres_schema import ORDER, column_list, merge_observation, redact, schema_version, SCHEMA_TABLE
from .schema import SCHEMA_VERSION, StorageError, decode_row

__all__ = ["PostgresReader"]

_cursors = itertools.count()


class PostgresReader(TableReader):
    """The tables of the database at ``url``, read in one ``REPEATABLE READ READ ONLY``
    transaction (one snapshot, even while servers write). Large tables are streamed from the
    server (a server-side cursor), not loaded whole.

    Raises:
        ValueError: the database cannot be reached, is not a mugkit database, or is of a newer schema.
    """

    def __init__(self, url: str):
        from .postgres_writer import connect

        self.url = url
        try:
            self._conn = connect(url)
        except StorageError as exc:
            raise ValueError(str(exc)) from None
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        version = schema_version(self._conn)
        if version is None or version > SCHEMA_VERSION:
            self._conn.close()
            raise ValueError(f"{redact(url)} is not a mugkit database this mugkit can read (schema version "
                             f"{version}, this one reads {SCHEMA_VERSION})" if version else
                             f"{redact(url)} is not a mugkit database (it has no {SCHEMA_TABLE} table): is it the "
                             f"database given to mugkit serve --database?")

    def rows(self, table: str, *, columns: Sequence[str] | None = None, observations: bool | str = True,
             where: dict[str, Any] | None = None) -> Iterator[dict]:
        from psycopg.rows import dict_row

        from ...runtime.values import observation_text

        names, stored = self.chosen(table, columns, observations, where)
        clause = " AND ".join(f"{c} = %s" for c in where or {})
        sql = (f"SELECT {column_list(table, names)} FROM {table} {'WHERE ' + clause if clause else ''} "
               f"ORDER BY {ORDER[table]}")
        with self._conn.cursor(name=f"mugkit_rows_{next(_cursors)}", row_factory=dict_row) as cur:
            cur.itersize = 2000
            cur.execute(sql, tuple((where or {}).values()))
            for row in cur:
                if table == "steps":
                    merge_observation(row)
                if stored:
                    text = observation_text(row.pop("observation"))
                    values = decode_row(table, row)
                    values["observation"] = text
                    yield values
                else:
                    yield decode_row(table, row)

    def close(self) -> None:
        self._conn.close()
