"""Cells: a coarse signature of an env's state, for exploration (Go-Explore's "cell").

Two states are in one cell when every field that changes during play (see
:mod:`mugkit.checks.fields`) is in the same bucket: a number falls in one of :data:`BUCKETS`
equal slices of the range seen so far for that field (integers that take few values keep each
value), any other value (a flag, a name, a small array's digest) is its own bucket. Random
generators' states and large arrays (pixels) are left out: they change every frame and say
nothing about where the game is.

The ranges grow as exploration finds new values, so the buckets are re-drawn now and then
(:meth:`CellKeys.redraw`) and the archive re-keyed, as Go-Explore re-computes its downscaling.
"""

from __future__ import annotations

import math
from typing import Any, Hashable

from .fields import Digest

__all__ = ["CellKeys", "BUCKETS"]

#: Slices of a number's range seen so far.
BUCKETS = 8
#: A :class:`~mugkit.checks.fields.Digest` of an array or list larger than this is not a cell field.
MAX_CELL_ITEMS = 256


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
        self._low, self._width = {}, {}
        for p in self._paths:
            if p in self.lo:
                lo, hi = self.lo[p], self.hi[p]
                span = hi - lo
                integral = isinstance(lo, int) and isinstance(hi, int)
                self._low[p] = lo
                self._width[p] = 1 if integral and span < 2 * self.buckets else (span / self.buckets or 1)

    def key(self, fields: dict[str, Any]) -> Hashable:
        """The cell of a state, under the buckets last drawn."""
        out = []
        for p in self._paths:
            v = fields.get(p, _MISSING)
            if p in self._width and _is_number(v) and not (isinstance(v, float) and math.isnan(v)):
                out.append(min(self.buckets * 2, int((v - self._low[p]) // self._width[p])))
            else:
                out.append(v if isinstance(v, Hashable) else repr(v))
        return tuple(out)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
