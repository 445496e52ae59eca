"""One human in a server game monitored for round trips only: two slow (or unanswered) of the last
three pings, taken every half second, exclude."""

import mugkit as mk

from _walk import KEYS, Walk


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=900,
          monitor=mk.Monitor(hidden_seconds=None, idle_seconds=None, max_rtt_ms=150, rtt_violations=(2, 3),
                             ping_seconds=0.5))
def walk(seed):
    return Walk()


@mk.scene
def done():
    return mk.Completion(code="LAG1", exclusion_code="EXCL9")
