"""A study with nothing wrong: pre-flight lets it open."""

import mugkit as mk
from _walker import Walker


@mk.scene
def instructions():
    return mk.Page(title="How to play", body="instructions.md")


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, max_steps=60)
def walk(seed):
    return Walker()
