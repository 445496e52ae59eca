"""The data folder cannot be swapped or damaged behind the server's back, a stop ends every game
properly, a full disk pauses the study, and exported CSV cells cannot run as formulas.

Real `mugkit serve` processes (mugkit.loadtest.server.start_server), real SQLite files, real
socket.io clients."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import pytest

from mugkit.loadtest.server import ServerError, start_server
from mugkit.runtime.values import to_json

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WALK = os.path.join(ROOT, "tests", "web", "studies", "_walk.py")          # page, consent, server game, survey
BRIEF = os.path.join(ROOT, "tests", "loadtest", "studies", "_brief.py")   # page, consent, browser game, ...
DB = "mugkit.sqlite"


def serve(data: str, *paths: str, seed: int = 7, database: str | None = None):
    return start_server(list(paths or [WALK]), data, seed=seed, cwd=ROOT, timeout=60, database=database)


def refused(data: str, *paths: str, seed: int = 7) -> str:
    """Starts a server that must refuse the folder; returns what it printed."""
    with pytest.raises(ServerError) as info:
        server = serve(data, *paths, seed=seed)
        server.stop()
    text = str(info.value)
    assert "refusing to start" in text, text
    return text


def query(data: str, sql: str) -> list:
    conn = sqlite3.connect(f"file:{os.path.join(data, DB)}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class Client:
    """A participant at the protocol level: a socket.io client keeping every view it gets."""

    def __init__(self, url: str, experiment: str, identity: dict | None = None):
        import socketio

        self.url, self.experiment, self.identity = url, experiment, identity or {}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.views: asyncio.Queue = asyncio.Queue()
        self.sio.on("view", self.views.put)
        self.sio.on("identity", self.identity.update)

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io",
                               auth={"experiment": self.experiment, "query": {}, **self.identity})

    async def view(self, kind: str | None = None) -> dict:
        view = await asyncio.wait_for(self.views.get(), 30)
        assert kind is None or view["kind"] == kind, view
        return view

    async def into_game(self) -> dict:
        """Through the welcome page and the consent; returns the game view."""
        await self.connect()
        await self.view("page")
        assert await self.sio.call("advance", {"index": 0}, timeout=10) == {"ok": True}
        await self.view("consent")
        assert await self.sio.call("advance", {"index": 1, "agree": True}, timeout=10) == {"ok": True}
        return await self.view("game")


async def _walk_a_little(url: str) -> None:
    c = Client(url, "_walk")
    await c.into_game()
    await asyncio.sleep(0.5)  # some frames are stored
    await c.sio.disconnect()


def started_and_killed(data: str) -> None:
    """A server that stored a participant and some frames, then was killed (no clean stop)."""
    server = serve(data)
    try:
        asyncio.run(_walk_a_little(server.url))
    finally:
        server.stop(signal.SIGKILL)


def stopped_cleanly(data: str) -> None:
    server = serve(data)
    try:
        asyncio.run(_walk_a_little(server.url))
    finally:
        server.stop()
    assert server.process.returncode == 0


# -- the data folder at start --------------------------------------------------------------------


def test_a_fresh_folder_starts_writes_its_identity_and_starts_again_after_a_clean_stop(tmp_path):
    data = str(tmp_path / "data")
    stopped_cleanly(data)
    assert sorted(os.listdir(data)) == ["mugkit-study.json", DB]  # no WAL, no running marker: a clean stop
    (study_id,), = query(data, "select value from meta where key = 'study_id'")
    assert study_id.strip('"') in open(os.path.join(data, "mugkit-study.json")).read()
    server = serve(data)  # the same folder again
    server.stop()
    assert server.process.returncode == 0


def test_a_deleted_database_with_its_identity_present_is_refused(tmp_path):
    data = str(tmp_path / "data")
    stopped_cleanly(data)
    os.remove(os.path.join(data, DB))
    text = refused(data)
    assert "is missing" in text and "Restore" in text and "another --data folder" in text
    assert not os.path.exists(os.path.join(data, DB))  # no new, empty study was started there


@pytest.mark.parametrize("damage", ["zeroed", "emptied"])
def test_a_zeroed_or_emptied_database_is_refused(tmp_path, damage):
    data = str(tmp_path / "data")
    stopped_cleanly(data)
    path = os.path.join(data, DB)
    size = os.path.getsize(path)
    with open(path, "wb") as f:
        f.write(b"\0" * size if damage == "zeroed" else b"")
    text = refused(data)
    assert "Restore" in text
    assert ("damaged" in text) if damage == "zeroed" else ("replaced or emptied" in text)
    assert os.path.getsize(path) == (size if damage == "zeroed" else 0)  # not written to


def test_a_malformed_database_is_refused_and_not_written_to(tmp_path):
    data = str(tmp_path / "data")
    stopped_cleanly(data)
    path = os.path.join(data, DB)
    with open(path, "r+b") as f:
        f.seek(4096 * 2 + 8)  # inside the third page (a b-tree page): its cell pointers
        f.write(b"\xff" * 64)
    before = open(path, "rb").read()
    text = refused(data)
    assert "is damaged (SQLite's quick_check" in text and ".recover" in text
    assert open(path, "rb").read() == before


def test_a_database_from_another_study_is_refused(tmp_path):
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    stopped_cleanly(ours)
    stopped_cleanly(theirs)
    shutil.copy(os.path.join(theirs, DB), os.path.join(ours, DB))
    text = refused(ours)
    assert "replaced" in text and "Restore" in text


def test_a_second_server_on_a_folder_in_use_is_refused(tmp_path):
    data = str(tmp_path / "data")
    first = serve(data)
    try:
        text = refused(data)
    finally:
        first.stop()
    assert f"another mugkit server (process {first.pid}) is using" in text
    assert first.process.returncode == 0


def test_after_a_kill_the_folder_starts_with_every_committed_row(tmp_path):
    data = str(tmp_path / "data")
    started_and_killed(data)
    assert os.path.exists(os.path.join(data, "mugkit.running")) and os.path.exists(os.path.join(data, DB + "-wal"))
    server = serve(data)
    server.stop()
    assert server.process.returncode == 0
    assert query(data, "select count(*) from steps")[0][0] > 0


def test_a_wal_deleted_after_a_kill_is_refused(tmp_path):
    data = str(tmp_path / "data")
    started_and_killed(data)
    os.remove(os.path.join(data, DB + "-wal"))
    text = refused(data)
    assert "write-ahead log" in text and "is missing" in text and "Restore" in text


def test_a_damaged_wal_is_refused_rather_than_its_later_commits_dropped(tmp_path):
    data = str(tmp_path / "data")
    started_and_killed(data)
    wal = os.path.join(data, DB + "-wal")
    page_size = int.from_bytes(open(wal, "rb").read(12)[8:12], "big")
    assert os.path.getsize(wal) > 32 + 4 * (24 + page_size)  # several commits
    with open(wal, "r+b") as f:
        f.seek(32 + 24 + 100)  # the first frame's page
        f.write(b"\x5a" * 16)
    text = refused(data)
    assert "is damaged" in text and "fails its checksum" in text


# -- shutdown ------------------------------------------------------------------------------------


def _browser_row(frame: int, episode: int = 0, last: bool = False) -> dict:
    return {"episode": episode, "frame": frame, "agent": "walker", "action": 1, "keys": [], "filled": True,
            "reward": 0.0, "terminated": False, "truncated": last, "t_client": 1.0, "late_ms": 0.0}


def test_sigterm_mid_game_ends_the_server_game_moves_its_player_on_and_exits_0(backend):
    """The server game ends "interrupted" and its player moves on; the browser game goes on in the
    browser (docs/browser-runtime.md) and ends "completed" after the restart, every row stored.
    On both backends (the data in the folder, or in PostgreSQL)."""
    data = backend.folder
    server = serve(data, WALK, BRIEF, database=backend.url)

    def query(_, sql):
        return backend.query(sql)

    async def before_the_stop():
        on_server, in_browser = Client(server.url, "_walk"), Client(server.url, "_brief")
        await on_server.into_game()
        game = await in_browser.into_game()
        assert game["runtime"] == "browser"
        ack = await in_browser.sio.call("rows", {"game": game["game"], "batch": 0, "rows": to_json(
            [_browser_row(f) for f in range(10)])}, timeout=10)
        assert ack["ok"], ack
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        told = await on_server.view()  # pushed while still connected
        for c in (on_server, in_browser):
            await c.sio.disconnect()
        return told, game["game"], in_browser.identity

    try:
        told, browser_game, identity = asyncio.run(before_the_stop())
        server.process.wait(timeout=60)
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert (told["kind"], told["reason"]) == ("paused", "the server is stopping")
    assert query(data, "select runtime, outcome from games order by runtime") == \
        [("browser", None), ("server", "interrupted")]
    # The server game's player moved on past it (step 2), which is left; it has the event.
    (position,), = query(data, "select position from participants where experiment = '_walk'")
    assert json.loads(position)["index"] == 3 and json.loads(position)["game"] is None
    assert query(data, "select count(*) from events where kind = 'game_interrupted'") == [(1,)]
    assert not os.path.exists(os.path.join(data, "mugkit.running"))
    assert "stopped; the data are in" in "".join(server.output)

    again = serve(data, WALK, BRIEF, database=backend.url)

    async def after_the_restart():
        back = Client(again.url, "_brief", identity)
        await back.connect()
        assert (await back.view("game"))["game"] == browser_game  # the same game goes on
        rows = [_browser_row(f, 0, f == 20) for f in range(10, 21)] + [_browser_row(f, 1, f == 20) for f in range(21)]
        ack = await back.sio.call("rows", {"game": browser_game, "batch": 1, "rows": to_json(rows)}, timeout=10)
        over = await back.sio.call("game_over", {"game": browser_game}, timeout=10)
        await back.sio.disconnect()
        return ack, over

    try:
        ack, over = asyncio.run(after_the_restart())
    finally:
        again.stop()
    assert again.process.returncode == 0
    assert ack["last"] == [1, 20] and over == {"ok": True}
    assert query(data, f"select outcome from games where game_id = '{browser_game}'") == [("completed",)]
    assert query(data, "select episode, count(*) from steps where game_id = ? group by episode order by episode".replace(
        "?", f"'{browser_game}'")) == [(0, 21), (1, 21)]


# -- a full disk ---------------------------------------------------------------------------------

LONG = os.path.join(HERE, "studies", "_long.py")


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MiB file system (tmpfs; needs root) that fills up."""
    disk = str(tmp_path / "disk")
    os.makedirs(disk)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root needed): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", disk], check=False)


