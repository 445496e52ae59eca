"""A one-player browser-runtime game without max_steps (two episodes), to send rows to (the limit
tests speak its protocol themselves; no browser runs it). Named with _ so `pytest tests/` does
not check it."""

import mugkit as mk
from mugkit import draw, spaces


class Count:
    """The action adds to a counter; a PettingZoo parallel env with its state."""

    metadata = {"render_modes": ["mug"]}
    possible_agents = ["me"]

    def __init__(self):
        self.n = self.t = 0
        self.agents = ["me"]

    def observation_space(self, agent):
        return spaces.Discrete(100000)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.n = self.t = 0
        self.agents = ["me"]
        return {"me": 0}, {"me": {}}

    def step(self, actions):
        self.n += actions["me"]
        self.t += 1
        return {"me": self.n}, {"me": 0}, {"me": False}, {"me": False}, {"me": {}}

    def get_state(self):
        return [self.n, self.t]

    def set_state(self, state):
        self.n, self.t = state

    def render(self):
        return [draw.text(10, 10, f"count {self.n}", id="n")]


@mk.scene(players={"me": mk.HUMAN}, runtime="browser", fps=30, episodes=2,
          keys={"ArrowUp": 1}, default_action=0, record_observations=True)
def count(seed):
    return Count()


@mk.scene
def done():
    return mk.Completion(code="ENDLESS1")


FLOW = [count, done]
