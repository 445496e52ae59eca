"""A walker on a line for the verification tests: numpy-free (it runs in Pyodide too), it ends an
episode by itself when the walker reaches x = 106, or at max_steps."""

from mugkit import draw, spaces

KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


class Line:
    metadata = {"render_modes": ["mug"]}

    def __init__(self, render_mode=None):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(200)

    def reset(self, seed=None, options=None):
        self.x = 100
        return self.x, {}

    def step(self, action):
        self.x = max(0, min(199, self.x + action - 1))
        return self.x, float(action == 2), self.x >= 106, False, {"x": self.x}

    def get_state(self):
        return {"x": self.x}

    def set_state(self, state):
        self.x = state["x"]

    def render(self):
        return [draw.circle(self.x * 3, 200, 10, color="#2980b9", id="walker")]
