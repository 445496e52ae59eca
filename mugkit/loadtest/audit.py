"""The data audit: the database, read through the storage's read-only view, against each bot's own log.

Every fact a bot has proof the server took is looked up in the tables (docs/data.md):

- its ``participants`` row, with the outcome code of the final page it was shown (a bot built to
  fail the entry screening: status ``screened_out`` with the reason its way of failing gives);
- a ``consented`` event per consent it agreed to (acknowledged);
- an ``answers`` row per question of every survey whose answers were acknowledged, holding the
  value sent;
- per game it played, its ``games`` row and its ``players`` row (its agent, its participant id);
- per frame of a server-run game it received, its agent's ``steps`` row (the server streams a
  frame only after handing its rows to storage, and ends a game only once they are committed);
- per row of a browser-run game the server acknowledged, that row, field by field;
- per browser-run game that ended, its verification: the bots play mugkit's own BrowserGame, so
  the server's re-simulation must find every row as the env gives it (``games.verification`` is
  ``"verified"``; the audit waits for verifications still running, up to :data:`VERIFY_WAIT`).

A fact that is not there, or differs, is a *lost row*. Rows sent but never acknowledged are
counted apart, never as lost (the sender could not know they were kept).
"""

from __future__ import annotations

import os
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..runtime.values import to_json
from .log import BotLog, GameLog

__all__ = ["Audit", "audit", "acknowledged", "row_digest", "BROWSER_ROW_FIELDS"]

#: Fields of a browser-run game's rows that must come back exactly as sent.
BROWSER_ROW_FIELDS = ("action", "keys", "filled", "reward", "terminated", "truncated", "info")
#: Examples of lost rows kept in the report.
MAX_EXAMPLES = 20
#: Seconds the audit waits for the server to finish verifying the bots' browser games.
VERIFY_WAIT = 120.0


def row_digest(row: dict) -> int:
    """A CRC-32 of a row's :data:`BROWSER_ROW_FIELDS` in their stored form (keys as a list, flags as
    bools): a bot keeps this per acknowledged row instead of the row itself."""
    keys = row.get("keys")
    values = [row.get("action"), None if keys is None else list(keys), bool(row.get("filled")), row.get("reward"),
              bool(row.get("terminated")), bool(row.get("truncated")), row.get("info")]
    return zlib.crc32(to_json(values, "a step row").encode())


def acknowledged(game: GameLog, rows: Iterable[dict]) -> None:
    """Writes rows of a browser-run game that the server acknowledged into ``game``'s log, as
    :func:`row_digest` per ``(episode, frame, agent)``."""
    for row in rows:
        game.rows_acked[(row["episode"], row["frame"], row["agent"])] = row_digest(row)


