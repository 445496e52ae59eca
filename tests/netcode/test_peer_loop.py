"""PeerLoop: one peer's per-tick loop (poll, inputs, advance, fulfil, confirmed frames, events,
time sync), as the browser runtime, the server and run_peers use it."""

import pytest

from mugkit.netcode import (GameRunner, InvalidRequest, PeerLoop, SessionBuilder, TickResult,
                            WaitRecommendation)
from mugkit.netcode.simnet import Link, SimNetwork

from netcode_stubs import StubGame

TICK = 1000 / 30


def pair(net, sources, honor_time_sync=True):
    loops = []
    for i in (0, 1):
        session = (SessionBuilder().with_input_delay(0).add_local_player(i).add_remote_player(1 - i, 1 - i)
                   .start_p2p_session(net.transport(i)))
        loops.append(PeerLoop(session, GameRunner(StubGame(), always_checksum=True), {i: sources[i]},
                              honor_time_sync=honor_time_sync))
    return loops


def run(net, loops, ticks):
    out = [[] for _ in loops]
    for tick in range(ticks):
        now = tick * TICK
        net.advance_to(now)
        for i, loop in enumerate(loops):
            if not net.paused(i, now):
                out[i].append(loop.tick(now))
    return out


def test_every_local_handle_needs_an_input_source():
    session = SessionBuilder().add_local_player(0).add_remote_player(1, 1).start_p2p_session(SimNetwork().transport(0))
    with pytest.raises(InvalidRequest, match=r"^no input source for local handles \[0\]"):
        PeerLoop(session, GameRunner(StubGame()), {1: lambda i, frame: 0})


def test_a_tick_gives_inputs_advances_fulfils_and_reports():
    asked = []
    def source(i, frame):
        asked.append((i, frame.index))
        return i % 4
    net = SimNetwork()
    loops = pair(net, [source, lambda i, frame: 1])
    results = run(net, loops, 20)[0]
    assert all(isinstance(r, TickResult) for r in results)
    assert results[0].advanced == () and not results[0].skipped  # not synchronized yet
    # From then on one new frame per tick, asked with the session's frame and the game's frame.
    new_frames = [[req.frame for req, _ in r.advanced][-1:] for r in results[1:]]
    assert new_frames == [[f] for f in range(19)]
    # (at tick 0 too: a session discards inputs given while it waits, as its callers expect)
    assert asked == [(0, 0)] + [(f, f) for f in range(19)]
    assert loops[0].runner.sim_frame == 19
    # Confirmed frames arrive in order, with the actions both sources gave.
    stream = [c for r in results for c in r.confirmed]
    assert len(stream) >= 15 and [c.frame for c in stream] == list(range(len(stream)))
    assert all(c.actions == (c.frame % 4, 1) for c in stream)
    assert any(r.events for r in results)  # Synchronized, at least


@pytest.mark.parametrize("honor", [True, False])
def test_a_wait_recommendation_skips_that_many_ticks(honor):
    net = SimNetwork(seed=1, link=Link(latency_ms=40))
    net.pause(1, 1000, 1500)  # peer 1 falls ~15 frames behind: peer 0 is told to wait
    loops = pair(net, [lambda i, frame: i % 3, lambda i, frame: 1], honor_time_sync=honor)
    results = run(net, loops, 200)[0]
    recs = [(k, e.skip_frames) for k, r in enumerate(results) for e in r.events if isinstance(e, WaitRecommendation)]
    assert recs
    k, n = recs[0]
    after = results[k + 1:k + 2 + n]
    if honor:
        assert [r.skipped for r in after] == [True] * n + [False]
        assert all(r.advanced == () for r in after[:n]) and after[n].advanced
        assert loops[0].ticks_skipped >= n
    else:
        assert not any(r.skipped for r in results) and loops[0].ticks_skipped == 0
    assert loops[0].ticks == len(results)
