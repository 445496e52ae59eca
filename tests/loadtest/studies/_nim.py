"""A turn-based (AEC) browser game for the load-test tests: Nim, where most key presses are
illegal near the end (the action mask forbids taking more stones than are left), against a
random AI (named with _ so checks skip it)."""

import mugkit as mk
from mugkit import draw, spaces


class Nim:
    metadata = {"render_modes": ["mug"], "name": "nim_v0"}

    def __init__(self, render_mode="mug"):
        self.render_mode = render_mode
        self.possible_agents = ["first", "second"]
        self._act = {a: spaces.Discrete(9) for a in self.possible_agents}
        self._obs = {a: spaces.Dict({"observation": spaces.Box(0, 12, shape=(1,), dtype="int"),
                                     "action_mask": spaces.Box(0, 1, shape=(9,), dtype="int")})
                     for a in self.possible_agents}
        self.reset()

    def action_space(self, agent):
        return self._act[agent]

    def observation_space(self, agent):
        return self._obs[agent]

    def reset(self, seed=None, options=None):
        self.pile = 12
        self.agents = list(self.possible_agents)
        self.agent_selection = "first"
        self.rewards = {a: 0 for a in self.agents}
        self._cumulative_rewards = {a: 0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}

    def observe(self, agent):
        return {"observation": [self.pile], "action_mask": [1 if n + 1 <= self.pile else 0 for n in range(9)]}

    def last(self, observe=True):
        a = self.agent_selection
        return (self.observe(a) if observe else None, self._cumulative_rewards[a], self.terminations[a],
                self.truncations[a], self.infos[a])

    def step(self, action):
        a = self.agent_selection
        if self.terminations[a]:
            for d in (self.rewards, self._cumulative_rewards, self.terminations, self.truncations, self.infos):
                del d[a]
            self.agents.remove(a)
            self.rewards = {b: 0 for b in self.agents}
            if self.agents:
                self.agent_selection = self.agents[0]
            return
        self._cumulative_rewards[a] = 0
        other = "second" if a == "first" else "first"
        self.pile -= action + 1
        self.rewards = {a: 0, other: 0}
        if self.pile == 0:
            self.rewards = {a: 1, other: -1}
            self.terminations = {b: True for b in self.agents}
        for b in self.agents:
            self._cumulative_rewards[b] += self.rewards[b]
        self.agent_selection = other

    def render(self):
        return [draw.text(10, 10, f"stones: {self.pile}", id="pile")]


@mk.scene(players={"first": mk.HUMAN, "second": "random"}, runtime="browser", episodes=3, fps=60,
          keys={str(n + 1): n for n in range(9)})
def nim(seed):
    return Nim()


@mk.scene
def done():
    return mk.Completion(code="NIM")
