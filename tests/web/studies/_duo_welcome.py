"""A welcome page, then two participants matched into one server game (several server processes:
each player's socket can be placed on a process of the test's choosing before the game)."""

import mugkit as mk

from _walk import Duo, KEYS


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="You will play with another participant.", button="Start")


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=30,
          waitroom_timeout=30)
def duo(group):
    return Duo()


@mk.scene
def done():
    return mk.Completion(code="DUO777")
