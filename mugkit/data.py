"""Reading a study's data: ``mk.data.load(DIR)`` gives every table as a pandas DataFrame.

``DIR`` is the data folder ``mugkit serve --data DIR`` wrote (``data/`` by default). The database
may be read while the server runs: the tables are read in one transaction, so they agree with
each other (no step row of a game missing from ``games``).

Values come back as they went in: agent ids and actions of any type (ints, strings, tuples),
observations as numpy arrays with their dtype and shape, answers, infos and hook values as the
Python values they were. A column whose values are all of one kind gets that kind's dtype:
``int64`` for ints (``Int64`` when some are missing: ``<NA>``), ``float64`` for numbers (missing:
NaN), ``bool`` for bools (``boolean`` with missing ones), strings for strings; any other column
holds Python objects. Times are
seconds since the epoch (``pd.to_datetime(df.t_server, unit="s")`` makes them dates).

Example::

    import mugkit as mk

    tables = mk.data.load("data")
    steps = tables["steps"]                      # one row per agent per frame
    steps.groupby(["game_id", "agent"]).reward.sum()
    frame = steps.observation.iloc[0]            # a numpy array, as the env gave it

This module imports pandas and sqlite3 only when :func:`load` is called: ``import mugkit`` stays
light (the browser loads the same package).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["load", "decode", "TABLES"]

#: The tables of a data folder, in the order :func:`load` returns them (docs/data.md).
TABLES = ("participants", "events", "answers", "games", "players", "steps", "meta")


def load(directory: str | os.PathLike, *, tables: list[str] | tuple[str, ...] | None = None,
         observations: bool = True) -> dict[str, Any]:
    """The tables of a data folder as pandas DataFrames.

    Args:
        directory: the data folder (the one given to ``mugkit serve --data``).
        tables: only these tables (default: all of :data:`TABLES`).
        observations: False leaves the ``observation`` column out of ``steps``: much faster and
            smaller for pixel observations.

    Returns:
        ``{table name: DataFrame}``, rows in the order they were stored. ``steps`` has one column
        per hook value (``x_<name>``; None where a row has no such value) and ``keys`` as tuples.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no mugkit database.
        ValueError: an unknown table name.
    """
    import pandas as pd

    columns = read_columns(directory, tables=tables, observations=observations)
    return {name: pd.DataFrame({c: series(values) for c, values in cols.items()})
            for name, cols in columns.items()}


def decode(text: str | bytes | None) -> Any:
    """A value as stored in the database or written by ``mugkit data export`` (tagged JSON text,
    or a compressed array), back as the Python value: ``decode('{"$tuple":[1,2]}') == (1, 2)``."""
    from .runtime.values import decode_observation

    return decode_observation(text)


def database_file(directory: str | os.PathLike) -> str:
    """The database file of a data folder; raises FileNotFoundError, saying what is missing."""
    from .web.storage.base import DB_FILENAME, database_path

    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory}: no such folder")
    path = database_path(directory)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{directory} holds no mugkit database ({DB_FILENAME}); is it the folder "
                                f"given to mugkit serve --data?")
    return path


def read_columns(directory: str | os.PathLike, *, tables: list[str] | tuple[str, ...] | None = None,
                 observations: bool | str = True) -> dict[str, dict[str, list]]:
    """The tables as ``{table: {column: list of values}}``, decoded (what :func:`load` and the
    export build on). ``observations="stored"`` gives observations as their stored text instead
    of decoding them (see ``mugkit.runtime.values.observation_text``)."""
    from .web.storage import SQLiteStorage
    from .web.storage.schema import COLUMNS

    wanted = list(TABLES if tables is None else tables)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table {unknown[0]!r}; the tables: {', '.join(TABLES)}")
    with SQLiteStorage.reader(database_file(directory)) as reader:  # one snapshot for every table
        return {table: _columns([c for c in COLUMNS[table] if c != "x" and (observations or c != "observation")],
                                reader.rows(table, observations=observations)) for table in wanted}


def _columns(names: list[str], rows: Any) -> dict[str, list]:
    """Decoded rows as ``{column: values}`` (``names`` first); a hook column missing from some rows
    gets None there."""
    cols: dict[str, list] = {name: [] for name in names}
    n = 0
    for values in rows:
        for name, value in values.items():
            if name not in cols:  # a hook column first seen in this row
                cols[name] = [None] * n
            cols[name].append(value)
        n += 1
        for values_list in cols.values():
            if len(values_list) < n:  # a hook column this row lacks
                values_list.append(None)
    return cols


def series(values: list) -> Any:
    """A pandas Series of ``values`` with the narrowest dtype that keeps them all (see the module
    docstring); Python objects otherwise."""
    import numpy as np
    import pandas as pd

    kinds = {type(v) for v in values if v is not None}
    complete = all(v is not None for v in values)  # no missing value: plain numpy dtypes
    ints = [v for v in values if type(v) is int]
    if kinds == {bool}:
        return pd.Series(values, dtype="bool" if complete else "boolean")
    if kinds == {int} and all(-2**63 <= v < 2**63 for v in ints):
        return pd.Series(values, dtype="int64" if complete else "Int64")
    if float in kinds and kinds <= {int, float} and all(abs(v) <= 2**53 for v in ints):
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if kinds == {str}:
        return pd.Series(values)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one by one: a list of equal-shaped arrays must not become 2-D
        out[i] = v
    return pd.Series(out, dtype=object)
