"""Eight-way movement shared by the real-time envs: actions, keys and integer velocities.

Actions are ``Discrete(9)``: 0 stay, 1 up, 2 down, 3 left, 4 right, 5 up-left, 6 up-right,
7 down-left, 8 down-right. Diagonals move by a smaller integer step on each axis so that a
diagonal is about as fast as a straight move (no ``sqrt``: it would be a float).
"""

from __future__ import annotations

N_ACTIONS = 9

# (dx, dy) unit directions per action; y grows downwards like the canvas.
DIRECTIONS: tuple[tuple[int, int], ...] = (
    (0, 0), (0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (1, -1), (-1, 1), (1, 1),
)

# Arrow keys and WASD; a two-key combination wins over its single keys (the runtime picks the
# longest matching combination).
KEYS: dict = {
    "ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4,
    ("ArrowUp", "ArrowLeft"): 5, ("ArrowUp", "ArrowRight"): 6,
    ("ArrowDown", "ArrowLeft"): 7, ("ArrowDown", "ArrowRight"): 8,
    "w": 1, "s": 2, "a": 3, "d": 4,
    ("w", "a"): 5, ("w", "d"): 6, ("s", "a"): 7, ("s", "d"): 8,
}


def velocity(action: int, straight: int, diagonal: int) -> tuple[int, int]:
    """The (vx, vy) of ``action`` for a mover with the given straight and per-axis diagonal speed."""
    dx, dy = DIRECTIONS[action]
    speed = diagonal if dx and dy else straight
    return dx * speed, dy * speed


def clamp(v: int, lo: int, hi: int) -> int:
    """``v`` limited to ``lo … hi``."""
    return lo if v < lo else hi if v > hi else v
