"""Small deterministic games for the netcode tests (the GameEnv interface, no numpy)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from mugkit.netcode import codec
from mugkit.runtime.spaces import Box, Discrete


@dataclass
class StubFrame:
    index: int
    observations: dict
    rewards: dict = field(default_factory=dict)
    terminated: dict = field(default_factory=dict)
    truncated: dict = field(default_factory=dict)
    infos: dict = field(default_factory=dict)
    done: bool = False


class StubGame:
    """State is one integer mixed with every step's actions (any codec value), so any
    difference in an action or in the order of frames changes every later checksum.

    Args:
        agents: agent ids, one per handle.
        episode_len: episodes end after this many steps (None: never).
        diverge_at: after the step that reaches this frame index, add 1 to the state
            (a planted desync when only one peer's game does it).
    """

    def __init__(self, agents=("p0", "p1"), episode_len=None, diverge_at=None):
        self.agents = tuple(agents)
        self.episode_len = episode_len
        self.diverge_at = diverge_at
        self.acc = 0
        self.index = 0
        self.total = 0  # steps since the start of the run, across episodes (for diverge_at)

    def _frame(self) -> StubFrame:
        done = self.episode_len is not None and self.index >= self.episode_len
        return StubFrame(self.index, {a: self.acc % 97 for a in self.agents},
                         {a: 0 for a in self.agents}, {a: done for a in self.agents},
                         {a: False for a in self.agents}, {}, done)

    def reset(self, seed):
        self.acc = (self.acc * 31 + seed + 1) % 2**61
        self.index = 0
        return self._frame()

    def step(self, actions):
        data = codec.encode([actions[a] for a in self.agents])
        self.acc = (self.acc * 1_000_003 + zlib.crc32(data)) % 2**61
        self.index += 1
        self.total += 1
        if self.total == self.diverge_at:
            self.acc += 1
        return self._frame()

    def save(self):
        return (self.acc, self.index, self.total)

    def load(self, snap):
        self.acc, self.index, self.total = snap

    def checksum(self, frame):
        return f"{self.acc:016x}{frame.index:04x}"


class LeakyGame(StubGame):
    """Forgets to restore its step counter on load, and the counter feeds the state: correct
    without rollbacks, wrong after any."""

    def load(self, snap):
        self.acc, self.index, _ = snap

    def step(self, actions):
        frame = super().step(actions)
        self.acc = (self.acc + self.total) % 2**61
        return frame


class TinyParallelEnv:
    """A numpy-free PettingZoo-style ParallelEnv with get_state/set_state: two counters moved by
    the actions, truncated after ``length`` steps."""

    def __init__(self, length=20, forget=False):
        self.possible_agents = ["p0", "p1"]
        self.length = length
        self.forget = forget  # set_state leaves the hidden counter alone (a broken env)
        self._action, self._observation = Discrete(3), Box(-1000, 1000, shape=(1,), dtype="int")

    def action_space(self, agent):
        return self._action

    def observation_space(self, agent):
        return self._observation

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"p0": seed % 7, "p1": seed % 5}
        self.t = 0
        self.hidden = 0
        return {a: [self.pos[a]] for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        self.hidden += 1
        for a in self.agents:
            self.pos[a] += actions[a] - 1 + (self.hidden % 3 == 0)
        done = self.t >= self.length
        obs = {a: [self.pos[a]] for a in self.agents}
        out = (obs, {a: self.pos[a] for a in self.agents}, {a: False for a in self.agents},
               {a: done for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def get_state(self):
        return {"pos": dict(self.pos), "t": self.t, "hidden": self.hidden, "agents": list(self.agents)}

    def set_state(self, s):
        self.pos, self.t, self.agents = dict(s["pos"]), s["t"], list(s["agents"])
        if not self.forget:
            self.hidden = s["hidden"]
