"""A Python policy that keeps memory between calls (a counter) fails the `policy` check with a
cause that names memory, not only unseeded randomness: a browser game resumed after a reload
re-simulates the episode with a fresh policy, so such a policy changes the recorded game."""

from __future__ import annotations

import textwrap

import pytest

from checkrun import run_check

STUDY = textwrap.dedent('''
    import mugkit as mk
    from mugkit import draw, spaces


    class Line:
        metadata = {"render_modes": ["mug"]}

        def __init__(self):
            self.render_mode = "mug"
            self.possible_agents = ["me", "ai"]
            self._a, self._o = spaces.Discrete(3), spaces.Box(0, 1000, shape=(1,), dtype="int")

        def action_space(self, agent):
            return self._a

        def observation_space(self, agent):
            return self._o

        def reset(self, seed=None, options=None):
            self.t, self.agents = 0, list(self.possible_agents)
            return {a: [self.t] for a in self.agents}, {a: {} for a in self.agents}

        def step(self, actions):
            self.t += 1
            done = self.t >= 100
            out = ({a: [self.t] for a in self.agents}, {a: 0 for a in self.agents}, {a: False for a in self.agents},
                   {a: done for a in self.agents}, {a: {} for a in self.agents})
            if done:
                self.agents = []
            return out

        def render(self):
            return [draw.text(10, 10, str(self.t), id="t")]


    @mk.policy(every=3)
    def counter():
        calls = []

        def act(obs, frame):
            calls.append(frame)
            return (len(calls) + frame) % 3
        return act


    @mk.scene(players={"me": mk.HUMAN, "ai": "counter"}, runtime="browser", keys={"ArrowUp": 1}, default_action=0)
    def line(seed):
        return Line()
''')


@pytest.mark.slow
def test_a_policy_with_memory_fails_the_policy_check_saying_memory_is_the_cause(tmp_path):
    (tmp_path / "memory.py").write_text(STUDY)
    result = run_check("memory.py", "-k", "policy", cwd=str(tmp_path), tmp_path=tmp_path)
    assert result.outcome("line::policy") == "failed", result.output
    msg = result.message("line::policy")
    assert "for the same (seed, frame, agent)" in msg
    assert "keeps memory between calls" in msg and "resumed after a reload" in msg and "`frame`" in msg
