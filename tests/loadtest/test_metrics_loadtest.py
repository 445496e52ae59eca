"""`/metrics` scraped during a small load test, every answer parsed by prometheus_client's own
parser, and its counts matching the load test's report."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request

import pytest

from mugkit.loadtest import LoadTestConfig, run_loadtest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BRIEF, PAIR = (os.path.join(HERE, "studies", f"_{n}.py") for n in ("brief", "pair"))
sys.path.insert(0, os.path.join(ROOT, "tests", "web"))

from serving import scrape, serve, total  # noqa: E402


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(300)
def test_metrics_during_a_load_test_match_its_report(tmp_path):
    served = serve(BRIEF, PAIR, data=str(tmp_path / "data"))
    scrapes: list = []
    done = threading.Event()

    def keep_scraping() -> None:
        while not done.is_set():
            scrapes.append(scrape(served.url, served.token))  # an answer the parser refuses fails here
            time.sleep(0.3)

    scraper = threading.Thread(target=keep_scraping)
    scraper.start()
    try:
        report = run_loadtest(LoadTestConfig([BRIEF, PAIR], 10, url=served.url, token=served.token,
                                             data=served.data, rate=10, progress=False))
        done.set()
        scraper.join(30)
        final = scrape(served.url, served.token)
        stats = urllib.request.urlopen(urllib.request.Request(f"{served.url}/admin/stats.json",
                                                              headers={"x-mugkit-token": served.token})).read()
    finally:
        done.set()
        served.stop()
    d = report.data
    assert report.ok and d["completed"] == 10, d["failures"]
    assert len(scrapes) >= 5
    # Participants by state: the report's counts per experiment, all completed.
    for experiment, n in d["experiments"].items():
        assert total(final, "mugkit_participants", experiment=experiment, status="completed") == n, experiment
    assert total(final, "mugkit_participants") == d["bots"] == 10
    # Games were seen running, by runtime; none runs now, and nobody is connected.
    assert max(total(s, "mugkit_games_active", runtime="server") for s in scrapes) >= 1
    assert max(total(s, "mugkit_games_active", runtime="browser") for s in scrapes) >= 1
    assert total(final, "mugkit_games_active") == 0 and total(final, "mugkit_participants_connected") == 0
    # Every tick of the server games: 6 brief games of 40 ticks and 2 pair games of 30 (frames after
    # the first), as the audit counted their rows; the histogram and stats.json agree.
    ticks = total(final, "mugkit_tick_lateness_seconds_count")
    assert ticks == 6 * 40 + 2 * 30
    assert total(final, "mugkit_tick_lateness_seconds_bucket", le="+Inf") == ticks
    import json

    assert json.loads(stats)["late_all_ms"]["ticks"] == ticks
    buckets = [v for labels, v in final["mugkit_tick_lateness_seconds_bucket"]]
    assert buckets == sorted(buckets)                      # cumulative
    assert total(final, "mugkit_game_fps_count") >= 6      # a second of play or more per game
    assert total(final, "mugkit_exclusions_total") == 0 and total(final, "mugkit_errors_total") == 0
    assert total(final, "mugkit_write_queue", state="queued") == 0
    assert total(final, "mugkit_writes_total") > 0
    assert total(final, "mugkit_process_up") == 1
