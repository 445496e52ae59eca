"""Seeds derived from names, the same in every Python.

A study replays from one seed: each game's seed is derived from (study seed, experiment, step,
participant or group), each episode's from (game seed, episode), and a policy's randomness from
(seed, frame, agent). Python's ``hash()`` is salted per process, so derivation goes through the
canonical encoding.

The study seed is a secret (128 bits when drawn): what derives from it goes through
:func:`keyed_seed`, an HMAC-SHA256 keyed with it, so a participant who sees their own game's seed
learns nothing about the study seed or anyone else's seeds. What derives from a game seed (which
the browser of a browser game sees anyway) uses the plain :func:`derive_seed`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Any

from .hashing import encode

__all__ = ["derive_seed", "derive_rng", "episode_seed", "keyed_seed", "keyed_rng"]


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


def keyed_seed(key: int, *parts: Any) -> int:
    """A 63-bit seed of ``parts`` keyed with the secret ``key`` (the study seed): HMAC-SHA256 of
    their canonical encoding, so seeds for different parts are unrelated, and knowing some of them
    tells nothing about ``key`` or the others. 63 bits: an int every env, numpy and a signed 64-bit
    database column accept.

    Example:
        >>> keyed_seed(2**100 + 7, "chase", "game", ["p1"]) == keyed_seed(2**100 + 7, "chase", "game", ["p1"])
        True
    """
    mac = hmac.new(encode(key), encode(list(parts)), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "big") >> 1


def keyed_rng(key: int, *parts: Any) -> random.Random:
    """A ``random.Random`` seeded with :func:`keyed_seed` ``(key, *parts)``."""
    return random.Random(keyed_seed(key, *parts))
