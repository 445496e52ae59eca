"""The capacity bench's study: a two-player server game at 30 fps with a light env, long enough for
the bench (MUGKIT_BENCH_FRAMES frames); named with _ so checks do not collect it."""

import os

import mugkit as mk
from mugkit import draw, spaces

FRAMES = int(os.environ.get("MUGKIT_BENCH_FRAMES", "900"))


class Pair:
    """Two dots moved by their players: about the cost of a small grid game."""

    def __init__(self):
        self.possible_agents = ["a", "b"]

    def action_space(self, agent):
        return spaces.Discrete(5)

    def observation_space(self, agent):
        return spaces.Box(0, 100, shape=(4,), dtype="int")

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"a": [10, 10], "b": [90, 90]}
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        flat = self.pos["a"] + self.pos["b"]
        return {a: list(flat) for a in self.agents}

    def step(self, actions):
        moves = {0: (0, 0), 1: (0, -1), 2: (0, 1), 3: (-1, 0), 4: (1, 0)}
        for a, act in actions.items():
            dx, dy = moves[act]
            self.pos[a] = [max(0, min(100, self.pos[a][0] + dx)), max(0, min(100, self.pos[a][1] + dy))]
        return self._obs(), {a: 0 for a in self.agents}, {a: False for a in self.agents}, \
            {a: False for a in self.agents}, {a: {} for a in self.agents}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#eeeeee"),
                draw.circle(self.pos["a"][0] * 6, self.pos["a"][1] * 4, 8, color="#c0392b", id="a"),
                draw.circle(self.pos["b"][0] * 6, self.pos["b"][1] * 4, 8, color="#2980b9", id="b")]


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, fps=30, max_steps=FRAMES, default_action=0,
          keys={"ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4}, waitroom_timeout=120)
def pair(group):
    return Pair()


@mk.scene
def done():
    return mk.Completion(code="BENCH")
