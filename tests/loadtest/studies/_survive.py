"""A study whose server process is killed mid-run (tests/web/test_takeover_workers.py): a game on the
server long enough to be cut, then one in the browser (named with _ so checks skip it)."""

import mugkit as mk
from mugkit import draw, spaces


class Line:
    """A walker on a line; numpy-free, so it also runs in the browser."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, render_mode=None):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(200)

    def reset(self, seed=None, options=None):
        self.x = 100
        return self.x, {}

    def step(self, action):
        self.x = max(0, min(199, self.x + action - 1))
        return self.x, float(action == 2), False, False, {"x": self.x}

    def get_state(self):
        return {"x": self.x}

    def set_state(self, state):
        self.x = state["x"]

    def render(self):
        return [draw.circle(self.x * 3, 200, 10, color="#2980b9", id="walker")]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="A study that survives.", button="Start")


@mk.scene(players={"walker": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=240)
def on_server(seed):
    return Line()


@mk.scene(players={"walker": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=150, runtime="browser")
def in_browser(seed):
    return Line()


@mk.scene
def done():
    return mk.Completion(code="SURVIVED")


FLOW = [welcome, on_server, in_browser, done]
