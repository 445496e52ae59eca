"""Action and observation spaces without numpy.

Browser envs run in Pyodide, where numpy (and so gymnasium) may not be importable. Such an env
declares its spaces with these classes. They answer ``contains`` and ``sample`` in pure Python
(identically in CPython and Pyodide), and in CPython ``to_gymnasium()`` gives the equivalent
``gymnasium.spaces`` object so the same env can be checked by Gymnasium's and PettingZoo's own
checkers (mugkit's ``contract`` check does this through :mod:`mugkit.checks.views`).

Values are plain Python: ``Discrete`` holds ints, ``Box`` holds (nested) lists of numbers,
``MultiDiscrete`` lists of ints, ``Tuple`` tuples, ``Dict`` dicts.

Example:
    >>> from mugkit.spaces import Discrete, Box
    >>> Discrete(5).contains(3), Discrete(5).contains(5)
    (True, False)
    >>> Box(0, 10, shape=(2,), dtype="int").contains([3, 9])
    True
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterable, Sequence

__all__ = ["Space", "Discrete", "MultiDiscrete", "Box", "Tuple", "Dict", "is_gymnasium_space"]


class Space:
    """Base class: a set of values an action or observation may take."""

    def contains(self, x: Any) -> bool:
        """True when ``x`` is a member of the space (never raises)."""
        raise NotImplementedError

    def sample(self, rng: random.Random, mask: Any = None) -> Any:
        """A member drawn with ``rng``; ``mask`` (where supported) marks the allowed values."""
        raise NotImplementedError

    def to_gymnasium(self) -> Any:
        """The equivalent ``gymnasium.spaces`` object (imports gymnasium and numpy)."""
        raise NotImplementedError

    def to_gymnasium_value(self, x: Any) -> Any:
        """``x`` converted to what the gymnasium space holds (numpy arrays for ``Box``)."""
        return x

    def from_gymnasium_value(self, x: Any) -> Any:
        """Inverse of :meth:`to_gymnasium_value`: numpy values back to plain Python."""
        return x

    def __contains__(self, x: Any) -> bool:
        return self.contains(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _item(x: Any) -> Any:
    """numpy scalar -> Python scalar, anything else unchanged (no numpy import)."""
    return x.item() if hasattr(x, "item") and hasattr(x, "dtype") and getattr(x, "shape", None) == () else x


class Discrete(Space):
    """Integers ``start, …, start + n - 1``."""

    def __init__(self, n: int, start: int = 0):
        if not _is_int(n) or n <= 0:
            raise ValueError(f"Discrete expects a positive int n, actual: {n!r}")
        if not _is_int(start):
            raise ValueError(f"Discrete expects an int start, actual: {start!r}")
        self.n = n
        self.start = start

    def contains(self, x: Any) -> bool:
        x = _item(x)
        return _is_int(x) and self.start <= x < self.start + self.n

    def sample(self, rng: random.Random, mask: Any = None) -> int:
        if mask is None:
            return self.start + rng.randrange(self.n)
        allowed = [i for i, m in enumerate(list(mask)) if m]
        if len(list(mask)) != self.n:
            raise ValueError(f"mask has {len(list(mask))} entries, Discrete({self.n}) needs {self.n}")
        if not allowed:
            return self.start  # Gymnasium's rule for an all-zero mask
        return self.start + allowed[rng.randrange(len(allowed))]

    def to_gymnasium(self):
        import gymnasium

        return gymnasium.spaces.Discrete(self.n, start=self.start)

    def to_gymnasium_value(self, x):
        import numpy as np

        return np.int64(x)

    def from_gymnasium_value(self, x):
        return int(x)

    def __repr__(self) -> str:
        return f"Discrete({self.n})" if self.start == 0 else f"Discrete({self.n}, start={self.start})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Discrete) and (self.n, self.start) == (other.n, other.start)

    def __hash__(self) -> int:
        return hash((Discrete, self.n, self.start))


class MultiDiscrete(Space):
    """A list of ints, entry ``i`` in ``0 … nvec[i] - 1``."""

    def __init__(self, nvec: Sequence[int]):
        nvec = list(nvec)
        if not nvec or not all(_is_int(n) and n > 0 for n in nvec):
            raise ValueError(f"MultiDiscrete expects a non-empty list of positive ints, actual: {nvec!r}")
        self.nvec = nvec

    def contains(self, x: Any) -> bool:
        try:
            x = [_item(v) for v in x]
        except TypeError:
            return False
        return len(x) == len(self.nvec) and all(_is_int(v) and 0 <= v < n for v, n in zip(x, self.nvec))

    def sample(self, rng: random.Random, mask: Any = None) -> list[int]:
        if mask is None:
            return [rng.randrange(n) for n in self.nvec]
        return [Discrete(n).sample(rng, m) for n, m in zip(self.nvec, mask)]

    def to_gymnasium(self):
        import gymnasium

        return gymnasium.spaces.MultiDiscrete(self.nvec)

    def to_gymnasium_value(self, x):
        import numpy as np

        return np.asarray(x, dtype=np.int64)

    def from_gymnasium_value(self, x):
        return [int(v) for v in x]

    def __repr__(self) -> str:
        return f"MultiDiscrete({self.nvec})"


def _shape_of(x: Any) -> tuple[int, ...] | None:
    if isinstance(x, (list, tuple)):
        if not x:
            return (0,)
        inner = {_shape_of(v) for v in x}
        if len(inner) != 1 or None in inner:
            return None
        return (len(x),) + inner.pop()
    return ()


def _flat(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return [v for part in x for v in _flat(part)]
    return [x]


def _nest(flat: list, shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _uniform(rng: random.Random, lo: float, hi: float) -> float:
    """Gymnasium's rule for unbounded sides: normal, or exponential from the finite bound."""
    inf = float("inf")
    if lo == -inf and hi == inf:
        return rng.gauss(0.0, 1.0)
    if hi == inf:
        return lo + rng.expovariate(1.0)
    if lo == -inf:
        return hi - rng.expovariate(1.0)
    return rng.uniform(lo, hi)


