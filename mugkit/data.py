"""Reading a study's data: ``mk.data.load(DIR)`` gives every table as a pandas DataFrame.

``DIR`` is the data folder ``mugkit serve --data DIR`` wrote (``data/`` by default), or the URL of
the PostgreSQL database ``mugkit serve --database URL`` wrote (``mk.data.load("postgresql://…")``,
docs/postgres.md). The database may be read while the server runs: the tables are read in one
transaction, so they agree with each other (no step row of a game missing from ``games``).

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
    mk.data.summary("data").groupby("participant_id").reward.mean()   # one row per participant per game

No column is a DataFrame attribute (``steps.keys`` would be the method: the column is
``active_keys``, see :data:`RENAMED`), and no secret is ever read out (:data:`SECRET_META_KEYS`).

This module imports pandas and sqlite3 only when :func:`load` or :func:`summary` is called: ``import mugkit`` stays
light (the browser loads the same package).
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = ["load", "decode", "summary", "TABLES", "RENAMED", "SECRET_META_KEYS", "SECRET_SUFFIXES",
           "SUMMARY_COLUMNS", "is_secret"]

#: The tables of a data folder, in the order :func:`load` returns them (docs/data.md).
TABLES = ("participants", "events", "answers", "games", "players", "steps", "meta")

#: Columns that :func:`load` and the export give under another name than the database's, per
#: table: ``{stored name: name given}``. The stored names are DataFrame methods (``df.keys``,
#: ``df.info``), so ``steps.keys`` never reached the column. ``steps["keys"]`` still works on what
#: :func:`load` returns, with a DeprecationWarning.
RENAMED = {"steps": {"keys": "active_keys", "info": "env_info"}}

#: ``meta`` rows that authenticate someone and never leave the database: not in :func:`load`,
#: not in any export. ``resume_secret`` is the key of the participants' resume keys (a browser
#: showing one takes over that participant's session). A key ending in one of
#: :data:`SECRET_SUFFIXES` counts as a secret too, so a secret stored later stays in by its name.
SECRET_META_KEYS = frozenset({"resume_secret"})
SECRET_SUFFIXES = ("_secret", "_token", "_password", "_key")


def is_secret(meta_key: Any) -> bool:
    """Whether the ``meta`` row ``meta_key`` is a secret that never leaves the database."""
    return isinstance(meta_key, str) and (meta_key in SECRET_META_KEYS or meta_key.endswith(SECRET_SUFFIXES))


def load(directory: str | os.PathLike, *, tables: list[str] | tuple[str, ...] | None = None,
         observations: bool = True) -> dict[str, Any]:
    """The tables of a data folder (or of a PostgreSQL database) as pandas DataFrames.

    Args:
        directory: the data folder (the one given to ``mugkit serve --data``), or the database's
            URL (the one given to ``mugkit serve --database``).
        tables: only these tables (default: all of :data:`TABLES`).
        observations: False leaves the ``observation`` column out of ``steps``: much faster and
            smaller for pixel observations.

    Returns:
        ``{table name: DataFrame}``, rows in the order they were stored. ``steps`` has one column
        per hook value (``x_<name>``; None where a row has no such value) and ``active_keys`` as
        tuples (see :data:`RENAMED`). Never a secret (:data:`SECRET_META_KEYS`).

    Raises:
        FileNotFoundError: the folder does not exist, or holds no mugkit database.
        ValueError: an unknown table name; a URL that is not a mugkit database, or cannot be reached.
    """
    import pandas as pd

    columns = read_columns(directory, tables=tables, observations=observations)
    return {name: (_renamed_frame() if name in RENAMED else pd.DataFrame)({c: series(v) for c, v in cols.items()})
            for name, cols in columns.items()}


@functools.cache
def _renamed_frame() -> type:
    """The DataFrame class of a table with :data:`RENAMED` columns: ``df["keys"]`` (or a list
    holding ``"keys"``) gives ``df["active_keys"]`` with a DeprecationWarning, as do the rows
    (``df.iloc[0]["keys"]``); frames made from it (filtered, merged, copied) too. It pickles as a
    plain DataFrame. Defined on first use: pandas is imported only by :func:`load`."""
    import warnings

    import pandas as pd

    old_names = {old: new for renamed in RENAMED.values() for old, new in renamed.items()}

    def new_name(labels: Any, key: Any) -> Any:
        if isinstance(key, str) and key in old_names and key not in labels:
            warnings.warn(f"the column {key!r} is now {old_names[key]!r} ({key!r} is a DataFrame method); "
                          f"the old name will go", DeprecationWarning, stacklevel=3)
            return old_names[key]
        return key

    class RenamedSeries(pd.Series):
        @property
        def _constructor(self) -> type:
            return RenamedSeries

        @property
        def _constructor_expanddim(self) -> type:
            return RenamedFrame

        def __getitem__(self, key: Any) -> Any:
            return super().__getitem__(new_name(self.index, key))

        def __reduce_ex__(self, protocol: Any) -> Any:  # pickled as a plain Series: unpickles without mugkit
            return pd.Series, (pd.Series(self),)

    class RenamedFrame(pd.DataFrame):
        @property
        def _constructor(self) -> type:
            return RenamedFrame

        @property
        def _constructor_sliced(self) -> type:
            return RenamedSeries

        def __getitem__(self, key: Any) -> Any:
            if isinstance(key, list):
                return super().__getitem__([new_name(self.columns, k) for k in key])
            return super().__getitem__(new_name(self.columns, key))

        def __reduce_ex__(self, protocol: Any) -> Any:  # pickled as a plain DataFrame
            return pd.DataFrame, (pd.DataFrame(self),)

    return RenamedFrame


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


def open_tables(location: str | os.PathLike) -> Any:
    """A read-only view of the tables (:class:`~mugkit.web.storage.TableReader`) of a data folder
    or of a PostgreSQL database's URL; raises FileNotFoundError or ValueError saying what is wrong."""
    from .web.storage import SQLiteStorage, is_database_url

    if is_database_url(location):
        from .web.storage import PostgresStorage

        return PostgresStorage.reader(location)
    return SQLiteStorage.reader(database_file(location))


