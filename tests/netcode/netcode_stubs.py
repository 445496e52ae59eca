"""Small deterministic games for the netcode tests (the GameEnv interface, no numpy)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from mugkit.netcode import codec


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
