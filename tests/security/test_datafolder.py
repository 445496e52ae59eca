"""The data folder cannot be swapped or damaged behind the server's back, a stop ends every game
properly, a full disk pauses the study, and exported CSV cells cannot run as formulas.

Real `mugkit serve` processes (mugkit.loadtest.server.start_server), real SQLite files, real
socket.io clients."""

from __future__ import annotations

import asyncio
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


def serve(data: str, *paths: str, seed: int = 7):
    return start_server(list(paths or [WALK]), data, seed=seed, cwd=ROOT, timeout=60)


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

    def __init__(self, url: str, experiment: str):
        import socketio

        self.url, self.experiment = url, experiment
        self.sio = socketio.AsyncClient(reconnection=False)
        self.views: asyncio.Queue = asyncio.Queue()
        self.sio.on("view", self.views.put)

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io",
                               auth={"experiment": self.experiment, "query": {}})

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


def _browser_row(frame: int) -> dict:
    return {"episode": 0, "frame": frame, "agent": "walker", "action": 1, "keys": [], "filled": True,
            "reward": 0.0, "terminated": False, "truncated": False, "t_client": 1.0, "late_ms": 0.0}


def test_sigterm_mid_game_ends_every_game_moves_the_players_on_and_exits_0(tmp_path):
    data = str(tmp_path / "data")
    server = serve(data, WALK, BRIEF)

    async def main():
        on_server, in_browser = Client(server.url, "_walk"), Client(server.url, "_brief")
        await on_server.into_game()
        game = await in_browser.into_game()
        assert game["runtime"] == "browser"
        ack = await in_browser.sio.call("rows", {"game": game["game"], "batch": 0,
                                                 "rows": to_json([_browser_row(0), _browser_row(1)])}, timeout=10)
        assert ack["ok"], ack
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        told = [await on_server.view(), await in_browser.view()]  # pushed while still connected
        for c in (on_server, in_browser):
            await c.sio.disconnect()
        return told

    try:
        told = asyncio.run(main())
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert [(v["kind"], v["reason"]) for v in told] == [("paused", "the server is stopping")] * 2
    # Each moved on: past its game (step 2 of both flows), which is left.
    assert query(data, "select experiment, position from participants order by experiment") == \
        [("_brief", '{"index":3,"game":null}'), ("_walk", '{"index":3,"game":null}')]
    assert query(data, "select runtime, outcome from games order by runtime") == \
        [("browser", "interrupted"), ("server", "interrupted")]
    assert query(data, "select count(*) from events where kind = 'game_interrupted'") == [(2,)]
    assert not os.path.exists(os.path.join(data, "mugkit.running"))
    assert "stopped cleanly" in "".join(server.output)