class Box(Space):
    """Numbers between ``low`` and ``high`` (inclusive), as nested lists of ``shape``.

    ``dtype`` is ``"int"`` (integer grids, positions: parity-exact) or ``"float"``. ``low`` and
    ``high`` are scalars or nested lists of the same shape.
    """

    def __init__(self, low: Any, high: Any, shape: Sequence[int] | None = None, dtype: str = "float"):
        if dtype not in ("int", "float"):
            raise ValueError(f"Box dtype must be 'int' or 'float', actual: {dtype!r}")
        if shape is None:
            shape = _shape_of(low) if isinstance(low, (list, tuple)) else _shape_of(high)
            if shape is None:
                raise ValueError(f"Box low/high must be numbers or evenly nested lists, actual: low={low!r}, "
                                 f"high={high!r}")
        self.shape = tuple(shape)
        self.dtype = dtype
        size = 1
        for d in self.shape:
            size *= d
        self._low = _flat(low) if isinstance(low, (list, tuple)) else [low] * size
        self._high = _flat(high) if isinstance(high, (list, tuple)) else [high] * size
        if len(self._low) != size or len(self._high) != size:
            raise ValueError(f"Box low/high do not match shape {self.shape}: low={low!r}, high={high!r}")
        if dtype == "int" and not all(math.isfinite(v) and v == int(v) for v in self._low + self._high):
            raise ValueError(f"Box(dtype='int') needs finite integer bounds, actual: low={low!r}, high={high!r}")
        if any(lo > hi for lo, hi in zip(self._low, self._high)):
            raise ValueError(f"Box expects low <= high everywhere, actual: low={low!r}, high={high!r}")
        self.low = _nest(self._low, self.shape)
        self.high = _nest(self._high, self.shape)

    def contains(self, x: Any) -> bool:
        x = _item(x)
        if hasattr(x, "tolist"):
            x = x.tolist()
        if _shape_of(x) != self.shape:
            return False
        flat = [_item(v) for v in _flat(x)]
        number = int if self.dtype == "int" else (int, float)
        if not all(isinstance(v, number) and not isinstance(v, bool) for v in flat):
            return False
        return all(lo <= v <= hi for v, lo, hi in zip(flat, self._low, self._high))

    def sample(self, rng: random.Random, mask: Any = None) -> Any:
        if self.dtype == "int":
            flat = [rng.randint(int(lo), int(hi)) for lo, hi in zip(self._low, self._high)]
        else:
            flat = [_uniform(rng, lo, hi) for lo, hi in zip(self._low, self._high)]
        return _nest(flat, self.shape)

    def to_gymnasium(self):
        import gymnasium
        import numpy as np

        dtype = np.int64 if self.dtype == "int" else np.float64
        low = np.asarray(self._low, dtype=dtype).reshape(self.shape)
        high = np.asarray(self._high, dtype=dtype).reshape(self.shape)
        return gymnasium.spaces.Box(low, high, shape=self.shape, dtype=dtype)

    def to_gymnasium_value(self, x):
        import numpy as np

        return np.asarray(x, dtype=np.int64 if self.dtype == "int" else np.float64).reshape(self.shape)

    def from_gymnasium_value(self, x):
        return x.tolist() if hasattr(x, "tolist") else x

    def __repr__(self) -> str:
        return f"Box({self.low!r}, {self.high!r}, shape={self.shape}, dtype={self.dtype!r})"


