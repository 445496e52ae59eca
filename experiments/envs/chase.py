"""Coin Chase: a human runner against an AI chaser (PettingZoo ParallelEnv, numpy-free).

The runner (the participant) collects coins in an arena while a chaser hunts them. The runner is
a little faster, so open ground is safe, but coins near walls and corners are risky. A round
ends when the chaser catches the runner or after 30 seconds.

- agents: ``runner``, ``chaser``; action ``Discrete(9)`` for both (see :mod:`envs.motion`).
- observations, ints in pixels:
  - chaser: ``[chaser_x, chaser_y, runner_x, runner_y]`` (own position first). The ONNX chaser
    in ``models/chaser.onnx`` reads exactly this as float32 ``[1, 4]``.
  - runner: ``[runner_x, runner_y, chaser_x, chaser_y, coin0_x, coin0_y, …, coin2_x, coin2_y,
    seconds_left]``.
- rewards: runner +1 per coin; on a catch, runner -5 and chaser +5.
- both agents are terminated on a catch and truncated at the end of the round.
"""

from __future__ import annotations

from typing import Any

from mugkit import draw, spaces
from mugkit.runtime import rng as rngs

from .motion import N_ACTIONS, clamp, velocity

WIDTH, HEIGHT, HUD = 600, 400, 36
SUB = 4                                   # fixed point: 1 pixel = 4 sub-pixels
RUNNER_SPEED, RUNNER_DIAG = 16, 11        # 4 px per frame
CHASER_SPEED, CHASER_DIAG = 13, 9         # 3.25 px per frame: slower, but never tires
RUNNER_R, CHASER_R, COIN_R = 13, 15, 8
N_COINS = 3
CATCH_POINTS = 5
ROUND_FRAMES = 900                        # 30 s at 30 fps
AGENTS = ("runner", "chaser")
START = {"runner": (150, 220), "chaser": (480, 220)}


