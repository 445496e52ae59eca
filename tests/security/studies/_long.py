"""A study whose server game lasts long enough to fill the disk under it (named with _ so
`pytest tests/` does not check it): a game, a survey, the completion page."""

import mugkit as mk
from mugkit import draw, spaces


class Drift:
    """A dot drifting on a line; numpy-free."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.x = 500
        return self.x, {}

    def step(self, action):
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, 0.0, False, False, {"note": "x" * 200}  # rows of some size fill the disk sooner

    def render(self):
        return [draw.circle(self.x, 200, 12, id="dot")]


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, fps=30,
          max_steps=30 * 600)
def drift(seed):
    return Drift()


@mk.survey
def after():
    return [mk.Text("comments", "Anything else?", required=False)]


@mk.scene
def done():
    return mk.Completion(code="LONG1")


FLOW = [drift, after, done]
