"""Helpers of the race and identity tests: a participant of tests/security/studies/_race.py who
plays its browser game honestly (rows made by mugkit's own BrowserGame, as a page makes them)."""

from __future__ import annotations

import os

from serving import Browser

from mugkit.runtime.values import from_json

RACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studies", "_race.py")
_EXPERIMENT = []


def experiment():
    """The collected race study (once per process)."""
    if not _EXPERIMENT:
        from mugkit.collect import collect

        _EXPERIMENT.extend(collect([RACE]))
    return _EXPERIMENT[0]


async def into_browser_game(b: Browser) -> dict:
    """Connects, consents; returns the browser game's view."""
    await b.connect()
    consent = await b.view("consent")
    assert (await b.call("advance", {"index": consent["index"], "agree": True}))["ok"]
    return await b.view("game")


async def play_browser_game(b: Browser, view: dict, session: str = "s1") -> None:
    """Plays the browser game to its end in CPython and sends every row (acknowledged)."""
    from mugkit.browser import game_from_spec

    game = game_from_spec(experiment(), from_json(view["boot"]["spec"]))
    game.start()
    t = 0.0
    while not game.finished:
        game.tick(t, 0.0)
        t += 1 / 30
    text = game.take_rows()
    reply = await b.call("rows", {"game": view["game"], "session": session, "batch": 0, "rows": text})
    assert reply["ok"], reply
