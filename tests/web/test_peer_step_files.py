"""What a browser step with several humans may ship: an mk.Onnx AI is refused at start-up, with
what to do instead (the host's worker does not run models in step with the rollback session)."""

import textwrap

import pytest

from mugkit.collect import load_experiment
from mugkit.web.browser.shipping import ShippingError, step_files

STUDY = """
import mugkit as mk
from mugkit import spaces


class Walk:
    possible_agents = agents = ["a", "b", "bot"]

    def observation_space(self, agent):
        return spaces.Discrete(3)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        z = {a: 0 for a in self.agents}
        return z, {a: 0.0 for a in self.agents}, {a: False for a in self.agents}, {a: False for a in self.agents}, {a: {} for a in self.agents}


@mk.policy
def brain():
    return mk.Onnx("brain.onnx")


@mk.scene(runtime="browser", players={"a": mk.HUMAN, "b": mk.HUMAN, "bot": HUMANS_OR_AI}, keys={"x": 1},
          default_action=0, max_steps=10)
def walk(seed):
    return Walk()
"""


@pytest.mark.parametrize("bot, refused", [("brain", True), ("random", False)])
def test_an_onnx_ai_in_a_browser_step_with_several_humans_is_refused_at_start_up(tmp_path, bot, refused):
    (tmp_path / "brain.onnx").write_bytes(b"not read at start-up")
    path = tmp_path / f"onnx_peers_{bot}.py"  # module names are unique per process
    path.write_text(textwrap.dedent(STUDY).replace("HUMANS_OR_AI", repr(bot)))
    experiment = load_experiment(str(path))
    step = experiment.step("walk")
    if refused:
        with pytest.raises(ShippingError, match=r"onnx_peers.*an mk\.Onnx AI player in a browser step with several humans "
                                                r"is not supported yet; use runtime='server'"):
            step_files(experiment, step)
    else:
        assert step_files(experiment, step) is not None  # shipped as usual
