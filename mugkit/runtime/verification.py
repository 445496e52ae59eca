"""Verifying a browser game's stored rows: re-simulating the game from its seed and the recorded
human inputs, and comparing frame by frame.

A browser-runtime game runs in the participant's browser, so its rows are whatever the page sent.
The env is deterministic (what ``mugkit check`` proves, ``parity`` included), so the server can play
the game again with the same frame driver, feeding each frame the human's recorded ``(action,
keys, filled)`` — as a reloaded page does (:meth:`FrameDriver.tick_recorded`): AI players decide
again. Every other column must then come out the same. The first frame that does not is the
verdict's :class:`Difference`.

What this proves: the rows are what the env gives for those human actions. What it cannot prove:
that a human chose them (a script can send any action inside the action space); the timing
statistics (:func:`timing`) are there to help a researcher judge that.

Pure Python, no I/O: the server runs it in a worker process (:mod:`mugkit.web.browser.verify`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Hashable, Iterable

from .errors import InternalError
from .hashing import UnencodableError, digest
from .policies import action_mask

__all__ = ["COMPARED", "Difference", "Verdict", "replay", "timing"]

#: Step-row columns re-simulation must reproduce exactly (plus the observation when the step
#: records observations, and every ``x_<name>`` hook column). The human's ``keys`` are the client's
#: word, but their ``action`` and ``filled`` must be what those keys map to (:func:`_from_keys`).
COMPARED = ("action", "filled", "decided_at", "reward", "terminated", "truncated", "info")


@dataclass(frozen=True)
class Difference:
    """The first frame whose stored rows differ from the re-simulated ones.

    Attributes:
        episode, frame: where.
        agent: whose row (None when the frame itself is wrong: a frame the env never reached).
        fields: the columns that differ (``"row"`` when a row is missing or extra).
        stored, replayed: those columns' values, as stored and as re-simulated (short reprs).
        note: what happened, in words.
    """

    episode: int
    frame: int
    agent: Any
    fields: tuple
    stored: dict
    replayed: dict
    note: str

    def plain(self) -> dict:
        """The difference as plain data (for the ``games.verification_detail`` column)."""
        return {"episode": self.episode, "frame": self.frame, "agent": self.agent, "fields": list(self.fields),
                "stored": self.stored, "replayed": self.replayed, "note": self.note}


@dataclass(frozen=True)
class Verdict:
    """What re-simulating a game's rows found.

    Attributes:
        frames: how many stored frames agreed before the first difference (all, when none).
        difference: the first difference, or None when every stored row agrees.
        complete: the stored rows reach the end of the game's last episode.
    """

    frames: int
    difference: Difference | None
    complete: bool

    @property
    def agrees(self) -> bool:
        """Every stored row is what the env gives."""
        return self.difference is None

    def plain(self) -> dict:
        """``{"frames", "complete", "difference"}`` (``difference`` plain, or None)."""
        return {"frames": self.frames, "complete": self.complete,
                "difference": None if self.difference is None else self.difference.plain()}


def _same(a: Any, b: Any) -> bool:
    """Equal by the canonical encoding (floats bit for bit, bool is not int, tuple is list)."""
    try:
        return digest(a) == digest(b)
    except UnencodableError:
        return bool(a == b)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 200 else text[:197] + "..."


def _frames(rows: Iterable[dict]) -> list[tuple[tuple, dict]]:
    """Stored rows grouped by ``(episode, frame)`` in order: ``[((episode, frame), {agent: row})]``."""
    out: list = []
    for row in rows:
        key = (row["episode"], row["frame"])
        if not out or out[-1][0] != key:
            out.append((key, {}))
        out[-1][1][row["agent"]] = row
    return out


def _compare(key: tuple, stored: dict, result: Any, observations: bool, peers: bool = False) -> Difference | None:
    replayed = {row.agent: row.to_dict() for row in result.rows}
    if set(stored) != set(replayed):
        extra, missing = set(stored) - set(replayed), set(replayed) - set(stored)
        return Difference(*key, None, ("row",), {"agents": _short(sorted(map(repr, stored)))},
                          {"agents": _short(sorted(map(repr, replayed)))},
                          f"rows of agents the env does not have here: {sorted(map(repr, extra))}" if extra
                          else f"no row of {sorted(map(repr, missing))}")
    for agent, mine in replayed.items():
        theirs = stored[agent]
        # A rollback game's AI actions are inputs the host sent: the frame it decided from is not kept.
        names = [n for n in COMPARED if not (peers and n == "decided_at")] + (["observation"] if observations else [])
        names += sorted({n for n in (*mine, *theirs) if n.startswith("x_")})
        differ = tuple(n for n in names if not _same(theirs.get(n), mine.get(n)))
        if differ:
            return Difference(*key, agent, differ, {n: _short(theirs.get(n)) for n in differ},
                              {n: _short(mine.get(n)) for n in differ},
                              f"{', '.join(differ)} of {agent!r} differ from what the env gives")
    return None


def replay(driver: Any, rows: Iterable[dict], human: Hashable, *, observations: bool = True,
           humans: Iterable[Hashable] | None = None, peers: bool | None = None) -> Verdict:
    """Re-simulates a game's stored ``rows`` with a fresh ``driver`` (built from the game's seed, as
    the browser built it) and compares every row.

    Args:
        driver: a :class:`~mugkit.runtime.driver.FrameDriver` that has not started.
        rows: the game's stored step rows as column dicts (``episode``, ``frame``, ``agent``,
            ``action``, ``keys``, ``filled``, ``decided_at``, ``reward``, ``terminated``,
            ``truncated``, ``observation``, ``info``, ``x_<name>``), in frame order.
        human: the agent the participant played: its recorded action plays each frame.
        observations: compare observations too (False when the step does not record them).
        humans: every human agent of a game with several (a browser game of 2–4 peers); each one's
            recorded action plays each frame (``human`` is then ignored). A row of such a game
            whose ``keys`` are None (a page that rejoined re-simulated the frame from the inputs
            its peers held, so its keys are not known) is played as recorded without the
            keys-to-action check; the peers' checksums agreed on it. AI agents play their stored
            action (an input of the rollback session: the host decided it, maybe from a predicted
            frame), and their ``decided_at`` is not compared.
        peers: whether ``humans`` are rollback peers (the default when ``humans`` is given). A
            server game of several humans is not (``peers=False``): every row's keys are known, and
            its AI agents decide again, as in a game of one human.

    Returns:
        The :class:`Verdict`. An env or policy that raises while re-simulating is a difference at
        that frame (the browser claims it played it).
    """
    frames = _frames(rows)
    agreed = 0
    players = tuple(humans) if humans is not None else (human,)
    peers = humans is not None if peers is None else peers
    for i, (key, stored) in enumerate(frames):
        try:
            result = driver.start() if i == 0 else _next(driver, key, stored, players, peers)
        except _Mismatch as exc:
            return Verdict(agreed, exc.difference, False)
        except InternalError:
            raise  # mugkit's own bug, not the participant's rows
        except Exception as exc:  # the user's env or policy raised on these inputs
            return Verdict(agreed, Difference(*key, None, ("row",), {}, {}, f"re-simulating this frame raised "
                                              f"{type(exc).__name__}: {_short(str(exc))}"), False)
        if (result.episode, result.frame) != key:
            return Verdict(agreed, Difference(*key, None, ("row",), {}, {"episode": result.episode,
                                              "frame": result.frame}, "the env is elsewhere here"), False)
        difference = _compare(key, stored, result, observations, peers)
        if difference is not None:
            return Verdict(agreed, difference, False)
        agreed += 1
    return Verdict(agreed, None, bool(frames) and bool(driver.finished))


class _Mismatch(Exception):
    def __init__(self, difference: Difference):
        super().__init__(difference.note)
        self.difference = difference


def _next(driver: Any, key: tuple, stored: dict, players: tuple, peers: bool = False) -> Any:
    """Plays the frame ``key`` from its stored human input; raises :class:`_Mismatch` when the
    stored frame cannot come next (the env ended the episode, or did not)."""
    here = (driver.episode, driver.frame.index)
    if driver.finished:
        raise _Mismatch(Difference(*key, None, ("row",), {}, {}, f"the game ended at episode {here[0]}, "
                                   f"frame {here[1]}: rows after its end"))
    if driver.frame.done:
        if key != (here[0] + 1, 0):
            raise _Mismatch(Difference(*key, None, ("row",), {}, {}, f"the env ended episode {here[0]} at frame "
                                       f"{here[1]}, but the rows go on"))
        return driver.tick_recorded({})
    if key != (here[0], here[1] + 1):
        raise _Mismatch(Difference(*key, None, ("row",), {}, {}, f"the env did not end episode {here[0]} at frame "
                                   f"{here[1]}, but the rows jump here"))
    humans = {}
    for human in players:
        if human not in driver.frame.acting:
            continue
        row = stored.get(human)
        if row is None:
            raise _Mismatch(Difference(*key, human, ("row",), {}, {}, f"no row of the human {human!r}"))
        humans[human] = (row.get("action"), row.get("keys"), bool(row.get("filled")))
        if peers and row.get("keys") is None:
            continue  # a rejoined peer's re-simulated frame: its keys are unknown
        want = _from_keys(driver, human, row.get("keys"))
        if want is None or not _same(list(want), [row.get("action"), bool(row.get("filled"))]):
            raise _Mismatch(Difference(*key, human, ("action", "filled"),
                                       {"action": _short(row.get("action")), "filled": _short(row.get("filled")),
                                        "keys": _short(row.get("keys"))},
                                       {"action": _short(want and want[0]), "filled": _short(want and want[1])},
                                       f"the action of {human!r} is not what its keys map to"))
    # A rollback game's AI actions are inputs its host decided (from frames that may have been
    # predicted): they are replayed as stored, never asked again.
    ais = {a: row.get("action") for a, row in stored.items() if a not in players} if peers else None
    result = driver.tick_recorded(humans, ais)
    if result is None:
        raise _Mismatch(Difference(*key, None, ("row",), {}, {}, f"the frame does not play: it waits for "
                                   f"{list(driver.waiting_for)!r}"))
    return result


def _from_keys(driver: Any, human: Hashable, keys: Any) -> tuple | None:
    """``(action, filled)`` the human's active ``keys`` give at the coming frame, as the browser's
    key mapper gives it (the longest legal combination; else ``fill``); None for a turn-based
    frame no combination answers (it would have waited)."""
    mapper = driver.mappers[human]
    f = driver.frame
    hit = mapper.match(frozenset(keys or ()), action_mask(f.observations.get(human), f.infos.get(human)))
    if hit is not None:
        return hit[0], False
    if driver.turn_based:
        return None
    if mapper.fill == "previous" and mapper.previous is not None:
        return mapper.previous, True
    return mapper.default_action, True


def timing(rows: Iterable[dict], human: Hashable) -> dict:
    """Timing statistics of the human's rows, for judging whether a person played: ``frames``;
    ``frame_interval_mean`` / ``frame_interval_sd`` (seconds between consecutive ``t_client``
    stamps); ``key_changes`` (frames whose active keys differ from the frame before);
    ``key_interval_mean`` / ``key_interval_sd`` / ``key_interval_min`` (seconds between key changes);
    ``late_ms_mean``. A script tends to show near-zero spreads; a person does not. None where
    there is too little to say."""
    mine = [r for r in rows if r["agent"] == human]
    stamps = [r.get("t_client") for r in mine if r.get("t_client") is not None]
    deltas = [b - a for a, b in zip(stamps, stamps[1:])]
    changes, previous = [], None
    for r in mine:
        keys = tuple(r.get("keys") or ())
        if r["frame"] > 0 and previous is not None and keys != previous and r.get("t_client") is not None:
            changes.append(r["t_client"])
        previous = keys
    gaps = [b - a for a, b in zip(changes, changes[1:])]
    lates = [r["late_ms"] for r in mine if r.get("late_ms") is not None]
    return {"frames": len(mine), "frame_interval_mean": _mean(deltas), "frame_interval_sd": _sd(deltas),
            "key_changes": len(changes), "key_interval_mean": _mean(gaps), "key_interval_sd": _sd(gaps),
            "key_interval_min": min(gaps) if gaps else None, "late_ms_mean": _mean(lates)}


def _mean(xs: list) -> float | None:
    return statistics.fmean(xs) if xs else None


def _sd(xs: list) -> float | None:
    return statistics.stdev(xs) if len(xs) >= 2 else None
