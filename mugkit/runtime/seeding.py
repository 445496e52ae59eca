"""Seeds derived from names, the same in every Python.

A study replays from one seed: each episode's seed is derived from (study seed, experiment,
step, episode, participant or group), and a policy's randomness from (seed, frame, agent).
Python's ``hash()`` is salted per process, so derivation goes through the canonical encoding.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .hashing import encode

__all__ = ["derive_seed", "derive_rng", "episode_seed"]


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed from any plain-data ``parts``; different parts give unrelated seeds.

    Example:
        >>> derive_seed(0, "chase", "game", 1) == derive_seed(0, "chase", "game", 1)
        True
    """
    return int.from_bytes(hashlib.sha256(encode(list(parts))).digest()[:4], "big")


def derive_rng(*parts: Any) -> random.Random:
    """A ``random.Random`` seeded with :func:`derive_seed` ``(*parts)``."""
    return random.Random(derive_seed(*parts))


def episode_seed(seed: int, episode: int) -> int:
    """The ``reset`` seed of ``episode`` (0-based) of the game seeded ``seed``: the same derivation
    on the server, in the browser and in the checks."""
    return derive_seed(seed, "episode", episode)
