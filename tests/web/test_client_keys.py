"""Keyboard input in the game view, through the harness page: every change of the held keys sends a
`keys` message (protocol.py) with an increasing `seq`, the held keys, what went down or up since
the last message and the client's clock; taps within one frame, combinations, auto-repeat, focus
loss and hidden tabs; the arrow keys never scroll the page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from client_harness import browser, context, harness, open_harness, site  # noqa: E402,F401

pytestmark = pytest.mark.browser

KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "w", " ", "Shift"]


def start_game(page, keys=KEYS, game="g1"):
    page.evaluate("m => harness.receive('view', m)", {
        "kind": "game", "index": 2, "total": 5, "step": "play", "game": game, "width": 600, "height": 400,
        "fps": 30, "keys": keys, "turn_based": False, "you": "p", "agents": ["p"], "runtime": "server"})
    page.wait_for_selector("canvas.mk-canvas")


def sent_keys(page) -> list:
    return [m["data"] for m in page.evaluate("harness.sent('keys')")]


def changes(page) -> list:
    """The messages without their clock: (seq, held, down, up)."""
    return [(m["seq"], sorted(m["held"]), m["down"], m["up"]) for m in sent_keys(page)]


def test_each_change_of_the_held_keys_sends_one_message(harness):
    start_game(harness)
    kb = harness.keyboard
    kb.down("ArrowUp")
    kb.down("ArrowLeft")
    kb.up("ArrowUp")
    kb.up("ArrowLeft")
    assert changes(harness) == [
        (0, ["ArrowUp"], ["ArrowUp"], []),
        (1, ["ArrowLeft", "ArrowUp"], ["ArrowLeft"], []),
        (2, ["ArrowLeft"], [], ["ArrowUp"]),
        (3, [], [], ["ArrowLeft"]),
    ]
    messages = sent_keys(harness)
    assert all(m["game"] == "g1" for m in messages)
    times = [m["t"] for m in messages]
    assert times == sorted(times) and all(isinstance(t, (int, float)) for t in times)
    now = harness.evaluate("Date.now()")
    assert abs(times[-1] - now) < 5000          # the client's clock, in ms since 1970


def test_a_press_and_release_within_one_frame_is_not_lost(harness):
    start_game(harness)
    # both events in one task: no animation frame (and no game frame) between them
    harness.evaluate("""() => {
        for (const type of ['keydown', 'keyup'])
            window.dispatchEvent(new KeyboardEvent(type, {key: 'ArrowRight', bubbles: true, cancelable: true}));
    }""")
    assert changes(harness) == [(0, ["ArrowRight"], ["ArrowRight"], []), (1, [], [], ["ArrowRight"])]
    harness.keyboard.press("w")
    assert changes(harness)[2:] == [(2, ["w"], ["w"], []), (3, [], [], ["w"])]


def test_combinations_auto_repeat_letters_in_either_case_and_unmapped_keys(harness):
    start_game(harness)
    kb = harness.keyboard
    kb.down("Shift")
    kb.down("ArrowUp")                 # Shift+ArrowUp, a combination the step can map
    kb.down("ArrowUp")                 # auto-repeat: nothing changed
    kb.down("W")                       # with Shift held the key is "W": the step maps "w"
    kb.up("W")
    kb.up("ArrowUp")
    kb.up("Shift")
    kb.press("x")                      # not mapped: not sent
    kb.press("Enter")
    assert changes(harness) == [
        (0, ["Shift"], ["Shift"], []),
        (1, ["ArrowUp", "Shift"], ["ArrowUp"], []),
        (2, ["ArrowUp", "Shift", "w"], ["w"], []),
        (3, ["ArrowUp", "Shift"], [], ["w"]),
        (4, ["Shift"], [], ["ArrowUp"]),
        (5, [], [], ["Shift"]),
    ]


def test_losing_focus_releases_every_held_key(harness):
    start_game(harness)
    harness.keyboard.down("ArrowUp")
    harness.keyboard.down(" ")
    harness.evaluate("window.dispatchEvent(new Event('blur'))")
    assert changes(harness)[-1] == (2, [], [], ["ArrowUp", " "])
    assert harness.is_visible(".mk-focus-note")
    harness.evaluate("window.dispatchEvent(new Event('focus'))")
    assert not harness.is_visible(".mk-focus-note")
    harness.keyboard.up("ArrowUp")     # released already: nothing more to send
    harness.keyboard.up(" ")
    assert len(sent_keys(harness)) == 3


def test_input_is_sent_without_animation_frames_as_in_a_hidden_tab(harness):
    start_game(harness)
    harness.evaluate("window.requestAnimationFrame = () => 0")   # a hidden tab runs no animation frames
    harness.keyboard.down("ArrowDown")
    harness.keyboard.up("ArrowDown")
    assert changes(harness) == [(0, ["ArrowDown"], ["ArrowDown"], []), (1, [], [], ["ArrowDown"])]


def test_seq_keeps_increasing_after_a_reload(context, site):
    page = open_harness(context, site)
    start_game(page, game="g7")
    page.keyboard.press("ArrowUp")
    assert [m["seq"] for m in sent_keys(page)] == [0, 1]
    page.reload()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    start_game(page, game="g7")
    page.keyboard.press("ArrowUp")
    assert [m["seq"] for m in sent_keys(page)] == [2, 3]
    start_game(page, game="g8")        # a new game counts from 0
    page.keyboard.press("ArrowUp")
    assert [m["seq"] for m in sent_keys(page)][2:] == [0, 1]


def test_leaving_the_game_stops_input_and_releases_held_keys(harness):
    start_game(harness)
    harness.keyboard.down("ArrowLeft")
    harness.evaluate("harness.receive('view', {kind: 'page', index: 3, total: 5, step: 's', title: 'Done', html: '', button: 'Next'})")
    assert changes(harness) == [(0, ["ArrowLeft"], ["ArrowLeft"], []), (1, [], [], ["ArrowLeft"])]
    harness.keyboard.up("ArrowLeft")
    harness.keyboard.press("ArrowRight")
    assert len(sent_keys(harness)) == 2


def make_scrollable(page):
    page.evaluate("""() => { const tall = document.createElement('div'); tall.style.height = '3000px';
                             document.body.append(tall); window.scrollTo(0, 0); }""")


def test_arrow_keys_and_space_do_not_scroll_the_game_page(harness):
    start_game(harness)
    make_scrollable(harness)
    for key in ["ArrowDown", "ArrowDown", " ", "PageDown", "End"]:
        harness.keyboard.press(key)
    assert harness.evaluate("window.scrollY") == 0
    prevented = harness.evaluate("""() => {
        const e = new KeyboardEvent('keydown', {key: 'ArrowDown', bubbles: true, cancelable: true});
        window.dispatchEvent(e);
        return e.defaultPrevented; }""")
    assert prevented


def test_outside_a_game_the_arrow_keys_scroll_as_usual(harness):
    """The control for the test above: the same page scrolls when no game is shown."""
    harness.evaluate("harness.receive('view', {kind: 'page', index: 0, total: 5, step: 's', title: 'Hi', html: '<p>x</p>', button: 'Next'})")
    make_scrollable(harness)
    harness.keyboard.press("ArrowDown")
    harness.wait_for_function("() => window.scrollY > 0")


def test_after_a_reconnection_the_held_keys_are_sent_again(harness):
    start_game(harness)
    harness.keyboard.down("ArrowUp")
    start_game(harness)                # the server sends the same view again after a reconnection
    assert changes(harness) == [(0, ["ArrowUp"], ["ArrowUp"], []), (1, ["ArrowUp"], [], [])]
