"""A study whose env raises at frame 3, and one whose env raises at frame 50."""

import mugkit as mk
from _walker import Walker


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, max_steps=60)
def walk(seed):
    return Walker(crash_at=3)


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, max_steps=600)
def walk_longer(seed):
    return Walker(crash_at=50)   # the participant's game would stop after less than two seconds