def read_columns(directory: str | os.PathLike, *, tables: list[str] | tuple[str, ...] | None = None,
                 observations: bool | str = True) -> dict[str, dict[str, list]]:
    """The tables as ``{table: {column: list of values}}``, decoded, under the names :func:`load`
    gives and without secrets (what :func:`load` and the export build on).
    ``observations="stored"`` gives observations as their stored text instead of decoding them
    (see ``mugkit.runtime.values.observation_text``)."""
    from .web.storage.schema import COLUMNS

    wanted = list(TABLES if tables is None else tables)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table {unknown[0]!r}; the tables: {', '.join(TABLES)}")
    out = {}
    with open_tables(directory) as reader:  # one snapshot for every table
        for table in wanted:
            rows = reader.rows(table, observations=observations)
            if table == "meta":  # secrets stay in the database
                rows = (row for row in rows if not is_secret(row["key"]))
            names = [c for c in COLUMNS[table] if c != "x" and (observations or c != "observation")]
            renamed = RENAMED.get(table, {})
            out[table] = {renamed.get(name, name): values for name, values in _columns(names, rows).items()}
    return out


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


#: The columns of :func:`summary`, in order.
SUMMARY_COLUMNS = ("participant_id", "experiment", "condition", "game_id", "step", "repetition", "runtime", "seed",
                   "agent", "reward", "returns", "episodes", "frames", "outcome", "outcome_reason", "verification",
                   "trusted", "started_at", "ended_at", "duration")


