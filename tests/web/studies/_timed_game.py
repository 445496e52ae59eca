"""A timed page before a two-player server game (tests/web/test_step_timeouts.py): a participant
whose page is closed when its time runs out must not wait in the game's waitroom for nobody."""

import mugkit as mk
from _timed_wait import Pair  # the same two-player env (a sibling module)


@mk.scene(timeout=1)
def rules():
    return mk.Page(title="Rules", body="The game starts when your partner is here.")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"x": 1}, default_action=0, max_steps=300, fps=30)
def pair():
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="PAIRED2")
