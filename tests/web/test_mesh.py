"""net/mesh.js alone, in Chromium on loopback: pages whose signals the test carries connect over
real data channels (the lower handle offers), packets arrive over the direct path, injected loss
drops some of them, a forced relay sends everything through the relay function, a channel that
cannot open (no signals carried) falls back to the relay after the open timeout, and a rebuilt
connection (a peer reloaded) opens again. The whole game over the mesh is in
test_browser_multiplayer.py."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from client_harness import CHROMIUM, site  # noqa: E402,F401

pytestmark = [pytest.mark.browser]

#: What a data channel on loopback needs in headless Chromium (../shared/ENVIRONMENT.md).
WEBRTC_FLAGS = ["--allow-loopback-in-peer-connection"]
PERMISSIONS = ["microphone", "camera"]


@pytest.fixture(scope="module")
def webrtc_browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=WEBRTC_FLAGS)
        yield b
        b.close()


def open_pages(browser, site, handles, netem=None, **options):
    """One page per handle, in one context each, meshes started."""
    pages = {}
    for handle in handles:
        ctx = browser.new_context(permissions=PERMISSIONS)
        if netem:
            ctx.add_init_script(f"window.MUGKIT_NETEM = {netem!r};".replace("True", "true"))
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e, page=page: page.errors.append(str(e)))
        page.goto(site.url + "/harness/mesh.html")
        page.wait_for_selector("body[data-ready='1']", state="attached")
        pages[handle] = page
    for handle, page in pages.items():
        page.evaluate("([me, peers, o]) => meshTest.start(me, peers, o)", [handle, list(handles), options])
    return pages


def shuttle(pages, seconds, carry_signals=True, until=None):
    """Carries signals and relayed packets between the pages for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for handle, page in pages.items():
            for to, data in page.evaluate("meshTest.take('signals')"):
                if carry_signals:
                    pages[to].evaluate("([f, d]) => meshTest.signal(f, d)", [handle, data])
            for to, data in page.evaluate("meshTest.take('relayed')"):
                pages[to].evaluate("([f, d]) => meshTest.relayIn(f, d)", [handle, data])
        if until and until():
            return
        time.sleep(0.02)


def close(pages):
    for page in pages.values():
        page.context.close()


def all_direct(pages):
    return all(set(p.evaluate("meshTest.states()").values()) == {"direct"} for p in pages.values())


def test_three_pages_connect_directly_and_packets_arrive(webrtc_browser, site):
    pages = open_pages(webrtc_browser, site, ["h0", "h1", "h2"])
    try:
        shuttle(pages, 15, until=lambda: all_direct(pages))
        assert all_direct(pages), {h: p.evaluate("meshTest.states()") for h, p in pages.items()}
        for handle, page in pages.items():
            for other in pages:
                if other != handle:
                    page.evaluate("([to, d]) => meshTest.send(to, d)", [other, [int(handle[1]), 7, 255]])
        shuttle(pages, 3, until=lambda: all(len(p.evaluate("meshTest.received")) == 2 for p in pages.values()))
        for handle, page in pages.items():
            got = sorted(tuple(map(tuple, [[f], d])) for f, d in page.evaluate("meshTest.take('received')"))
            assert got == sorted(((o,), (int(o[1]), 7, 255)) for o in pages if o != handle)
            stats = page.evaluate("meshTest.stats()")
            assert set(stats["paths"].values()) == {"direct"}
            assert all(rtt >= 0 for rtt in stats["rtt_ms"].values()) and len(stats["rtt_ms"]) == 2
            assert page.evaluate("meshTest.take('relayed')") == []
            assert not page.errors
    finally:
        close(pages)


