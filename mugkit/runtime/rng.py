"""A random generator whose whole state is four integers: the one a browser-ready env draws from.

``random.Random`` works, but its state is 625 integers (copied at every rollback snapshot and
hashed at every frame) in nested tuples that a JSON or msgpack round trip turns into lists.
:class:`Random` has the methods an env needs with the names ``random.Random`` uses, and a state
that is a tuple of four ints below 2**64::

    from mugkit.runtime.rng import Random

    class Walk:
        def reset(self, seed=None, options=None):
            self.rng = Random(seed)
            self.x = self.rng.randrange(10)
            ...

        def get_state(self):
            return {"x": self.x, "rng": self.rng.getstate()}

        def set_state(self, state):
            self.x = state["x"]
            self.rng.setstate(state["rng"])

The same in every Python
    Every result is computed with integer arithmetic, so CPython on the server and Pyodide in the
    browser (another Python version, another C library, WebAssembly) give identical numbers. The
    only floats it returns, from :meth:`Random.random`, are an integer below 2**53 times 2**-53:
    exact, no rounding anywhere. There is deliberately no ``gauss``, ``expovariate`` and the like:
    they need ``log``/``cos``, whose last bits differ between C libraries.

The algorithm (version 1)
    PCG64-DXSM, numpy's recommended generator (``numpy.random.PCG64DXSM``): a 128-bit linear
    congruential generator ``s = s * 0xda942042e4dd58b5 + inc (mod 2**128)`` whose output is the
    "double xorshift multiply" of the state before the step. Period 2**128 per stream; the
    increment ``inc`` (odd) picks one of 2**127 streams. It passes the PractRand and TestU01
    batteries. The raw 64-bit outputs equal numpy's ``PCG64DXSM.random_raw()`` from the same
    state (``tests/test_rng.py`` checks it), and the derived methods are pinned there, so a change
    to any result is a deliberate one.

Seeding
    ``Random(seed)`` takes any int (negative, huge, a numpy integer). SHA-256 of the seed's
    two's-complement bytes gives the state and the increment, so nearby seeds (0, 1, 2, …) give
    unrelated streams. ``Random()`` or ``Random(None)`` seeds from the operating system, like
    ``random.Random()``: the game is then not reproducible, which ``mugkit check``'s determinism
    check reports.

Derived values, exactly
    ``randrange``/``randint``/``choice``/``shuffle``/``sample``/``choices`` draw an integer below
    ``n`` by taking the top ``k`` bits of an output (``k`` = bits of ``n - 1``) and drawing again
    while the result is ``>= n``: unbiased, at most two outputs on average. ``choices`` takes int
    weights only (fixed point), so the cumulative weights are exact.
"""

from __future__ import annotations

import hashlib
import os
from bisect import bisect_right
from operator import index as _index
from typing import Any, MutableSequence, Sequence

__all__ = ["Random", "fresh", "dump", "load", "VERSION"]

#: The algorithm version: results of a given seed never change within a version.
VERSION = 1

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
#: PCG's "cheap multiplier": the LCG's multiplier and the DXSM output multiplier.
_MULT = 0xDA942042E4DD58B5
_EPSILON = 1.0 / (1 << 53)  # 2**-53, an exact power of two
_SEED_DOMAIN = b"mugkit.Random/1:"


def _seed_bytes(n: int) -> bytes:
    """The fewest two's-complement bytes of ``n`` (so -1 and 255 differ)."""
    length = (n if n >= 0 else ~n).bit_length() // 8 + 1
    return n.to_bytes(length, "big", signed=True)


