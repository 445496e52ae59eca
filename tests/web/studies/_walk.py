"""A small study for the server tests: a page, consent, a one-player server game, a survey, the
completion redirect; and a two-player game (named with _ so `pytest tests/` does not check it)."""

import mugkit as mk
from mugkit import draw, spaces


class Walk:
    """A walker on a line; numpy-free."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.x, self.t = 50, 0
        return self.x, {}

    def step(self, action):
        self.t += 1
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, float(action == 2), False, False, {}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea"), draw.circle(self.x * 4, 200, 12, color="#c0392b", id="walker"),
                draw.text(10, 24, f"x = {self.x}", color="#222")]


class Duo:
    """Two walkers."""

    def __init__(self):
        self.possible_agents = ["left", "right"]

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"left": 20, "right": 80}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            self.pos[a] = max(0, min(999, self.pos[a] + act - 1))
        return dict(self.pos), {a: 0.0 for a in self.agents}, {a: False for a in self.agents}, \
            {a: False for a in self.agents}, {a: {} for a in self.agents}

    def render(self):
        return [draw.circle(self.pos[a] * 5, 100 + 100 * i, 10, id=a) for i, a in enumerate(self.agents)]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="Thank you for joining. You will **walk** for a few seconds.", button="Start")


@mk.scene
def consent():
    return mk.Consent(body="You agree that your key presses are recorded.", decline_code="DECLINED1")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=45)
def walk(seed):
    return Walk()


@mk.survey
def after():
    return [mk.Likert("fun", "The game was fun.", points=5),
            mk.Choice("hand", "Which hand did you use?", ["left", "right", "both"]),
            mk.Text("comments", "Anything else?", required=False)]


@mk.scene
def done():
    return mk.Completion(code="C0DE42", redirect="https://app.prolific.com/submissions/complete?cc={code}")


FLOW = [welcome, consent, walk, after, done]
