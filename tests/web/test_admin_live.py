"""The live admin page's data and controls, and /metrics, against a real `mugkit serve`; the
attacks on them (no token, a wrong one, a forged CSRF token, another site, an unknown participant,
excluding twice) are kept as tests."""

import asyncio
import json
import os
import re
import urllib.error
import urllib.request

import pytest

from browser_data import query
from prometheus_client.parser import text_string_to_metric_families

from serving import STUDIES, Browser, scrape, serve, total

WATCHED = os.path.join(STUDIES, "_watched.py")
TOKENS = ["--admin-token", "alice=alice-token-0123", "--admin-token", "bob=bob-token-4567"]


@pytest.fixture
def watched(tmp_path):
    served = serve(WATCHED, data=str(tmp_path / "data"), extra=TOKENS)
    yield served
    served.stop()


def request(url: str, method: str = "GET", body=None, headers: dict | None = None) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    headers = {**({"content-type": "application/json"} if body is not None else {}), **(headers or {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method)) as r:
            text = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        text, status = e.read().decode(), e.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Admin:
    """An admin's browser session: the cookie, and the CSRF token of the page it opened."""

    def __init__(self, url: str, token: str):
        self.url, self.cookie = url, f"mugkit_admin={token}"
        status, page = request(url + "/admin", headers={"cookie": self.cookie})
        assert status == 200, page
        self.csrf = re.search(r"name=mugkit-csrf content='([0-9a-f]+)'", page).group(1)

    def post(self, path: str, body, **headers) -> tuple[int, dict]:
        return request(self.url + path, "POST", body, {"cookie": self.cookie, "x-mugkit-csrf": self.csrf,
                                                        "origin": self.url, **headers})

    def live(self) -> dict:
        return request(self.url + "/admin/live.json", headers={"cookie": self.cookie})[1]




def events(data: str, pid: str, kind: str) -> list[dict]:
    return [json.loads(d) for (d,) in query(data, "select detail from events where participant_id = ? and kind = ?",
                                            pid, kind)]


async def waiting(url: str) -> tuple[Browser, str]:
    """A participant alone in the game's waitroom: their browser and id."""
    b = Browser(url, "_watched")
    await b.connect()
    view = await b.view()
    assert view["kind"] == "waitroom", view
    return b, b.identity["participant"]


def test_the_admin_endpoints_refuse_whoever_is_not_an_admin_or_comes_from_another_site(watched):
    async def scenario():
        b, pid = await waiting(watched.url)
        url = watched.url
        for path in ("/metrics", "/admin/metrics", "/admin/live.json"):
            assert request(url + path)[0] == 403, path                                              # no token
            assert request(url + path, headers={"authorization": "Bearer wrong-token-000"})[0] == 403, path
            assert request(url + path, headers={"cookie": "mugkit_admin=wrong-token-000"})[0] == 403, path
        for path in ("/admin/exclude", "/admin/end", "/admin/entries"):
            assert request(url + path, "POST", {"participant": pid, "paused": True})[0] == 403, path
            assert request(url + path, "POST", {"participant": pid, "paused": True},
                           {"x-mugkit-token": "wrong-token-000"})[0] == 403, path
        alice = Admin(url, "alice-token-0123")
        forged = [{"x-mugkit-csrf": ""}, {"x-mugkit-csrf": "0" * 32},
                  {"x-mugkit-csrf": Admin(url, "bob-token-4567").csrf},    # bob's page's token, alice's cookie
                  {"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"},
                  {"sec-fetch-site": "same-site", "origin": "http://sub.evil.example"}]
        for headers in forged:
            status, reply = alice.post("/admin/exclude", {"participant": pid}, **headers)
            assert status == 403 and not reply["ok"], (headers, reply)
            status, reply = alice.post("/admin/entries", {"paused": True}, **headers)
            assert status == 403, (headers, reply)
        # A form post (another site's <form> can send one, without the headers): refused too.
        assert request(url + "/admin/exclude", "POST", b"participant=" + pid.encode(),
                       {"cookie": alice.cookie, "content-type": "application/x-www-form-urlencoded"})[0] == 403
        assert query(watched.data, "select status from participants where participant_id = ?", pid) == [("active",)]
        assert alice.live()["entries"]["paused"] is False
        # Bad input: a clear error, nothing done.
        assert alice.post("/admin/exclude", {"participant": "p-nobody"}) == (404, {"ok": False,
                                                                                    "error": "no participant 'p-nobody'"})
        assert alice.post("/admin/exclude", {"participant": 7})[0] == 400
        assert alice.post("/admin/exclude", {"participant": pid, "text": "x" * 1001})[0] == 400
        assert alice.post("/admin/entries", {"paused": "yes"})[0] == 400
        status, reply = request(url + "/admin/exclude", "POST", b"not json", {"cookie": alice.cookie,
                                "x-mugkit-csrf": alice.csrf, "content-type": "application/json"})
        assert status == 400 and "send a JSON object" in reply["error"]
        await b.close()

    asyncio.run(scenario())


def test_an_admin_excludes_a_participant_once_and_it_is_recorded_with_their_name(watched):
    async def scenario():
        b, pid = await waiting(watched.url)
        alice = Admin(watched.url, "alice-token-0123")
        assert [p["participant"] for p in alice.live()["participants"]] == [pid]
        status, reply = alice.post("/admin/exclude", {"participant": pid, "text": "You kept leaving the page."})
        assert (status, reply) == (200, {"ok": True, "participant": pid, "status": "excluded"})
        view = await b.view("ended")
        assert "You kept leaving the page." in view["html"] and view["code"] == "WATCHED-EXCL"
        assert query(watched.data, "select status, outcome_code, reason, reason_text from participants "
                                   "where participant_id = ?", pid) == [
            ("excluded", "WATCHED-EXCL", "admin", "You kept leaving the page.")]
        assert events(watched.data, pid, "excluded") == [{"reason": "admin", "text": "You kept leaving the page.",
                                                         "by": "alice"}]
        # Twice: refused, nothing more stored. Header scripts need no CSRF token, and are named too.
        status, reply = request(watched.url + "/admin/exclude", "POST", {"participant": pid},
                                {"authorization": "Bearer bob-token-4567"})
        assert status == 409 and "already finished (excluded)" in reply["error"]
        assert len(events(watched.data, pid, "excluded")) == 1
        live = alice.live()
        assert live["participants"] == [] and live["excluded"] == 1
        assert live["exclusions"][0] | {"at": None} == {"participant": pid, "experiment": "_watched",
                                                         "status": "excluded", "reason": "admin", "step": "duo",
                                                         "text": "You kept leaving the page.", "at": None}
        assert [(a["by"], a["action"], a["participant"]) for a in live["actions"]] == [("alice", "exclude", pid)]
        m = scrape(watched.url, "bob-token-4567")
        assert total(m, "mugkit_exclusions_total", status="excluded", reason="admin") == 1
        status, text = request(watched.url + "/admin/metrics", headers={"cookie": alice.cookie})  # the page's link
        assert status == 200 and list(text_string_to_metric_families(text))
        assert total(m, "mugkit_participants", experiment="_watched", status="excluded") == 1
        await b.close()

    asyncio.run(scenario())


def test_an_admin_ends_a_wait_and_pauses_new_entries_while_those_in_go_on(watched):
    async def scenario():
        b, pid = await waiting(watched.url)
        bob = Admin(watched.url, "bob-token-4567")
        assert bob.live()["participants"][0]["waiting"] is True
        assert bob.post("/admin/end", {"participant": pid}) == (200, {"ok": True, "participant": pid,
                                                                      "status": "timed_out"})
        view = await b.view("completion")
        assert view["code"] == "WATCHED-TIME"
        assert query(watched.data, "select status, outcome_code from participants where participant_id = ?",
                     pid) == [("timed_out", "WATCHED-TIME")]
        assert events(watched.data, pid, "admin_ended") == [{"by": "bob"}]
        status, reply = bob.post("/admin/end", {"participant": pid})   # not waiting any more
        assert status == 409 and "not waiting" in reply["error"]

        first, first_id = await waiting(watched.url)                    # in before the pause
        # Behind a proxy that sets X-Forwarded-Host, the page's own origin is still this server's.
        behind_proxy = {"origin": "https://study.example.org", "x-forwarded-host": "study.example.org"}
        assert bob.post("/admin/entries", {"paused": True}, **behind_proxy) == (200, {"ok": True, "paused": True})
        assert total(scrape(watched.url, "alice-token-0123"), "mugkit_entries_paused") == 1
        late = Browser(watched.url, "_watched")
        await late.connect()
        refused = await late.view("refused")
        assert "not taking new participants now" in refused["html"]
        assert "participant" not in late.identity
        await late.close()
        # Those already in go on: a reload keeps their place, and they are matched and play.
        await first.close()
        again = Browser(watched.url, "_watched", identity=first.identity)
        await again.connect()
        assert (await again.view())["kind"] == "waitroom"
        assert bob.post("/admin/entries", {"paused": False}) == (200, {"ok": True, "paused": False})
        partner, _ = await (asyncio.wait_for(_matched(watched.url), 20))
        assert (await again.view())["kind"] == "game"
        live = bob.live()
        assert [(a["by"], a["action"]) for a in live["actions"]] == [
            ("bob", "resume_entries"), ("bob", "pause_entries"), ("bob", "end_waiting")]
        assert live["entries"]["paused"] is False and live["entries"]["by"] == "bob"
        await partner.close()
        await again.close()

    asyncio.run(scenario())


async def _matched(url: str) -> tuple[Browser, dict]:
    b = Browser(url, "_watched")
    await b.connect()
    view = await b.view()
    while view["kind"] != "game":
        view = await b.view()
    return b, view


def test_json_logs_name_the_participant_and_the_game(tmp_path):
    served = serve(WATCHED, data=str(tmp_path / "data"), extra=["--log-format", "json"])
    try:
        async def two_play():
            a, _ = await waiting(served.url)
            b, view = await _matched(served.url)
            while (await b.view())["kind"] != "completion":
                pass
            await a.close()
            await b.close()
            return a.identity["participant"], b.identity["participant"], view["game"]

        pa, pb, game = asyncio.run(two_play())
    finally:
        served.stop()
    logs = [json.loads(line) for line in served.output if line.startswith("{")]
    assert not [line for line in served.output if re.match(r"\d{4}-\d\d-\d\d .* (INFO|WARNING|ERROR) ", line)]
    assert all({"t", "level", "logger", "msg"} <= set(entry) for entry in logs)
    arrived = {entry["participant"] for entry in logs if "arrived" in entry["msg"]}
    assert arrived == {pa, pb}
    started = [entry for entry in logs if entry["msg"].startswith(f"game {game}:") and "started" in entry["msg"]]
    assert started and started[0]["game"] == game and started[0]["participant"] in (pa, pb)
    over = [entry for entry in logs if entry["msg"].startswith(f"game {game}: over")]
    assert over and over[0]["game"] == game and over[0]["logger"] == "mugkit.study"
    finished = [entry for entry in logs if "completed (code WATCHED-OK)" in entry["msg"]]
    assert {entry["participant"] for entry in finished} == {pa, pb}


def test_bad_log_formats_and_admin_tokens_are_clear_errors(tmp_path):
    import subprocess
    import sys

    def run(*args, env=None):
        return subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", WATCHED, "--data", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})

    got = run(env={"MUGKIT_LOG_FORMAT": "xml"})
    assert got.returncode == 2 and "MUGKIT_LOG_FORMAT 'xml': use one of text, json" in got.stderr
    got = run("--admin-token", "carol=short")
    assert got.returncode == 2 and "the token must have at least 8 characters" in got.stderr
    got = run("--admin-token", "a=same-token-1", "--admin-token", "b=same-token-1")
    assert got.returncode == 2 and "the same token is given for a and b" in got.stderr
