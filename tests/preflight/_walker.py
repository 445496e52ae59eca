"""The env of the pre-flight studies: a walker on a line, numpy-free; ``crash_at`` makes its
step() raise at that frame (a bug the participant would meet mid-game)."""

from mugkit import draw, spaces


class Walker:
    metadata = {"render_modes": ["mug"]}

    def __init__(self, crash_at=None):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(100)
        self.crash_at = crash_at

    def reset(self, seed=None, options=None):
        self.x, self.t = 50, 0
        return self.x, {}

    def step(self, action):
        self.t += 1
        if self.t == self.crash_at:
            raise ZeroDivisionError("the walker fell off the edge")
        self.x = max(0, min(99, self.x + action - 1))
        return self.x, 0.0, False, False, {}

    def render(self):
        return [draw.circle(self.x * 6, 200, 12, id="walker")]
