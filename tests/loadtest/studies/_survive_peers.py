"""Two humans in one browser game whose server process is killed mid-game
(tests/web/test_takeover_workers.py): each bot runs one peer of the rollback session over the
server's relay (named with _ so checks skip it)."""

import mugkit as mk

from _walkers import Walkers


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="A study that survives.", button="Start")


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
          fps=30, max_steps=450, runtime="browser", waitroom_timeout=30)
def duet(group):
    return Walkers(["left", "right"])


@mk.scene
def done():
    return mk.Completion(code="DUET22", timeout_code="SOLO11")


FLOW = [welcome, duet, done]
