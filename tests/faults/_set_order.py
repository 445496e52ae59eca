"""A planted fault on its own, for the repeated hash-order test: two agents whose starting places
follow the iteration order of a set of their names, which changes with PYTHONHASHSEED."""

import mugkit as mk
from mugkit import draw, spaces


class SetOrder:
    """Two walkers; reset() hands out the starting places in set order."""

    metadata = {"name": "set_order"}

    def __init__(self):
        self.possible_agents = ["north", "south"]

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(100)

    def reset(self, seed=None, options=None):
        names = set(self.possible_agents)
        self.pos = {}
        for place, agent in enumerate(names):  # the planted fault: set order
            self.pos[agent] = 10 * place
        self.agents = list(self.possible_agents)
        self.t = 0
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in actions.items():
            self.pos[a] = max(0, min(99, self.pos[a] + act - 1))
        done = self.t >= 30
        out = (dict(self.pos), {a: 0 for a in self.agents}, {a: False for a in self.agents},
               {a: done for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def get_state(self):
        return {"pos": dict(self.pos), "t": self.t, "agents": list(self.agents)}

    def set_state(self, state):
        self.pos, self.t, self.agents = dict(state["pos"]), state["t"], list(state["agents"])

    def render(self):
        return [draw.circle(self.pos[a] * 5, 50, 5, id=a) for a in self.pos]


@mk.scene(players={"north": mk.HUMAN, "south": "random"}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1)
def set_order():
    return SetOrder()
