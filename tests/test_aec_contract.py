"""A duck-typed, numpy-free PettingZoo AEC env — what a browser turn-based game is — passes the
contract's library checker: PettingZoo's api_test sees it through a view (an AECEnv with
gymnasium spaces and int8 action masks), as parallel and Gymnasium envs already were."""

from __future__ import annotations

import textwrap

import pytest

from checkrun import run_check

AEC_ENV = textwrap.dedent('''
    import mugkit as mk
    from mugkit import draw, spaces


    class Nim:
        """Take 1-3 stones from a pile of 7; who takes the last one wins."""
        metadata = {"render_modes": ["mug"], "name": "nim_v0"}

        def __init__(self, render_mode="mug"):
            self.render_mode = render_mode
            self.possible_agents = ["first", "second"]
            self._act = {a: spaces.Discrete(3) for a in self.possible_agents}
            self._obs = {a: spaces.Dict({"observation": spaces.Box(0, 7, shape=(1,), dtype="int"),
                                         "action_mask": spaces.Box(0, 1, shape=(3,), dtype="int")})
                         for a in self.possible_agents}
            self.reset()

        def action_space(self, agent):
            return self._act[agent]

        def observation_space(self, agent):
            return self._obs[agent]

        def reset(self, seed=None, options=None):
            self.pile = 7
            self.agents = list(self.possible_agents)
            self.agent_selection = "first"
            self.rewards = {a: 0 for a in self.agents}
            self._cumulative_rewards = {a: 0 for a in self.agents}
            self.terminations = {a: False for a in self.agents}
            self.truncations = {a: False for a in self.agents}
            self.infos = {a: {} for a in self.agents}

        def observe(self, agent):
            return {"observation": [self.pile], "action_mask": [1 if n + 1 <= self.pile else 0 for n in range(3)]}

        def last(self, observe=True):
            a = self.agent_selection
            return (self.observe(a) if observe else None, self._cumulative_rewards[a], self.terminations[a],
                    self.truncations[a], self.infos[a])

        def step(self, action):
            a = self.agent_selection
            if self.terminations[a]:
                for d in (self.rewards, self._cumulative_rewards, self.terminations, self.truncations, self.infos):
                    del d[a]
                self.agents.remove(a)
                self.rewards = {b: 0 for b in self.agents}
                if self.agents:
                    self.agent_selection = self.agents[0]
                return
            self._cumulative_rewards[a] = 0
            other = "second" if a == "first" else "first"
            self.pile -= action + 1
            self.rewards = {a: 0, other: 0}
            if self.pile == 0:
                self.rewards = {a: 1, other: -1}
                self.terminations = {b: True for b in self.agents}
            for b in self.agents:
                self._cumulative_rewards[b] += self.rewards[b]
            self.agent_selection = other

        def render(self):
            return [draw.text(10, 10, f"stones: {self.pile}", id="pile")]


    @mk.scene(players={"first": mk.HUMAN, "second": "random"}, runtime="browser",
              keys={"1": 0, "2": 1, "3": 2})
    def nim(seed):
        return Nim()
''')


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
