"""One participant, two rounds on the server: the ready screen, the countdown, the round-over
screens with a score function, agent names and the time left."""

import mugkit as mk

from _envs import KEYS, Pair

TITLE = "Walking study"


@mk.scene(players={"blue": mk.HUMAN, "orange": "random"}, keys=KEYS, default_action=1, fps=30, max_steps=60,
          episodes=2, countdown=2, round_over=20, labels={"orange": "Computer"},
          score=lambda returns: {agent: f"{int(r)} steps right" for agent, r in returns.items()})
def rounds(seed):
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="ROUNDS1")
