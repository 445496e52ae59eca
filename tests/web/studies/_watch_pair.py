"""Two humans in a monitored server game: one excluded ends it for both; the other goes on."""

import mugkit as mk

from _walk import KEYS, Duo


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=900,
          waitroom_timeout=20, monitor=mk.Monitor(hidden_seconds=3, idle_seconds=None, warn_seconds=2))
def pair(group):
    return Duo()


@mk.survey
def after():
    return [mk.Text("comments", "Anything else?", required=False)]


@mk.scene
def done():
    return mk.Completion(code="PAIR1", exclusion_code="EXCL9")
