"""Data nobody can forge, part 7: secrets, headers, the admin token, MTurk, page values.

Each test runs real ``mugkit serve`` processes and talks to them as an attacker would: over HTTP
(urllib, raw header bytes), over socket.io, and in Debian's Chromium where the browser matters.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from mugkit.games import game_seed
from mugkit.loadtest.server import start_server
from mugkit.web.headers import BLOCKED

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "web"))
from browser_data import enter_game, wait_loaded  # noqa: E402
from serving import WALK, Browser  # noqa: E402

pytestmark = pytest.mark.slow

ECHO = os.path.join(HERE, "studies", "_echo.py")
CATCH = os.path.join(ROOT, "experiments", "catch.py")
PACKAGES = "https://packages.example.org/pyodide/v0/full/"
SANDBOX = "https://workersandbox.mturk.com"
INJECTED = '<script>window.__pwned = "script"</script><img src="x" id="bait" onerror="window.__pwned = \'onerror\'">'


def serve(tmp_path, *paths: str, seed: int | None = None, data: str | None = None, extra: list[str] = ()):
    return start_server(list(paths), data or str(tmp_path / "data"), seed=seed, extra=list(extra), cwd=ROOT,
                        timeout=90)


def query(database: str, sql: str, *params) -> list:
    with sqlite3.connect(database) as db:
        return db.execute(sql, params).fetchall()


def stored_seed(database: str) -> int:
    (value,), = query(database, "select value from meta where key = 'study_seed'")
    return json.loads(value)


def printed_seed(server) -> int:
    line, = [x for x in server.output if x.startswith("mugkit serving")]
    return int(line.split("study seed ")[1])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, body) of a GET, redirects not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def raw_get(url: str, path: str, header: str, value: bytes) -> int:
    """The status of a GET whose ``header`` carries raw bytes (non-ASCII, as an attacker sends them)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("GET", path)
    conn.putheader(header, value)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def csp_of(headers: dict) -> dict:
    """The Content-Security-Policy header as directive -> sources."""
    policy = headers["content-security-policy"]
    return {d.split()[0]: d.split()[1:] for d in (x.strip() for x in policy.split(";")) if d}


# -- seeds -----------------------------------------------------------------------------------------

async def enter_walk_game(url: str) -> str:
    """A participant goes to the walk study's game; returns their id."""
    b = Browser(url, "_walk")
    await b.connect()
    await b.view("page")
    assert await b.call("advance", {"index": 0}) == {"ok": True}
    await b.view("consent")
    assert await b.call("advance", {"index": 1, "agree": True}) == {"ok": True}
    await b.view("game")
    await b.close()
    return b.identity["participant"]


def enter_two(url: str) -> list[str]:
    async def both():
        return await asyncio.gather(enter_walk_game(url), enter_walk_game(url))
    return asyncio.run(both())


def game_seeds(database: str, participants: list[str]) -> list[int]:
    seeds = dict(query(database, "select p.participant_id, g.seed from games g join players p using (game_id)"))
    return [seeds[pid] for pid in participants]


def recover_key(seed: int, participant: str, keys: range) -> int | None:
    """The attack: the study seed among ``keys`` that gives ``participant`` the game seed ``seed``."""
    return next((k for k in keys if game_seed(k, "_walk", "walk", participant) == seed), None)


def test_game_seeds_are_keyed_with_a_secret_128_bit_study_seed_that_a_restart_keeps(tmp_path):
    data = str(tmp_path / "data")
    server = serve(tmp_path, WALK, data=data)
    try:
        first, second = enter_two(server.url)
        study = stored_seed(server.database)
        seeds = game_seeds(server.database, [first, second])
    finally:
        server.stop()
    assert study.bit_length() > 100 and printed_seed(server) == study   # drawn (128 bits), stored, shown
    assert not [line for line in server.output if "can be guessed" in line]
    # Determinism: the same secret gives the same seeds; each is an HMAC keyed with it, not a hash of it.
    assert seeds == [game_seed(study, "_walk", "walk", pid) for pid in (first, second)]
    assert seeds[0] != seeds[1]
    # The old attack (search the seed space from one participant's game seed) finds nothing.
    assert recover_key(seeds[0], first, range(2**16)) is None

    again = serve(tmp_path, WALK, data=data)  # no --seed: the stored one
    try:
        third = asyncio.run(enter_walk_game(again.url))
        assert game_seeds(again.database, [third]) == [game_seed(study, "_walk", "walk", third)]
    finally:
        again.stop()
    assert printed_seed(again) == stored_seed(again.database) == study


