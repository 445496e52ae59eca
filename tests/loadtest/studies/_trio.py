"""Three humans and an AI in one browser game (runtime="browser"): each bot runs one peer over the
server's relay, the host (the lowest handle) plays the AI too (load-test tests)."""

import mugkit as mk

from _walkers import Walkers


@mk.policy
def still():
    return lambda observation: 1


@mk.scene(players={"bot": "still", "a": mk.HUMAN, "b": mk.HUMAN, "c": mk.HUMAN},
          keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, fps=30, max_steps=40, runtime="browser",
          waitroom_timeout=20)
def trio(group):
    return Walkers(["bot", "a", "b", "c"])


@mk.scene
def done():
    return mk.Completion(code="TRIO33")
