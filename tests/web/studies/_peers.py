"""Browser games with several humans (runtime="browser"): two humans, and three humans with an AI
(server test study for the peers' protocol; no numpy, so it also runs in Pyodide)."""

import mugkit as mk
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




KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene(players={"left": mk.HUMAN, "right": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=20,
          episodes=2, runtime="browser", waitroom_timeout=20)
def pair(group):
    return Walkers(["left", "right"])


@mk.scene
def done():
    return mk.Completion(code="PEERS2", timeout_code="ALONE2")
