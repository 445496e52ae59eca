"""Fruit Catch: a single-player real-time game, numpy-free so it runs in the browser.

Fruit falls from the sky; the participant moves a basket left and right to catch it. Red fruit
is worth 1 point, golden fruit 3; a bomb costs 5 points and one of three lives. The game speeds
up over its 60-second round: fruit falls faster and more often.

Gymnasium API (duck-typed, no gymnasium import):

- action: ``Discrete(3)``: 0 stay, 1 left, 2 right.
- observation: 27 ints, ``[basket_x, lives, seconds_left]`` then, per item slot (6 slots),
  ``[kind, x, y, fall_speed]`` with kind 0 empty, 1 fruit, 2 golden, 3 bomb, (x, y) its centre in
  pixels and the fall speed in 1/8 pixel per frame.
- reward: the points of the frame (+1, +3, -5 or 0).
- terminated when the lives run out, truncated at the end of the round.

Dynamics are integers only: positions are fixed point (1/8 pixel), so the browser and the server
agree bit for bit.
"""

from __future__ import annotations

from typing import Any

from mugkit import draw, spaces
from mugkit.runtime import rng as rngs

WIDTH, HEIGHT = 600, 400
HUD = 36                        # top band with score, lives and the clock
GROUND = 378                    # grass starts here
BASKET_W, BASKET_H, BASKET_Y = 90, 18, 356
BASKET_SPEED = 9                # pixels per frame
SUB = 8                         # fixed point: 1 pixel = 8 sub-pixels
SLOTS = 6
ROUND_FRAMES = 1800             # 60 s at 30 fps
LIVES = 3

EMPTY, FRUIT, GOLDEN, BOMB = 0, 1, 2, 3
RADIUS = {FRUIT: 13, GOLDEN: 11, BOMB: 14}
POINTS = {FRUIT: 1, GOLDEN: 3, BOMB: -5}
COLORS = {FRUIT: "#e63946", GOLDEN: "#ffd166", BOMB: "#1b1b1b"}


