"""One human walks for ten seconds on the server (several server processes: long enough to
reconnect to another process mid-game, maybe more than once)."""

import mugkit as mk

from _walk import KEYS, Walk


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=300)
def stroll(seed):
    return Walk()


@mk.scene
def done():
    return mk.Completion(code="STROLL1")
