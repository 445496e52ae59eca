"""The :class:`Storage` interface the server writes and reads its data through (docs/data.md),
and the names its implementations share. See :mod:`mugkit.web.storage`."""

from __future__ import annotations

import abc
import os
from typing import Any, Awaitable, Iterator, Sequence

__all__ = ["Storage", "TableReader", "DB_FILENAME", "PANEL_KEYS", "STATUSES", "database_path"]

#: The database file in a data folder (``mugkit serve --data DIR``).
DB_FILENAME = "mugkit.sqlite"

#: Participant columns :meth:`Storage.find_participant` looks up by.
PANEL_KEYS = ("prolific_pid", "worker_id", "session_id", "assignment_id")

#: ``participants.status`` values :meth:`Storage.counts` sums up: arrived and not finished,
#: finished the study, excluded by the server.
STATUSES = ("active", "completed", "excluded")


class TableReader(abc.ABC):
    """A read-only view of a study's tables at one moment, for readers outside the server
    (``mk.data.load``, ``mugkit data export``, the load test's audit). Opening one never changes
    the data. Use it as a context manager (or call :meth:`close`)."""

    @abc.abstractmethod
    def rows(self, table: str, *, columns: Sequence[str] | None = None, observations: bool | str = True,
             where: dict[str, Any] | None = None) -> Iterator[dict]:
        """The rows of ``table`` in the order they were stored, decoded as :meth:`Storage.games`
        gives them (``steps``: ``keys`` a tuple, hook values as ``x_<name>``).

        Args:
            columns: only these columns (default: all).
            observations: ``False`` leaves ``steps.observation`` out; ``"stored"`` gives it as
                tagged JSON text without decompressing it.
            where: only rows whose columns equal these (stored) values.
        """

    @staticmethod
    def chosen(table: str, columns: Sequence[str] | None, observations: bool | str,
               where: dict[str, Any] | None) -> tuple[list[str], bool]:
        """The columns ``rows`` reads (checked against the schema: a clear error for an unknown
        table or column), and whether observations stay as stored."""
        from .schema import COLUMNS

        if table not in COLUMNS:
            raise ValueError(f"unknown table {table!r}; the tables: {', '.join(COLUMNS)}")
        names = list(COLUMNS[table] if columns is None else columns)
        unknown = [c for c in names + list(where or {}) if c not in COLUMNS[table]]
        if unknown:
            raise ValueError(f"{table} has no column {unknown[0]!r}")
        stored = table == "steps" and observations == "stored" and "observation" in names
        if table == "steps" and not observations and "observation" in names:
            names.remove("observation")
        return names, stored

    @abc.abstractmethod
    def close(self) -> None:
        """Ends the read."""

    def __enter__(self) -> "TableReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Storage(abc.ABC):
    """The one interface the server writes and reads its data through.

    :class:`SQLiteStorage` and :class:`~mugkit.web.storage.postgres.PostgresStorage` implement
    it with the same promises:

    - every method is a coroutine (``add_steps``: returns an awaitable) that never blocks the
      event loop;
    - a write returns only after the transaction holding it has committed durably (a crash loses
      nothing acknowledged); when the database cannot take writes now (a full disk), writes wait
      and :attr:`failure` says why; writes beyond a bound wait for room (backpressure); a write
      raises when it was not stored — :class:`InvalidRowError` (bad
      row or value, nothing sent to the database), :class:`DuplicateRowError`,
      :class:`MissingRowError`, or :class:`StorageError` (the database failed);
    - one failing write never undoes or fails another caller's write;
    - values come back as they went in (ids and actions of any type, arrays with dtype and shape).

    Times are seconds since the epoch (``time.time()``); a time left out is the time of the call.
    """

    # -- life ---------------------------------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def reader(cls, location: str) -> TableReader:
        """A read-only view of the stored tables at ``location`` (for SQLite: the database file;
        for PostgreSQL: the database's URL), which may be read while a server writes. Raises ValueError for something that is not a
        mugkit database."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Opens the database and creates the tables that are missing. Call once, first."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Waits until every write already made is committed, then closes. Idempotent."""

    @property
    def failure(self) -> str | None:
        """Why writes cannot be stored now (e.g. the disk is full), or None. While it is set,
        writes wait (nothing acknowledged is lost) and the server pauses the study."""
        return None

    # -- writes -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_participant(self, row: dict) -> None:
        """Stores a new participant. ``row`` maps ``participants`` columns to values; it needs
        ``participant_id`` and ``experiment``. ``status`` defaults to ``"active"``, ``started_at``
        and ``updated_at`` to now. Raises :class:`DuplicateRowError` for a known id."""

    @abc.abstractmethod
    async def update_participant(self, participant_id: str, **fields: Any) -> None:
        """Sets some columns of a stored participant (``updated_at`` to now unless given).
        Raises :class:`MissingRowError` for an unknown id."""

    @abc.abstractmethod
    async def add_event(self, participant_id: str, step: str | None, kind: str, detail: dict | None = None,
                        t: float | None = None, *, repetition: int | None = None) -> None:
        """Stores one flow event (``kind`` e.g. ``"consented"``) of a stored participant."""

    @abc.abstractmethod
    async def add_answers(self, participant_id: str, step: str, answers: dict, *,
                          repetition: int | None = None, t: float | None = None) -> None:
        """Stores a survey's answers, one row per question (``answers``: question name -> value).
        ``repetition``: which visit of a step repeated with ``mk.repeat`` (0 for the first)."""

    @abc.abstractmethod
    async def add_game(self, row: dict) -> None:
        """Stores a new game. ``row`` maps ``games`` columns to values; it needs ``game_id``,
        ``experiment`` and ``step``; ``started_at`` defaults to now."""

    @abc.abstractmethod
    async def end_game(self, game_id: str, outcome: str, **fields: Any) -> None:
        """Sets a stored game's ``outcome`` (and other columns; ``ended_at`` defaults to now)."""

    @abc.abstractmethod
    async def update_game(self, game_id: str, **fields: Any) -> None:
        """Sets some columns of a stored game (a browser game's ``verification`` once it is
        verified). Raises :class:`MissingRowError` for an unknown id."""

    @abc.abstractmethod
    async def add_players(self, rows: list[dict]) -> None:
        """Stores a game's players: per row ``game_id``, ``agent`` and either ``participant_id``
        (a human) or ``policy`` (an AI: its name, or ``"random"``). All rows or none."""

    @abc.abstractmethod
    def add_steps(self, game_id: str, rows: list, *, t_server: float, t_client: Any = None,
                  keep_observations: bool = True, late_ms: Any = None) -> Awaitable[None]:
        """Stores step rows (:class:`~mugkit.runtime.rows.StepRow`, typically one frame's) of a
        stored game, all or none; await the result (or ``asyncio.ensure_future`` it).

        Unlike the other writes this is not a coroutine function: it encodes the rows during the
        call, so the env may change the arrays they hold as soon as it returns, however the
        caller schedules the write. Errors, bad rows included, are raised by the awaitable:
        :class:`DuplicateRowError` names the first row whose (game, episode, frame, agent) is
        stored already, and nothing of the call is stored then. ``keep_observations=False``
        leaves the ``observation`` column NULL. ``t_client`` (seconds, the participant's clock) and
        ``late_ms`` (how late the frame was played behind its clock) are one value for every row
        or a list of one per row (a browser's batch spans frames)."""

    @abc.abstractmethod
    async def set_meta(self, key: str, value: Any) -> None:
        """Stores a study-wide value (``"study_seed"``), replacing the previous one."""

    async def meta_once(self, key: str, value: Any) -> Any:
        """Stores ``value`` under ``key`` unless a value is stored there already; returns the
        stored one. Atomic, so that several processes of one study starting at once agree on one
        value (the study seed, the resume secret). This default suits one process only."""
        stored = await self.get_meta(key)
        if stored is None:
            await self.set_meta(key, value)
            return value
        return stored

    @abc.abstractmethod
    async def interrupt_unfinished_games(self, runtime: str | None = None) -> list[str]:
        """Gives every game without an outcome (of ``runtime`` only, when given) the outcome
        ``"interrupted"`` (call at server start: the server's games were cut by a stop; games in
        browsers go on); returns their ids."""

    # -- reads --------------------------------------------------------------------------------

    @abc.abstractmethod
    async def get_participant(self, participant_id: str) -> dict | None:
        """The participant's row (JSON columns decoded), or None."""

    @abc.abstractmethod
    async def find_participant(self, experiment: str, panel_key: str, panel_id: str) -> dict | None:
        """The latest participant of ``experiment`` whose ``panel_key`` column (one of
        :data:`PANEL_KEYS`, e.g. ``"prolific_pid"``) is ``panel_id``, or None."""

    async def participant_answers(self, participant_id: str) -> list[dict]:
        """The participant's ``answers`` rows, in the order they were stored (what a screening
        step's own check sees as the answers so far)."""
        raise NotImplementedError(f"{type(self).__name__} cannot read a participant's answers")

    @abc.abstractmethod
    async def participants(self, experiment: str | None = None) -> list[dict]:
        """Every participant (of one experiment), in arrival order."""

    @abc.abstractmethod
    async def games(self, experiment: str | None = None) -> list[dict]:
        """Every game (of one experiment), in start order."""

    @abc.abstractmethod
    async def get_meta(self, key: str) -> Any:
        """The value :meth:`set_meta` stored under ``key``, or None."""

    @abc.abstractmethod
    async def last_frame(self, game_id: str) -> tuple[int, int] | None:
        """``(episode, frame)`` of the game's latest stored step row, or None: a resumed game
        continues after it, since a frame is never written twice."""

    @abc.abstractmethod
    async def get_game(self, game_id: str) -> dict | None:
        """The game's row (JSON columns decoded), or None."""

    @abc.abstractmethod
    async def players(self, game_id: str) -> list[dict]:
        """The game's ``players`` rows."""

    @abc.abstractmethod
    async def game_steps(self, game_id: str) -> list[dict]:
        """Every stored step row of the game, decoded (as ``mk.data.load`` gives them: ``keys`` a
        tuple, hook values as ``x_<name>``), by episode and frame: what verification re-simulates."""

    @abc.abstractmethod
    async def step_inputs(self, game_id: str, episode: int) -> list[tuple]:
        """``(frame, agent, action, keys, filled, reward, done)`` of every stored row of one
        episode, by frame (``done``: terminated or truncated): what a browser re-simulates when it
        resumes a game and checks its replay against, and whether the episode's end is stored."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, dict[str, int]]:
        """Per experiment: ``participants``, ``active``, ``completions``, ``exclusions`` (statuses
        ``active``, ``completed``, ``excluded``), ``by_status`` (every status and its count) and
        ``games_running`` (games without an outcome). For the admin page."""


def database_path(directory: str | os.PathLike) -> str:
    """The database file of a data folder."""
    return os.path.join(os.fspath(directory), DB_FILENAME)