def test_a_small_seed_still_replays_but_the_server_warns_that_it_can_be_guessed(tmp_path):
    """A small --seed (reproducible test runs) is accepted: and the attack on it works, which is
    what the warning says and what the drawn 128-bit default prevents."""
    server = serve(tmp_path, WALK, seed=4321)
    try:
        first, second = enter_two(server.url)
        seeds = game_seeds(server.database, [first, second])
    finally:
        server.stop()
    assert stored_seed(server.database) == printed_seed(server) == 4321
    assert [line for line in server.output if "can be guessed" in line]
    key = recover_key(seeds[0], first, range(2**16))
    assert key == 4321 and game_seed(key, "_walk", "walk", second) == seeds[1]


# -- headers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The echo study and a browser-game example, Pyodide's packages from another origin."""
    server = start_server([ECHO, CATCH], str(tmp_path_factory.mktemp("data")), seed=None, cwd=ROOT, timeout=120,
                          extra=["--pyodide-packages", PACKAGES])
    yield server
    server.stop()


def runtime_file(url: str) -> str:
    """A Pyodide file's address, from the page's boot (the runtime routes are content-pinned)."""
    async def boot():
        b = Browser(url, "catch")
        await b.connect()
        for _ in range(8):
            view = await b.view()
            if view["kind"] == "game":
                await b.close()
                return view["boot"]["pyodide"]
            advance = {"index": view["index"], **({"agree": True} if view["kind"] == "consent" else {})}
            assert (await b.call("advance", advance))["ok"], view
        raise AssertionError("never reached the game")

    return asyncio.run(boot()) + "pyodide.mjs"


def test_pages_files_and_errors_carry_the_policy_nosniff_and_frame_ancestors(served):
    paths = ["/", "/_echo/", "/static/client/main.js", "/static/mugkit.css", "/static/vendor/socket.io.min.js",
             runtime_file(served.url), "/no-such-study/", "/static/nothing.js", "/admin"]
    for path in paths:
        status, headers, _ = fetch(served.url + path)
        assert status in (200, 403, 404), (path, status)
        assert headers["x-content-type-options"] == "nosniff", path
        csp = csp_of(headers)
        assert csp["frame-ancestors"] == ["'self'", "https://*.mturk.com", "https://workersandbox.mturk.com"], path
        assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'", "https://packages.example.org"], path
        assert csp["connect-src"] == ["'self'", "https://packages.example.org"], path
        assert csp["worker-src"] == ["'self'", "blob:"] and csp["object-src"] == ["'none'"], path
        assert csp["default-src"] == ["'self'"] and csp["base-uri"] == ["'none'"], path
        assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], path


def test_admin_responses_are_not_stored(served):
    for path in ("/admin", "/admin/stats.json", "/admin/data/participants.csv"):
        for headers in ({}, {"x-mugkit-token": served.token}):
            status, got, _ = fetch(served.url + path, headers)
            assert status == (200 if headers else 403) and got["cache-control"] == "no-store", (path, headers)
    _, page, _ = fetch(served.url + "/_echo/")
    assert "no-store" not in page.get("cache-control", "")


# -- the admin token -------------------------------------------------------------------------------

