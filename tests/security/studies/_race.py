"""A study for the race and identity attacks: consent, a one-player browser game, a survey, a
one-player server game, a page, the completion. Numpy-free, so the browser runtime can serve it."""

import mugkit as mk
from mugkit import draw, spaces


class Steps:
    """A counter that ends after LENGTH frames."""

    LENGTH = 6
    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.t, {}

    def step(self, action):
        self.t += 1
        return self.t, float(action), self.t >= self.LENGTH, False, {}

    def render(self):
        return [draw.text(10, 20, f"t = {self.t}")]


class Long(Steps):
    LENGTH = 10**9


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene
def consent():
    return mk.Consent(body="You agree.", decline_code="NO")


@mk.scene(players={"me": mk.HUMAN}, keys=KEYS, default_action=1, runtime="browser")
def tap(seed):
    return Steps()


@mk.survey
def after():
    return [mk.Likert("fun", "Fun?", points=5)]


@mk.scene(players={"me": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=300)
def walk(seed):
    return Long()


@mk.scene
def between():
    return mk.Page(body="One more page.")


@mk.scene
def done():
    return mk.Completion(code="RACE1")


FLOW = [consent, tap, after, walk, between, done]
