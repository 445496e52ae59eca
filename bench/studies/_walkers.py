"""Walkers for bench/bench_rollback_browser.py: 2 and 4 humans on a line with a seeded wind (the
examples have no browser step with four humans). Named with a leading _ so that nothing collects it."""

import random

import mugkit as mk
from mugkit import draw, spaces

KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


class Walkers:
    metadata = {"render_modes": ["mug"], "name": "walkers"}

    def __init__(self, agents):
        self.possible_agents = list(agents)
        self.render_mode = "mug"
        self.agents = []

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Box(0, 400, shape=(len(self.possible_agents),), dtype="int")

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {a: 50 + 100 * i for i, a in enumerate(self.agents)}
        self.t = 0
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        return {a: [self.pos[b] for b in self.possible_agents] for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in sorted(actions.items()):
            self.pos[a] = max(0, min(400, self.pos[a] + 4 * (act - 1) + self.rng.randint(-1, 1)))
        done = self.t >= 1800
        obs = self._obs()
        out = (obs, {a: 0 for a in obs}, {a: False for a in obs}, {a: done for a in obs}, {a: {} for a in obs})
        if done:
            self.agents = []
        return out

    def render(self):
        return [draw.circle(self.pos[a], 100 + 40 * i, 10, id=a) for i, a in enumerate(self.possible_agents)]

    def get_state(self):
        return {"pos": dict(self.pos), "t": self.t, "rng": self.rng.getstate(), "agents": list(self.agents)}

    def set_state(self, state):
        self.pos, self.t, self.agents = dict(state["pos"]), state["t"], list(state["agents"])
        self.rng.setstate(state["rng"])


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1)
def walkers2():
    return Walkers("ab")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN, "c": mk.HUMAN, "d": mk.HUMAN}, runtime="browser", keys=KEYS,
          default_action=1)
def walkers4():
    return Walkers("abcd")