class Tuple(Space):
    """A tuple whose entry ``i`` is a member of ``spaces[i]``."""

    def __init__(self, spaces: Iterable[Space]):
        self.spaces = tuple(spaces)

    def contains(self, x: Any) -> bool:
        return (isinstance(x, (tuple, list)) and len(x) == len(self.spaces)
                and all(s.contains(v) for s, v in zip(self.spaces, x)))

    def sample(self, rng: random.Random, mask: Any = None) -> tuple:
        masks = mask if mask is not None else [None] * len(self.spaces)
        return tuple(s.sample(rng, m) for s, m in zip(self.spaces, masks))

    def to_gymnasium(self):
        import gymnasium

        return gymnasium.spaces.Tuple([s.to_gymnasium() for s in self.spaces])

    def to_gymnasium_value(self, x):
        return tuple(s.to_gymnasium_value(v) for s, v in zip(self.spaces, x))

    def from_gymnasium_value(self, x):
        return tuple(s.from_gymnasium_value(v) for s, v in zip(self.spaces, x))

    def __repr__(self) -> str:
        return f"Tuple({list(self.spaces)!r})"


class Dict(Space):
    """A dict whose entry ``key`` is a member of ``spaces[key]``."""

    def __init__(self, spaces: dict[str, Space] | None = None, **kwargs: Space):
        self.spaces = dict(spaces or {}, **kwargs)

    def contains(self, x: Any) -> bool:
        return (isinstance(x, dict) and set(x) == set(self.spaces)
                and all(s.contains(x[k]) for k, s in self.spaces.items()))

    def sample(self, rng: random.Random, mask: Any = None) -> dict:
        masks = mask or {}
        return {k: s.sample(rng, masks.get(k)) for k, s in self.spaces.items()}

    def to_gymnasium(self):
        import gymnasium

        return gymnasium.spaces.Dict({k: s.to_gymnasium() for k, s in self.spaces.items()})

    def to_gymnasium_value(self, x):
        return {k: s.to_gymnasium_value(x[k]) for k, s in self.spaces.items()}

    def from_gymnasium_value(self, x):
        return {k: s.from_gymnasium_value(x[k]) for k, s in self.spaces.items()}

    def __repr__(self) -> str:
        return f"Dict({self.spaces!r})"


def is_gymnasium_space(space: Any) -> bool:
    """True for a ``gymnasium.spaces.Space`` (checked without importing gymnasium)."""
    return any(c.__module__.startswith("gymnasium.spaces") and c.__name__ == "Space"
               for c in type(space).__mro__)
