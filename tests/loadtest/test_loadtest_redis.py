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
    assert client.smembers(prefix + "games") == set()  # every game released
