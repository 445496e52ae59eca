"""One human in a monitored server game (mk.Monitor): a hidden tab (3 s), silence (3 s after
the last heartbeat, then 3 s) or idleness (8 s) excludes them. Long enough that only the monitor ends it early."""

import mugkit as mk

from _walk import KEYS, Walk

WATCH = mk.Monitor(hidden_seconds=3, idle_seconds=8, warn_seconds=2)


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="A monitored game follows.", button="Start")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=900, monitor=WATCH)
def walk(seed):
    return Walk()


@mk.scene
def done():
    return mk.Completion(code="SOLO1", exclusion_code="EXCL9")
