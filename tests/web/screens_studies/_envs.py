"""Envs of the screens tests: a walker that can be told to raise, numpy-free (it runs in Pyodide too)."""

from mugkit import draw, spaces


class Walk:
    """A walker on a line; reward 1 per step to the right; ``crash_at``: step() raises at that frame."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, crash_at=None):
        self.crash_at = crash_at
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.x, self.t = 50, 0
        return self.x, {}

    def step(self, action):
        self.t += 1
        if self.crash_at is not None and self.t >= self.crash_at:
            raise RuntimeError(f"the walker fell over at frame {self.t}")
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, float(action == 2), False, False, {}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea"), draw.circle(self.x * 4, 200, 14, color="#c0392b", id="walker"),
                draw.text(10, 24, f"x = {self.x}", color="#222")]


class Pair:
    """Two walkers, "blue" and "orange"; rewards: each one's steps to the right."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.possible_agents = ["blue", "orange"]

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"blue": 40, "orange": 80}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            self.pos[a] = max(0, min(140, self.pos[a] + act - 1))
        rewards = {a: float(actions[a] == 2) for a in self.agents}
        return dict(self.pos), rewards, {a: False for a in self.agents}, {a: False for a in self.agents}, \
            {a: {} for a in self.agents}

    def render(self):
        colors = {"blue": "#2a5bd7", "orange": "#e8833a"}
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea")] + [
            draw.circle(self.pos[a] * 4, 130 + 140 * i, 16, color=colors[a], id=a) for i, a in enumerate(self.agents)]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}