def fill(disk: str) -> str:
    """Fills the file system with one file; returns its path."""
    path = os.path.join(disk, "filler")
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\1" * 65536)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\1" * 512)
        except OSError:
            pass
    return path


def test_a_full_disk_pauses_the_study_ends_the_game_with_its_outcome_and_it_goes_on_once_freed(small_disk):
    import urllib.request

    data = os.path.join(small_disk, "data")
    server = start_server([LONG, BRIEF], data, seed=3, cwd=ROOT, timeout=60)

    async def main():
        c, b = Client(server.url, "_long"), Client(server.url, "_brief")
        await c.connect()
        game = await c.view("game")
        browser_game = await b.into_game()
        await asyncio.sleep(0.5)  # frames are stored
        filler = fill(small_disk)
        rows = asyncio.ensure_future(b.sio.call("rows", {"game": browser_game["game"], "batch": 0, "rows": to_json(
            [_browser_row(0), _browser_row(1)])}, timeout=60))
        paused = await c.view("paused")  # not a frozen game
        admin = json.load(urllib.request.urlopen(urllib.request.Request(f"{server.url}/admin/live.json", headers={
            "X-Mugkit-Token": server.token}), timeout=10))  # what the live admin page shows in its banner
        waiting = not rows.done() and b.views.empty()  # the browser game goes on; its rows wait for the disk
        os.remove(filler)
        after = await c.view()
        while after["kind"] == "paused":  # (the game's end, stored once the disk took it, says so again)
            after = await c.view()
        acked = await rows
        for client in (b, c):
            await client.sio.disconnect()
        return game, paused, admin, waiting, after, acked

    try:
        game, paused, admin, waiting, after, acked = asyncio.run(main())
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert after["kind"] == "survey"  # the study went on by itself, at the next step
    assert paused["reason"] == "storage" and "cannot save" in paused["html"]
    assert admin["paused"] == "storage" and "full" in admin["paused_text"]
    assert waiting and acked["ok"] and acked["last"] == [0, 1]
    log = "".join(server.output)
    assert "the study is paused: the storage cannot write" in log and "disk is full" in log
    assert query(data, "select game_id, outcome from games where runtime = 'server'") == \
        [(game["game"], "storage_failed")]
    frames = [f for f, in query(data, "select frame from steps where game_id = '%s' order by frame" % game["game"])]
    assert frames == list(range(len(frames))) and len(frames) > 5  # no gap: every row streamed is stored
    assert query(data, "select count(*) from steps where game_id != '%s'" % game["game"]) == [(2,)]


