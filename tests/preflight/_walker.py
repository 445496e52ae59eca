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


class Duo:
    """Two walkers (a parallel env), for comparisons of two-human games."""

    possible_agents = ["a", "b"]

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(100)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"a": 20, "b": 80}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            self.pos[a] = max(0, min(99, self.pos[a] + act - 1))
        no = {a: False for a in self.agents}
        return dict(self.pos), {a: 0.0 for a in self.agents}, no, dict(no), {a: {} for a in self.agents}

    def render(self):
        return [draw.circle(self.pos[a] * 6, 100 + 100 * i, 10, id=a) for i, a in enumerate(self.agents)]
