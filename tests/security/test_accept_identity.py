"""Acceptance attack on identity (issue 14): a study link with the ids of two panels. The first
panel's id was used and the second stored unchecked and unnormalised next to it — another
person's MTurk worker id, with an invisible character, in the data a researcher pays or
deduplicates by. Such a link now starts nothing and stores nothing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from race import RACE
from serving import Browser, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(RACE, data=str(tmp_path_factory.mktemp("accept_identity") / "data"))
    yield server
    server.stop()


def test_a_link_with_two_panels_ids_starts_nothing_and_stores_nothing(served):
    victim = "A1VICTIM00042"
    link = {"PROLIFIC_PID": "a" * 24, "SESSION_ID": "s", "workerId": victim.lower() + "\u200b",
            "assignmentId": "ATTACK", "hitId": "H"}

    async def main():
        attacker = Browser(served.url, "_race", link)
        await attacker.connect()
        view = await attacker.view()
        await attacker.close()
        real = Browser(served.url, "_race", {"workerId": victim, "assignmentId": "REAL", "hitId": "H"})
        await real.connect()
        real_view = await real.view()
        await real.close()
        return view, attacker.identity, real_view

    view, identity, real_view = asyncio.run(main())
    assert view["kind"] == "refused" and "ids of two panels (PROLIFIC_PID and workerId)" in view["html"]
    assert identity == {}
    assert real_view["kind"] == "consent"          # the real worker starts as usual
    with sqlite3.connect(f"file:{served.data}/mugkit.sqlite?mode=ro", uri=True) as db:
        assert db.execute("select prolific_pid, worker_id from participants").fetchall() == [(None, victim)]
