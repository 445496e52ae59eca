"""The smallest study with a browser game, for the install tests (test_runtime_fetch.py,
test_install.py): one human walks in the browser runtime for 60 frames (two seconds at 30 fps),
then the completion page. Numpy-free, and it imports nothing but mugkit: it also runs from a folder
outside the repository with a wheel-installed mugkit."""

import mugkit as mk
from mugkit import draw, spaces


class Stride:
    """A walker on a line; the episode is cut at 60 frames (max_steps)."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.x = 50
        return self.x, {}

    def step(self, action):
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, float(action == 2), False, False, {}

    def get_state(self):
        return self.x

    def set_state(self, state):
        self.x = state

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea"), draw.circle(self.x * 4, 200, 12, color="#2c6e9b", id="me"),
                draw.text(10, 24, f"x = {self.x}", color="#222")]


@mk.scene(players={"walker": mk.HUMAN}, runtime="browser", keys={"ArrowLeft": 0, "ArrowRight": 2},
          default_action=1, fps=30, max_steps=60, episodes=1)
def stride(seed):
    return Stride()


@mk.scene
def done():
    return mk.Completion(code="STRIDE9")
