"""A study served with its shared state in Redis (`mugkit serve --redis URL`), played to the end by
protocol bots, and a Redis restarted under a running study."""

from __future__ import annotations

import json
import os

import pytest

from mugkit.loadtest import LoadTestConfig, run_loadtest
from mugkit.loadtest.server import start_server

HERE = os.path.dirname(os.path.abspath(__file__))
STUDIES = os.path.join(HERE, "studies")
BRIEF, PAIR = (os.path.join(STUDIES, f"_{n}.py") for n in ("brief", "pair"))


def study_id(data: str) -> str:
    with open(os.path.join(data, "mugkit-study.json")) as f:
        return json.load(f)["study_id"]


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_a_study_served_with_redis_is_played_to_the_end_and_its_counters_are_in_redis(tmp_path, redis_url):
    import redis

    data = str(tmp_path / "data")
    server = start_server([BRIEF, PAIR], data, extra=["--redis", redis_url])
    try:
        report = run_loadtest(LoadTestConfig([BRIEF, PAIR], 8, url=server.url, token=server.token, data=data,
                                             rate=10, stuck_after=30, progress=False))
    finally:
        server.stop()
    d = report.data
    assert report.ok and d["completed"] == 8, d["failures"]
    assert d["lost_rows"] == 0 and d["audit"]["lost"] == {} and d["audit"]["checked"]["steps"] > 0, d["audit"]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"mugkit:{{{study_id(data)}}}:"
    arrivals = {k: client.hgetall(k) for k in client.keys(prefix + "count:arrivals:*")}
    assert sum(int(v) for counts in arrivals.values() for v in counts.values()) == 8, arrivals


def _count_arrivals(client, prefix: str) -> int:
    return sum(int(v) for k in client.keys(prefix + "count:arrivals:*") for v in client.hgetall(k).values())


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_a_redis_restart_under_a_running_study_is_waited_out_and_nothing_is_lost(tmp_path, redis_server):
    """Redis is killed mid-run and comes back empty a second later: the server logs it, waits
    for it, puts back what it held (leases, waitrooms), counts the arrivals again from the
    database, and every bot completes with every row stored."""
    import threading
    import time

    import redis

    data = str(tmp_path / "data")
    server = start_server([BRIEF, PAIR], data, extra=["--redis", redis_server.url])
    reports = []
    try:
        bots = threading.Thread(target=lambda: reports.append(run_loadtest(LoadTestConfig(
            [BRIEF, PAIR], 12, url=server.url, token=server.token, data=data, rate=3, stuck_after=40,
            progress=False))))
        bots.start()
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        prefix = f"mugkit:{{{study_id(data)}}}:"
        deadline = time.monotonic() + 60
        while _count_arrivals(client, prefix) < 4:  # a third of them are in
            assert time.monotonic() < deadline, server.output
            time.sleep(0.05)
        redis_server.stop()
        time.sleep(1.0)
        redis_server.start()
        bots.join(200)
        assert not bots.is_alive()
        arrivals = _count_arrivals(client, prefix)
    finally:
        server.stop()
    d = reports[0].data
    assert reports[0].ok and d["completed"] == 12, d["failures"]
    assert d["lost_rows"] == 0 and d["audit"]["lost"] == {}, d["audit"]
    assert arrivals == 12  # counted again from the database after the restart, then on
    output = "".join(server.output)
    assert f"the shared state at {redis_server.url} cannot be reached" in output
    assert f"the shared state at {redis_server.url} restarted empty" in output


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(300)
def test_a_long_redis_outage_is_reported_participants_are_told_to_retry_and_the_study_goes_on(tmp_path, redis_server):
    """Redis stays down longer than the server waits for it, while bots are mid-flow and others
    arrive: the server logs the failure naming the URL, messages are answered "try again" and
    arrivals "reload in a minute" (the bots do so, as participants would), and once Redis is back
    the study goes on: every bot completes, nothing is lost."""
    import threading
    import time

    import redis

    data = str(tmp_path / "data")
    server = start_server([BRIEF, PAIR], data, extra=["--redis", redis_server.url])
    reports = []
    try:
        bots = threading.Thread(target=lambda: reports.append(run_loadtest(LoadTestConfig(
            [BRIEF, PAIR], 10, url=server.url, token=server.token, data=data, rate=2, stuck_after=60,
            progress=False))))
        bots.start()
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        prefix = f"mugkit:{{{study_id(data)}}}:"
        deadline = time.monotonic() + 60
        while _count_arrivals(client, prefix) < 4:  # the others arrive while Redis is down
            assert time.monotonic() < deadline, server.output
            time.sleep(0.05)
        redis_server.stop()
        time.sleep(8.0)  # longer than the server waits for it (RETRY_SECONDS)
        redis_server.start()
        bots.join(250)
        assert not bots.is_alive()
    finally:
        server.stop()
    report = reports[0]
    d = report.data
    assert report.ok and d["completed"] == 10, d["failures"]
    assert d["lost_rows"] == 0 and d["audit"]["lost"] == {}, d["audit"]
    assert d["retried"] > 0  # the bots were told to try again (or to reload), and did
    output = "".join(server.output)
    assert f"refused with 'try again': the shared state at {redis_server.url} cannot be reached" in output, output


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("url, says", [
    ("redis://127.0.0.1:{port}/0", "the shared state at redis://127.0.0.1:{port}/0 cannot be reached"),
    ("http://127.0.0.1:{port}", "--redis http://127.0.0.1:{port}: Redis URL must specify one of"),
])
def test_serve_refuses_to_start_without_a_reachable_redis_and_says_why(tmp_path, url, says):
    import subprocess
    import sys

    from mugkit.loadtest.server import free_port

    port = free_port()  # nothing listens there
    done = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", PAIR, "--data", str(tmp_path / "data"),
                           "--port", str(free_port()), "--no-preflight", "--redis", url.format(port=port)],
                          capture_output=True, text=True, timeout=100)
    assert done.returncode == 2, done.stderr
    assert f"mugkit serve: refusing to start: {says.format(port=port)}" in done.stderr
