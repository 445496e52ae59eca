"""Rollback peers record step rows through the frame driver: each confirmed frame once, as finally
simulated, marked predicted and with the depth of the rollback that re-ran it."""

from __future__ import annotations

import random

import mugkit as mk
from mugkit.games import build_game
from mugkit.netcode import GameRunner, PeerLoop, SessionBuilder
from mugkit.netcode.simnet import Link, SimNetwork

from test_driver import ARROWS, Walk


def test_each_confirmed_frame_gives_rows_once_with_how_it_was_simulated():
    # Defined here, not at module level, so that pytest runs this file as tests, not as an experiment.
    @mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0, runtime="browser",
              episodes=2, max_steps=40, on_step=lambda frame: {"frame_seen": frame})
    def duel(seed):
        return Walk(agents=("p0", "p1"))

    options = duel.options
    network = SimNetwork(seed=3, link=Link(latency_ms=90, jitter_ms=30, loss=0.1))
    loops = []
    for peer in (0, 1):
        b = SessionBuilder().with_options(options).add_local_player(peer).add_remote_player(1 - peer, 1 - peer)
        rng = random.Random(peer)
        loops.append(PeerLoop(b.start_p2p_session(network.transport(peer)),
                              GameRunner(build_game(duel, {}, seed=11).driver()),
                              {peer: lambda i, frame, rng=rng: rng.randrange(5)}))
    rows: list[list] = [[], []]
    for tick in range(400):
        network.advance_to(tick * 1000 / 30)
        for peer, loop in enumerate(loops):
            rows[peer] += loop.runner.confirmed_rows(loop.tick(tick * 1000 / 30).confirmed)
    for peer_rows in rows:
        keys = [(r.episode, r.frame, r.agent) for r in peer_rows]
        assert len(keys) == len(set(keys))  # no frame recorded twice
        frames = [(r.episode, r.frame) for r in peer_rows if r.agent == "p0"]
        # Frame 0 of episode 0 is the driver's start, before any session frame; the rest in order.
        whole = [(0, f) for f in range(1, 41)] + [(1, f) for f in range(0, 41)]
        assert len(frames) > 60 and frames == whole[:len(frames)]
        assert any(r.predicted for r in peer_rows) and any(r.rollback_depth for r in peer_rows)
        assert all(r.predicted is not None and r.rollback_depth is not None for r in peer_rows)
        assert all(r.x == {"frame_seen": r.frame} for r in peer_rows if r.frame > 0)
    # Both peers record the same game: actions, rewards and observations agree frame by frame.
    same = min(len(rows[0]), len(rows[1]))
    strip = lambda r: (r.episode, r.frame, r.agent, r.action, r.reward, r.observation)
    assert [strip(r) for r in rows[0][:same]] == [strip(r) for r in rows[1][:same]]
