"""`/metrics` and the admin controls with `mugkit serve --workers 2`: whichever process answers,
one scrape covers every process (each under its own ``process`` label) and the study's counts;
entries paused on one process are paused on all; an exclusion reaches the participant on either."""

import asyncio
import json
import os
import urllib.error
import urllib.request

import pytest

from serving import STUDIES, Browser, scrape, serve, total

pytestmark = pytest.mark.slow

PAIR = os.path.join(STUDIES, "..", "..", "loadtest", "studies", "_pair.py")
WATCHED = os.path.join(STUDIES, "_watched.py")
TOKEN = "t0ken-of-the-study"


def post(url: str, path: str, body: bytes) -> int:
    request = urllib.request.Request(url + path, data=body, method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status


@pytest.mark.timeout(300)
def test_one_scrape_covers_both_workers_and_a_pause_holds_on_both(tmp_path, redis_url):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    server = serve(PAIR, WATCHED, data=str(tmp_path / "data"),
                   extra=["--workers", "2", "--redis", redis_url, "--admin-token", TOKEN])
    try:
        report = run_loadtest(LoadTestConfig([PAIR], 8, url=server.url, token=server.token, data=server.data,
                                             progress=False))
        assert report.ok and report.data["completed"] == 8, report.data["failures"]
        for _ in range(6):  # any worker may take the request: each answers for both
            m = scrape(server.url, TOKEN)
            processes = {labels["process"] for labels, v in m["mugkit_process_up"] if v == 1}
            assert len(processes) == 2, m["mugkit_process_up"]
            assert {labels["process"] for labels, _ in m["mugkit_games_active"]} == processes
            assert total(m, "mugkit_tick_lateness_seconds_count") == 4 * 30   # 4 pair games, summed over both
            assert total(m, "mugkit_participants", experiment="_pair", status="completed") == 8
            assert not [labels for labels, _ in m["mugkit_participants"] if "process" in labels]  # the study's

        assert post(server.url, "/admin/entries", b'{"paused": true}') == 200

        async def arrivals() -> list[str]:
            kinds = []
            for _ in range(6):  # new connections land on either worker
                b = Browser(server.url, "_watched")
                await b.connect()
                kinds.append((await b.view())["kind"])
                await b.close()
            return kinds

        assert asyncio.run(arrivals()) == ["refused"] * 6
        assert all(total(scrape(server.url, TOKEN), "mugkit_entries_paused") == 1 for _ in range(4))
        assert post(server.url, "/admin/entries", b'{"paused": false}') == 200
        assert asyncio.run(arrivals()) == ["waitroom"] * 6

        async def excluded_wherever_they_are() -> None:
            for n in range(3):  # the request and the participant's socket land on either worker
                b = Browser(server.url, "_watched")
                await b.connect()
                assert (await b.view())["kind"] == "waitroom"
                body = ('{"participant": "%s", "text": "Excluded %d."}' % (b.identity["participant"], n)).encode()
                assert await asyncio.to_thread(post, server.url, "/admin/exclude", body) == 200
                view = await b.view("ended")
                assert f"Excluded {n}." in view["html"] and view["code"] == "WATCHED-EXCL"
                await b.close()

        asyncio.run(excluded_wherever_they_are())
        m = scrape(server.url, TOKEN)
        assert total(m, "mugkit_exclusions_total", reason="admin") == 3   # counted where each was excluded
        assert total(m, "mugkit_participants", experiment="_watched", status="excluded") == 3
    finally:
        server.stop()


@pytest.mark.timeout(300)
def test_with_redis_down_the_admin_says_so_and_metrics_still_answer_for_this_process(tmp_path):
    from redis_server import RedisServer

    redis = RedisServer().start()
    server = serve(WATCHED, data=str(tmp_path / "data"), extra=["--redis", redis.url, "--admin-token", TOKEN])
    try:
        async def one_waiting() -> str:
            b = Browser(server.url, "_watched")
            await b.connect()
            assert (await b.view())["kind"] == "waitroom"
            await b.close()
            return b.identity["participant"]

        pid = asyncio.run(one_waiting())
        redis.stop()
        body = ('{"participant": "%s"}' % pid).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(server.url, "/admin/exclude", body)
        assert refused.value.code == 503 and "does not answer" in json.loads(refused.value.read())["error"]
        with pytest.raises(urllib.error.HTTPError) as live:
            urllib.request.urlopen(urllib.request.Request(f"{server.url}/admin/live.json",
                                                          headers={"Authorization": f"Bearer {TOKEN}"}), timeout=30)
        assert live.value.code == 503
        m = scrape(server.url, TOKEN)          # this process's figures, and the study's from the database
        assert total(m, "mugkit_process_up") == 1 and total(m, "mugkit_participants", status="active") == 1
        redis.start()
        assert post(server.url, "/admin/exclude", body) == 200    # nothing was done before: now it is
    finally:
        server.stop()
        redis.close()
