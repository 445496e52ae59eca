"""A study whose space bar maps to action 5 of a Discrete(3) walker; two steps share the mistake."""

import mugkit as mk
from _walker import Walker

KEYS = {"ArrowLeft": 0, "ArrowRight": 2, " ": 5}


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, max_steps=60)
def walk(seed):
    return Walker()


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, max_steps=60, runtime="browser")
def walk_again(seed):
    return Walker()
