"""A load test on PostgreSQL (``--database``) across a restart of the database server: the
server's writes wait and are retried, the study goes on, every bot completes and the audit finds
every acknowledged row. (The load test on both backends: test_loadtest.py.)"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import psycopg
import pytest

from mugkit.loadtest import LoadTestConfig, run_loadtest

HERE = os.path.dirname(os.path.abspath(__file__))
BRIEF, PAIR = (os.path.join(HERE, "studies", f"_{n}.py") for n in ("brief", "pair"))


def steps_stored(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM steps").fetchone()[0]
    except psycopg.Error:  # the tables are not there yet
        return 0


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(300)
def test_a_database_restart_mid_run_loses_nothing_and_every_bot_completes(postgres_server, postgres_url):
    restarted = {}

    def restart_once_games_are_writing():
        while steps_stored(postgres_url) < 100:  # games are running and storing their frames
            time.sleep(0.2)
        restarted["before"] = steps_stored(postgres_url)
        postgres_server.restart()  # connections cut, transactions in progress rolled back
        restarted["at"] = time.time()

    thread = threading.Thread(target=restart_once_games_are_writing, daemon=True)
    thread.start()
    report = run_loadtest(LoadTestConfig([BRIEF, PAIR], 10, rate=2, stuck_after=60, progress=False,
                                         data=tempfile.mkdtemp(prefix="mugkit-pg-restart-"), database=postgres_url))
    thread.join(timeout=30)
    d = report.data
    assert "at" in restarted, "the database was not restarted during the run"
    with psycopg.connect(postgres_url) as conn:
        after = conn.execute("SELECT count(*) FROM steps WHERE t_server > %s", (restarted["at"],)).fetchone()[0]
    assert after > 0  # the games went on storing frames after the restart
    assert (d["completed"], d["failed"], d["stuck"]) == (10, 0, 0), report.text()
    assert d["lost_rows"] == 0 and d["audit"]["checked"]["steps"] > restarted["before"], d["audit"]
    assert report.ok
