"""Berry Commons: a single-player foraging task on a grid, as a numpy Gymnasium env (server only).

A forager walks over a field of berry bushes and picks every berry it steps on. Berries regrow
only next to other berries, and faster the more neighbours they have, so a patch picked clean
never comes back. The participant chooses between harvesting fast now and leaving some berries
to keep patches alive: a one-person commons dilemma (after the "Harvest" game of
Perolat et al., 2017).

This is a real ``gymnasium.Env`` with numpy state and ``self.np_random``, the kind of env a
researcher already has. It runs with ``runtime="server"`` only, so it may use numpy; its dynamics
are still integers (regrowth draws integers from ``np_random``), so replays are exact.

- action: ``Discrete(5)``: 0 stay, 1 up, 2 down, 3 left, 4 right (one cell per step).
- observation: ``Box(0, 2, shape=(9, 15), int64)``: 0 bare, 1 berry, 2 the forager.
- reward: 1 per berry picked.
- terminated when no berry is left anywhere (nothing can regrow), truncated after
  ``round_steps`` steps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mugkit import draw

ROWS, COLS, CELL, HUD = 9, 15, 40, 40          # 15 x 9 cells of 40 px below a 40 px HUD
ROUND_STEPS = 600                               # 75 s at 8 steps per second
N_PATCHES, PATCH_RADIUS = 4, 2
# Chance per step, in 1/1000, that a bare cell grows a berry, by its number of berry neighbours
# (of 8). Zero neighbours: never, which is what makes over-harvesting final.
REGROW_PER_MILLE = np.array([0, 4, 8, 12, 16, 20, 20, 20, 20], dtype=np.int64)
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))   # (drow, dcol) per action


class OrchardEnv(gym.Env):
    """Pick berries on a grid where berries regrow only near berries (see the module docstring)."""

    metadata = {"render_modes": ["mug"], "render_fps": 8}

    def __init__(self, render_mode: str | None = "mug", round_steps: int = ROUND_STEPS):
        self.render_mode = render_mode
        self.round_steps = round_steps
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.observation_space = gym.spaces.Box(0, 2, shape=(ROWS, COLS), dtype=np.int64)
        self.berries = np.zeros((ROWS, COLS), dtype=np.int64)
        self.pos = [ROWS // 2, COLS // 2]
        self.score = 0
        self.t = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Grow a few round patches of berries and put the forager in the middle."""
        super().reset(seed=seed)          # seeds self.np_random
        self.berries = np.zeros((ROWS, COLS), dtype=np.int64)
        rows, cols = np.mgrid[0:ROWS, 0:COLS]
        for _ in range(N_PATCHES):
            r = int(self.np_random.integers(1, ROWS - 1))
            c = int(self.np_random.integers(1, COLS - 1))
            self.berries[np.abs(rows - r) + np.abs(cols - c) <= PATCH_RADIUS] = 1
        self.pos = [ROWS // 2, COLS // 2]
        self.berries[self.pos[0], self.pos[1]] = 0
        self.score = 0
        self.t = 0
        return self._obs(), self._info(0)

    def step(self, action: int) -> tuple[np.ndarray, int, bool, bool, dict]:
        """Move one cell, pick the berry there, then let bare cells regrow."""
        self.t += 1
        dr, dc = MOVES[int(action)]
        self.pos = [min(max(self.pos[0] + dr, 0), ROWS - 1), min(max(self.pos[1] + dc, 0), COLS - 1)]
        picked = int(self.berries[self.pos[0], self.pos[1]])
        self.berries[self.pos[0], self.pos[1]] = 0
        self.score += picked
        self._regrow()
        terminated = not self.berries.any()
        truncated = not terminated and self.t >= self.round_steps
        return self._obs(), picked, terminated, truncated, self._info(picked)

    def render(self) -> list[dict]:
        """The frame as mugkit.draw shapes, numbers converted to Python ints."""
        left_s = (self.round_steps - self.t) // self.metadata["render_fps"]
        shapes = [
            draw.rect(0, 0, COLS * CELL, HUD + ROWS * CELL, color="#a98467"),
            draw.rect(0, 0, COLS * CELL, HUD, color="#3d2b1f"),
            draw.text(12, 27, f"Berries picked {self.score}", size=20),
            draw.text(COLS * CELL // 2 + 30, 27, f"{int(self.berries.sum())} berries on bushes", size=16,
                      color="#f4a261", align="center"),
            draw.text(COLS * CELL - 12, 27, f"{max(left_s, 0)} s", size=20, align="right", id="clock"),
        ]
        for r, c in np.argwhere(self.berries == 1).tolist():
            x, y = c * CELL + CELL // 2, HUD + r * CELL + CELL // 2
            shapes.append(draw.circle(x, y, 17, color="#2d6a4f"))
            shapes += [draw.circle(x + dx, y + dy, 5, color="#d62828") for dx, dy in ((-6, -4), (6, -2), (0, 7))]
        x, y = self.pos[1] * CELL + CELL // 2, HUD + self.pos[0] * CELL + CELL // 2
        shapes.append(draw.circle(x, y, 15, color="#ffd166", stroke="#3d2b1f", line_width=3,
                                  id="forager", depth=1))
        shapes.append(draw.text(x, y + 5, "You", size=12, color="#3d2b1f", align="center",
                                id="forager-name", depth=1))
        if not self.berries.any():
            shapes.append(draw.text(COLS * CELL // 2, 220, "No berries left", size=36,
                                    align="center", depth=2))
        return shapes

    def get_state(self) -> dict[str, Any]:
        """Grid, forager, score, clock and the generator's state, as plain data."""
        state = self.np_random.bit_generator.state
        return {"berries": self.berries.tolist(), "pos": list(self.pos), "score": self.score,
                "t": self.t, "rng": {**state, "state": dict(state["state"])}}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state`."""
        self.berries = np.array(state["berries"], dtype=np.int64)
        self.pos = list(state["pos"])
        self.score, self.t = state["score"], state["t"]
        self.np_random.bit_generator.state = {**state["rng"], "state": dict(state["rng"]["state"])}

    def _regrow(self) -> None:
        """Each bare cell (not under the forager) grows a berry with a chance set by its neighbours."""
        padded = np.pad(self.berries, 1)
        neighbours = sum(padded[1 + dr:1 + dr + ROWS, 1 + dc:1 + dc + COLS]   # integer arrays: exact
                         for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)
        roll = self.np_random.integers(0, 1000, size=(ROWS, COLS))
        grows = (self.berries == 0) & (roll < REGROW_PER_MILLE[neighbours])
        grows[self.pos[0], self.pos[1]] = False
        self.berries[grows] = 1

    def _obs(self) -> np.ndarray:
        obs = self.berries.copy()
        obs[self.pos[0], self.pos[1]] = 2
        return obs

    def _info(self, picked: int) -> dict:
        return {"score": self.score, "picked": picked, "berries_left": int(self.berries.sum())}