class Random:
    """A seeded generator with ``random.Random``'s method names and a state of four ints.

    Args:
        seed: any int (or an object with ``__index__``, such as a numpy integer); None seeds from
            the operating system (not reproducible).

    Raises:
        TypeError: ``seed`` is not an int (a float, a str): a game's seed is an int.
    """

    __slots__ = ("_s", "_inc")

    def __init__(self, seed: int | None = None):
        self.seed(seed)

    # -- state -----------------------------------------------------------------------------

    def seed(self, seed: int | None = None) -> None:
        """Restarts the generator from ``seed`` (see the class docstring)."""
        if seed is None:
            raw = os.urandom(32)
        else:
            try:
                n = _index(seed)
            except TypeError:
                raise TypeError(f"Random: the seed must be an int (or None), got {type(seed).__name__}: "
                                f"{seed!r:.40}") from None
            raw = hashlib.sha256(_SEED_DOMAIN + _seed_bytes(n)).digest()
        self._s = int.from_bytes(raw[:16], "big")
        self._inc = int.from_bytes(raw[16:], "big") | 1

    def getstate(self) -> tuple[int, int, int, int]:
        """The whole state: ``(state_high, state_low, increment_high, increment_low)``, four ints
        from 0 to 2**64 - 1 (plain data: JSON and msgpack keep it exactly). Put it in your env's
        ``get_state()``; an immutable tuple, so a snapshot never changes afterwards."""
        s, inc = self._s, self._inc
        return (s >> 64, s & _M64, inc >> 64, inc & _M64)

    def setstate(self, state: Sequence[int]) -> None:
        """Restores a state :meth:`getstate` returned (a tuple, or the list a JSON round trip
        makes of it).

        Raises:
            ValueError: ``state`` is not four ints from 0 to 2**64 - 1 with an odd last one (for
                instance a ``random.Random`` state).
        """
        if (not isinstance(state, (tuple, list)) or len(state) != 4
                or not all(type(v) is int and 0 <= v <= _M64 for v in state) or not state[3] & 1):
            raise ValueError(f"not a state of mugkit's Random (four ints below 2**64, the last one odd, as "
                             f"getstate() returns): {state!r:.80}")
        self._s = (state[0] << 64) | state[1]
        self._inc = (state[2] << 64) | state[3]

    def __reduce__(self):
        return (load, (self.getstate(),))

    def __repr__(self) -> str:
        return f"mugkit Random with state {self.getstate()!r}"

    # -- the core --------------------------------------------------------------------------

    def next64(self) -> int:
        """The next raw output: an int from 0 to 2**64 - 1 (what every other method is built on)."""
        s = self._s
        self._s = (s * _MULT + self._inc) & _M128
        hi = s >> 64
        hi ^= hi >> 32
        hi = (hi * _MULT) & _M64
        hi ^= hi >> 48
        return (hi * ((s & _M64) | 1)) & _M64

    def getrandbits(self, k: int) -> int:
        """An int with ``k`` random bits (0 to 2**k - 1). ``getrandbits(0)`` is 0 and draws nothing."""
        k = _index(k)
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        if k == 0:
            return 0
        if k <= 64:
            return self.next64() >> (64 - k)
        words, r = (k + 63) // 64, 0
        for _ in range(words):
            r = (r << 64) | self.next64()
        return r >> (words * 64 - k)

    def _below(self, n: int) -> int:
        """A uniform int from 0 to ``n - 1`` (``n >= 1``): top bits of an output, drawn again when
        too large."""
        k = (n - 1).bit_length()
        if k > 64:
            r = self.getrandbits(k)
            while r >= n:
                r = self.getrandbits(k)
            return r
        shift = 64 - k
        while True:  # next64(), inlined: this is every draw's hot path
            s = self._s
            self._s = (s * _MULT + self._inc) & _M128
            hi = s >> 64
            hi ^= hi >> 32
            hi = (hi * _MULT) & _M64
            hi ^= hi >> 48
            r = ((hi * ((s & _M64) | 1)) & _M64) >> shift
            if r < n:
                return r

    # -- what envs draw --------------------------------------------------------------------

    def random(self) -> float:
        """A float in [0, 1): an int below 2**53 times 2**-53, so exact and the same everywhere."""
        s = self._s
        self._s = (s * _MULT + self._inc) & _M128
        hi = s >> 64
        hi ^= hi >> 32
        hi = (hi * _MULT) & _M64
        hi ^= hi >> 48
        return (((hi * ((s & _M64) | 1)) & _M64) >> 11) * _EPSILON

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """A random member of ``range(start, stop, step)``, as ``random.Random.randrange``.

        Raises:
            TypeError: a bound is not an int (floats are refused, as in Python 3.12+).
            ValueError: the range is empty, or ``step`` is 0.
        """
        start = _index(start)
        if stop is None:
            if step != 1:
                raise TypeError("randrange: missing a non-None stop argument")
            if start > 0:
                return self._below(start)
            raise ValueError(f"empty range in randrange({start})")
        stop = _index(stop)
        step = _index(step)
        width = stop - start
        if step == 1:
            if width > 0:
                return start + self._below(width)
            raise ValueError(f"empty range in randrange({start}, {stop})")
        if step > 0:
            n = (width + step - 1) // step
        elif step < 0:
            n = (width + step + 1) // step
        else:
            raise ValueError("zero step for randrange()")
        if n <= 0:
            raise ValueError(f"empty range in randrange({start}, {stop}, {step})")
        return start + step * self._below(n)

    def randint(self, a: int, b: int) -> int:
        """A random int ``N`` with ``a <= N <= b`` (both ends included)."""
        a, b = _index(a), _index(b)
        if b < a:
            raise ValueError(f"empty range in randint({a}, {b})")
        return a + self._below(b - a + 1)

    def chance(self, numerator: int, denominator: int) -> bool:
        """True with probability ``numerator / denominator`` exactly (``chance(3, 100)``: 3 %),
        for integer-only envs that would otherwise write ``random() < 0.03``."""
        numerator, denominator = _index(numerator), _index(denominator)
        if denominator <= 0:
            raise ValueError(f"chance: the denominator must be positive, got {denominator}")
        return self._below(denominator) < numerator

    def choice(self, seq: Sequence[Any]) -> Any:
        """A random element of a non-empty sequence.

        Raises:
            IndexError: ``seq`` is empty.
        """
        n = len(seq)
        if not n:
            raise IndexError("cannot choose from an empty sequence")
        return seq[self._below(n)]

    def shuffle(self, x: MutableSequence[Any]) -> None:
        """Shuffles the list ``x`` in place (Fisher–Yates, as ``random.Random.shuffle``)."""
        below = self._below
        for i in range(len(x) - 1, 0, -1):
            j = below(i + 1)
            x[i], x[j] = x[j], x[i]

    def sample(self, population: Sequence[Any], k: int) -> list:
        """``k`` distinct elements of ``population`` (a sequence), in the order drawn.

        Raises:
            TypeError: ``population`` is a set: its order depends on string hashing, which differs
                between processes; pass ``sorted(the_set)``.
            ValueError: ``k`` is negative or larger than the population.
        """
        if isinstance(population, (set, frozenset)):
            raise TypeError("sample: the population must be a sequence; a set's order differs between "
                            "processes (string hashing), so pass sorted(the_set)")
        pool = list(population)
        n, k = len(pool), _index(k)
        if not 0 <= k <= n:
            raise ValueError(f"sample larger than the population or negative: k={k}, population {n}")
        below = self._below
        for i in range(k):
            j = i + below(n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def choices(self, population: Sequence[Any], weights: Sequence[int] | None = None, *,
                cum_weights: Sequence[int] | None = None, k: int = 1) -> list:
        """``k`` elements of ``population`` drawn with replacement, uniformly or by int ``weights``
        (or cumulative ``cum_weights``).

        Raises:
            TypeError: a weight is not an int (use fixed point: weights 25 and 75, not 0.25 and
                0.75, so that no float sum can differ between Pythons); both kinds of weights given.
            ValueError: as many weights as elements are needed; weights must not be negative and
                must not all be 0; the population must not be empty.
        """
        n, k = len(population), _index(k)
        if cum_weights is None and weights is None:
            if not n:
                raise IndexError("cannot choose from an empty population")
            return [population[self._below(n)] for _ in range(k)]
        if cum_weights is not None and weights is not None:
            raise TypeError("choices: give weights or cum_weights, not both")
        given = list(weights if weights is not None else cum_weights)
        if not all(type(w) is int or (not isinstance(w, (bool, float)) and _is_index(w)) for w in given):
            raise TypeError("choices: weights must be ints (fixed point: 25 and 75 rather than 0.25 and 0.75), "
                            f"got {given!r:.80}")
        given = [_index(w) for w in given]
        if weights is not None:
            cum, total = [], 0
            for w in given:
                if w < 0:
                    raise ValueError(f"choices: weights must not be negative, got {w}")
                total += w
                cum.append(total)
        else:
            cum = given
            if any(b < a for a, b in zip([0] + cum, cum)):
                raise ValueError("choices: cum_weights must be non-negative and non-decreasing")
        if len(cum) != n:
            raise ValueError(f"choices: {len(cum)} weights for a population of {n}")
        if not n or cum[-1] <= 0:
            raise ValueError("choices: the weights must add up to more than 0")
        total = cum[-1]
        return [population[bisect_right(cum, self._below(total))] for _ in range(k)]


def _is_index(x: Any) -> bool:
    try:
        _index(x)
    except TypeError:
        return False
    return True


def fresh(seed: int | None, current: Random | None) -> Random:
    """The generator an env's ``reset(seed=…)`` should draw from: a new one seeded with ``seed``
    when a seed is given (or there is none yet), else ``current``. This is Gymnasium's rule:
    ``reset()`` without a seed continues the previous random stream.

    Example:
        >>> rng = fresh(7, None)
        >>> fresh(None, rng) is rng
        True
    """
    if seed is not None or current is None:
        return Random(seed)
    return current


def dump(rng: Random | None) -> tuple[int, int, int, int] | None:
    """``rng.getstate()``, or None for None: for ``get_state()`` of an env whose generator may not
    exist yet."""
    return None if rng is None else rng.getstate()


def load(state: Sequence[int] | None, into: Random | None = None) -> Random | None:
    """A generator in ``state`` (from :func:`dump` or :meth:`Random.getstate`); None for None.

    Restores ``into`` in place when given (no new object, no seeding from the operating system).
    """
    if state is None:
        return None
    rng = into if into is not None else Random(0)
    rng.setstate(state)
    return rng
