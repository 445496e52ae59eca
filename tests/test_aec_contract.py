"""A duck-typed, numpy-free PettingZoo AEC env — what a browser turn-based game is — passes the
contract's library checker: PettingZoo's api_test sees it through a view (an AECEnv with
gymnasium spaces and int8 action masks), as parallel and Gymnasium envs already were."""

from __future__ import annotations

import os

import pytest

from checkrun import run_check

# The load-test tests' turn-based study: Nim, with an action mask (one env, two uses).
AEC_ENV = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "loadtest", "studies", "_nim.py")).read()


@pytest.mark.slow
def test_a_duck_typed_aec_env_passes_pettingzoos_api_test_through_a_view(tmp_path):
    (tmp_path / "nim.py").write_text(AEC_ENV)
    result = run_check("nim.py", "-k", "contract", cwd=str(tmp_path), tmp_path=tmp_path)
    assert result.outcome("nim::contract") == "passed", result.output
    assert "must be an instance of pettingzoo.AECEnv" not in result.output


def test_the_aec_view_hands_pettingzoo_gymnasium_spaces_and_int8_masks(tmp_path):
    import numpy as np
    from gymnasium import spaces as gym_spaces
    from pettingzoo import AECEnv
    from pettingzoo.test import api_test

    from mugkit.checks.views import aec_view, needs_view

    namespace: dict = {}
    exec(compile(AEC_ENV, str(tmp_path / "nim.py"), "exec"), namespace)
    env = namespace["Nim"]()
    assert needs_view(env, "aec")
    view = aec_view(env)
    assert isinstance(view, AECEnv) and isinstance(view.action_space("first"), gym_spaces.Discrete)
    view.reset(seed=0)
    obs, reward, terminated, truncated, info = view.last()
    assert obs["action_mask"].dtype == np.int8 and (reward, terminated, truncated) == (0, False, False)
    api_test(view, num_cycles=20)   # raises on any API breach


def test_pettingzoo_api_tests_sample_the_same_actions_every_run():
    """Their verdict must not be luck: `check` and `serve`'s pre-flight run them too, and must agree."""
    from mugkit.checks.contract import _seeded
    from mugkit.checks.views import parallel_view
    from mugkit import spaces

    class TwoWalkers:
        possible_agents = ["a", "b"]

        def action_space(self, agent):
            return spaces.Discrete(5)

        def observation_space(self, agent):
            return spaces.Discrete(5)

    runs = [[int(_seeded(parallel_view(TwoWalkers())).action_space(a).sample()) for a in "ab" for _ in range(20)]
            for _ in range(2)]
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
