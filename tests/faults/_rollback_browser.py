"""Planted faults for the `rollback` check's Chromium half (tests/test_rollback_browser.py), each
invisible to the simulated network, which runs every peer in one CPython process:

- `walk_browser_only` moves differently under Pyodide (sys.platform 'emscripten'): the pages agree
  with each other, not with CPython;
- `walk_per_page` draws a number at import from the unseeded module-level generator: one process
  draws once, so the simulated peers agree; every page draws its own, so the pages disagree.

`walk_twin` is the fault-free twin, and `walk_trio` plays three humans (three pages)."""

import random
import sys

import mugkit as mk
from mugkit import draw, spaces

#: Drawn once per process (per page in the browser): the planted per-peer divergence.
_PER_PROCESS = random.randrange(1, 10**9)
KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


class Walkers:
    """Walkers on a line with a seeded wind (PettingZoo parallel API, numpy-free); `fault` plants one defect."""

    metadata = {"render_modes": ["mug"], "name": "walkers"}

    def __init__(self, agents=("a", "b"), fault=None):
        self.possible_agents = list(agents)
        self.fault = fault
        self.render_mode = "mug"
        self.agents = []

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Box(0, 40, shape=(2,), dtype="int")

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {a: 5 + 10 * i for i, a in enumerate(self.agents)}
        self.t, self.meetings = 0, 0
        self.offset = _PER_PROCESS % 97 if self.fault == "per_page" else 0
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        return {a: [self.pos[a], min(self.meetings, 40)] for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in sorted(actions.items()):
            step = act - 1
            if self.fault == "browser_only" and sys.platform == "emscripten" and self.t % 7 == 0:
                step = -step
            self.pos[a] = max(0, min(40, self.pos[a] + step + self.rng.randint(-1, 1)))
        self.meetings += len(set(self.pos.values())) < len(self.pos)
        done = self.t >= 600
        rewards = {a: (self.meetings + self.offset) % 3 for a in self.agents}
        flags = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        obs = self._obs()
        if done:
            self.agents = []
        return obs, rewards, flags, truncs, {a: {} for a in obs}

    def render(self):
        return [draw.circle(self.pos[a] * 10, 100, 8, id=a) for a in self.possible_agents]

    def get_state(self):
        return {"pos": dict(self.pos), "t": self.t, "meetings": self.meetings, "offset": self.offset,
                "rng": self.rng.getstate(), "agents": list(self.agents)}

    def set_state(self, state):
        self.pos, self.t, self.meetings = dict(state["pos"]), state["t"], state["meetings"]
        self.offset, self.agents = state["offset"], list(state["agents"])
        self.rng.setstate(state["rng"])


DUO = {"a": mk.HUMAN, "b": mk.HUMAN}


@mk.scene(players=DUO, runtime="browser", keys=KEYS, default_action=1)
def walk_twin():
    return Walkers()


@mk.scene(players=DUO, runtime="browser", keys=KEYS, default_action=1)
def walk_browser_only():
    return Walkers(fault="browser_only")


@mk.scene(players=DUO, runtime="browser", keys=KEYS, default_action=1)
def walk_per_page():
    return Walkers(fault="per_page")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN, "c": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1)
def walk_trio():
    return Walkers(("a", "b", "c"))
