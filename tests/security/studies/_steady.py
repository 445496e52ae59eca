"""A long one-player server game at 30 fps (the honest game whose frames the limit tests time),
then the completion. Named with _ so `pytest tests/` does not check it."""

import mugkit as mk
from mugkit import draw, spaces


class Drift:
    """A dot that drifts along a line; numpy-free."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.x = 500
        return self.x, {}

    def step(self, action):
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, 0.0, False, False, {}

    def render(self):
        return [draw.circle(self.x * 0.6, 200, 12, id="dot"), draw.text(10, 24, f"x = {self.x}")]


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, fps=30,
          max_steps=1800)
def drift(seed):
    return Drift()


@mk.scene
def done():
    return mk.Completion(code="STEADY1")


FLOW = [drift, done]
