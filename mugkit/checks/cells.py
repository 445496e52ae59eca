"""Cells: a coarse signature of an env's state, for exploration (Go-Explore's "cell").

Two states are in one cell when every field that changes during play (see
:mod:`mugkit.checks.fields`) is in the same bucket: a number falls in one of :data:`BUCKETS`
equal slices of the range seen so far for that field (integers that take few values keep each
value), any other value (a flag, a name, a small array's digest) is its own bucket. Random
generators' states and large arrays (pixels) are left out: they change every frame and say
nothing about where the game is.

Games are about things meeting: players bumping, a chaser catching, two agents entering one
cell. So a cell also holds how far apart two *things* are — fields whose paths differ in one
segment before the last (``pos.a[0]`` and ``pos.b[0]``, ``pos.a[1]`` and ``pos.b[1]``: things
``pos.a`` and ``pos.b``; ``agents[0].x`` and ``agents[1].x``), among two to four things — as
the sum of their coordinate gaps on a scale of four steps per doubling: coming closer is a new
cell at every halving of the distance, which leads exploration to the states where they meet.

The ranges grow as exploration finds new values, so the buckets are re-drawn now and then
(:meth:`CellKeys.redraw`) and the archive re-keyed, as Go-Explore re-computes its downscaling.
"""

from __future__ import annotations

import math
import re
from itertools import combinations
from typing import Any, Hashable

from .fields import Digest

__all__ = ["CellKeys", "BUCKETS"]

#: Slices of a number's range seen so far.
BUCKETS = 8
#: A :class:`~mugkit.checks.fields.Digest` of an array or list larger than this is not a cell field.
MAX_CELL_ITEMS = 256


#: Steps of the distance scale per doubling of the distance.
GAP_STEPS = 4
#: Sibling groups larger than this (a list of 30 items) add no gaps: their pairs would swamp the key.
MAX_SIBLINGS = 4
_SEGMENT = re.compile(r"\.[^.\[]+|\[[^\]]*\]|^[^.\[]+")


