"""Two humans on the server: both must be ready; one who never is ends the game (not_ready)."""

import mugkit as mk

from _envs import KEYS, Pair

TITLE = "Walking together"


@mk.scene(players={"blue": mk.HUMAN, "orange": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=30,
          waitroom_timeout=6, countdown=1, round_over=2, labels={"blue": "Blue", "orange": "Orange"})
def pair(group):
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="PAIR77", timeout_code="PAIRTIME")