def test_the_admin_link_trades_its_token_for_a_strict_cookie_and_leaves_the_url(served):
    status, headers, body = fetch(f"{served.url}/admin?token={served.token}")
    assert status == 200 and b"<meta http-equiv=refresh content='0;url=/admin'>" in body   # on to /admin
    assert served.token.encode() not in body
    cookie = headers["set-cookie"]
    name_value, *attributes = [x.strip() for x in cookie.split(";")]
    assert name_value == f"mugkit_admin={served.token}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/admin"} <= set(attributes), cookie

    status, headers, body = fetch(served.url + "/admin", {"cookie": name_value})
    assert status == 200 and b"Active participants" in body
    assert served.token.encode() not in body   # the download links carry the cookie, not the token
    for path in ("/admin/stats.json", "/admin/data/games.csv"):
        assert fetch(served.url + path, {"cookie": name_value})[0] == 200, path
        assert fetch(f"{served.url}{path}?token={served.token}")[0] == 403, path  # no token in URLs
    assert fetch(served.url + "/admin")[0] == 403
    assert fetch(served.url + "/admin", {"cookie": "mugkit_admin=wrong"})[0] == 403


@pytest.mark.parametrize("token", ["%C3%A9t%C3%A9", "%FF%FE", "%00", "%F0%9F%94%91", "a" * 5000, "x&token=y",
                                   "%E2%80%AE"])
def test_an_odd_admin_token_is_refused_never_a_server_error(served, token):
    status, headers, body = fetch(f"{served.url}/admin?token={token}")
    assert status == 403 and "set-cookie" not in headers, body


def test_non_ascii_admin_cookies_and_headers_are_refused(served):
    for header, value in (("x-mugkit-token", "été".encode()), ("x-mugkit-token", b"\xff\xfe"),
                          ("cookie", "mugkit_admin=été".encode()), ("cookie", b"mugkit_admin=\xff")):
        for path in ("/admin", "/admin/stats.json", "/admin/data/participants.csv"):
            assert raw_get(served.url, path, header, value) == 403, (header, value, path)
    assert raw_get(served.url, "/admin/stats.json", "x-mugkit-token", served.token.encode()) == 200


# -- MTurk -----------------------------------------------------------------------------------------

async def finish_echo(url: str, query: dict) -> tuple[dict, str]:
    """A participant goes through the echo study; returns the completion view and their id."""
    b = Browser(url, "_echo", query)
    await b.connect()
    await b.view("page")
    assert await b.call("advance", {"index": 0}) == {"ok": True}
    await b.view("survey")
    assert await b.call("advance", {"index": 1, "answers": {}}) == {"ok": True}
    done = await b.view("completion")
    await b.close()
    return done, b.identity["participant"]


@pytest.mark.parametrize("submit_to", ["https://evil.example", "https://www.mturk.com.evil.example",
                                       "http://www.mturk.com", "https://www.mturk.com:8443",
                                       "https://www.mturk.com@evil.example",
                                       "https://evil.example/?https://www.mturk.com",
                                       "//evil.example", "javascript:alert(1)//www.mturk.com"])
def test_a_crafted_turk_submit_to_is_kept_as_data_but_never_used(served, submit_to):
    worker = f"AW{abs(hash(submit_to))}"
    done, pid = asyncio.run(finish_echo(served.url, {"workerId": worker, "assignmentId": "A-1", "hitId": "H-1",
                                                     "turkSubmitTo": submit_to}))
    assert done["code"] == "ECHO42" and done["mturk"] is None
    (column, params), = query(served.database, "select turk_submit_to, params from participants "
                                               "where participant_id = ?", pid)
    assert column is None and json.loads(params)["turkSubmitTo"] == submit_to


@pytest.mark.parametrize("given, used", [(SANDBOX, SANDBOX), (SANDBOX + "/", SANDBOX),
                                         ("https://www.mturk.com", "https://www.mturk.com")])
def test_mturks_own_hosts_are_the_submit_target(served, given, used):
    worker = f"AW{abs(hash(given))}"
    done, pid = asyncio.run(finish_echo(served.url, {"workerId": worker, "assignmentId": "A-2", "hitId": "H",
                                                     "turkSubmitTo": given}))
    assert done["mturk"] == {"submit_to": used, "assignment_id": "A-2"}
    assert query(served.database, "select turk_submit_to from participants where participant_id = ?", pid) == [
        (used,)]


# -- page values -----------------------------------------------------------------------------------

