"""Two humans in a monitored browser game over WebRTC (runtime="browser"): one excluded ends the
game for both, and the other goes on."""

import mugkit as mk

from _peers import KEYS, Walkers


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=900,
          runtime="browser", waitroom_timeout=20, monitor=mk.Monitor(hidden_seconds=3, idle_seconds=None,
                                                                     warn_seconds=2))
def pair(group):
    return Walkers(["left", "right"])


@mk.scene
def done():
    return mk.Completion(code="PEERS9", exclusion_code="EXCL9")
