"""Two humans play Nim in the browser (a pure-Python AEC env: turn-based, with action masks): a
rollback game in which a frame waits until its player presses."""
import mugkit as mk
from mugkit import draw, spaces


class Nim:
    """AEC: players alternately take 1-3 sticks; whoever takes the last one wins."""

    metadata = {"name": "nim", "is_parallelizable": False}

    def __init__(self):
        self.possible_agents = ["first", "second"]

    def observation_space(self, agent):
        return spaces.Dict({"observation": spaces.Discrete(16), "action_mask": spaces.Box(0, 1, shape=(3,), dtype="int")})

    def action_space(self, agent):
        return spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.sticks = 9 + (seed or 0) % 5
        self.agent_selection = "first"
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}

    def observe(self, agent):
        return {"observation": self.sticks, "action_mask": [1 if self.sticks > i else 0 for i in range(3)]}

    def last(self, observe=True):
        a = self.agent_selection
        return (self.observe(a) if observe else None, self._cumulative_rewards[a], self.terminations[a],
                self.truncations[a], self.infos[a])

    def step(self, action):
        a = self.agent_selection
        if self.terminations[a] or self.truncations[a]:
            for d in (self.terminations, self.truncations, self.rewards, self._cumulative_rewards, self.infos):
                del d[a]
            self.agents.remove(a)
            for k in self.rewards:
                self.rewards[k] = 0.0
            if self.agents:
                self.agent_selection = self.agents[0]
            return
        self._cumulative_rewards[a] = 0.0
        self.sticks -= int(action) + 1
        other = "second" if a == "first" else "first"
        if self.sticks <= 0:
            self.rewards = {a: 1.0, other: -1.0}
            for k in self.terminations:
                self.terminations[k] = True
        else:
            self.rewards = {a: 0.0, other: 0.0}
        for k in self.rewards:
            self._cumulative_rewards[k] += self.rewards[k]
        self.agent_selection = other

    def render(self):
        return [draw.rect(0, 0, 400, 120, color="#123")] + [
            draw.rect(20 + 25 * i, 30, 10, 60, color="#fc6") for i in range(max(self.sticks, 0))]

    def get_state(self):
        return {"sticks": self.sticks, "sel": self.agent_selection, "agents": list(self.agents),
                "rew": dict(self.rewards), "cum": dict(self._cumulative_rewards),
                "term": dict(self.terminations), "trunc": dict(self.truncations), "infos": {k: {} for k in self.infos}}

    def set_state(self, s):
        self.sticks, self.agent_selection, self.agents = s["sticks"], s["sel"], list(s["agents"])
        self.rewards, self._cumulative_rewards, self.terminations = dict(s["rew"]), dict(s["cum"]), dict(s["term"])
        self.truncations, self.infos = dict(s["trunc"]), dict(s["infos"])


@mk.scene(runtime="browser", players={"first": mk.HUMAN, "second": mk.HUMAN},
          keys={"1": 0, "2": 1, "3": 2}, episodes=3, waitroom_timeout=30)
def nim(seed):
    return Nim()


@mk.scene
def done():
    return mk.Completion(code="NIM2", timeout_code="NIM0")


FLOW = [nim, done]
