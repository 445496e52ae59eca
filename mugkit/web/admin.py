"""``/admin``: who is taking part now, how the games run, and the data to download.

Behind the token printed at start-up (there is no default password), which the first visit trades
for a cookie (server.py). The page is plain HTML that reloads itself every few seconds.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import statistics
import weakref
from typing import Any

from sanic import response

__all__ = ["admin_page", "admin_table", "admin_stats_data", "admin_stats_all", "process_info", "TickLateness",
           "TABLES"]

#: Tables offered as CSV downloads.
TABLES = ("participants", "games")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c, '')))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p>none</p>"


def _game_rows(study: Any) -> list[dict]:
    rows = []
    for game in study.games.values():
        late = sorted(game.stats.late)
        p99 = late[int(0.99 * (len(late) - 1))] * 1000 if late else 0.0
        rows.append({"game": game.game_id, "players": ", ".join(game.humans.values()),
                     "episode": game.driver.episode, "frame": game.driver.frame.index if game.driver.frame else 0,
                     "ticks": game.stats.ticks, "p50 late ms": round(statistics.median(late) * 1000, 1) if late else 0,
                     "p99 late ms": round(p99, 1), "paused for": ", ".join(map(str, game.absent)) or ""})
    return rows


async def admin_page(study: Any) -> str:
    """The admin page: counts per experiment, live participants and games, downloads."""
    counts = await study.storage.counts()
    live = [{"participant": p.id, "experiment": p.experiment, "step": p.flow[p.index][0] if p.index < len(p.flow) else "",
             "status": p.status, "connected": study.sockets.get(p.id, 0) > 0, "game": p.game or ""}
            for p in study.participants.values() if p.status == "active"]
    count_rows = [{"experiment": name, **c} for name, c in sorted(counts.items())]
    links = " · ".join(f"<a href='/admin/data/{t}.csv'>{t}.csv</a>" for t in TABLES)  # the cookie goes along
    cluster = getattr(study, "cluster", None)
    processes = ""
    if cluster is not None:
        alive = await cluster.alive()
        alive[cluster.id] = process_info(study)
        processes = _processes_html(alive)
    here = " on this process" if cluster is not None else ""
    return ("<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5><title>mugkit admin</title>"
            "<style>body{font-family:system-ui;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.2em .6em;font-size:14px}</style>"
            f"<h1>mugkit</h1>{_paused_banner(study)}<p>study seed {study.seed}</p>"
            f"<h2>Experiments</h2>{_table(count_rows, list(count_rows[0]) if count_rows else [])}"
            f"{processes}<h2>Active participants{here} ({len(live)})</h2>"
            f"{_table(live, ['participant', 'experiment', 'step', 'status', 'connected', 'game'])}"
            f"<h2>Games running{here} ({len(study.games)})</h2>"
            f"{_table(_game_rows(study), ['game', 'players', 'episode', 'frame', 'ticks', 'p50 late ms', 'p99 late ms', 'paused for'])}"
            f"<h2>Data</h2><p>{links}; everything: <code>mugkit data export DATA_DIR</code></p>")


def _paused_banner(study: Any) -> str:
    """Why the study is paused (participants see a "paused" page meanwhile), or nothing."""
    if study.paused is None:
        return ""
    if study.paused == "storage":
        why = (f"the storage cannot write: {study.storage.failure or 'recovering'}. Free disk space (or fix the "
               f"disk): writes are retried, the study goes on by itself, and no acknowledged data are lost.")
    else:
        why = study.paused
    return (f"<p id=paused style='background:#fde2e1;padding:.6em;border:1px solid #c0392b'>"
            f"<b>The study is paused</b>: {html.escape(why)}</p>")


class TickLateness:
    """Tick lateness of every game the stats were asked about since the server started (for load
    tests): a running game's list is read live (it is the game's own list, so ticks after the
    request count too); once the game is over, its ticks are folded into a histogram of 0.1 ms
    buckets, so memory stays bounded however many games end. A game that starts and ends between
    two requests is not seen."""

    def __init__(self) -> None:
        self.live: dict = {}           # game id -> the game's GameStats
        self.buckets: dict = {}        # lateness in 0.1 ms -> ticks

    def update(self, games: dict) -> None:
        """Folds the games no longer in ``games`` (game id → game) into the histogram and starts
        watching the new ones."""
        for game_id in list(self.live):
            if game_id not in games:
                _count(self.buckets, self.live.pop(game_id).late)
        for game_id, game in games.items():
            self.live.setdefault(game_id, game.stats)

    def percentiles(self, qs: tuple = (0.5, 0.95, 0.99, 1.0)) -> tuple[int, list[float]]:
        """(ticks seen, lateness in ms at each quantile of ``qs``)."""
        counts = dict(self.buckets)
        for stats in self.live.values():
            _count(counts, stats.late)
        total = sum(counts.values())
        out, seen, keys = [], 0, sorted(counts)
        targets = [q * (total - 1) for q in qs]
        i = 0
        for key in keys:
            seen += counts[key]
            while i < len(targets) and seen > targets[i]:
                out.append(key / 10.0)
                i += 1
        return total, out + [0.0] * (len(qs) - len(out))


def _count(buckets: dict, late: Any) -> None:
    """Adds tick lateness values (seconds) to ``buckets`` (0.1 ms → ticks)."""
    for x in late:
        key = round(x * 10_000)
        buckets[key] = buckets.get(key, 0) + 1


_LATENESS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _memory_mb() -> float | None:
    """The server process's resident memory (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def admin_stats_data(study: Any) -> dict:
    """Machine-readable load figures (for benchmarks, load tests and monitoring): per running game
    its ticks and tick lateness (``late_ms``), the lateness of every game seen since the start
    (``late_all_ms``, see :class:`TickLateness`), and the server process's CPU time and memory."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    late = sorted(x for g in study.games.values() for x in g.stats.late)

    def pct(q: float) -> float:
        return round(late[int(q * (len(late) - 1))] * 1000, 2) if late else 0.0

    seen = _LATENESS.setdefault(study, TickLateness())
    seen.update(study.games)
    ticks, (p50, p95, p99, worst) = seen.percentiles()
    return {"games": len(study.games), "ticks": sum(g.stats.ticks for g in study.games.values()),
            "late_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
            "late_all_ms": {"ticks": ticks, "p50": p50, "p95": p95, "p99": p99, "max": worst},
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "rss_mb": _memory_mb(),
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1), "participants": len(study.participants)}


#: Games a process lists by id in its heartbeat (the admin page's "which process runs what").
LISTED_GAMES = 200


def process_info(study: Any) -> dict:
    """What this process tells the others with each heartbeat (mugkit/web/cluster.py), for the one
    admin view: its figures (:func:`admin_stats_data`), its games by runtime, and which games it runs."""
    import socket

    lobby = study.lobby
    browser = study.browser.games if study.browser is not None else {}
    peers = lobby.peers.groups if lobby is not None and lobby.peers is not None else {}
    games = [{"game": g["game"], "runtime": "server", "players": g["players"], "frame": g["frame"],
              "p99 late ms": g["p99 late ms"]} for g in _game_rows(study)]
    games += [{"game": game_id, "runtime": "browser", "players": game.participant} for game_id, game in browser.items()]
    games += [{"game": game_id, "runtime": "browser (peers)",
               "players": ", ".join(m.participant for m in group.members.values())} for game_id, group in peers.items()]
    return {**admin_stats_data(study), "host": socket.gethostname(), "pid": os.getpid(),
            "games_by_runtime": {"server": len(study.games), "browser": len(browser), "peers": len(peers)},
            "connected": sum(1 for n in study.sockets.values() if n > 0),
            "connected_ids": sorted(pid for pid, n in study.sockets.items() if n > 0)[:LISTED_GAMES],
            # messages of games another process runs, sent there; and those answered here for others
            "forwarded": dict(getattr(lobby.remote, "forwarded", None) or {}),
            "answered": dict(getattr(lobby.remote, "answered", None) or {}),
            "game_list": games[:LISTED_GAMES]}


async def admin_stats_all(study: Any) -> dict:
    """:func:`admin_stats_data` of this process, and with several processes (``study.cluster``)
    every live process's figures under ``processes`` (process id → figures) and their sums at the
    top: ``games``, ``ticks``, ``participants``, ``connected``, ``cpu_seconds`` summed, tick
    lateness the worst of any process."""
    here = admin_stats_data(study)
    cluster = getattr(study, "cluster", None)
    if cluster is None:
        return here
    processes = await cluster.alive()
    processes[cluster.id] = process_info(study)  # this one as it is now, not a second ago
    total = {**here, "process": cluster.id, "processes": processes}
    for key in ("games", "ticks", "participants", "connected", "cpu_seconds"):
        total[key] = sum(p.get(key) or 0 for p in processes.values())
    for key in ("late_ms", "late_all_ms"):
        total[key] = {q: max((p.get(key) or {}).get(q, 0) or 0 for p in processes.values()) for q in here[key]}
    return total


def _processes_html(processes: dict) -> str:
    """The processes of the study and what each runs."""
    rows, games = [], []
    for process, info in sorted(processes.items()):
        runtimes = info.get("games_by_runtime") or {}
        rows.append({"process": process, "server games": runtimes.get("server", 0),
                     "browser games": runtimes.get("browser", 0) + runtimes.get("peers", 0),
                     "connected": info.get("connected", 0), "p99 late ms": (info.get("late_ms") or {}).get("p99", 0),
                     "CPU s": round(info.get("cpu_seconds") or 0, 1), "memory MB": info.get("rss_mb")})
        games += [{"process": process, **g} for g in info.get("game_list") or []]
    return (f"<h2>Server processes ({len(processes)})</h2>"
            f"{_table(rows, ['process', 'server games', 'browser games', 'connected', 'p99 late ms', 'CPU s', 'memory MB'])}"
            f"<h2>Which process runs what ({len(games)} games)</h2>"
            f"{_table(games, ['process', 'game', 'runtime', 'players', 'frame', 'p99 late ms'])}")


async def admin_table(study: Any, name: str) -> Any:
    """A table as CSV (``participants.csv``, ``games.csv``); text that would run as a spreadsheet
    formula gets a ``'`` in front (:func:`mugkit.web.export.csv_safe`)."""
    table = name.removesuffix(".csv")
    if table not in TABLES:
        return response.text(f"no table {table!r}; tables: {', '.join(TABLES)}", status=404)
    rows = await (study.storage.participants() if table == "participants" else study.storage.games())
    out = io.StringIO()
    columns = sorted({k for r in rows for k in r})
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    from .export import csv_safe  # participant text must not run as a formula in a spreadsheet

    for r in rows:
        writer.writerow({k: csv_safe(_cell(v)) if v is not None else "" for k, v in r.items()})
    return response.text(out.getvalue(), content_type="text/csv",
                         headers={"content-disposition": f"attachment; filename={table}.csv"})