@dataclass
class Audit:
    """What the audit found.

    Attributes:
        checked: table → facts looked up.
        lost: table → facts missing or different.
        unacknowledged: rows sent that the server never acknowledged (not lost).
        unverified: browser-run games whose verification is not ``"verified"``.
        examples: the first lost facts and unverified games, in words.
        source: the database read (its file, or its URL without the password).
    """

    checked: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    unacknowledged: int = 0
    unverified: int = 0
    examples: list = field(default_factory=list)
    source: str = ""

    @property
    def lost_rows(self) -> int:
        """Facts missing or different, over every table."""
        return sum(self.lost.values())

    def found(self, table: str, ok: bool, what: str) -> None:
        """One fact of ``table`` looked up: ``ok`` when it is there as the bot logged it; else ``what``
        says what is missing."""
        self.checked[table] += 1
        if not ok:
            self.lost[table] += 1
            self.example(f"{table}: {what}")

    def to_dict(self) -> dict:
        """The audit as the report's ``audit`` field."""
        return {"checked": dict(self.checked), "lost": dict(self.lost), "lost_rows": self.lost_rows,
                "unacknowledged": self.unacknowledged, "unverified": self.unverified, "examples": list(self.examples),
                "source": self.source}

    def example(self, what: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(what)


def audit(database: str, logs: Iterable[BotLog], verify_wait: float = VERIFY_WAIT) -> Audit:
    """Compares the database at ``database`` (a SQLite file, or a PostgreSQL URL) with the bots'
    logs (see the module docstring)."""
    from ..data import open_tables
    from ..web.storage import describe, is_database_url

    logs = list(logs)
    url = is_database_url(database)
    location = database if url else os.path.dirname(database)  # what mk.data reads
    result = Audit(source=describe("", database) if url else database)
    with open_tables(location) as reader:
        stored = _Stored(reader)
    for log in logs:
        if log.participant is not None:
            _participant(stored, log, result)
    _verifications(location, logs, result, verify_wait)
    return result


def _verifications(folder: str, logs: list, result: Audit, wait: float) -> None:
    """Every ended browser-run game of the bots is ``verified`` (read through ``mk.data``)."""
    from ..data import read_columns

    mine = {g.game_id: log.bot for log in logs for g in log.games.values() if g.runtime == "browser"}
    if not mine:
        return
    deadline = time.monotonic() + wait
    while True:
        games = read_columns(folder, tables=["games"])["games"]
        rows = {gid: (outcome, verification, detail) for gid, outcome, verification, detail
                in zip(games["game_id"], games["outcome"], games["verification"], games["verification_detail"])
                if gid in mine and outcome is not None}
        if all(v not in (None, "pending") for _, v, _ in rows.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    _agreement(games, mine, result)
    for gid, (outcome, verification, detail) in rows.items():
        result.checked["verification"] += 1
        if verification != "verified":
            result.unverified += 1
            result.example(f"verification: bot {mine[gid]}: game {gid} ({outcome}) is {verification}: {detail}")


def _agreement(games: dict, mine: dict, result: Audit) -> None:
    """Every bots' browser game with several humans (its ``detail`` names its ``peers``) ended
    with the peers agreeing: no desync, and checksums compared (``peers``: games looked at)."""
    for gid, outcome, detail in zip(games["game_id"], games["outcome"], games["detail"]):
        if gid not in mine or not isinstance(detail, dict) or not detail.get("peers"):
            continue
        agreed = outcome != "desync" and not detail.get("desync") and (outcome != "completed"
                                                                          or detail.get("checksums_agreed", 0) > 0)
        result.found("peers", agreed, f"bot {mine[gid]}: game {gid} ({outcome}): the peers did not agree: "
                                      f"desync {detail.get('desync')}, {detail.get('checksums_agreed')} checksums agreed")


class _Stored:
    """The tables the audit looks facts up in, read once and indexed by participant and game."""

    def __init__(self, reader: Any):
        self.participants = {r["participant_id"]: r for r in reader.rows(
            "participants", columns=["participant_id", "status", "outcome_code", "reason"])}
        self.consents: Counter = Counter(r["participant_id"] for r in reader.rows(
            "events", columns=["participant_id"], where={"kind": "consented"}))
        self.answers: dict = {}
        for r in reader.rows("answers", columns=["participant_id", "step", "question", "value"]):
            self.answers.setdefault(r["participant_id"], []).append(r)
        self.games = {r["game_id"] for r in reader.rows("games", columns=["game_id"])}
        self.players = {(r["game_id"], to_json(r["agent"])): r["participant_id"]
                        for r in reader.rows("players", columns=["game_id", "agent", "participant_id"])}
        self.steps: dict = {}
        for r in reader.rows("steps", columns=["game_id", "episode", "frame", "agent", *BROWSER_ROW_FIELDS]):
            self.steps.setdefault(r["game_id"], {})[(r["episode"], r["frame"], r["agent"])] = r


def _participant(db: _Stored, log: BotLog, result: Audit) -> None:
    pid = log.participant
    row = db.participants.get(pid)
    result.found("participants", row is not None, f"bot {log.bot}: participant {pid} not stored")
    outcome = log.outcome
    if row is not None and outcome is not None and outcome.status == "completed" and outcome.kind == "completion":
        stored = row["outcome_code"]
        result.found("participants", stored == outcome.code,
                     f"bot {log.bot}: participant {pid} was shown code {outcome.code!r}, stored {stored!r}")
    if row is not None and log.screen_fail:
        _screened_out(row, log, result)
    elif row is not None and outcome is not None and outcome.kind == "screened_out by the study's check":
        result.found("participants", (row["status"], row["reason"]) == ("screened_out", "check"),
                     f"bot {log.bot}: turned away by the study's own check, stored {row['status']} ({row['reason']})")
    consented = db.consents[pid]
    for i, step in enumerate(log.consents):
        result.found("events", consented > i, f"bot {log.bot}: consent at {step} not stored")
    _answers(db, log, result)
    for game in log.games.values():
        _game(db, log, game, result)


def _screened_out(row: dict, log: BotLog, result: Audit) -> None:
    """A bot built to fail the screening is stored ``screened_out`` with the reason its way of
    failing must give, and the code it was shown."""
    from .screening import EXPECTED_REASON

    expected = EXPECTED_REASON[log.screen_fail]
    shown = log.outcome.code if log.outcome is not None else None
    stored = (row["status"], row["reason"], row["outcome_code"])
    result.found("participants", stored == ("screened_out", expected, shown),
                 f"bot {log.bot}: built to fail the screening ({log.screen_fail}): stored {row['status']} with reason "
                 f"{row['reason']!r} and code {row['outcome_code']!r}, expected screened_out, {expected!r}, {shown!r}")


def _flat(answers: dict) -> dict:
    """Answers as the ``answers`` table holds them: a matrix's ``{item: point}`` is one row per
    item, question ``"<name>.<item>"`` (mugkit.questions.Matrix)."""
    out = {}
    for question, value in answers.items():
        if isinstance(value, dict):
            out.update({f"{question}.{item}": point for item, point in value.items()})
        else:
            out[question] = value
    return out


def _answers(db: _Stored, log: BotLog, result: Audit) -> None:
    stored: dict = {}
    for r in db.answers.get(log.participant, []):
        stored.setdefault((r["step"], r["question"]), []).append(r["value"])
    for step, _, answers in log.answers:
        for question, value in _flat(answers).items():
            values = stored.get((step, question), [])
            ok = value in values
            if ok:
                values.remove(value)
            result.found("answers", ok, f"bot {log.bot}: answer {step}.{question} = {value!r} not stored "
                                        f"(stored: {values!r})")


def _game(db: _Stored, log: BotLog, game: GameLog, result: Audit) -> None:
    gid = game.game_id
    result.found("games", gid in db.games, f"bot {log.bot}: game {gid} not stored")
    mine = to_json(game.agent)
    player = db.players.get((gid, mine), "")
    result.found("players", player == log.participant,
                 f"bot {log.bot}: game {gid} has no player {game.agent!r} = {log.participant}")
    rows = db.steps.get(gid, {})
    frames = {(e, f) for e, f, agent in rows if to_json(agent) == mine}
    for episode, ranges in game.frames.items():
        for first, last in ranges:
            missing = [f for f in range(first, last + 1) if (episode, f) not in frames]
            result.checked["steps"] += last - first + 1 - len(missing)
            for f in missing:
                result.found("steps", False, f"bot {log.bot}: game {gid} episode {episode} frame {f} "
                                             f"agent {game.agent!r} was streamed but is not stored")
    for key, digest in game.rows_acked.items():
        row = rows.get(key)
        result.found("steps", row is not None and row_digest(row) == digest,
                     f"bot {log.bot}: game {gid} episode {key[0]} frame {key[1]} agent {key[2]!r} was "
                     f"acknowledged but is " + ("not stored" if row is None else "stored with other values"))
    result.unacknowledged += game.rows_unacked
