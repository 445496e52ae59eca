"""An env of walkers on lines, one per agent, with get_state/set_state (load-test studies)."""

from mugkit import draw, spaces


class Walkers:
    """Each agent walks on its own line; the state is a few integers (rollback saves and loads it)."""

    def __init__(self, agents):
        self.possible_agents = list(agents)

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(200)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {a: 50 + 30 * i for i, a in enumerate(self.agents)}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            self.pos[a] = max(0, min(199, self.pos[a] + act - 1))
        return (dict(self.pos), {a: float(self.pos[a] > 100) for a in self.agents}, {a: False for a in self.agents},
                {a: False for a in self.agents}, {a: {} for a in self.agents})

    def get_state(self):
        return {"pos": dict(self.pos), "agents": list(self.agents)}

    def set_state(self, state):
        self.pos, self.agents = dict(state["pos"]), list(state["agents"])

    def render(self):
        return [draw.circle(self.pos[a] * 3, 60 + 80 * i, 10, id=a) for i, a in enumerate(self.agents)]




