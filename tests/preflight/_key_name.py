"""A study that maps the space bar as "Space" (KeyboardEvent.code), which no key press reaches."""

import mugkit as mk
from _walker import Walker


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "Space": 2}, default_action=1, max_steps=60)
def walk(seed):
    return Walker()
