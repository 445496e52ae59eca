"""A study whose env raises at frame 3."""

import mugkit as mk
from _walker import Walker


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, max_steps=60)
def walk(seed):
    return Walker(crash_at=3)
