"""Two humans matched into one server game, with every code of the completion (the admin page's
tests: an exclusion, a wait ended by an admin, entries paused)."""

import mugkit as mk

from _walk import Duo, KEYS


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=30,
          waitroom_timeout=120)
def duo(group):
    return Duo()


@mk.scene
def done():
    return mk.Completion(code="WATCHED-OK", timeout_code="WATCHED-TIME", exclusion_code="WATCHED-EXCL")
