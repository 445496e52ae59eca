"""A ``random.Random`` as plain data, for ``get_state``/``set_state``.

``Random.getstate()`` is a tuple holding a tuple; stored as lists it survives JSON and msgpack
round trips, and ``restore`` turns it back into the tuples ``setstate`` insists on.
"""

from __future__ import annotations

import random


def fresh(seed: int | None, current: random.Random | None) -> random.Random:
    """The generator for a ``reset(seed=…)``: a new one when seeded (or first), else the current one.

    This is Gymnasium's rule: ``reset()`` without a seed continues the previous random stream.
    """
    if seed is not None or current is None:
        return random.Random(seed)
    return current


def dump(rng: random.Random) -> list:
    """The generator's state as nested lists of ints (and ``None``)."""
    version, internal, gauss_next = rng.getstate()
    return [version, list(internal), gauss_next]


def load(state: list | None, into: random.Random | None = None) -> random.Random | None:
    """A generator in the state ``dump`` returned (``None`` for ``None``).

    Restores ``into`` when given: rollback restores often, and a new ``Random()`` costs more
    than the restore itself (it seeds itself from the OS first).
    """
    if state is None:
        return None
    rng = into if into is not None else random.Random(0)
    rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng
