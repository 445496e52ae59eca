"""A server nobody can push over: bombs, floods and abuse from one client, against a real
``mugkit serve`` process, while honest participants play.

Every attack is bounded in count and time and targets 127.0.0.1 only. Attackers connect from
other loopback addresses (127.0.0.2 …) so that the per-address limits they hit are not the honest
participant's (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sqlite3
import statistics
import sys
import time
import urllib.error
import urllib.request

import pytest

from mugkit.loadtest.server import start_server

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager")]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STEADY = os.path.join(HERE, "studies", "_steady.py")          # a 60 s server game at 30 fps
INBROWSER = os.path.join(HERE, "studies", "_inbrowser.py")    # a browser-runtime game, max_steps=1800
ENDLESS = os.path.join(HERE, "studies", "_endless.py")        # a browser-runtime game without max_steps
WALK = os.path.join(ROOT, "tests", "web", "studies", "_walk.py")  # a short whole study
FRAME = 1 / 30
#: How much the server's peak memory may grow while it refuses every bomb (the bombs asked for
#: 1 GB and 3.8 GB before the limits).
MEMORY_BOUND_MB = 200
LIMITS = ["--limit", "request_timeout=3", "--limit", "arrivals_per_minute=6", "--limit", "connections_per_address=40",
          "--limit", "frames_per_episode=100",
          "--allow-origin", "https://lab.example.org"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("limits") / "data")
    served = start_server([STEADY, INBROWSER, ENDLESS, WALK], data, seed=3, grace=20, extra=LIMITS, cwd=ROOT, timeout=60)
    yield served
    served.stop()


def port_of(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# -- clients ---------------------------------------------------------------------------------

class Raw:
    """A socket.io client written by hand over one websocket, from a chosen loopback address:
    it can send what python-socketio's client would never send (any JSON text, any Origin)."""

    def __init__(self, port: int, source: str = "127.0.0.1", origin: str | None = None):
        from websockets.sync.client import connect

        sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        self.ws = connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", sock=sock, origin=origin,
                          max_size=None, compression=None, proxy=None, open_timeout=10)
        assert self.ws.recv(timeout=10).startswith("0")   # engine.io's open packet
        self.ids = 0
        self.identity: dict = {}

    def join(self, experiment: str, identity: dict | None = None) -> dict:
        """Connects to the namespace as a participant of ``experiment``; returns the first view."""
        identity = identity or {}
        self.ws.send("40" + json.dumps({"experiment": experiment, "query": {},
                                        "participant": identity.get("participant"),
                                        "resume": identity.get("resume")}))
        return self.next("view")

    def next(self, event: str, timeout: float = 20) -> dict:
        """The next ``event`` the server sends (others are skipped; pings answered)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            if text == "2":
                self.ws.send("3")
            elif text.startswith("42"):
                name, data = json.loads(text[2:])[:2]
                if name == "identity":
                    self.identity = data
                if name == event:
                    return data

    def send_raw(self, event: str, payload: str) -> int:
        """Sends ``42<id>["event",<payload text>]``; returns the acknowledgement id."""
        self.ids += 1
        self.ws.send(f'42{self.ids}["{event}",{payload}]')
        return self.ids

    def ack(self, ack_id: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            text = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            if text == "2":
                self.ws.send("3")
            elif text.startswith(f"43{ack_id}["):
                return json.loads(text[2 + len(str(ack_id)):])[0]

    def call(self, event: str, data) -> dict:
        return self.ack(self.send_raw(event, json.dumps(data)))

    def close(self) -> None:
        self.ws.close()


class Player:
    """An honest participant (python-socketio's own client, from 127.0.0.1) that keeps every
    message and the arrival time of every frame."""

    def __init__(self, url: str, experiment: str):
        import socketio

        self.url, self.experiment = url, experiment
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.frame_times: list[float] = []
        for event in ("view", "error"):
            self.sio.on(event, self._keeper(event))
        self.sio.on("frame", lambda data: self.frame_times.append(time.monotonic()))

    def _keeper(self, event):
        async def keep(data):
            await self.inbox.put((event, data))
        return keep

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], auth={"experiment": self.experiment, "query": {}})

    async def view(self, kind: str, timeout: float = 30) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got, data = await asyncio.wait_for(self.inbox.get(), deadline - asyncio.get_running_loop().time())
            if got == "view":
                assert data["kind"] == kind, data
                return data

    async def call(self, event: str, data) -> dict:
        return await self.sio.call(event, data, timeout=20)

    def p99_gap(self, since: float, until: float) -> float:
        """The 99th percentile of the gaps between frames that arrived in [since, until], seconds."""
        times = [t for t in self.frame_times if since <= t <= until]
        gaps = [b - a for a, b in zip(times, times[1:])]
        return statistics.quantiles(gaps, n=100, method="inclusive")[98]


async def walk_study(url: str) -> dict:
    """An honest participant goes through the walk study (page, consent, a 1.5 s game, a survey);
    returns the completion view."""
    p = Player(url, "_walk")
    await p.connect()
    await p.view("page")
    assert await p.call("advance", {"index": 0}) == {"ok": True}
    await p.view("consent")
    assert await p.call("advance", {"index": 1, "agree": True}) == {"ok": True}
    await p.view("game")
    await p.view("survey")
    assert await p.call("advance", {"index": 3, "answers": {"fun": 4, "hand": "both"}}) == {"ok": True}
    done = await p.view("completion")
    await p.sio.disconnect()
    return done


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=20) as reply:
        return reply.status


# -- bombs -----------------------------------------------------------------------------------

def zstd_bomb(size: int) -> str:
    """base64 of zstd data that decompress to ``size`` zero bytes (built in 1 MB pieces: the test
    never holds them all)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def row(frame: int, **extra) -> dict:
    return {"episode": 0, "frame": frame, "agent": "me", "action": 0, "keys": [], "filled": True, "reward": 0,
            "terminated": False, "truncated": False, **extra}


def rows_text(*rows_: dict) -> str:
    return json.dumps(list(rows_), separators=(",", ":"))


def bombs() -> dict[str, str]:
    """name -> the ``rows`` text of each bomb."""
    import numpy as np

    from mugkit.runtime.values import to_json

    def array(dtype: str, shape: list, **body) -> dict:
        return {"$ndarray": {"dtype": dtype, "shape": shape, **body}}

    big = np.zeros((1024, 1024, 3), dtype=np.uint8)   # 3 MB decoded, ~400 KB of text: within the limits
    big.flat[:300_000] = np.random.default_rng(1).integers(0, 255, 300_000, dtype=np.uint8)
    return {
        "subarray_dtype": rows_text(row(1, observation=array("(1024,1024,1024)u1", [1], data=[0]))),
        "zstd_bomb": rows_text(row(1, observation=array("|u1", [4, 1024, 1024], zstd=zstd_bomb(1 << 30)))),
        "huge_shape": rows_text(row(1, observation=array("<f8", [100000, 100000, 100], zstd=""))),
        "deep_nesting": rows_text(row(1, info="X")).replace('"X"', "[" * 50_000 + "]" * 50_000),
        "under_limit": to_json([row(0), row(1, observation=big)]),   # frames 0 and 1: the game's start
    }


@pytest.mark.alone  # asserts a frame gap: the rest of the suite must not share the cores meanwhile
def test_bombs_are_refused_within_a_memory_bound_while_a_30fps_game_plays_on(server):
    """Each bomb gets an error naming the limit; the server's peak memory grows by less than
    MEMORY_BOUND_MB; an honest 30 fps game on the same server keeps its p99 frame gap under two
    frames; a large message within the limits is stored."""
    texts = bombs()
    pid = server.pid

    def attack(port: int) -> dict:
        b = Raw(port, source="127.0.0.2")
        game = b.join("_inbrowser")["game"]
        assert b.call("resume", {"game": game, "session": "s1"}) == {"ok": True, "record": None}
        out = {}
        for _ in range(15):   # rounds: seconds of the honest game under attack
            for name, text in texts.items():
                out[name] = b.call("rows", {"game": game, "session": "s1", "batch": 1, "rows": text})
        # nesting in the socket.io message itself, not in the rows text
        out["deep_message"] = b.ack(b.send_raw("advance", "[" * 5_000 + "]" * 5_000))
        out["bulky_message"] = b.ack(b.send_raw("advance", "[" * 50_000 + "]" * 50_000))
        b.close()
        return out

    async def main() -> tuple[dict, float, float, float]:
        honest = Player(server.url, "_steady")
        await honest.connect()
        await honest.view("game")
        await asyncio.sleep(2)   # frames flowing
        before = peak_mb(pid)
        start = time.monotonic()
        out = await asyncio.to_thread(attack, port_of(server))
        await asyncio.sleep(1)
        end = time.monotonic()
        grown = peak_mb(pid) - before
        await honest.sio.disconnect()
        return out, honest.p99_gap(start, end), grown, len([t for t in honest.frame_times if start <= t <= end])

    out, p99, grown, frames = asyncio.run(main())
    print(f"bombs: peak memory +{grown:.0f} MB; honest game p99 frame gap {p99 * 1000:.1f} ms over {frames} frames")
    assert "dtype '(1024,1024,1024)u1' refused: only bool, integer and float" in out["subarray_dtype"]["error"]
    assert "compressed array data do not fit the 4194304 bytes its shape states" in out["zstd_bomb"]["error"]
    assert "shape [100000, 100000, 100] has 1000000000000 elements, more than" in out["huge_shape"]["error"]
    assert out["deep_nesting"]["error"] == ("rows.rows refused: values nested deeper than 64; send smaller batches "
                                            "and arrays")
    assert out["deep_message"] == {"ok": False, "limit": "message_depth", "error": (
        "message nested deeper than 16 (limit message_depth): send flatter data")}
    assert out["bulky_message"]["limit"] == "message_structure" and out["bulky_message"]["error"].endswith(
        "characters outside its strings, more than 16384 (limit message_structure): send less")
    assert out["under_limit"] == {"ok": True, "batch": 1, "last": [0, 1]}
    assert grown < MEMORY_BOUND_MB
    assert p99 < 2 * FRAME
    with sqlite3.connect(server.database) as db:
        assert db.execute("select count(*) from steps where observation is not null").fetchone()[0] >= 1


# -- floods ----------------------------------------------------------------------------------

def slowloris(port: int, source: str, connections: int, seconds: float) -> list[str]:
    """Opens ``connections`` connections from ``source`` and sends each a request's headers one
    byte a second for at most ``seconds``; returns how each one ended (the answer's status line and
    Retry-After, or how it closed)."""
    partial = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    socks, ends = [], []
    for i in range(connections):
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        s.setblocking(False)
        socks.append(s)
    deadline = time.monotonic() + seconds
    sent = 0
    while socks and time.monotonic() < deadline and sent < len(partial):
        for s in list(socks):
            try:
                s.send(partial[sent:sent + 1])
                answer = s.recv(300)
            except BlockingIOError:
                continue
            except OSError as exc:
                answer = type(exc).__name__.encode()
            lines = answer.decode(errors="replace").lower().split("\r\n")
            ends.append(lines[0] + ("; retry-after: 5" if "retry-after: 5" in lines else "") if answer else "closed")
            socks.remove(s)
            s.close()
        sent += 1
        time.sleep(1)
    ends += ["still open"] * len(socks)
    for s in socks:
        s.close()
    return ends


def flood(port: int, source: str, connections: int) -> list[str]:
    """Opens ``connections`` connections from ``source`` as fast as it can, each asking for the
    index page and keeping the connection; returns what each got within 2 s, then closes them all."""
    socks = []
    for _ in range(connections):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            socks.append(s)
        except OSError as exc:
            socks.append(exc)
    time.sleep(2)
    lines = []
    for s in socks:
        if isinstance(s, OSError):
            lines.append(type(s).__name__)
            continue
        s.setblocking(False)
        try:
            answer = s.recv(300)
        except BlockingIOError:
            answer = b"(waiting)"
        except OSError as exc:
            answer = type(exc).__name__.encode()
        lines.append(answer.decode(errors="replace"))
        s.close()
    return lines


def test_a_slowloris_and_a_connection_flood_do_not_stop_an_honest_participant(server):
    """127.0.0.3 sends headers one byte a second on 60 connections, 127.0.0.4 opens 120 and keeps
    them, while an honest participant (127.0.0.1) goes through a whole study: connections past
    the per-address cap (40) get 503 with Retry-After at once, the slow ones 408 after
    request_timeout (3 s); the honest participant completes."""
    port = port_of(server)

    async def main():
        slow = asyncio.create_task(asyncio.to_thread(slowloris, port, "127.0.0.3", 60, 20))
        flooded = asyncio.create_task(asyncio.to_thread(flood, port, "127.0.0.4", 120))
        await asyncio.sleep(1)
        page = await asyncio.to_thread(get, f"{server.url}/_walk/")
        done = await walk_study(server.url)
        return page, done, await slow, await flooded

    page, done, statuses, lines = asyncio.run(main())
    assert page == 200 and done["code"] == "C0DE42"
    assert statuses.count("http/1.1 408 request timeout") == 40, statuses
    assert statuses.count("http/1.1 503 service unavailable; retry-after: 5") == 20, statuses
    refused = [line for line in lines if line.startswith("HTTP/1.1 503")]
    assert len(refused) == 80 and len([line for line in lines if line.startswith("HTTP/1.1 200")]) == 40, lines
    assert all("retry-after: 5" in line and "connections_per_address" in line for line in refused)
    output = "".join(server.output)
    assert output.count("refused 127.0.0.4: connection over a cap") <= 3   # one line per address and interval


def test_websockets_past_the_per_address_cap_are_refused_and_others_still_connect(server):
    port = port_of(server)
    opened, refused = [], []
    for _ in range(45):
        try:
            opened.append(Raw(port, source="127.0.0.5"))
        except Exception as exc:   # websockets' InvalidStatus (503) or the reset after it
            refused.append(f"{type(exc).__name__}: {exc} {exc.__cause__!r}")
    other = Raw(port, source="127.0.0.6")
    other.close()
    for c in opened:
        c.close()
    assert len(opened) == 40 and len(refused) == 5
    assert all("503" in r for r in refused), refused


# -- abuse from one client -------------------------------------------------------------------

def test_frames_past_max_steps_are_refused(server):
    b = Raw(port_of(server), source="127.0.0.7")
    game = b.join("_inbrowser")["game"]
    b.call("resume", {"game": game, "session": "s1"})
    past = b.call("rows", {"game": game, "session": "s1", "batch": 0, "rows": rows_text(row(0), row(73_500))})
    # every frame up to the last one (rows must continue the game frame by frame)
    last = b.call("rows", {"game": game, "session": "s1", "batch": 1, "rows": rows_text(*map(row, range(1801)))})
    b.close()
    assert past == {"ok": False, "error": "rows[1].frame 73500 is past the episode's last frame 1800 "
                                          "(the step's max_steps)"}
    assert last == {"ok": True, "batch": 1, "last": [0, 1800]}


def test_frames_past_the_absolute_cap_are_refused_when_a_step_sets_no_max_steps(server):
    b = Raw(port_of(server), source="127.0.0.14")
    game = b.join("_endless")["game"]
    b.call("resume", {"game": game, "session": "s1"})
    past = b.call("rows", {"game": game, "session": "s1", "batch": 0, "rows": rows_text(row(101))})
    last = b.call("rows", {"game": game, "session": "s1", "batch": 1, "rows": rows_text(*map(row, range(101)))})
    b.close()
    assert past == {"ok": False, "error": "rows[0].frame 101 is past the episode's last frame 100 "
                                          "(limit frames_per_episode: the step sets no max_steps)"}
    assert last == {"ok": True, "batch": 1, "last": [0, 100]}


def test_loaded_events_per_game_are_capped(server):
    b = Raw(port_of(server), source="127.0.0.8")
    game = b.join("_inbrowser")["game"]
    replies = [b.call("loaded", {"game": game, "stages": {"boot": 1}, "bytes": 1, "cached": True, "diverged": None})
               for _ in range(55)]
    b.close()
    assert replies[:50] == [{"ok": True}] * 50
    assert replies[50]["limit"] == "game_events" and "50 loaded/load_failed messages" in replies[50]["error"]
    with sqlite3.connect(server.database) as db:
        stored = db.execute("select count(*) from events where kind = 'game_loaded' and detail like ?",
                            (f"%{game}%",)).fetchone()[0]
    assert stored == 50


def test_a_loaded_messages_start_figures_are_stored_as_plain_values(server):
    b = Raw(port_of(server), source="127.0.0.31")
    game = b.join("_inbrowser")["game"]
    honest = b.call("loaded", {"game": game, "stages": {"wheels": 2}, "bytes": 0, "cached": True, "diverged": None,
                               "warm": True, "games": 2, "start_ms": 21})
    odd = b.call("loaded", {"game": game, "stages": {}, "bytes": 0, "cached": True, "diverged": None,
                            "warm": "yes", "games": "x" * 1000, "start_ms": -5})
    b.close()
    assert honest == odd == {"ok": True}
    with sqlite3.connect(server.database) as db:
        stored = [json.loads(d) for (d,) in db.execute(
            "select detail from events where kind = 'game_loaded' and detail like ? order by id", (f"%{game}%",))]
    assert [(d["warm"], d["games"], d["start_ms"]) for d in stored] == [(True, 2, 21), (False, None, None)]


def test_a_message_flood_on_one_connection_is_answered_with_the_limit(server):
    b = Raw(port_of(server), source="127.0.0.9")
    b.join("_walk")
    ids = [b.send_raw("advance", '{"index":99}') for _ in range(400)]
    replies = [b.ack(i) for i in ids]
    b.close()
    limited = [r for r in replies if r.get("limit") == "messages_per_second"]
    assert not any(r.get("limit") for r in replies[:200])   # a burst of 200 passes
    assert limited
    assert "too many messages: at most 50 a second (bursts of 200) on one connection" in limited[0]["error"]
    assert all("error" in r for r in replies)   # every message was answered


def test_participants_created_per_address_are_rate_limited_and_resumes_are_not(server):
    clients = [Raw(port_of(server), source="127.0.0.10") for _ in range(8)]
    views = [c.join("_walk") for c in clients]
    first = clients[0].identity
    for c in clients:
        c.close()
    again = Raw(port_of(server), source="127.0.0.10")
    resumed = again.join("_walk", first)
    again.close()
    other = Raw(port_of(server), source="127.0.0.11")
    elsewhere = other.join("_walk")
    other.close()
    assert [v["kind"] for v in views] == ["page"] * 6 + ["refused"] * 2
    assert views[6]["limit"] == "arrivals_per_minute" and "6 participants have started from your network" in \
        views[6]["html"]
    assert resumed["kind"] == "page" and again.identity["participant"] == first["participant"]
    assert elsewhere["kind"] == "page"


def test_pages_of_another_origin_cannot_open_the_socket_unless_allowed(server):
    port = port_of(server)
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        Raw(port, source="127.0.0.12", origin="https://evil.example")
    same = Raw(port, source="127.0.0.12", origin=f"http://127.0.0.1:{port}")
    allowed = Raw(port, source="127.0.0.12", origin="https://lab.example.org")
    assert same.join("_walk")["kind"] == "page"
    assert allowed.join("_walk")["kind"] == "page"
    same.close()
    allowed.close()
    assert refused.value.response.status_code == 403
    assert bytes(refused.value.response.body) == (
        b"https://evil.example may not open this server's live connection: only its own pages may "
        b"(mugkit serve --allow-origin https://evil.example allows that origin)\n")


@pytest.mark.parametrize("option, message", [
    ("bogus=1", "mugkit serve: --limit bogus=1: no limit named 'bogus'; limits are connections, "
                "connections_per_address, request_timeout,"),
    ("connections=-3", "mugkit serve: --limit connections=-3: connections must be a positive whole number"),
    ("request_timeout=soon", "mugkit serve: --limit request_timeout=soon: request_timeout must be a positive number"),
])
def test_a_bad_limit_option_stops_the_server_at_start_with_what_to_fix(option, message, tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", WALK, "--data", str(tmp_path), "--limit", option],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr


def test_a_request_whose_body_crawls_is_closed_after_request_timeout(server):
    """A slowloris of the body: the headers come whole, then the body one byte a second."""
    c = socket.create_connection(("127.0.0.1", port_of(server)), timeout=1, source_address=("127.0.0.13", 0))
    c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
    got, closed = b"", False
    for _ in range(20):   # at most about 20 s; request_timeout is 3 s
        try:
            c.sendall(b"a")
            data = c.recv(1000)
        except socket.timeout:
            continue
        except OSError:
            closed = True
            break
        if not data:
            closed = True
            break
        got += data
    c.close()
    assert got.startswith(b"HTTP/1.1 405 Method Not Allowed") and closed