class CatchEnv:
    """Catch falling fruit with a basket, avoid the bombs (see the module docstring)."""

    metadata = {"render_modes": ["mug"], "render_fps": 30}

    def __init__(self, render_mode: str | None = "mug", round_frames: int = ROUND_FRAMES):
        self.render_mode = render_mode
        self.round_frames = round_frames
        self.action_space = spaces.Discrete(3)
        slot_high = [3, WIDTH, HEIGHT + 50, 64]
        high = [WIDTH - BASKET_W, LIVES, round_frames // 30 + 1] + slot_high * SLOTS
        self.observation_space = spaces.Box(0, high, shape=(len(high),), dtype="int")
        self._rng = None
        self._new_round()

    # --- Gymnasium API -------------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[list[int], dict]:
        """Start a round: basket in the middle, no fruit yet, full lives."""
        self._rng = rngs.fresh(seed, self._rng)
        self._new_round()
        return self._obs(), self._info(0)

    def step(self, action: int) -> tuple[list[int], int, bool, bool, dict]:
        """Advance one frame: move the basket, spawn, fall, catch."""
        self.frame += 1
        move = (0, -BASKET_SPEED, BASKET_SPEED)[action]
        self.basket = min(max(self.basket + move, 0), WIDTH - BASKET_W)

        self.spawn_in -= 1
        if self.spawn_in <= 0:
            self._spawn()

        reward, caught = 0, 0
        for item in self.items:
            if item[0] == EMPTY:
                continue
            item[2] += item[3]
            kind, x, y = item[0], item[1], item[2] // SUB
            r = RADIUS[kind]
            if self._in_basket(x, y, r):
                reward += POINTS[kind]
                caught = kind
                self._pop(x, y, POINTS[kind])
                if kind == BOMB:
                    self.lives -= 1
                item[:] = [EMPTY, 0, 0, 0, 0]
            elif y - r > HEIGHT:
                if kind != BOMB:
                    self.missed += 1
                item[:] = [EMPTY, 0, 0, 0, 0]
        self.score += reward
        self.pops = [[x, y, pts, ttl - 1, sid] for x, y, pts, ttl, sid in self.pops if ttl > 1]

        terminated = self.lives <= 0
        truncated = not terminated and self.frame >= self.round_frames
        return self._obs(), reward, terminated, truncated, self._info(caught)

    def render(self) -> list[dict]:
        """The frame as mugkit.draw shapes (reads the state, never changes it)."""
        shapes = [
            draw.rect(0, 0, WIDTH, HEIGHT, color="#1d2b53"),
            draw.rect(0, GROUND, WIDTH, HEIGHT - GROUND, color="#2f9e44", depth=2),  # hides missed items
            # The HUD is drawn on top, so new items slide out from behind it.
            draw.rect(0, 0, WIDTH, HUD, color="#0b132b", depth=5),
            draw.text(12, 25, f"Score {self.score}", size=20, color="#ffffff", depth=5),
            draw.text(WIDTH - 200, 24, "Lives", size=14, color="#adb5bd", depth=5),
        ]
        for i in range(LIVES):
            shapes.append(draw.circle(WIDTH - 150 + 22 * i, 18, 8, depth=5,
                                      color="#ff4d6d" if i < self.lives else "#44475a"))
        left = max(self.round_frames - self.frame, 0)
        shapes.append(draw.rect(WIDTH - 80, 12, 64, 12, color="#44475a", depth=5))
        shapes.append(draw.rect(WIDTH - 80, 12, 64 * left // self.round_frames, 12, color="#4cc9f0",
                                id="clock", depth=5))
        for kind, x, y_sub, _, sid in self.items:
            if kind != EMPTY:
                shapes += _item_shapes(kind, x, y_sub // SUB, f"item{sid}")
        shapes.append(draw.rect(self.basket, BASKET_Y, BASKET_W, BASKET_H, color="#c8874a",
                                stroke="#7f4f24", line_width=2, id="basket", depth=2))
        shapes.append(draw.rect(self.basket - 4, BASKET_Y - 4, BASKET_W + 8, 6, color="#7f4f24",
                                id="basket-rim", depth=2))
        for x, y, pts, ttl, sid in self.pops:
            shapes.append(draw.text(x, y - 40 + ttl, f"{pts:+d}", size=18, align="center", depth=3,
                                    color="#ff4d6d" if pts < 0 else "#ffd166", id=f"pop{sid}"))
        if self.lives <= 0:
            shapes.append(draw.text(WIDTH // 2, HEIGHT // 2, "Out of lives!", size=36,
                                    align="center", depth=6))
        return shapes

    def close(self) -> None:
        """Nothing to release."""

    # --- state for rollback and checks ---------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Everything that affects the future, as plain data."""
        return {
            "frame": self.frame, "basket": self.basket, "lives": self.lives, "score": self.score,
            "missed": self.missed, "spawn_in": self.spawn_in, "serial": self.serial,
            "items": [list(i) for i in self.items], "pops": [list(p) for p in self.pops],
            "rng": rngs.dump(self._rng) if self._rng else None,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state` (copies it, so the snapshot stays reusable)."""
        self.frame, self.basket, self.lives = state["frame"], state["basket"], state["lives"]
        self.score, self.missed, self.spawn_in = state["score"], state["missed"], state["spawn_in"]
        self.serial = state["serial"]
        self.items = [list(i) for i in state["items"]]
        self.pops = [list(p) for p in state["pops"]]
        self._rng = rngs.load(state["rng"], into=self._rng)

    # --- internals -----------------------------------------------------------------------

    def _new_round(self) -> None:
        self.frame = 0
        self.basket = (WIDTH - BASKET_W) // 2
        self.lives = LIVES
        self.score = 0
        self.missed = 0
        self.spawn_in = 20
        self.serial = 0               # gives every item and pop its own draw id
        self.items = [[EMPTY, 0, 0, 0, 0] for _ in range(SLOTS)]   # kind, x, y_sub, vy_sub, id
        self.pops = []                # floating "+1" texts: x, y, points, ttl, id

    def _spawn(self) -> None:
        """Drop a new item into a free slot; faster and more often as the round goes on."""
        rng = self._rng
        self.spawn_in = max(14, 42 - self.frame // 60) + rng.randrange(10)
        free = [i for i in self.items if i[0] == EMPTY]
        if not free:
            return
        roll = rng.randrange(100)
        kind = GOLDEN if roll < 12 else BOMB if roll < 32 else FRUIT
        x = rng.randrange(20, WIDTH - 19)
        vy = 20 + rng.randrange(11) + min(self.frame // 90, 20)
        self.serial += 1
        free[0][:] = [kind, x, (HUD - RADIUS[kind]) * SUB, vy, self.serial]

    def _in_basket(self, x: int, y: int, r: int) -> bool:
        return (y + r >= BASKET_Y and y - r <= BASKET_Y + BASKET_H
                and self.basket - r // 2 <= x <= self.basket + BASKET_W + r // 2)

    def _pop(self, x: int, y: int, points: int) -> None:
        self.serial += 1
        self.pops = (self.pops + [[x, y, points, 20, self.serial]])[-4:]

    def _obs(self) -> list[int]:
        obs = [self.basket, self.lives, max(self.round_frames - self.frame, 0) // 30]
        for kind, x, y_sub, vy, _ in self.items:
            obs += [kind, x, y_sub // SUB, vy]
        return obs

    def _info(self, caught: int) -> dict:
        return {"score": self.score, "lives": self.lives, "missed": self.missed, "caught": caught}


def _item_shapes(kind: int, x: int, y: int, sid: str) -> list[dict]:
    """A fruit, golden fruit or bomb centred on (x, y); sub-shapes share the item's id prefix."""
    r = RADIUS[kind]
    if kind == BOMB:
        return [draw.circle(x, y, r, color=COLORS[BOMB], stroke="#8d99ae", line_width=2, id=sid, depth=1),
                draw.circle(x + r - 3, y - r + 2, 4, color="#ff9f1c", id=sid + "-fuse", depth=1)]
    shapes = [draw.circle(x, y, r, color=COLORS[kind], id=sid, depth=1,
                          stroke="#ffffff" if kind == GOLDEN else None, line_width=2)]
    shapes.append(draw.circle(x + 4, y - r + 1, 4, color="#52b788", id=sid + "-leaf", depth=1))
    return shapes
