"""Tick lateness and achieved frame rates in bounded buckets (mugkit/web/ticks.py)."""

import math
import sys

from mugkit.web.ticks import FPS_BOUNDS, LATENESS_BOUNDS, FrameRates, GameStats, Lateness, TickTotals


def test_lateness_percentiles_are_exact_to_a_tenth_of_a_millisecond_below_ten():
    late = Lateness()
    for i in range(100):
        late.add(i / 10_000)          # 0.0 .. 9.9 ms
    assert late.count == 100 and late.percentiles_ms((0.5, 0.95, 0.99, 1.0)) == [4.9, 9.4, 9.8, 9.9]
    assert math.isclose(late.sum, sum(i / 10_000 for i in range(100)))
    assert Lateness().percentiles_ms((0.5, 1.0)) == [0.0, 0.0]


def test_coarser_buckets_above_ten_ms_and_the_exact_maximum():
    late = Lateness()
    for ms in (12.7, 150.0, 2500.0, 60_000.0, 70_000.0):
        late.add(ms / 1000)
    assert late.percentiles_ms((0.0, 0.25, 0.5, 0.75, 1.0)) == [12.0, 150.0, 2500.0, 10000.0, 70000.0]


def test_memory_stays_bounded_however_many_ticks():
    late = Lateness()
    size = len(late.counts)
    for i in range(200_000):
        late.add((i % 5000) / 1000)
    assert len(late.counts) == size < 500 and late.count == 200_000
    assert sys.getsizeof(late.counts) < 10_000


def test_prometheus_buckets_are_cumulative_and_end_with_every_tick():
    late = Lateness()
    for ms in (0.2, 0.5, 0.9, 3.0, 40.0, 700.0, 20_000.0):
        late.add(ms / 1000)
    buckets = dict(late.cumulative())
    assert list(buckets) == [*LATENESS_BOUNDS, math.inf]
    assert buckets[0.0005] == 1 and buckets[0.001] == 3 and buckets[0.005] == 4 and buckets[0.05] == 5
    assert buckets[1.0] == 6 and buckets[10.0] == 6 and buckets[math.inf] == 7


def test_merge_adds_ticks():
    a, b = Lateness(), Lateness()
    a.add(0.001)
    b.add(0.002)
    b.add(0.5)
    assert a.merge(b).count == 3 and a.max == 0.5 and a.percentiles_ms((0.5,)) == [2.0]


def test_a_game_measures_its_frame_rate_over_each_second_of_play_and_skips_pauses():
    totals = TickTotals()
    stats = GameStats(30, totals)
    t = 0.0
    for _ in range(61):               # two seconds at 30 fps
        stats.note(0.001, t)
        t += 1 / 30
    assert stats.fps is not None and abs(stats.fps - 30) < 0.01
    t += 10.0                         # paused (a player away): not slow play
    for _ in range(31):               # a second at 20 fps
        stats.note(0.001, t)
        t += 1 / 20
    assert abs(stats.fps - 20) < 0.01
    assert stats.ticks == totals.late.count == 92
    h = totals.fps.by_target[30.0]
    assert h["count"] == 3 and dict(totals.fps.cumulative(30.0))[20] == 1
    assert dict(totals.fps.cumulative(30.0))[30.5] == 3 and list(dict(totals.fps.cumulative(30.0)))[-1] == math.inf


def test_frame_rate_buckets():
    rates = FrameRates()
    for fps in (29.9, 30.0, 59.7, 500.0):
        rates.add(60.0, fps)
    cumulative = dict(rates.cumulative(60.0))
    assert len(cumulative) == len(FPS_BOUNDS) + 1
    assert cumulative[30.5] == 2 and cumulative[59.5] == 2 and cumulative[60.5] == 3 and cumulative[math.inf] == 4