def summary(directory: str | os.PathLike) -> Any:
    """One row per participant per game they played, as a pandas DataFrame: what most analyses
    start from. ``summary(DIR).groupby("participant_id").reward.mean()`` is the mean reward per
    participant.

    Columns (docs/data.md#one-row-per-participant-per-game-mkdatasummary): the participant and
    their ``condition``; the game (``game_id``, ``experiment``, ``step``, ``repetition``,
    ``runtime``, ``seed``); ``agent``, the agent they played (a tuple of agents if several);
    ``reward``, the sum of their agent's rewards over the whole game, and ``returns``, that sum per
    episode (a tuple); ``episodes`` and ``frames`` (their agent's rows after each reset) played;
    the game's ``outcome``, ``outcome_reason`` and ``verification``; ``trusted``, True when no
    one could have forged the rows (a server game, or a verified browser game); ``started_at``,
    ``ended_at`` and ``duration`` (seconds). AI-only games have no row.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no mugkit database.
    """
    import pandas as pd

    from .runtime.values import to_json

    with open_tables(directory) as reader:  # one snapshot
        games = {g["game_id"]: g for g in reader.rows("games")}
        humans = [p for p in reader.rows("players") if p["participant_id"] is not None]
        conditions = {p["participant_id"]: p["condition"]
                      for p in reader.rows("participants", columns=["participant_id", "condition"])}
        played = {(p["game_id"], to_json(p["agent"])) for p in humans}
        returns, frames = _agent_totals(reader.rows("steps", columns=["game_id", "episode", "frame", "agent", "reward"],
                                                    observations=False), played)
    mine: dict[tuple, list] = {}  # (game, participant) -> their agents, in the players' order
    for p in humans:
        mine.setdefault((p["game_id"], p["participant_id"]), []).append(p["agent"])
    rows = [_summary_row(games[game_id], pid, conditions.get(pid), agents,
                         [(game_id, to_json(a)) for a in agents], returns, frames)
            for (game_id, pid), agents in mine.items()]
    return pd.DataFrame({c: series([row[c] for row in rows]) for c in SUMMARY_COLUMNS})


def _summary_row(game: dict, pid: str, condition: Any, agents: list, keys: list, returns: dict,
                 frames: dict) -> dict:
    """The :func:`summary` row of participant ``pid`` in ``game``, who played ``agents``."""
    per_episode: dict[int, Any] = {}  # their agents' rewards summed, per episode
    for key in keys:
        for episode, total in returns.get(key, {}).items():
            before = per_episode.get(episode, 0)
            per_episode[episode] = None if total is None or before is None else before + total
    episode_returns = tuple(per_episode[e] for e in sorted(per_episode))
    started, ended = game["started_at"], game["ended_at"]
    complete = episode_returns and None not in episode_returns  # every reward a number, and some stored
    return {
        "participant_id": pid, "experiment": game["experiment"], "condition": condition,
        "game_id": game["game_id"], "step": game["step"], "repetition": game["repetition"],
        "runtime": game["runtime"], "seed": game["seed"], "agent": agents[0] if len(agents) == 1 else tuple(agents),
        "reward": float(sum(episode_returns)) if complete else None, "returns": episode_returns,
        "episodes": len(episode_returns), "frames": sum(frames.get(key, 0) for key in keys),
        "outcome": game["outcome"], "outcome_reason": game["outcome_reason"], "verification": game["verification"],
        "trusted": game["runtime"] == "server" or game["verification"] == "verified",
        "started_at": started, "ended_at": ended,
        "duration": ended - started if started is not None and ended is not None else None}


def _agent_totals(steps: Any, played: set) -> tuple[dict, dict]:
    """Per ``(game_id, agent as JSON)`` in ``played``: ``{episode: sum of rewards}`` (None when a
    reward is not a number) and the number of rows after each reset (frames played)."""
    returns: dict[tuple, dict] = {}
    frames: dict[tuple, int] = {}
    from .runtime.values import to_json

    for row in steps:
        key = (row["game_id"], to_json(row["agent"]))
        if key not in played:
            continue
        episodes = returns.setdefault(key, {})
        total, reward = episodes.get(row["episode"], 0), row["reward"]
        if reward is not None and (total is None or not isinstance(reward, (int, float))):
            total = None
        elif reward is not None:
            total += reward
        episodes[row["episode"]] = total
        frames[key] = frames.get(key, 0) + (row["frame"] > 0)
    return returns, frames
