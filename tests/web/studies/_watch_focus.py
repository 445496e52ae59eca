"""One human in a server game monitored with focus_lost=True: a window behind another one counts
as hidden (3 s)."""

import mugkit as mk

from _walk import KEYS, Walk


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=900,
          monitor=mk.Monitor(hidden_seconds=3, idle_seconds=None, warn_seconds=2, focus_lost=True))
def walk(seed):
    return Walk()


@mk.scene
def done():
    return mk.Completion(code="FOCUS1", exclusion_code="EXCL9")
