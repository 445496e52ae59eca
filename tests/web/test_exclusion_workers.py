"""An exclusion decided on one server process of a game another process runs (``--workers 2``):
the owner of the game ends it (mugkit/web/remote.py forwards it), the excluded player's agent
does not play on in the other process."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from urllib.parse import urlsplit

import pytest

from serving import Browser
from test_workers import STROLL, process_of, rows, workers  # noqa: F401  (workers: the fixture)

pytestmark = pytest.mark.slow


class Admin:
    """The admin's controls over ONE kept-alive connection: every request reaches the same worker."""

    def __init__(self, server):
        parts = urlsplit(server.url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        self.token = server.token

    def process(self) -> str:
        """The worker this connection reaches."""
        self.connection.request("GET", "/admin/stats.json", headers={"X-Mugkit-Token": self.token})
        return json.loads(self.connection.getresponse().read())["process"]

    def exclude(self, pid: str) -> tuple[int, dict]:
        self.connection.request("POST", "/admin/exclude", body=json.dumps({"participant": pid}),
                                headers={"Content-Type": "application/json", "X-Mugkit-Token": self.token})
        reply = self.connection.getresponse()
        return reply.status, json.loads(reply.read())


def test_an_admin_exclusion_on_one_process_ends_the_game_another_process_runs(workers):  # noqa: F811
    server = workers(STROLL)

    async def main():
        admin, excluded, games, elsewhere = Admin(server), [], [], 0
        admins = await asyncio.to_thread(admin.process)
        for _ in range(16):  # each one's game runs where their socket landed; the admin's worker is fixed
            b = Browser(server.url, "_stroll")
            await b.connect()
            games.append((await b.view("game"))["game"])
            pid = b.identity["participant"]
            elsewhere += await process_of(server, pid) != admins
            reply = await asyncio.to_thread(admin.exclude, pid)
            assert reply == (200, {"ok": True, "participant": pid, "status": "excluded"}), reply
            ended = await b.view("ended")
            excluded.append((pid, ended))
            await b.close()
            if elsewhere:
                break
        return excluded, games, elsewhere

    excluded, games, elsewhere = asyncio.run(main())
    assert elsewhere, "no participant's game ran on the other process"
    for _ in range(100):  # the games end (a stroll lasts ten seconds when nobody stops it)
        outcomes = rows(server.data, "select game_id, outcome, outcome_reason from games")
        if all(o is not None for _, o, _ in outcomes):
            break
        time.sleep(0.2)
    assert sorted(outcomes) == sorted((g, "excluded", "admin") for g in games)
    stored = rows(server.data, "select participant_id, status, reason from participants")
    assert sorted(stored) == sorted((pid, "excluded", "admin") for pid, _ in excluded)
    assert all(view["status"] == "excluded" for _, view in excluded)
    assert rows(server.data, "select count(*) from events where kind = 'excluded'") == [(len(excluded),)]
