"""The ``rollback`` check function."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mugkit.netcode.check import check_rollback
from mugkit.runtime.spaces import Discrete

from netcode_stubs import LeakyGame, StubGame


class FixedData:
    """Stands in for Hypothesis' ``data``: answers each draw by its label."""

    def __init__(self, **values):
        self.values = values

    def draw(self, strategy, label):
        return self.values[label]


AGENTS = ("p0", "p1", "ai")
SPACES = {a: Discrete(4) for a in AGENTS}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_deterministic_game_passes(data):
    check_rollback(lambda: StubGame(AGENTS), AGENTS, ["p0", "p1"], SPACES, 8, 2, data)


def scenario(**overrides):
    values = dict(seed=1, frames=40, latency_ms=100, jitter_ms=10, loss=0.0, reorder=0.0, network_seed=0,
                  **{f"actions[{a}]": [i % 4 for i in range(40)] for a in AGENTS})
    values.update(overrides)
    return FixedData(**values)


def test_a_game_that_forgets_state_on_load_fails_naming_peer_and_frame():
    with pytest.raises(AssertionError) as e:
        check_rollback(lambda: LeakyGame(AGENTS), AGENTS, ["p0", "p1"], SPACES, 8, 2, scenario())
    assert str(e.value).startswith("peer 0 (agents ['p0', 'ai']) confirmed frame ")
    assert "the run without network has" in str(e.value) and "first differing frame" in str(e.value)
    assert "latency_ms=100" in str(e.value) and "seed 1" in str(e.value)


def test_the_same_game_passes_without_latency():
    # Without latency there is no rollback, so the leak never shows: the check needs latency.
    check_rollback(lambda: LeakyGame(AGENTS), AGENTS, ["p0", "p1"], SPACES, 8, 2,
                   scenario(latency_ms=0, jitter_ms=0))


def test_humans_must_be_two_agents():
    with pytest.raises(ValueError, match=r"^humans=\['p0'\]: need at least two distinct agents"):
        check_rollback(lambda: StubGame(AGENTS), AGENTS, ["p0"], SPACES, 8, 2, scenario())
