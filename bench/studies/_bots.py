"""The load-test bench's study: a page, a 15-second one-player server game at 30 fps, a survey and
the completion (named with _ so checks do not collect it)."""

import mugkit as mk
from mugkit import draw, spaces


class Dot:
    """A dot moved by its player."""

    def __init__(self):
        self.action_space = spaces.Discrete(5)
        self.observation_space = spaces.Box(0, 100, shape=(2,), dtype="int")

    def reset(self, seed=None, options=None):
        self.pos = [50, 50]
        return list(self.pos), {}

    def step(self, action):
        dx, dy = {0: (0, 0), 1: (0, -1), 2: (0, 1), 3: (-1, 0), 4: (1, 0)}[action]
        self.pos = [max(0, min(100, self.pos[0] + dx)), max(0, min(100, self.pos[1] + dy))]
        return list(self.pos), 0.0, False, False, {}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#eeeeee"),
                draw.circle(self.pos[0] * 6, self.pos[1] * 4, 8, color="#c0392b", id="dot")]


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="A bench study.", button="Start")


@mk.scene(players={"dot": mk.HUMAN}, fps=30, max_steps=450, default_action=0,
          keys={"ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4})
def play():
    return Dot()


@mk.survey
def after():
    return [mk.Likert("fun", "Fun?", points=5), mk.Choice("hand", "Hand?", ["left", "right"])]


@mk.scene
def done():
    return mk.Completion(code="BOTS")
