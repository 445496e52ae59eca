"""``/admin``: who is taking part now, how the games run, and the data to download.

Behind the token printed at start-up (there is no default password). The page is plain HTML that
reloads itself every few seconds.
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from typing import Any

from sanic import response

__all__ = ["admin_page", "admin_table", "admin_stats_data", "TABLES"]

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


async def admin_page(study: Any, token: str) -> str:
    """The admin page: counts per experiment, live participants and games, downloads."""
    counts = await study.storage.counts()
    live = [{"participant": p.id, "experiment": p.experiment, "step": p.flow[p.index][0] if p.index < len(p.flow) else "",
             "status": p.status, "connected": study.sockets.get(p.id, 0) > 0, "game": p.game or ""}
            for p in study.participants.values() if p.status == "active"]
    count_rows = [{"experiment": name, **c} for name, c in sorted(counts.items())]
    links = " · ".join(f"<a href='/admin/data/{t}.csv?token={html.escape(token)}'>{t}.csv</a>" for t in TABLES)
    return ("<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5><title>mugkit admin</title>"
            "<style>body{font-family:system-ui;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.2em .6em;font-size:14px}</style>"
            f"<h1>mugkit</h1><p>study seed {study.seed}</p>"
            f"<h2>Experiments</h2>{_table(count_rows, list(count_rows[0]) if count_rows else [])}"
            f"<h2>Active participants ({len(live)})</h2>"
            f"{_table(live, ['participant', 'experiment', 'step', 'status', 'connected', 'game'])}"
            f"<h2>Games running ({len(study.games)})</h2>"
            f"{_table(_game_rows(study), ['game', 'players', 'episode', 'frame', 'ticks', 'p50 late ms', 'p99 late ms', 'paused for'])}"
            f"<h2>Data</h2><p>{links}; everything: <code>mugkit data export DATA_DIR</code></p>")


def admin_stats_data(study: Any) -> dict:
    """Machine-readable load figures (for benchmarks and monitoring): per running game its ticks
    and tick lateness, and the server process's CPU time."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    late = sorted(x for g in study.games.values() for x in g.stats.late)

    def pct(q: float) -> float:
        return round(late[int(q * (len(late) - 1))] * 1000, 2) if late else 0.0

    return {"games": len(study.games), "ticks": sum(g.stats.ticks for g in study.games.values()),
            "late_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "participants": len(study.participants)}


async def admin_table(study: Any, name: str) -> Any:
    """A table as CSV (``participants.csv``, ``games.csv``)."""
    table = name.removesuffix(".csv")
    if table not in TABLES:
        return response.text(f"no table {table!r}; tables: {', '.join(TABLES)}", status=404)
    rows = await (study.storage.participants() if table == "participants" else study.storage.games())
    out = io.StringIO()
    columns = sorted({k for r in rows for k in r})
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(v) if v is not None else "" for k, v in r.items()})
    return response.text(out.getvalue(), content_type="text/csv",
                         headers={"content-disposition": f"attachment; filename={table}.csv"})
