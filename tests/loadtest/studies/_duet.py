"""Two humans in one browser game (runtime="browser"): each bot runs one peer of the rollback
session in CPython over the server's relay (load-test tests); a consent first, a completion after."""

import mugkit as mk

from _walkers import Walkers


@mk.scene
def consent():
    return mk.Consent(body="A short test. Do you agree?", decline_code="DECLINED")


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
          fps=30, max_steps=45, episodes=2, runtime="browser", waitroom_timeout=20)
def duet(group):
    return Walkers(["left", "right"])


@mk.scene
def done():
    return mk.Completion(code="DUET22", timeout_code="SOLO11")
