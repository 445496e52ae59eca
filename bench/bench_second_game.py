"""How fast a participant's later browser games start, now that the page keeps its Pyodide worker
(mugkit/web/static/client/runtime/pool.js). Numbers go in docs/benchmarks.md.

A real ``mugkit serve tests/web/studies/_twice.py`` on localhost (four short browser games in a
row: ``first``, ``walk`` twice, ``mapped``, which ships one more file) and one participant per
run in headless Chromium with a fresh on-disk profile. The time measured is the page's own: from
the game view arriving to the game's first frame (``start_ms`` of each ``game_loaded`` event).

- **kept**: the plain flow: game 1 loads Python (cold: nothing cached), games 2–4 run in the
  kept worker.
- **fresh**: the link has ``?boom=1``: game 1 raises at frame 5, so game 2 starts a new worker,
  with Pyodide in the HTTP cache — what every later game cost before the worker was kept.

Usage: ``flock /tmp/chromium.lock python bench/bench_second_game.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "web"))

from browser_data import through_screens  # noqa: E402
from serving import STUDIES, serve  # noqa: E402

TWICE = os.path.join(STUDIES, "_twice.py")


def play_through(p, url: str) -> None:
    """One participant, a fresh browser profile, from the welcome page to the completion page."""
    context = p.chromium.launch_persistent_context(tempfile.mkdtemp(prefix="mugkit-profile-"),
                                                   executable_path="/usr/bin/chromium")
    try:
        page = context.new_page()
        page.goto(url)
        page.click("button.mk-button")
        through_screens(page, "body[data-view=completion]", timeout=180_000)   # ready, round over: at once
    finally:
        context.close()


def loads(data: str) -> list[list[dict]]:
    """Per participant, the ``game_loaded`` details of their games in order (games that raised
    before loading finished have none)."""
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        rows = db.execute("select e.participant_id, e.detail from events e join games g "
                          "on g.game_id = json_extract(e.detail, '$.game') "
                          "where e.kind = 'game_loaded' order by g.started_at").fetchall()
    out: dict = {}
    for pid, detail in rows:
        out.setdefault(pid, []).append(json.loads(detail))
    return list(out.values())


def gaps(data: str) -> list[float]:
    """Per participant, seconds from the first game's last frame played to the second game's
    first timed frame (frame 1), less one frame period: what the participant waits between the two
    games (the game's end, its rows stored, the server's next view, the start; since the screens
    around games, also the round-over screen, the ready click and the countdown)."""
    out = []
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        for (pid,) in db.execute("select participant_id from participants"):
            ids = [g for (g,) in db.execute("select g.game_id from games g join players p on p.game_id = g.game_id "
                                            "where p.participant_id = ? order by g.started_at", (pid,))]
            if len(ids) < 2:
                continue
            (end,), = db.execute("select max(t_client) from steps where game_id = ?", (ids[0],))
            (begin,), = db.execute("select min(t_client) from steps where game_id = ?", (ids[1],))
            if end is not None and begin is not None:
                out.append(begin - end - 1 / 30)
    return out


def measure(runs: int, boom: bool) -> tuple[list[list[dict]], list[float]]:
    data = tempfile.mkdtemp(prefix="mugkit-bench-")
    served = serve(TWICE, data=data)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            for _ in range(runs):
                play_through(p, f"{served.url}/_twice/" + ("?boom=1" if boom else ""))
    finally:
        served.stop()
    return loads(data), gaps(data)


def column(participants: list[list[dict]], i: int) -> list[dict]:
    return [games[i] for games in participants if len(games) > i]


def summary(name: str, got: list[dict]) -> str:
    ms = [g["start_ms"] for g in got]
    warm = {g["warm"] for g in got}
    stages = {k: statistics.median(g["stages"].get(k, 0) for g in got) for k in got[0]["stages"]}
    return (f"{name}: median {statistics.median(ms):.0f} ms, min {min(ms)}, max {max(ms)} (n={len(ms)}, "
            f"warm={sorted(warm)}); median stages (ms) {stages}")


def cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    print(f"# second browser game, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {commit}, "
          f"{os.cpu_count()} cores ({cpu()}), "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    kept, between = measure(args.runs, boom=False)
    print(summary("game 1, cold (fresh profile, Python loads)", column(kept, 0)))
    print(summary("game 2, kept worker", column(kept, 1)))
    print(summary("game 3, kept worker", column(kept, 2)))
    print(summary("game 4, kept worker, a step shipping one more file", column(kept, 3)))
    print(f"game 1's last frame to game 2's first timed frame, less a frame: median "
          f"{statistics.median(between) * 1000:.0f} ms ({', '.join(f'{g * 1000:.0f}' for g in between)})")
    fresh, _ = measure(args.runs, boom=True)
    print(summary("game 2 after a game that raised: a new worker, Pyodide HTTP-cached (the old cost)",
                  column(fresh, 1)))
    print(summary("game 3 in that new worker", column(fresh, 2)))
    load = os.getloadavg()
    print(f"# load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")


if __name__ == "__main__":
    main()