def test_writes_beyond_the_bound_wait_for_room_and_none_is_lost(small_disk, monkeypatch):
    import mugkit.web.storage.sqlite as sqlite_storage
    from mugkit.web.storage import SQLiteStorage

    monkeypatch.setattr(sqlite_storage, "MAX_PENDING_WRITES", 10)

    async def main():
        storage = SQLiteStorage.in_folder(os.path.join(small_disk, "data"))
        await storage.start()
        filler = fill(small_disk)
        writes = [asyncio.ensure_future(storage.set_meta(f"k{i}", "v" * 100)) for i in range(50)]
        while storage.failure is None:  # the writer met the full disk
            await asyncio.sleep(0.05)
        held = (storage.waiting_writes, storage.pending_writes, any(w.done() for w in writes))
        os.remove(filler)
        await asyncio.gather(*writes)
        stored = [await storage.get_meta(f"k{i}") for i in range(50)]
        await storage.close()
        return held, stored, storage.failure

    (waiting, queued, any_done), stored, failure = asyncio.run(main())
    assert waiting == 40 and queued <= 10 and not any_done  # 10 in the queue, 40 waiting for room
    assert stored == ["v" * 100] * 50 and failure is None


@pytest.mark.browser
def test_a_browser_game_on_a_full_disk_shows_saving_and_every_row_arrives_once_freed(small_disk):
    """Real Chromium, the game in Pyodide: its rows wait on the page ("Saving…") while the disk is
    full, and all arrive once it is freed."""
    import time

    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    data = os.path.join(small_disk, "data")
    server = start_server([BRIEF], data, seed=5, cwd=ROOT, timeout=60)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(f"{server.url}/_brief/")
            page.click("button.mk-button")
            page.click("button[data-answer='agree']")
            page.wait_for_selector("body[data-view=game]")
            filler = fill(small_disk)  # while Pyodide loads: the game's rows meet a full disk
            from browser_data import through_screens   # tests/web, on the path (conftest.py)

            through_screens(page, ".mk-saving:not([hidden])", timeout=90_000)   # "ready", then play
            shots = os.path.join(ROOT, "tests", "web", "screenshots")  # not committed (its .gitignore)
            os.makedirs(shots, exist_ok=True)
            if not os.path.exists(os.path.join(shots, ".gitignore")):
                with open(os.path.join(shots, ".gitignore"), "w") as f:
                    f.write("*\n")
            page.screenshot(path=os.path.join(shots, "security-saving.png"))
            kept = page.evaluate("Object.keys(localStorage).filter((k) => k.includes(':outbox:')).length")
            os.remove(filler)
            deadline = time.monotonic() + 60  # a bound on waiting, not a timed assertion
            while time.monotonic() < deadline and query(data, "select outcome from games") != [("completed",)]:
                time.sleep(0.2)
            browser.close()
    finally:
        server.stop()
    assert kept == 1  # the page kept its unacknowledged rows meanwhile
    assert query(data, "select outcome from games where runtime = 'browser'") == [("completed",)]
    frames = query(data, "select episode, count(distinct frame), max(frame) from steps group by episode")
    assert [(e, n == top + 1) for e, n, top in frames] == [(0, True), (1, True)]  # every frame, once


