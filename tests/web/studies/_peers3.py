"""Three humans and an AI in one browser game (server test study for the peers' protocol)."""

import mugkit as mk

from _peers import KEYS, Walkers


@mk.policy
def still():
    return lambda observation: 1


@mk.scene(players={"bot": "still", "a": mk.HUMAN, "b": mk.HUMAN, "c": mk.HUMAN}, keys=KEYS, default_action=1,
          fps=30, max_steps=15, runtime="browser", waitroom_timeout=20)
def trio(group):
    return Walkers(["bot", "a", "b", "c"])


@mk.scene
def done():
    return mk.Completion(code="PEERS3")
