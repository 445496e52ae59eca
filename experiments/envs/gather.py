"""Gem Gatherers: a cooperative two-player real-time game (PettingZoo ParallelEnv, numpy-free).

Two players, ``"p0"`` (blue) and ``"p1"`` (orange), share one team score. Small blue gems are
worth 1 point and either player can pick them up. The big golden gem is worth 5 but only counts
when both players touch it at the same time, so the pair has to coordinate: split up for small
gems, or meet at the big one. Rounds last 60 seconds.

This env is also the netcode benchmark target, so a step is cheap (a few dozen integer
operations) and ``get_state``/``set_state`` copy small lists only.

- agents: ``p0``, ``p1``; action ``Discrete(9)`` (see :mod:`envs.motion`).
- observation (per agent, egocentric, 16 ints in pixels): ``[self_x, self_y, other_x, other_y,
  big_x, big_y, big_ready, gem0_x, gem0_y, …, gem3_x, gem3_y, seconds_left]``.
- reward: the team's points of the frame, the same for both players.
- both agents are truncated at the end of the round.
"""

from __future__ import annotations

from typing import Any

from mugkit import draw, spaces
from mugkit.runtime import rng as rngs

from .motion import N_ACTIONS, clamp, velocity

WIDTH, HEIGHT, HUD = 600, 400, 36
SUB = 4                              # fixed point: 1 pixel = 4 sub-pixels
SPEED, DIAGONAL = 16, 11             # sub-pixels per frame (4 px; 2.75 px per axis on diagonals)
PLAYER_R, GEM_R, BIG_R = 14, 9, 18
BIG_REACH = PLAYER_R + BIG_R + 6     # how close both players must be to the big gem
N_GEMS = 4
BIG_POINTS, BIG_COOLDOWN = 5, 90     # frames before a collected big gem reappears
ROUND_FRAMES = 1800                  # 60 s at 30 fps
AGENTS = ("p0", "p1")
COLORS = {"p0": "#4cc9f0", "p1": "#f77f00"}
NAMES = {"p0": "Blue", "p1": "Orange"}
START = {"p0": (150, 220), "p1": (450, 220)}


