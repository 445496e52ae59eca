"""Two participants matched into one server game (server test study)."""

import mugkit as mk

from _walk import Duo, KEYS


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=30,
          waitroom_timeout=20)
def duo(group):
    return Duo()


@mk.scene
def done():
    return mk.Completion(code="DUO777")