def test_participant_values_in_a_page_reach_the_browser_without_script(served):
    async def page() -> dict:
        b = Browser(served.url, "_echo", {"name": INJECTED + '<a href="javascript:alert(1)">x</a><b>Ann</b>'})
        await b.connect()
        view = await b.view("page")
        await b.close()
        return view

    html = (asyncio.run(page()))["html"]
    assert "Hello" in html and "welcome!" in html and "<b>Ann</b>" in html
    for bad in ("<script", "onerror", "javascript:", "__pwned = \"script\""):
        assert bad not in html, html


def csp_reports(server) -> list[str]:
    return [line for line in server.output if BLOCKED in line]


def wait_for_report(server, seen: int, limit: float = 10.0) -> list[str]:
    deadline = time.monotonic() + limit  # a bound on waiting, not an assertion on time
    while len(csp_reports(server)) <= seen and time.monotonic() < deadline:
        time.sleep(0.1)
    return csp_reports(server)[seen:]


@pytest.mark.browser
def test_script_injected_through_a_url_parameter_does_not_run_in_chromium(served, chromium):
    page = chromium.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{served.url}/_echo/?" + urllib.parse.urlencode({"name": INJECTED}))
    page.wait_for_selector("text=welcome!")
    page.wait_for_timeout(500)   # the bait image fails to load: onerror would have run by now
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelector('#bait').getAttribute('onerror')") is None  # cleaned away

    # The second line: markup that slipped past the cleaning still cannot run inline script.
    seen = len(csp_reports(served))
    page.evaluate("""document.querySelector('.mk-prose').innerHTML +=
                     '<img src="y" onerror="window.__pwned = 1"><a id="go" href="javascript:window.__pwned = 2">go</a>'""")
    page.click("#go")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert any("Content Security Policy" in e for e in errors), errors
    reported = wait_for_report(served, seen)
    assert reported and "script-src" in reported[0], served.output[-5:]

    # A survey question built from the same value shows it as text.
    page.click("button.mk-button")
    page.wait_for_selector("text=come?")
    assert page.evaluate("document.querySelectorAll('#bait').length") == 0
    assert "<img" in page.inner_text("main, body")
    assert page.evaluate("window.__pwned") is None
    page.close()


@pytest.mark.browser
def test_the_admin_link_clicked_in_another_site_opens_the_admin_page_without_the_token(served, chromium):
    """The link usually arrives by mail or chat: a click from another site must still land on the
    admin page, with the token gone from the address bar (a SameSite=Strict cookie is withheld
    from a cross-site redirect chain, so this is not a given)."""
    context = chromium.new_context()
    page = context.new_page()
    page.route("https://mail.example/", lambda route: route.fulfill(
        content_type="text/html", body=f'<a id="link" href="{served.url}/admin?token={served.token}">admin</a>'))
    page.goto("https://mail.example/")
    page.click("#link")
    page.wait_for_selector("text=Active participants")
    assert page.url == served.url + "/admin"
    cookie, = context.cookies(served.url + "/admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"
    with page.expect_download() as download:
        page.click("text=participants.csv")
    assert download.value.suggested_filename == "participants.csv"   # the cookie went along
    context.close()


@pytest.mark.browser
def test_a_browser_game_loads_pyodide_and_plays_under_the_policy(served, chromium):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    seen = len(csp_reports(served))
    enter_game(page, f"{served.url}/catch/")
    wait_loaded(page)
    for key in ("ArrowLeft", "ArrowRight") * 3:
        page.keyboard.down(key)
        page.wait_for_timeout(250)
        page.keyboard.up(key)
    (game_id, runtime), = query(served.database, "select game_id, runtime from games where experiment = 'catch' "
                                                  "order by started_at desc limit 1")   # this page's game
    rows, deadline = 0, time.monotonic() + 30   # a bound on waiting for the first batch, not a timed assertion
    while rows == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        rows = query(served.database, "select count(*) from steps where game_id = ?", game_id)[0][0]
    page.close()
    assert runtime == "browser" and rows > 0   # Pyodide ran the game and its rows arrived
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert csp_reports(served)[seen:] == []