class GatherEnv:
    """Two players collect gems together (see the module docstring)."""

    metadata = {"render_modes": ["mug"], "name": "gem_gatherers_v0", "is_parallelizable": True,
                "render_fps": 30}

    def __init__(self, render_mode: str | None = "mug", round_frames: int = ROUND_FRAMES):
        self.render_mode = render_mode
        self.round_frames = round_frames
        self.possible_agents = list(AGENTS)
        high = ([WIDTH, HEIGHT] * 3 + [1] + [WIDTH, HEIGHT] * N_GEMS + [round_frames // 30 + 1])
        # One space object per agent: PettingZoo requires the same object on every call.
        self._obs_spaces = {a: spaces.Box(0, high, shape=(len(high),), dtype="int") for a in AGENTS}
        self._act_spaces = {a: spaces.Discrete(N_ACTIONS) for a in AGENTS}
        self._rng = None
        self._new_round()

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    # --- PettingZoo parallel API ---------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start a round: players at their corners, four small gems and the big one placed."""
        self._rng = rngs.fresh(seed, self._rng)
        self._new_round()
        for _ in range(N_GEMS):
            self.gems.append(self._place_gem())
        self.big[:2] = self._random_spot(BIG_R)
        return self._observations(), {a: self._info(a) for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        """Advance one frame: move both players, then collect what they touch."""
        self.frame += 1
        for i, agent in enumerate(AGENTS):
            if agent in actions:
                vx, vy = velocity(actions[agent], SPEED, DIAGONAL)
                pos = self.pos[i]
                pos[0] = clamp(pos[0] + vx, PLAYER_R * SUB, (WIDTH - PLAYER_R) * SUB)
                pos[1] = clamp(pos[1] + vy, (HUD + PLAYER_R) * SUB, (HEIGHT - PLAYER_R) * SUB)
        points = self._collect_small() + self._collect_big()
        self.score += points

        done = self.frame >= self.round_frames
        agents = self.agents
        obs = self._observations()
        rewards = {a: points for a in agents}
        terminations = {a: False for a in agents}
        truncations = {a: done for a in agents}
        infos = {a: self._info(a) for a in agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> list[dict]:
        """The frame as mugkit.draw shapes (reads the state, never changes it)."""
        shapes = [
            draw.rect(0, 0, WIDTH, HEIGHT, color="#1b4332"),
            draw.rect(0, 0, WIDTH, HUD, color="#081c15"),
            draw.text(12, 25, f"Team score {self.score}", size=20),
            draw.text(WIDTH // 2 + 20, 24, "Gold gem: touch it together!", size=14,
                      color="#ffd166", align="center"),
        ]
        left = max(self.round_frames - self.frame, 0)
        shapes.append(draw.rect(WIDTH - 84, 12, 70, 12, color="#40514e"))
        shapes.append(draw.rect(WIDTH - 84, 12, 70 * left // self.round_frames, 12, color="#95d5b2",
                                id="clock"))
        for x, y, gid in self.gems:
            shapes.append(draw.polygon([[x, y - GEM_R - 2], [x + GEM_R, y], [x, y + GEM_R + 2],
                                        [x - GEM_R, y]], color="#90e0ef", stroke="#caf0f8",
                                       id=f"gem{gid}"))
        bx, by, cooldown, bid = self.big
        if cooldown == 0:
            touching = sum(1 for p in self.pos if _near(p, bx, by, BIG_REACH))
            ring = ("#6c757d", "#ffffff", "#ffffff")[touching]
            shapes.append(draw.circle(bx, by, BIG_REACH, color="rgba(255,209,102,0.15)",
                                      stroke=ring, line_width=2, id=f"big{bid}-reach"))
            shapes.append(draw.circle(bx, by, BIG_R, color="#ffd166", stroke="#fca311",
                                      line_width=3, id=f"big{bid}", depth=1))
            shapes.append(draw.text(bx, by + 6, f"{touching}/2", size=14, color="#5c4400",
                                    align="center", id=f"big{bid}-count", depth=1))
        for i, agent in enumerate(AGENTS):
            x, y = self.pos[i][0] // SUB, self.pos[i][1] // SUB
            shapes.append(draw.circle(x, y, PLAYER_R, color=COLORS[agent], stroke="#ffffff",
                                      line_width=2, id=agent, depth=2))
            shapes.append(draw.text(x, y - PLAYER_R - 5, NAMES[agent], size=12, align="center",
                                    id=agent + "-name", depth=2))
        if left == 0:
            shapes.append(draw.text(WIDTH // 2, HEIGHT // 2, f"Time! Team score {self.score}",
                                    size=32, align="center", depth=3))
        return shapes

    def close(self) -> None:
        """Nothing to release."""

    # --- state for rollback and checks ---------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Everything that affects the future, as plain data (small lists; cheap to copy)."""
        return {
            "frame": self.frame, "score": self.score, "serial": self.serial,
            "pos": [list(p) for p in self.pos], "gems": [list(g) for g in self.gems],
            "big": list(self.big), "small_counts": list(self.small_counts),
            "big_count": self.big_count, "agents": list(self.agents),
            "rng": rngs.dump(self._rng) if self._rng else None,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state` (copies it, so the snapshot stays reusable)."""
        self.frame, self.score, self.serial = state["frame"], state["score"], state["serial"]
        self.pos = [list(p) for p in state["pos"]]
        self.gems = [list(g) for g in state["gems"]]
        self.big = list(state["big"])
        self.small_counts = list(state["small_counts"])
        self.big_count = state["big_count"]
        self.agents = list(state["agents"])
        self._rng = rngs.load(state["rng"], into=self._rng)

    # --- internals -----------------------------------------------------------------------

    def _new_round(self) -> None:
        self.agents = list(AGENTS)
        self.frame = 0
        self.score = 0
        self.serial = 0                                        # gives each gem its own draw id
        self.pos = [[START[a][0] * SUB, START[a][1] * SUB] for a in AGENTS]   # sub-pixels
        self.gems = []                                         # [x, y, id] in pixels
        self.big = [WIDTH // 2, HEIGHT // 2, 0, 0]             # x, y, cooldown, id
        self.small_counts = [0, 0]                             # small gems per player (for data)
        self.big_count = 0

    def _random_spot(self, r: int) -> list[int]:
        return [self._rng.randrange(r + 10, WIDTH - r - 10),
                self._rng.randrange(HUD + r + 10, HEIGHT - r - 10)]

    def _place_gem(self) -> list[int]:
        self.serial += 1
        return self._random_spot(GEM_R) + [self.serial]

    def _collect_small(self) -> int:
        """Each gem a player touches goes to the nearer player (p0 on a tie) and is replaced."""
        points = 0
        for k, (x, y, _) in enumerate(self.gems):
            d = [_dist2(p, x, y) for p in self.pos]
            reach = (PLAYER_R + GEM_R) ** 2
            if min(d) <= reach:
                self.small_counts[0 if d[0] <= d[1] else 1] += 1
                self.gems[k] = self._place_gem()
                points += 1
        return points

    def _collect_big(self) -> int:
        """The big gem scores only when both players are near it; then it cools down."""
        big = self.big
        if big[2] > 0:
            big[2] -= 1
            if big[2] == 0:
                big[0], big[1] = self._random_spot(BIG_R)
                self.serial += 1
                big[3] = self.serial
            return 0
        if all(_near(p, big[0], big[1], BIG_REACH) for p in self.pos):
            big[2] = BIG_COOLDOWN
            self.big_count += 1
            return BIG_POINTS
        return 0

    def _observations(self) -> dict[str, list[int]]:
        px = [[p[0] // SUB, p[1] // SUB] for p in self.pos]
        shared = [self.big[0], self.big[1], 1 if self.big[2] == 0 else 0]
        for x, y, _ in self.gems:
            shared += [x, y]
        shared.append(max(self.round_frames - self.frame, 0) // 30)
        return {a: px[i] + px[1 - i] + shared for i, a in enumerate(AGENTS) if a in self.agents}

    def _info(self, agent: str) -> dict:
        return {"team_score": self.score, "small_gems": self.small_counts[AGENTS.index(agent)],
                "big_gems": self.big_count}


def _dist2(pos_sub: list[int], x: int, y: int) -> int:
    """Squared pixel distance from a player (in sub-pixels) to (x, y)."""
    dx, dy = pos_sub[0] // SUB - x, pos_sub[1] // SUB - y
    return dx * dx + dy * dy


def _near(pos_sub: list[int], x: int, y: int, reach: int) -> bool:
    return _dist2(pos_sub, x, y) <= reach * reach