# -- exports -------------------------------------------------------------------------------------


def test_participant_text_cannot_become_a_formula_in_csv_exports_and_parquet_keeps_it(tmp_path):
    import csv
    import io
    import urllib.request

    import pandas as pd

    from mugkit.web.export import csv_safe

    data = str(tmp_path / "data")
    server = serve(data)
    agent = '=HYPERLINK("http://evil.example","x")'  # the user agent is the participant's raw text

    async def main():
        c = Client(server.url, "_walk")
        await c.sio.connect(server.url, transports=["websocket"], socketio_path="socket.io", headers={"User-Agent": agent},
                            auth={"experiment": "_walk", "query": {}})
        await c.view("page")
        await c.sio.disconnect()

    try:
        asyncio.run(main())
        admin = urllib.request.urlopen(urllib.request.Request(f"{server.url}/admin/data/participants.csv", headers={
            "X-Mugkit-Token": server.token}), timeout=10).read().decode()
    finally:
        server.stop()
    row, = csv.DictReader(io.StringIO(admin))
    assert row["user_agent"] == "'" + agent

    for fmt in ("csv", "parquet"):
        done = subprocess.run([sys.executable, "-m", "mugkit.cli", "data", "export", data, "--format", fmt,
                               "--out", str(tmp_path / fmt)], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
    exported = pd.read_csv(tmp_path / "csv" / "participants.csv", dtype=str, keep_default_na=False).iloc[0]
    assert exported.user_agent == "'" + agent
    raw = pd.read_parquet(tmp_path / "parquet" / "participants.parquet").iloc[0]
    assert raw.user_agent == agent
    assert [csv_safe(v) for v in ("-3.5", "+7", "plain", "\r=1", "@SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "\t5", 12)] == \
        ["-3.5", "+7", "plain", "'\r=1", "'@SUM(1,2)", "'-2+3+cmd|' /C calc'!A0", "'\t5", 12]
