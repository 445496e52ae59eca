"""GameRunner: session requests fulfilled against GameEnvs (the runtime adapter and stubs)."""

import random
import sys
from pathlib import Path

import pytest

from mugkit.netcode import GameRunner, MismatchedChecksum, SessionBuilder
from mugkit.runtime.errors import InternalError
from mugkit.netcode.simnet import Link, SimNetwork, reference_history, run_peers

from netcode_stubs import StubGame, TinyParallelEnv

adapter = pytest.importorskip("mugkit.runtime.adapter")


def run_synctest(game, frames=40, check_distance=4, seed=3):
    session = SessionBuilder().with_check_distance(check_distance).start_synctest_session()
    runner = GameRunner(game, seed=seed)
    rng = random.Random(seed)
    for _ in range(frames):
        for h in range(2):
            session.add_local_input(h, rng.randrange(3))
        runner.fulfil(session.advance_frame())
    session.check()
    return runner


def test_sync_test_passes_for_a_deterministic_env_through_the_adapter():
    runner = run_synctest(adapter.adapt(TinyParallelEnv(length=15), agents=("p0", "p1")))
    assert runner.episode == 2  # 40 frames: two 15-step episodes, each followed by a reset frame
    assert runner.steps > 40    # re-simulations happened


def test_sync_test_catches_state_left_out_of_set_state():
    with pytest.raises(MismatchedChecksum, match=r"^frame \d+: checksum '[0-9a-f]+' when first simulated"):
        run_synctest(adapter.adapt(TinyParallelEnv(forget=True), agents=("p0", "p1")))


def test_episodes_restart_with_the_next_seed_on_the_frame_after_done():
    runner = GameRunner(StubGame(episode_len=3), seed=10)
    frames = [runner.advance((0, 0)) for _ in range(5)]
    assert [f.index for f in frames] == [1, 2, 3, 0, 1]
    assert runner.episode == 1 and runner.sim_frame == 5


def test_rollbacks_across_episode_boundaries_replay_exactly():
    make = lambda: StubGame(episode_len=7)
    rng = random.Random(2)
    actions = [[rng.randrange(4) for _ in range(100)] for _ in range(2)]
    net = SimNetwork(seed=2, link=Link(latency_ms=150, jitter_ms=40, loss=0.1))
    expected = reference_history(make, actions, 100, seed=5)
    assert all(r.history == expected for r in run_peers(make, actions, 100, network=net, seed=5))


def test_a_skipped_request_is_caught():
    session = SessionBuilder().start_synctest_session()
    runner = GameRunner(StubGame())
    for h in range(2):
        session.add_local_input(h, 0)
    save, advance = session.advance_frame()
    with pytest.raises(InternalError, match=r"AdvanceFrame\(0\) but the game is at frame 1$"):
        runner.fulfil([advance, advance])


def test_two_peers_play_gem_gatherers_through_the_adapter():
    experiments = Path(__file__).resolve().parents[2] / "experiments"
    sys.path.insert(0, str(experiments))
    try:
        gather = pytest.importorskip("envs.gather")
    finally:
        sys.path.remove(str(experiments))
    make = lambda: adapter.adapt(gather.GatherEnv(render_mode=None, round_frames=50), agents=("p0", "p1"))
    rng = random.Random(0)
    actions = [[rng.randrange(9) for _ in range(80)] for _ in range(2)]
    results = run_peers(make, actions, 80, network=SimNetwork(1, Link(120, 30, 0.1)))
    expected = reference_history(make, actions, 80)
    assert [r.history for r in results] == [expected, expected]
    assert all(r.stats.rollbacks > 0 for r in results)
