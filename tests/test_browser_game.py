"""The browser runtime's game object in CPython (it runs unchanged in Pyodide): a game resumed from
its record re-simulates to the same frame, sends only rows after the record, and reports where a
replay differs from the stored rows."""

from __future__ import annotations

import os

from mugkit.browser import game_from_spec
from mugkit.collect import load_experiment
from mugkit.runtime.values import from_json, to_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = {"step": "catch", "game": "g1", "seed": 11, "agent": "player",
        "participant": {"id": "p1", "params": {}, "condition": None}}


def new_game():
    return game_from_spec(load_experiment(os.path.join(ROOT, "experiments", "catch.py"), ROOT), SPEC)


def played(frames: int):
    game = new_game()
    game.start()
    for i in range(frames):
        game.key_message(i, ["ArrowLeft"] if i % 20 < 10 else ["ArrowRight"], [], [], None)
        game.tick(0.0, 0.0)
    return game, from_json(game.take_rows())


def record_of(rows: list, human: str = "player") -> dict:
    frames: dict = {}
    for r in rows:
        humans, stored = frames.setdefault(r["frame"], ({}, {}))
        if r["agent"] == human:
            humans[human] = [r["action"], r["keys"], r["filled"]]
        stored[r["agent"]] = [r["action"], r["reward"]]
    last = max((r["episode"], r["frame"]) for r in rows)
    return {"episode": 0, "frames": [[f, h, s] for f, (h, s) in sorted(frames.items()) if f > 0], "last": list(last)}


def test_a_resumed_game_stands_where_the_record_ends_and_sends_only_new_rows():
    original, rows = played(90)
    resumed = new_game()
    resumed.resume(to_json(record_of(rows)))
    while resumed.replaying:
        resumed.replay_step()
    assert resumed.position == original.position == [0, 90]
    assert resumed.driver.checksum() == original.driver.checksum()
    assert resumed.diverged is None and resumed.take_rows() is None   # nothing replayed is sent again
    resumed.tick(0.0, 0.0)
    assert [r["frame"] for r in from_json(resumed.take_rows())] == [91]


def test_a_replay_that_differs_from_the_stored_rows_is_reported_at_its_first_frame():
    _, rows = played(60)
    record = record_of(rows)
    frame, humans, stored = record["frames"][29]          # frame 30
    stored["player"] = [stored["player"][0], 999]           # as if the env had rewarded otherwise
    resumed = new_game()
    resumed.resume(to_json(record))
    while resumed.replaying:
        resumed.replay_step()
    assert resumed.diverged == {"episode": 0, "frame": 30, "agent": "player", "stored": [stored["player"][0], 999],
                                "replayed": [stored["player"][0], 0]}
    assert from_json(resumed.divergence())["frame"] == 30
