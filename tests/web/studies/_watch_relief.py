"""Two humans in a monitored server game whose excluded player's agent a policy takes over."""

import mugkit as mk

from _walk import KEYS, Duo


@mk.policy
def walker():
    return lambda observation: 2     # always walks right


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=240,
          waitroom_timeout=20, monitor=mk.Monitor(hidden_seconds=3, idle_seconds=None, warn_seconds=2,
                                                  takeover="walker"))
def relief(group):
    return Duo()


@mk.scene
def done():
    return mk.Completion(code="RELIEF1", exclusion_code="EXCL9")
