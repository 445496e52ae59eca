"""A timed page before a two-player server game (tests/web/test_step_timeouts.py): a participant
whose page is closed when its time runs out must not wait in the game's waitroom for nobody."""

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


@mk.scene(timeout=1)
def rules():
    return mk.Page(title="Rules", body="The game starts when your partner is here.")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"x": 1}, default_action=0, max_steps=300, fps=30)
def pair():
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="PAIRED2")
