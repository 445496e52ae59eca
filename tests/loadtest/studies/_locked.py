"""A flow no participant can get through: a turn-based game whose env masks every action, so the
frame waits for a key that never counts (load-test tests: the bot must be reported stuck here)."""

import mugkit as mk
from mugkit import draw, spaces


class Locked:
    def __init__(self):
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        return 0, {"action_mask": [0, 0]}

    def step(self, action):
        return 0, 0.0, False, False, {"action_mask": [0, 0]}

    def render(self):
        return [draw.text(10, 30, "locked")]


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="This study never ends.")


@mk.scene(players={"p": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 1}, turn_based=True, max_steps=5)
def locked():
    return Locked()


@mk.scene
def done():
    return mk.Completion(code="NEVER")
