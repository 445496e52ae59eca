"""The tables mugkit stores (docs/data.md), and how a row of each is checked, encoded and decoded.

Every column has a *kind* that says what it accepts and how it is stored in SQLite:

========  ==========================================  ==========================================
kind      accepts                                     stored as
========  ==========================================  ==========================================
text      str                                         TEXT
real      int or float (times: seconds since epoch)   REAL
int       int (bool is not an int here)               INTEGER
bool      bool (numpy bools too)                      INTEGER 0/1
value     any storable value                          tagged JSON TEXT (see ``runtime.values``)
obs       an observation                              compressed array BLOB, or tagged JSON TEXT
========  ==========================================  ==========================================

Any column may be None (SQL NULL) unless it is part of a key. The ``steps`` table's row comes
from a :class:`~mugkit.runtime.rows.StepRow`; the others from dicts whose keys are column names.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Iterable

from ...runtime.rows import StepRow
from ...runtime.values import UnstorableValue, decode_observation, encode_observation, from_json, to_json

__all__ = ["SCHEMA_VERSION", "DDL", "COLUMNS", "StorageError", "InvalidRowError", "DuplicateRowError",
           "MissingRowError", "StorageClosedError", "encode_columns", "decode_row", "STEP_COLUMNS",
           "encode_step", "decode_step"]

#: ``PRAGMA user_version`` of a database this code wrote; a newer one is refused.
SCHEMA_VERSION = 4


class StorageError(Exception):
    """Something the storage could not do; the message says what. Raised to the caller of the
    write or read that failed, never swallowed (the writer thread keeps serving other writes)."""


class InvalidRowError(StorageError, ValueError):
    """A row that cannot be stored as given: an unknown or missing column, a value of the wrong
    kind, or a value with no stored form. The message names the table and column."""


class DuplicateRowError(StorageError):
    """The row's key is stored already (a step row's game, episode, frame and agent; a
    participant's or game's id): nothing of the write was stored."""


class MissingRowError(StorageError):
    """The write refers to a participant or game that is not stored (or updates one)."""


class StorageClosedError(StorageError):
    """A write or read after :meth:`~mugkit.web.storage.Storage.close` (or before ``start``)."""


# Column name -> kind, per table, in table order. Keys: see DDL.
COLUMNS: dict[str, dict[str, str]] = {
    "participants": {
        "participant_id": "text", "experiment": "text",
        "prolific_pid": "text", "study_id": "text", "session_id": "text",
        "worker_id": "text", "assignment_id": "text", "hit_id": "text", "turk_submit_to": "text",
        "params": "value", "condition": "value", "status": "text", "outcome_code": "text",
        "token": "text", "user_agent": "text", "position": "value", "flow": "value",
        "started_at": "real", "updated_at": "real", "finished_at": "real",
        # schema 4: why a participant was screened out or excluded (a short key: tab_hidden, idle,
        # rtt, browser, admin, …) and the words they read
        "reason": "text", "reason_text": "text",
    },
    "events": {"id": "int", "participant_id": "text", "step": "text", "repetition": "int", "kind": "text",
               "t": "real", "detail": "value"},
    "answers": {"participant_id": "text", "step": "text", "repetition": "int", "question": "text",
                "value": "value", "t": "real"},
    "games": {"game_id": "text", "experiment": "text", "step": "text", "repetition": "int", "runtime": "text",
              "seed": "int", "outcome": "text", "started_at": "real", "ended_at": "real", "detail": "value",
              # schema 3: why the game ended, and a browser game's verification (mugkit.web.browser.verify)
              "outcome_reason": "text", "verification": "text", "verification_detail": "value", "timing": "value"},
    "players": {"game_id": "text", "agent": "value", "participant_id": "text", "policy": "text"},
    "steps": {"game_id": "text", "episode": "int", "frame": "int", "agent": "value", "action": "value",
              "keys": "value", "filled": "bool", "decided_at": "int", "reward": "value",
              "terminated": "bool", "truncated": "bool", "observation": "obs", "info": "value",
              "t_server": "real", "t_client": "real", "late_ms": "real", "predicted": "bool", "rollback_depth": "int",
              "x": "value"},
    "meta": {"key": "text", "value": "value"},
}

_SQL_TYPE = {"text": "TEXT", "real": "REAL", "int": "INTEGER", "bool": "INTEGER", "value": "TEXT", "obs": "BLOB"}

# Keys and constraints per table: what the table's columns do not say by themselves.
_CONSTRAINTS = {
    "participants": ["PRIMARY KEY (participant_id)"],
    "events": ["FOREIGN KEY (participant_id) REFERENCES participants (participant_id)"],
    "answers": ["FOREIGN KEY (participant_id) REFERENCES participants (participant_id)"],
    "games": ["PRIMARY KEY (game_id)"],
    "players": ["UNIQUE (game_id, agent)",
                "FOREIGN KEY (game_id) REFERENCES games (game_id)",
                "FOREIGN KEY (participant_id) REFERENCES participants (participant_id)",
                "CHECK ((participant_id IS NULL) != (policy IS NULL))"],
    # The server never writes a frame twice (a resumed game continues after last_frame()):
    # a second write of the same row is an error it must see.
    "steps": ["UNIQUE (game_id, episode, frame, agent)",
              "FOREIGN KEY (game_id) REFERENCES games (game_id)"],
    "meta": ["PRIMARY KEY (key)"],
}
_NOT_NULL = {
    "participants": {"participant_id", "experiment"}, "events": {"participant_id", "kind", "t"},
    "answers": {"participant_id", "step", "question", "t"}, "games": {"game_id", "experiment", "step"},
    "players": {"game_id", "agent"}, "steps": {"game_id", "episode", "frame", "agent", "t_server"},
    "meta": {"key"},
}


def _ddl() -> list[str]:
    out = []
    for table, columns in COLUMNS.items():
        parts = []
        for name, kind in columns.items():
            extra = " PRIMARY KEY AUTOINCREMENT" if (table, name) == ("events", "id") else ""
            extra += " NOT NULL" if name in _NOT_NULL[table] else ""
            parts.append(f"{name} {_SQL_TYPE[kind]}{extra}")
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(parts + _CONSTRAINTS[table]) + "\n)")
    return out + [
        "CREATE INDEX IF NOT EXISTS participants_prolific ON participants (experiment, prolific_pid)",
        "CREATE INDEX IF NOT EXISTS participants_worker ON participants (experiment, worker_id)",
        "CREATE INDEX IF NOT EXISTS events_participant ON events (participant_id)",
        "CREATE INDEX IF NOT EXISTS answers_participant ON answers (participant_id)",
        "CREATE INDEX IF NOT EXISTS games_unfinished ON games (outcome) WHERE outcome IS NULL",
    ]


#: The statements that create every table and index (idempotent).
DDL: list[str] = _ddl()


# --- encoding ---------------------------------------------------------------------------------


def encode_columns(table: str, row: dict, *, required: Iterable[str] = ()) -> dict[str, Any]:
    """``row`` (column name -> value) checked and encoded for ``table``'s SQL columns.

    Raises:
        InvalidRowError: ``row`` is not a dict, lacks a ``required`` column, names a column the
            table does not have (with the closest names), or holds a value its column cannot take.
    """
    if not isinstance(row, dict):
        raise InvalidRowError(f"{table}: a row must be a dict of column -> value, got {type(row).__name__}")
    columns = COLUMNS[table]
    unknown = [name for name in row if name not in columns]
    if unknown:
        raise InvalidRowError(f"{table}: unknown column{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(map(repr, unknown))}{_did_you_mean(unknown[0], columns)}; "
                              f"its columns: {', '.join(columns)}")
    missing = [name for name in required if row.get(name) is None]
    if missing:
        raise InvalidRowError(f"{table}: {', '.join(map(repr, missing))} must be given (not None)")
    return {name: encode_value(table, name, columns[name], value) for name, value in row.items()}


def _did_you_mean(name: Any, columns: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(columns), n=2)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def encode_value(table: str, column: str, kind: str, value: Any) -> Any:
    """One value as its column stores it (None stays NULL). Raises :class:`InvalidRowError`."""
    if value is None:
        return None
    if kind == "value":  # the commonest kind; ``where`` is built only for an error message
        try:
            return to_json(value, f"{table}.{column}")
        except UnstorableValue as exc:
            raise InvalidRowError(str(exc)) from None
    where = f"{table}.{column}"
    if kind == "text":
        if isinstance(value, str):
            return str(value)
        raise InvalidRowError(f"{where} must be a str, got {type(value).__name__} {value!r:.60}")
    if kind in ("int", "real"):
        return _number(where, kind, value)
    if kind == "bool":
        if type(value) is bool or type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
            return int(bool(value))
        raise InvalidRowError(f"{where} must be a bool, got {type(value).__name__} {value!r:.60}")
    try:
        return encode_observation(value, where) if kind == "obs" else to_json(value, where)
    except UnstorableValue as exc:
        raise InvalidRowError(str(exc)) from None


def _number(where: str, kind: str, value: Any) -> int | float:
    is_int = isinstance(value, int) or type(value).__module__ == "numpy" and type(value).__name__.startswith(("int", "uint"))
    if is_int and not isinstance(value, bool):
        value = int(value)
        if -2**63 <= value < 2**63:  # SQLite's INTEGER
            return value
        raise InvalidRowError(f"{where} must fit in 64 bits, got {value}")
    is_float = isinstance(value, float) or type(value).__module__ == "numpy" and type(value).__name__.startswith("float")
    if kind == "real" and is_float and math.isfinite(value):
        return float(value)
    wanted = "an int" if kind == "int" else "a finite number"
    raise InvalidRowError(f"{where} must be {wanted}, got {type(value).__name__} {value!r:.60}")


#: The ``steps`` columns in insert order.
STEP_COLUMNS = tuple(COLUMNS["steps"])
_STEP_KINDS = tuple(COLUMNS["steps"].items())


def _step_encoder(name: str, kind: str) -> Any:
    """:func:`encode_value` for one ``steps`` column, with a fast path for its commonest values
    (a server encodes two or more rows every frame of every game on its event loop)."""
    def general(value: Any) -> Any:
        return None if value is None else encode_value("steps", name, kind, value)

    where = f"steps.{name}"
    if kind == "value":
        def encode(value: Any) -> Any:
            if value is None:
                return None
            try:
                return to_json(value, where)
            except UnstorableValue as exc:
                raise InvalidRowError(str(exc)) from None
    elif kind == "int":
        def encode(value: Any) -> Any:
            return value if type(value) is int and -2**63 <= value < 2**63 else general(value)
    elif kind == "real":
        def encode(value: Any) -> Any:
            return value if type(value) is float and math.isfinite(value) else general(value)
    elif kind == "bool":
        def encode(value: Any) -> Any:
            return int(value) if type(value) is bool else general(value)
    elif kind == "text":
        def encode(value: Any) -> Any:
            return value if type(value) is str else general(value)
    else:
        encode = general
    return encode


_STEP_ENCODERS = tuple(_step_encoder(name, kind) for name, kind in _STEP_KINDS)
assert STEP_COLUMNS == ("game_id", "episode", "frame", "agent", "action", "keys", "filled", "decided_at", "reward",
                        "terminated", "truncated", "observation", "info", "t_server", "t_client", "late_ms",
                        "predicted", "rollback_depth", "x"), "encode_step lists the values in this order"


def encode_step(game_id: str, row: Any, t_server: float, t_client: float | None, keep_observations: bool,
                late_ms: float | None = None) -> tuple:
    """One :class:`~mugkit.runtime.rows.StepRow` as the ``steps`` table's values, in
    :data:`STEP_COLUMNS` order. Everything is encoded now, so later changes to the env's own
    objects (rows hold them, not copies) cannot reach the stored row."""
    if not isinstance(row, StepRow):
        raise InvalidRowError(f"steps: rows must be StepRow objects (mugkit.runtime.rows), got "
                              f"{type(row).__name__} {row!r:.60}")
    if not isinstance(row.x, dict) or not all(isinstance(k, str) for k in row.x):
        raise InvalidRowError(f"steps.x must be a dict of column name (str) -> value, got {row.x!r:.60}")
    keys = None if row.keys is None else list(row.keys)
    # In STEP_COLUMNS order.
    values = (game_id, row.episode, row.frame, row.agent, row.action, keys, row.filled, row.decided_at,
              row.reward, row.terminated, row.truncated, row.observation if keep_observations else None,
              row.info, t_server, t_client, late_ms, row.predicted, row.rollback_depth, row.x or None)
    for name, value in (("episode", row.episode), ("frame", row.frame), ("agent", row.agent),
                        ("t_server", t_server)):
        if value is None:
            raise InvalidRowError(f"steps.{name} must be given (not None)")
    if keys is not None and not all(isinstance(k, str) for k in keys):
        raise InvalidRowError(f"steps.keys must be key names (str), got {row.keys!r:.60}")
    return tuple([encode(value) for encode, value in zip(_STEP_ENCODERS, values)])


# --- decoding ---------------------------------------------------------------------------------


def decode_row(table: str, row: Any) -> dict:
    """A stored row (a ``sqlite3.Row`` of ``SELECT *``) as a dict of Python values: JSON columns
    decoded, bools as bools. ``steps`` rows: see :func:`decode_step`."""
    if table == "steps":
        return decode_step(row)
    kinds = COLUMNS[table]
    return {name: _decode(kinds.get(name, "text"), row[name]) for name in row.keys()}


def decode_step(row: Any, observations: bool = True) -> dict:
    """A ``steps`` row as columns: ``keys`` a tuple, ``x`` expanded into ``x_<name>`` columns."""
    kinds = COLUMNS["steps"]
    out = {}
    for name in row.keys():
        if name == "observation" and not observations:
            continue
        out[name] = _decode(kinds.get(name, "text"), row[name])
    if out.get("keys") is not None:
        out["keys"] = tuple(out["keys"])
    for name, value in (out.pop("x", None) or {}).items():
        out[f"x_{name}"] = value
    return out


def _decode(kind: str, stored: Any) -> Any:
    if stored is None:
        return None
    if kind == "value":
        return from_json(stored)
    if kind == "obs":
        return decode_observation(stored)
    if kind == "bool":
        return bool(stored)
    return stored
