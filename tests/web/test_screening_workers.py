"""Entry screening with ``mugkit serve --workers 2`` and Redis: the process holding a participant's
socket takes their report and pings that socket itself (``sio.call`` through the Redis client
manager), and each process keeps the deadline of the screenings it showed."""

from __future__ import annotations

import os
import sqlite3

import pytest

from serving import ROOT, serve

pytestmark = pytest.mark.slow

SCREENED = os.path.join(ROOT, "tests", "loadtest", "studies", "_screened.py")


def test_bots_pass_and_fail_the_screening_on_two_worker_processes(tmp_path, redis_url):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = serve(SCREENED, data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", "t0ken-of-the-study"])
    try:
        report = run_loadtest(LoadTestConfig([SCREENED], 12, screen_fail=5, url=server.url, token=server.token,
                                             data=server.data, stuck_after=30, progress=False))
    finally:
        server.stop()
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"], d["lost_rows"]) == (12, 0, 0, 0), report.text()
    assert d["expected_exclusions"]["screened_out"] == 5 and report.ok
    with sqlite3.connect(os.path.join(server.data, "mugkit.sqlite")) as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM participants GROUP BY status").fetchall())
        rtts = [r for (r,) in db.execute("SELECT json_extract(detail, '$.rtt_median_ms') FROM events "
                                         "WHERE kind = 'screened'")]
    assert statuses == {"completed": 7, "screened_out": 5}
    assert len(rtts) == 7 and all(r is not None and 0 < r < 500 for r in rtts)
