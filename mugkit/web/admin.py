"""The admin's figures and downloads: ``/admin/stats.json`` (load figures for scripts, benchmarks
and load tests), the figures each process tells the others (:func:`process_info`), and the tables
as CSV. The live page and its controls are mugkit/web/admin_live.py; ``/metrics``
mugkit/web/metrics.py.

Behind the token printed at start-up (there is no default password), which the first visit trades
for a cookie (server.py).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from sanic import response

__all__ = ["paused_text", "admin_table", "admin_stats_data", "admin_stats_all", "process_info", "TABLES"]

#: Tables offered as CSV downloads.
TABLES = ("participants", "games")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _game_rows(study: Any) -> list[dict]:
    """The server games running on this process: players, where they are, achieved fps, lateness."""
    rows = []
    for game in study.games.values():
        p50, p99 = game.stats.late.percentiles_ms((0.5, 0.99))
        fps = game.stats.fps
        rows.append({"game": game.game_id, "players": ", ".join(game.humans.values()),
                     "episode": game.driver.episode, "frame": game.driver.frame.index if game.driver.frame else 0,
                     "ticks": game.stats.ticks, "fps": round(fps, 1) if fps is not None else None,
                     "target fps": game.fps, "p50 late ms": p50, "p99 late ms": p99,
                     "paused for": ", ".join(map(str, game.absent)) or ""})
    return rows


def paused_text(study: Any) -> str | None:
    """Why the study is paused (participants see a "paused" page meanwhile), or None."""
    if study.paused is None:
        return None
    if study.paused == "storage":
        return (f"the storage cannot write: {study.storage.failure or 'recovering'}. Free disk space (or fix the "
                f"disk): writes are retried, the study goes on by itself, and no acknowledged data are lost.")
    return study.paused


def _memory_mb() -> float | None:
    """The server process's resident memory (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def admin_stats_data(study: Any) -> dict:
    """Machine-readable load figures (for benchmarks, load tests and monitoring): the running games'
    ticks and tick lateness (``late_ms``), the lateness of every tick of every server game since
    this process started (``late_all_ms``: mugkit/web/ticks.py keeps them in bounded buckets, to
    0.1 ms below 10 ms), and the server process's CPU time and memory."""
    import resource

    from .ticks import Lateness

    usage = resource.getrusage(resource.RUSAGE_SELF)
    running = Lateness()
    for game in study.games.values():
        running.merge(game.stats.late)
    p50, p95, p99, worst = running.percentiles_ms()
    totals = study.lobby.ticks if study.lobby is not None else None
    seen = totals.late if totals is not None else Lateness()
    a50, a95, a99, aworst = seen.percentiles_ms()
    return {"games": len(study.games), "ticks": sum(g.stats.ticks for g in study.games.values()),
            "late_ms": {"p50": p50, "p95": p95, "p99": p99, "max": worst},
            "late_all_ms": {"ticks": seen.count, "p50": a50, "p95": a95, "p99": a99, "max": aworst},
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
              "fps": g["fps"], "target fps": g["target fps"], "p99 late ms": g["p99 late ms"]}
             for g in _game_rows(study)]
    games += [{"game": game_id, "runtime": "browser", "players": game.participant, "frame": max(game.last[1], 0)}
              for game_id, game in browser.items()]
    games += [{"game": game_id, "runtime": "browser (peers)",
               "players": ", ".join(m.participant for m in group.members.values()),
               "frame": max([frame for _, frame in group.last.values()] or [0])} for game_id, group in peers.items()]
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
