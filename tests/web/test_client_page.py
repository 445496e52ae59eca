"""The real page: the template with its vendored assets checked by the browser's Subresource
Integrity, and a participant going through a study on a real `mugkit serve` in Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from client_harness import ROOT, browser, context, shot, site  # noqa: E402,F401
from mugkit.web.entry import prolific_like

pytestmark = pytest.mark.browser

VENDOR = ROOT / "mugkit" / "web" / "static" / "vendor"


def test_the_template_loads_its_vendored_assets_and_waits_for_the_server(context, site):
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    responses = {}
    page.on("response", lambda r: responses.__setitem__(r.url.removeprefix(site.url), r))
    page.goto(site.url + f"/demo/?PROLIFIC_PID={prolific_like('abc')}")
    page.wait_for_selector(".mk-card")
    assert page.title() == "A study & more"
    assert page.evaluate("document.body.dataset.experiment") == "demo"
    assert page.evaluate("typeof io === 'function' && typeof Survey.Model === 'function' && "
                         "typeof Survey.Model.prototype.render === 'function' && typeof SurveyUI === 'object'")
    for name in ("socket.io.min.js", "survey.core.min.js", "survey-js-ui.min.js", "survey-core.fontless.min.css"):
        assert responses[f"/static/vendor/{name}"].status == 200
    assert "Connecting to the study" in page.inner_text("main")
    # no server here: socket.io's websocket fails, and the page says it keeps trying
    page.wait_for_selector(".mk-status:not([hidden])")
    assert "Cannot reach the study server yet. Retrying" in page.inner_text(".mk-status")
    assert all("WebSocket" in e or "socket.io" in e for e in errors), errors
    assert not context.outside, context.outside
    shot(page, "template-offline")


def test_a_vendored_file_that_does_not_match_its_hash_is_refused(context, site):
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tampered = (VENDOR / "socket.io.min.js").read_bytes() + b"\n;window.tampered = true;\n"
    page.route("**/static/vendor/socket.io.min.js",
               lambda route: route.fulfill(body=tampered, content_type="text/javascript"))
    page.goto(site.url + "/demo/")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof io") == "undefined"
    assert page.evaluate("window.tampered") is None
    assert any("integrity" in e for e in errors), errors


# -- against the real server -------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path):
    serving = pytest.importorskip("serving", reason="tests/web/serving.py (the server's test helpers)")
    pytest.importorskip("mugkit.web.server")
    s = serving.serve(str(Path(serving.STUDIES) / "_walk.py"), data=str(tmp_path / "data"))
    yield s
    s.stop()


def test_a_participant_goes_through_a_study_on_the_real_server(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    context.on("request", lambda r: None if r.url.startswith(served.url) else outside.append(r.url))
    context.route("https://app.prolific.com/**", lambda route: route.fulfill(
        body="<!doctype html><link rel=icon href=data:,><title>Prolific</title><p>back on Prolific</p>",
        content_type="text/html"))
    try:
        page.goto(served.url + f"/_walk/?PROLIFIC_PID={prolific_like('pw-1')}&STUDY_ID=s&SESSION_ID=x")
        page.wait_for_selector("text=Welcome")
        assert "walk" in page.inner_text(".mk-prose")
        page.click("text=Start")
        page.wait_for_selector("button[data-answer='agree']")
        page.click("button[data-answer='agree']")
        page.wait_for_selector("canvas.mk-canvas")
        page.wait_for_selector(".mk-screen[data-screen='ready']")   # the clock waits for the participant
        page.keyboard.press(" ")
        page.wait_for_selector(".mk-game[data-screen='play']", timeout=15000)   # after the countdown
        page.keyboard.down("ArrowRight")
        page.wait_for_timeout(400)
        shot(page, "real-server-game")
        page.keyboard.up("ArrowRight")
        identity = page.evaluate("JSON.parse(localStorage.getItem('mugkit:_walk:identity'))")
        assert identity["participant"] and identity["resume"]
        page.wait_for_selector(".sd-question", timeout=20000)       # the game ended (45 frames)
        page.click(".sd-rating__item-text >> text='4'")
        page.click("text=both")
        page.click("text=Continue")
        page.wait_for_selector(".mk-code")
        assert page.inner_text(".mk-code") == "C0DE42"
        shot(page, "real-server-completion")
        page.wait_for_url("https://app.prolific.com/submissions/complete?cc=C0DE42", timeout=10000)
        assert not errors, errors
        assert outside == ["https://app.prolific.com/submissions/complete?cc=C0DE42"], outside
    finally:
        context.close()


def test_a_reload_resumes_where_the_participant_was(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(served.url + "/_walk/")
        page.click("text=Start")
        page.wait_for_selector("button[data-answer='agree']")
        page.reload()
        page.wait_for_selector("button[data-answer='agree']")      # still the consent, not the welcome
        assert page.inner_text(".mk-step") == "Step 2 of 5"
    finally:
        context.close()