class ChaseEnv:
    """A runner collects coins while a chaser hunts it (see the module docstring)."""

    metadata = {"render_modes": ["mug"], "name": "coin_chase_v0", "is_parallelizable": True,
                "render_fps": 30}

    def __init__(self, render_mode: str | None = "mug", round_frames: int = ROUND_FRAMES):
        self.render_mode = render_mode
        self.round_frames = round_frames
        self.possible_agents = list(AGENTS)
        runner_high = [WIDTH, HEIGHT] * (2 + N_COINS) + [round_frames // 30 + 1]
        self._obs_spaces = {
            "runner": spaces.Box(0, runner_high, shape=(len(runner_high),), dtype="int"),
            "chaser": spaces.Box(0, [WIDTH, HEIGHT] * 2, shape=(4,), dtype="int"),
        }
        self._act_spaces = {a: spaces.Discrete(N_ACTIONS) for a in AGENTS}
        self._rng = None
        self._new_round()

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    # --- PettingZoo parallel API ---------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start a round: runner left, chaser right, three coins placed at random."""
        self._rng = rngs.fresh(seed, self._rng)
        self._new_round()
        for _ in range(N_COINS):
            self.coins.append(self._place_coin())
        return self._observations(), {a: self._info() for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        """Advance one frame: both move at once, then coins and the catch are resolved."""
        self.frame += 1
        for agent, speed, diag, r in (("runner", RUNNER_SPEED, RUNNER_DIAG, RUNNER_R),
                                      ("chaser", CHASER_SPEED, CHASER_DIAG, CHASER_R)):
            if agent in actions:
                vx, vy = velocity(actions[agent], speed, diag)
                pos = self.pos[agent]
                pos[0] = clamp(pos[0] + vx, r * SUB, (WIDTH - r) * SUB)
                pos[1] = clamp(pos[1] + vy, (HUD + r) * SUB, (HEIGHT - r) * SUB)

        rx, ry = self._px("runner")
        runner_reward = 0
        for k, (x, y, _) in enumerate(self.coins):
            if _dist2(rx, ry, x, y) <= (RUNNER_R + COIN_R) ** 2:
                runner_reward += 1
                self.coins_taken += 1
                self.coins[k] = self._place_coin()
        cx, cy = self._px("chaser")
        self.caught = _dist2(rx, ry, cx, cy) <= (RUNNER_R + CHASER_R) ** 2
        chaser_reward = CATCH_POINTS if self.caught else 0
        runner_reward -= chaser_reward
        self.score += runner_reward

        agents = self.agents
        timeout = not self.caught and self.frame >= self.round_frames
        obs = self._observations()
        rewards = {"runner": runner_reward, "chaser": chaser_reward}
        terminations = {a: self.caught for a in agents}
        truncations = {a: timeout for a in agents}
        infos = {a: self._info() for a in agents}
        if self.caught or timeout:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> list[dict]:
        """The frame as mugkit.draw shapes (reads the state, never changes it)."""
        left = max(self.round_frames - self.frame, 0)
        shapes = [
            draw.rect(0, 0, WIDTH, HEIGHT, color="#22223b"),
            draw.rect(4, HUD + 4, WIDTH - 8, HEIGHT - HUD - 8, color="#2b2d42", stroke="#4a4e69",
                      line_width=2),
            draw.rect(0, 0, WIDTH, HUD, color="#14142b"),
            draw.text(12, 25, f"Coins {self.coins_taken}", size=20, color="#ffd166"),
            draw.text(WIDTH // 2, 25, f"{left // 30 + (1 if left % 30 else 0)} s", size=20,
                      align="center", id="clock"),
        ]
        for x, y, cid in self.coins:
            shapes.append(draw.circle(x, y, COIN_R, color="#ffd166", stroke="#fca311", line_width=2,
                                      id=f"coin{cid}"))
        rx, ry = self._px("runner")
        cx, cy = self._px("chaser")
        shapes.append(draw.circle(rx, ry, RUNNER_R, color="#4cc9f0", stroke="#ffffff", line_width=2,
                                  id="runner", depth=2))
        shapes.append(draw.text(rx, ry - RUNNER_R - 5, "You", size=12, align="center",
                                id="runner-name", depth=2))
        # The chaser: a red square with two eyes looking at the runner, so its intent reads at a glance.
        shapes.append(draw.rect(cx - CHASER_R, cy - CHASER_R, 2 * CHASER_R, 2 * CHASER_R,
                                color="#e63946", stroke="#ffb3c1", line_width=2, id="chaser", depth=1))
        lx, ly = _sign(rx - cx) * 2, _sign(ry - cy) * 2
        for side, ex in (("l", cx - 6), ("r", cx + 6)):
            shapes.append(draw.circle(ex, cy - 3, 4, color="#ffffff", id=f"chaser-eye-{side}", depth=1))
            shapes.append(draw.circle(ex + lx, cy - 3 + ly, 2, color="#000000",
                                      id=f"chaser-pupil-{side}", depth=1))
        if self.caught:
            shapes.append(draw.text(WIDTH // 2, HEIGHT // 2, "Caught!", size=40, color="#ff4d6d",
                                    align="center", depth=3))
        elif left == 0:
            shapes.append(draw.text(WIDTH // 2, HEIGHT // 2, f"Escaped with {self.coins_taken} coins!",
                                    size=32, align="center", depth=3))
        return shapes

    def close(self) -> None:
        """Nothing to release."""

    # --- state for rollback and checks ---------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Everything that affects the future, as plain data."""
        return {
            "frame": self.frame, "score": self.score, "coins_taken": self.coins_taken,
            "caught": self.caught, "serial": self.serial,
            "pos": {a: list(p) for a, p in self.pos.items()},
            "coins": [list(c) for c in self.coins], "agents": list(self.agents),
            "rng": rngs.dump(self._rng) if self._rng else None,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state` (copies it, so the snapshot stays reusable)."""
        self.frame, self.score = state["frame"], state["score"]
        self.coins_taken, self.caught, self.serial = state["coins_taken"], state["caught"], state["serial"]
        self.pos = {a: list(p) for a, p in state["pos"].items()}
        self.coins = [list(c) for c in state["coins"]]
        self.agents = list(state["agents"])
        self._rng = rngs.load(state["rng"], into=self._rng)

    # --- internals -----------------------------------------------------------------------

    def _new_round(self) -> None:
        self.agents = list(AGENTS)
        self.frame = 0
        self.score = 0                    # the runner's points
        self.coins_taken = 0
        self.caught = False
        self.serial = 0                   # gives each coin its own draw id
        self.pos = {a: [START[a][0] * SUB, START[a][1] * SUB] for a in AGENTS}   # sub-pixels
        self.coins = []                   # [x, y, id] in pixels

    def _px(self, agent: str) -> tuple[int, int]:
        p = self.pos[agent]
        return p[0] // SUB, p[1] // SUB

    def _place_coin(self) -> list[int]:
        """A coin somewhere at least 80 px from the runner, so picking one up never chains."""
        rx, ry = self._px("runner")
        while True:
            x = self._rng.randrange(COIN_R + 12, WIDTH - COIN_R - 12)
            y = self._rng.randrange(HUD + COIN_R + 12, HEIGHT - COIN_R - 12)
            if _dist2(rx, ry, x, y) >= 80 * 80:
                break
        self.serial += 1
        return [x, y, self.serial]

    def _observations(self) -> dict[str, list[int]]:
        rx, ry = self._px("runner")
        cx, cy = self._px("chaser")
        runner = [rx, ry, cx, cy]
        for x, y, _ in self.coins:
            runner += [x, y]
        runner.append(max(self.round_frames - self.frame, 0) // 30)
        obs = {"runner": runner, "chaser": [cx, cy, rx, ry]}
        return {a: obs[a] for a in self.agents}

    def _info(self) -> dict:
        return {"coins": self.coins_taken, "caught": self.caught, "score": self.score}


def _dist2(x0: int, y0: int, x1: int, y1: int) -> int:
    return (x0 - x1) ** 2 + (y0 - y1) ** 2


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)
