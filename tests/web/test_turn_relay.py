"""Two Chromium pages open a data channel through a real coturn, with ``iceTransportPolicy: "relay"``
and the short-lived credentials :mod:`mugkit.web.ice` gives each participant; coturn refuses wrong
and expired ones. (Offer and answer go between the pages through Playwright: no server.)"""

import time

import pytest

from coturn import coturn  # noqa: F401  (a fixture)
from mugkit.web.ice import IceSettings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: WebRTC on loopback in headless Chromium needs this flag and a media permission (ENVIRONMENT.md).
LOOPBACK_FLAG = "--allow-loopback-in-peer-connection"

#: A page's side of the test: one RTCPeerConnection with a negotiated data channel, a full
#: (non-trickle) description once gathering is done, the ICE errors seen, the channel's messages.
PEER_JS = """
window.peer = {
  errors: [], messages: [],
  async start(config, offer) {
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    pc.onicecandidateerror = e => this.errors.push({code: e.errorCode, text: e.errorText, url: e.url});
    this.channel = pc.createDataChannel("game", {negotiated: true, id: 0, ordered: false, maxRetransmits: 0});
    this.open = new Promise(ok => this.channel.onopen = ok);
    this.channel.onmessage = e => {
      this.messages.push(e.data);
      if (e.data === "ping") this.channel.send("pong");
    };
    const gathered = new Promise(ok => pc.onicegatheringstatechange =
      () => pc.iceGatheringState === "complete" && ok());
    if (offer) {
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
    } else {
      await pc.setLocalDescription(await pc.createOffer());
    }
    await gathered;
    return {type: pc.localDescription.type, sdp: pc.localDescription.sdp};
  },
  async finish(answer) { await this.pc.setRemoteDescription(answer); },
  async ping() {
    await this.open;
    this.channel.send("ping");
    while (!this.messages.includes("pong")) await new Promise(ok => setTimeout(ok, 20));
    return true;
  },
  async selected() {
    const stats = await this.pc.getStats();
    let pair = null;
    stats.forEach(s => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
    if (!pair) return null;
    return {local: stats.get(pair.localCandidateId).candidateType,
            remote: stats.get(pair.remoteCandidateId).candidateType,
            relayUrl: stats.get(pair.localCandidateId).url || null};
  },
};
"""


@pytest.fixture(scope="module")
def webrtc_browser():
    playwright = pytest.importorskip("playwright.sync_api")
    import os

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[LOOPBACK_FLAG])
        yield browser
        browser.close()


def open_peer(browser):
    context = browser.new_context(permissions=["microphone", "camera"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.evaluate(PEER_JS)
    return context, page


def relay_only(settings, participant):
    config = settings.config(participant)
    assert config["iceTransportPolicy"] == "relay"
    return config


def test_data_channel_through_coturn_with_short_lived_credentials(webrtc_browser, coturn):  # noqa: F811
    settings = IceSettings.build(turn_urls=[coturn.url], turn_secret=coturn.secret, turn_ttl=600, turn_only=True)
    (ca, a), (cb, b) = open_peer(webrtc_browser), open_peer(webrtc_browser)
    try:
        offer = a.evaluate("c => peer.start(c)", relay_only(settings, "alice"))
        assert " typ relay " in offer["sdp"] and " typ host " not in offer["sdp"]
        answer = b.evaluate("([c, o]) => peer.start(c, o)", [relay_only(settings, "bob"), offer])
        a.evaluate("a => peer.finish(a)", answer)
        assert a.evaluate("() => peer.ping()")
        pair = a.evaluate("() => peer.selected()")
        assert pair is not None and pair["local"] == "relay" and pair["remote"] == "relay", pair
        assert a.evaluate("() => peer.errors") == []
    finally:
        ca.close()
        cb.close()
    assert "alice" in coturn.log() and "bob" in coturn.log()  # each allocated with its own username


@pytest.mark.parametrize("spoil", ["wrong secret", "expired"])
def test_wrong_or_expired_credentials_are_refused(webrtc_browser, coturn, spoil):  # noqa: F811
    if spoil == "wrong secret":
        settings = IceSettings.build(turn_urls=[coturn.url], turn_secret="not the secret", turn_only=True)
        config = settings.config("mallory")
    else:  # correctly signed, but its expiry has passed
        settings = IceSettings.build(turn_urls=[coturn.url], turn_secret=coturn.secret, turn_ttl=60, turn_only=True)
        config = settings.config("mallory", now=time.time() - 120)
    context, page = open_peer(webrtc_browser)
    try:
        offer = page.evaluate("c => peer.start(c)", config)
        errors = page.evaluate("() => peer.errors")
    finally:
        context.close()
    assert " typ relay " not in offer["sdp"]  # no relay address was allocated: no candidate at all
    assert any(e["code"] == 401 for e in errors), errors  # coturn's "Unauthorized"
