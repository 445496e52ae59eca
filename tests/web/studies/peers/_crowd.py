"""Walkers on a field, 2 to 4 players, numpy-free: the browser tests' multiplayer env. With
``diverge``, one frame's move is random per process (unseeded): a planted desync."""

import random

from mugkit import draw, spaces

MOVES = [(0, 0), (-4, 0), (4, 0), (0, -4), (0, 4)]
COLORS = ["#4cc9f0", "#f77f00", "#43aa8b", "#b5179e"]
DIVERGE_AT = 20


class Crowd:
    metadata = {"render_modes": ["mug"]}

    def __init__(self, players: int, diverge: bool = False):
        self.possible_agents = [f"p{i}" for i in range(players)]
        self.diverge = diverge

    def action_space(self, agent):
        return spaces.Discrete(len(MOVES))

    def observation_space(self, agent):
        return spaces.Discrete(1_000_000)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        self.pos = {a: [100 + 120 * i, 200] for i, a in enumerate(self.agents)}
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        return {a: x * 1000 + y for a, (x, y) in self.pos.items()}

    def step(self, actions):
        self.t += 1
        for agent, action in actions.items():
            dx, dy = MOVES[action]
            x, y = self.pos[agent]
            self.pos[agent] = [max(0, min(599, x + dx)), max(0, min(399, y + dy))]
        if self.diverge and self.t == DIVERGE_AT:
            self.pos["p0"][0] = random.SystemRandom().randrange(600)   # differs in every browser
        rewards = {a: float(self.pos[a][0] > 300) for a in self.agents}
        none = {a: False for a in self.agents}
        return self._obs(), rewards, none, dict(none), {a: {} for a in self.agents}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea")] + [
            draw.circle(x, y, 14, color=COLORS[i], id=a) for i, (a, (x, y)) in enumerate(self.pos.items())]
