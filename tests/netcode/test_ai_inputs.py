"""AI players stay deterministic under rollback: the host asks the AI from the frame it sees —
often a predicted one — and sends the answer as the AI's input, so every peer replays the same
AI action however often it re-simulates."""

from mugkit.netcode.simnet import Link, SimNetwork, replay_inputs, run_peers
from netcode_stubs import StubGame


def test_an_ai_deciding_from_predicted_frames_keeps_every_peer_on_one_history():
    asked = []

    def ai(i, frame):  # reads the host's current observation, predicted or not
        asked.append(frame.observations["ai"])
        return frame.observations["ai"] % 5

    humans = [[(i * 7) % 5 for i in range(80)], [(i * 3 + 1) % 5 for i in range(80)]]
    make = lambda: StubGame(agents=("p0", "p1", "ai"))
    results = run_peers(make, [humans[0], humans[1], ai], 80, peers=[(0, 2), (1,)], seed=3,
                        network=SimNetwork(5, Link(latency_ms=120, jitter_ms=30, loss=0.1)))
    assert all(r.stats.rollbacks > 0 for r in results)  # the host really decided on predictions
    assert len(set(asked)) > 3  # and the AI's answers vary with what it saw
    assert results[0].inputs == results[1].inputs
    expected = replay_inputs(make, results[0].inputs, seed=3)
    assert len(expected) == 81
    for r in results:
        assert r.history == expected
        assert not r.desyncs