def _siblings(paths: list[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Pairs of things with the same coordinates, as aligned paths: numbers whose paths differ in
    exactly one segment, not a last list index (``pos.a[0]``/``pos.b[0]`` and
    ``pos.a[1]``/``pos.b[1]``: things ``pos.a`` and ``pos.b`` with coordinates ``[0]`` and
    ``[1]``; ``score.p0``/``score.p1``), among groups of 2–MAX_SIBLINGS things."""
    things: dict[tuple, dict[str, list]] = {}  # (segment index, path around it) → thing → coordinates
    for p in paths:
        parts = _SEGMENT.findall(p)
        # A last segment that is a list index is a coordinate ([0] is x, [1] is y); one that is a
        # name (score.p0, score.p1) names a thing: two players' scores are apart, or tied.
        last = len(parts) if parts and not parts[-1].startswith("[") else len(parts) - 1
        for i in range(last):
            around = (i, "".join(parts[:i]), "".join(parts[i + 1:]))
            things.setdefault(around[:2], {}).setdefault("".join(parts[:i + 1]), []).append(around[2])
    pairs = set()
    for by_thing in things.values():
        if 2 <= len(by_thing) <= MAX_SIBLINGS:
            for a, b in combinations(sorted(by_thing), 2):
                coords = sorted(set(by_thing[a]) & set(by_thing[b]))
                if coords:
                    pairs.add((tuple(a + c for c in coords), tuple(b + c for c in coords)))
    return sorted(pairs)


def _gap(a: float, b: float) -> int:
    """A distance on a scale of four steps per doubling: each step about a fifth closer."""
    d = abs(a - b)
    return 0 if d < 1 else 1 + int(GAP_STEPS * math.log2(d))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _in_cells(v: Any) -> bool:
    if isinstance(v, Digest):
        return v.kind in ("list", "array", "data") and v.size <= MAX_CELL_ITEMS
    return not isinstance(v, complex)


class CellKeys:
    """Turns fields into a cell key. Feed every state seen with :meth:`observe`."""

    def __init__(self) -> None:
        self.start: dict[str, Any] | None = None
        self.buckets = BUCKETS
        self.clocks: dict[str, int] = {}  # int fields that have always been the frame index + a constant
        self.changed: set[str] = set()
        self.lo: dict[str, float] = {}
        self.hi: dict[str, float] = {}
        self._paths: tuple = ()
        self._width: dict[str, float] = {}
        self._low: dict[str, float] = {}
        self._pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self._drawn: dict[str, tuple] = {}  # the range each number's buckets cover, with a margin
        self.stale = False  # a number left that range: the buckets should be redrawn

    def observe(self, fields: dict[str, Any], frame: int) -> bool:
        """Notes the fields of one state at ``frame``; returns whether a field changed for the
        first time (then the caller should :meth:`redraw`)."""
        if self.start is None:
            self.start = dict(fields)
            self.clocks = {p: v - frame for p, v in fields.items() if isinstance(v, int) and not isinstance(v, bool)}
        first = False
        for p in [p for p, offset in self.clocks.items() if fields.get(p) != frame + offset]:
            del self.clocks[p]
        if fields.keys() != self.start.keys():  # a field appeared or went (an agent left the game)
            for path in self.start.keys() ^ fields.keys():
                if path not in self.changed:
                    self.changed.add(path)
                    first = True
        for path, v in fields.items():
            if _is_number(v) and not (isinstance(v, float) and math.isnan(v)):
                if path not in self.lo:
                    self.lo[path] = self.hi[path] = v
                elif v < self.lo[path]:
                    self.lo[path] = v
                elif v > self.hi[path]:
                    self.hi[path] = v
            if path not in self.changed and self.start.get(path, _MISSING) != v:
                self.changed.add(path)
                first = True
        for p, (bottom, top) in self._drawn.items():
            v = fields.get(p)
            if _is_number(v) and not bottom <= v <= top:
                self.stale = True  # the range outgrew the buckets: time to redraw them
        return first

    def coarser(self) -> bool:
        """Halves the buckets per number (down to 2), when the archive grows past its target;
        returns whether it could."""
        if self.buckets <= 2:
            return False
        self.buckets //= 2
        self.redraw()
        return True

    def redraw(self) -> None:
        """Re-draws the buckets from the ranges seen so far (cell keys made before differ)."""
        assert self.start is not None
        # A frame counter is left out: every frame would be a new cell, and time is not a place.
        self._paths = tuple(sorted(p for p in self.changed if _in_cells(self.start.get(p)) and p not in self.clocks))
        self._low, self._width, self._drawn = {}, {}, {}
        self.stale = False
        for p in self._paths:
            if p in self.lo:
                lo, hi = self.lo[p], self.hi[p]
                span = hi - lo
                integral = isinstance(lo, int) and isinstance(hi, int)
                self._low[p] = lo
                self._width[p] = 1 if integral and span < 2 * self.buckets else (span / self.buckets or 1)
                margin = max(self._width[p], span / 4)
                self._drawn[p] = (lo - margin, hi + margin)
        self._pairs = _siblings(list(self._width))

    def key(self, fields: dict[str, Any]) -> Hashable:
        """The cell of a state, under the buckets last drawn."""
        out = []
        for p in self._paths:
            v = fields.get(p, _MISSING)
            if p in self._width and _is_number(v) and not (isinstance(v, float) and math.isnan(v)):
                out.append(min(self.buckets * 2, int((v - self._low[p]) // self._width[p])))
            else:
                out.append(v if isinstance(v, Hashable) else repr(v))
        for pair in self._pairs:
            apart = self.distance(fields, pair)
            out.append(None if apart is None else _gap(apart, 0))
        return tuple(out)

    @property
    def pairs(self) -> list:
        """The pairs of things whose distance a cell holds (see the module docstring)."""
        return self._pairs

    @staticmethod
    def distance(fields: dict[str, Any], pair: tuple) -> float | None:
        """How far apart the two things of ``pair`` are: the sum of their coordinate gaps (on a
        grid, the moves between them: two agents two moves apart can step into one cell)."""
        gaps = [abs(fields.get(x) - fields.get(y)) for x, y in zip(*pair)
                if _is_number(fields.get(x)) and _is_number(fields.get(y))]
        return sum(gaps) if gaps else None


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
