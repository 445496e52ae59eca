"""How well the server games keep time, in bounded memory: tick lateness and achieved frame rate.

A game's clock (mugkit/web/gameloop.py) notes every tick in its :class:`GameStats`: how late the
tick started (into :class:`Lateness`, a histogram of fixed buckets, so a long game or a long run
costs the same few hundred counters) and, once a second of play has passed, the frame rate it
achieved over that second. Each game's figures also go into its process's :class:`TickTotals`
(every tick since the server started), which ``/admin/stats.json``, the admin page and
``/metrics`` read (mugkit/web/metrics.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Lateness", "FrameRates", "TickTotals", "GameStats", "LATENESS_BOUNDS", "FPS_BOUNDS"]

#: Bucket widths of :class:`Lateness`, in ms, and the lateness each band reaches: 0.1 ms up to
#: 10 ms, 1 ms up to 100 ms, 10 ms up to 1 s, 100 ms up to 10 s; later ticks share one bucket.
_BANDS = ((0.1, 10.0), (1.0, 100.0), (10.0, 1000.0), (100.0, 10000.0))
#: The ``le`` bounds (seconds) ``/metrics`` gives the tick lateness histogram (edges of the bands).
LATENESS_BOUNDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: The ``le`` bounds (frames per second) of the achieved frame rate histogram: fine around the
#: usual rates (30, 60), where "a little slow" is worth seeing.
FPS_BOUNDS = (1, 5, 10, 15, 20, 25, 28, 29, 29.5, 30.5, 31, 40, 50, 55, 58, 59, 59.5, 60.5, 61, 90, 120, 240)


def _starts() -> list[float]:
    """The lower edge (ms) of every bucket of :class:`Lateness`, in order."""
    edges, low = [], 0.0
    for width, high in _BANDS:
        n = round((high - low) / width)
        edges += [low + i * width for i in range(n)]
        low = high
    return edges + [low]  # the last: everything from 10 s on


_EDGES = _starts()


def _bucket(ms: float) -> int:
    """The bucket of a lateness of ``ms`` milliseconds."""
    index, low = 0, 0.0
    for width, high in _BANDS:
        if ms < high:
            return index + int((max(ms, 0.0) - low) / width + 1e-9)
        index += round((high - low) / width)
        low = high
    return index


class Lateness:
    """Tick lateness (seconds) as counts in fixed buckets: 0.1 ms wide below 10 ms, coarser above
    (``_BANDS``), with the exact count, sum and maximum."""

    def __init__(self) -> None:
        self.counts = [0] * len(_EDGES)
        self.count = 0
        self.sum = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.counts[_bucket(seconds * 1000.0)] += 1
        self.count += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds

    def merge(self, other: "Lateness") -> "Lateness":
        """Adds ``other``'s ticks to these; returns self."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.count += other.count
        self.sum += other.sum
        self.max = max(self.max, other.max)
        return self

    def percentiles_ms(self, qs: tuple = (0.5, 0.95, 0.99, 1.0)) -> list[float]:
        """Lateness in ms at each quantile of ``qs`` (nearest rank; the lower edge of its bucket,
        the exact maximum for 1.0); zeros without ticks."""
        out = []
        for q in qs:
            if not self.count:
                out.append(0.0)
            elif q >= 1.0:
                out.append(round(self.max * 1000.0, 2))
            else:
                target, seen = q * (self.count - 1), 0
                for i, n in enumerate(self.counts):
                    seen += n
                    if seen > target:
                        out.append(round(_EDGES[i], 2))
                        break
        return out

    def cumulative(self, bounds: tuple = LATENESS_BOUNDS) -> list[tuple[float, int]]:
        """``(le, ticks at most that late)`` for each bound (seconds), then ``(inf, all)``: a
        Prometheus histogram's buckets. The bounds must be bucket edges (as the defaults are)."""
        out, seen, i = [], 0, 0
        for bound in bounds:
            while i < len(self.counts) and _EDGES[i] < bound * 1000.0 - 1e-9:
                seen += self.counts[i]
                i += 1
            out.append((bound, seen))
        return out + [(math.inf, self.count)]


class FrameRates:
    """Achieved frame rates (one value a second of play per game) as a histogram of
    :data:`FPS_BOUNDS`, per target rate (the step's ``fps``)."""

    def __init__(self) -> None:
        self.by_target: dict[float, dict] = {}  # target fps -> {"counts", "count", "sum"}

    def add(self, target: float, fps: float) -> None:
        h = self.by_target.setdefault(target, {"counts": [0] * len(FPS_BOUNDS), "count": 0, "sum": 0.0})
        for i, bound in enumerate(FPS_BOUNDS):
            if fps <= bound:
                h["counts"][i] += 1
                break
        h["count"] += 1
        h["sum"] += fps

    def cumulative(self, target: float) -> list[tuple[float, int]]:
        """``(le, seconds of play at most that fast)`` for each bound, then ``(inf, all)``."""
        h = self.by_target[target]
        out, seen = [], 0
        for bound, n in zip(FPS_BOUNDS, h["counts"]):
            seen += n
            out.append((float(bound), seen))
        return out + [(math.inf, h["count"])]


@dataclass
class TickTotals:
    """Every tick of a process's server games since it started: lateness and frame rates."""

    late: Lateness = field(default_factory=Lateness)
    fps: FrameRates = field(default_factory=FrameRates)


#: A gap between two ticks longer than this many frame periods is a pause (a player away, the
#: screens between episodes), not slow play: the frame rate is measured again from there.
_PAUSE_PERIODS = 5


class GameStats:
    """How well one game's clock kept time: ticks played, how late each started (:class:`Lateness`),
    and the frame rate achieved over its last second of play (``fps``; None before the first).

    Args:
        target: the step's ``fps``.
        totals: the process's totals, fed too (None: this game's figures only).
    """

    def __init__(self, target: float = 30.0, totals: TickTotals | None = None):
        self.ticks = 0
        self.late = Lateness()
        self.fps: float | None = None
        self.target = float(target)
        self.totals = totals
        self._window: tuple[float, int] | None = None  # (when the second began, ticks since)
        self._last = -math.inf

    def note(self, lateness: float, now: float | None = None) -> None:
        """A tick that started ``lateness`` seconds late, at ``now`` (the loop's clock; None: no
        frame rate is measured)."""
        self.ticks += 1
        self.late.add(lateness)
        if self.totals is not None:
            self.totals.late.add(lateness)
        if now is None:
            return
        if self._window is None or now - self._last > _PAUSE_PERIODS / self.target:
            self._window = (now, 0)
        else:
            start, n = self._window
            n += 1
            if now - start >= 1.0 - 0.5 / self.target:  # a second of play (give or take half a frame)
                self.fps = n / (now - start)
                if self.totals is not None:
                    self.totals.fps.add(self.target, self.fps)
                self._window = (now, 0)
            else:
                self._window = (start, n)
        self._last = now
