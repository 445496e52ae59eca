"""Two humans matched into one short server game; a lone participant times out of the waitroom
after three seconds (load-test tests)."""

import mugkit as mk
from mugkit import draw, spaces


class Two:
    def __init__(self):
        self.possible_agents = ["left", "right"]

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(200)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"left": 50, "right": 150}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            self.pos[a] = max(0, min(199, self.pos[a] + act - 1))
        return dict(self.pos), {a: 0.0 for a in self.agents}, {a: False for a in self.agents}, \
            {a: False for a in self.agents}, {a: {} for a in self.agents}

    def render(self):
        return [draw.circle(self.pos[a] * 3, 100 + 200 * i, 10, id=a) for i, a in enumerate(self.agents)]


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
          fps=30, max_steps=30, waitroom_timeout=3)
def together(group):
    return Two()


@mk.scene
def done():
    return mk.Completion(code="PAIR22", timeout_code="ALONE33")
