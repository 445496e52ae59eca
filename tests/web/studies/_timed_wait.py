"""A two-player server game whose waitroom times out (tests/web/test_timeouts.py): a participant
alone waits two seconds, then finishes with the completion's timeout code."""

import mugkit as mk
from mugkit import spaces


class Pair:
    def __init__(self):
        self.possible_agents = ["a", "b"]

    def action_space(self, agent):
        return spaces.Discrete(2)

    def observation_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        no = {a: False for a in self.agents}
        return {a: 0 for a in self.agents}, {a: 0.0 for a in self.agents}, no, dict(no), {a: {} for a in self.agents}

    def render(self):
        return []


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"x": 1}, default_action=0, max_steps=10,
          waitroom_timeout=2)
def pair():
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="PAIRED1", timeout_code="ALONE2")