def test_injected_loss_and_latency_apply_on_send(webrtc_browser, site):
    netem = {"latency_ms": 150, "jitter_ms": 20, "loss": 0.5, "seed": 3}
    pages = open_pages(webrtc_browser, site, ["h0", "h1"], netem=netem)
    try:
        shuttle(pages, 15, until=lambda: all_direct(pages))
        assert all_direct(pages)
        # The injected latency holds a packet back: a 50 ms timer set after the send fires first.
        held = pages["h0"].evaluate("""async () => {
            meshTest.send('h1', [0]);
            await new Promise((r) => setTimeout(r, 50));
            const early = (await meshTest.stats()).counts.sent;
            await new Promise((r) => setTimeout(r, 350));
            return [early, (await meshTest.stats()).counts.sent];
        }""")
        assert held == [0, 1]   # (seed 3 keeps the first packet)
        shuttle(pages, 1)
        pages["h1"].evaluate("meshTest.take('received')")
        pages["h0"].evaluate("meshTest.take('received')")
        for i in range(200):
            pages["h0"].evaluate("([to, d]) => meshTest.send(to, d)", ["h1", [i % 256]])
        shuttle(pages, 2)
        got = pages["h1"].evaluate("meshTest.take('received')")
        assert 40 < len(got) < 160, len(got)        # about half dropped, the rest arrived
        counts = pages["h0"].evaluate("meshTest.stats()")["counts"]
        assert counts["dropped"] + counts["sent"] == 201 and counts["dropped"] > 40
    finally:
        close(pages)


def test_forced_relay_and_a_channel_that_never_opens_use_the_relay(webrtc_browser, site):
    forced = open_pages(webrtc_browser, site, ["h0", "h1"], relay="force")
    try:
        assert forced["h0"].evaluate("meshTest.ready()") == {"h1": "relay"}
        forced["h0"].evaluate("([to, d]) => meshTest.send(to, d)", ["h1", [1, 2, 3]])
        shuttle(forced, 2, until=lambda: forced["h1"].evaluate("meshTest.received.length") == 1)
        assert forced["h1"].evaluate("meshTest.take('received')") == [["h0", [1, 2, 3]]]
        assert forced["h0"].evaluate("meshTest.take('signals')") == []   # no WebRTC at all
    finally:
        close(forced)
    lost = open_pages(webrtc_browser, site, ["h0", "h1"], open_timeout_ms=800)
    try:
        assert lost["h1"].evaluate("meshTest.states()") == {"h0": "pending"}
        shuttle(lost, 1.5, carry_signals=False)      # the signals never arrive
        assert lost["h1"].evaluate("meshTest.ready()") == {"h0": "relay"}
        lost["h1"].evaluate("([to, d]) => meshTest.send(to, d)", ["h0", [9]])
        shuttle(lost, 2, carry_signals=False, until=lambda: lost["h0"].evaluate("meshTest.received.length") == 1)
        assert lost["h0"].evaluate("meshTest.take('received')") == [["h1", [9]]]
    finally:
        close(lost)


def test_a_rebuilt_connection_opens_again(webrtc_browser, site):
    pages = open_pages(webrtc_browser, site, ["h0", "h1"])
    try:
        shuttle(pages, 15, until=lambda: all_direct(pages))
        assert all_direct(pages)
        # h1 reloads: a fresh page; h0 (the offerer) rebuilds its connection to it.
        pages["h1"].context.close()
        ctx = webrtc_browser.new_context(permissions=PERMISSIONS)
        fresh = ctx.new_page()
        fresh.errors = []
        fresh.goto(site.url + "/harness/mesh.html")
        fresh.wait_for_selector("body[data-ready='1']", state="attached")
        fresh.evaluate("meshTest.start('h1', ['h0', 'h1'], {})")
        pages["h1"] = fresh
        pages["h0"].evaluate("meshTest.rebuild('h1')")
        shuttle(pages, 15, until=lambda: all_direct(pages))
        assert all_direct(pages)
        pages["h0"].evaluate("([to, d]) => meshTest.send(to, d)", ["h1", [42]])
        shuttle(pages, 3, until=lambda: fresh.evaluate("meshTest.received.length") == 1)
        assert fresh.evaluate("meshTest.take('received')") == [["h0", [42]]]
    finally:
        close(pages)
