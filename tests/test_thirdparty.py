"""Third-party envs pass unchanged through the deep-copy fallback: Gymnasium's CartPole and
FrozenLake rendering rgb_array (pygame surfaces, a list of sprites, drawing state assigned by
render()) and a PettingZoo classic AEC game (EzPickle, whose pickled form is a fresh env)."""

import pytest

from checkrun import run_check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_check("tests/thirdparty/_thirdparty.py", "--mugkit-examples", "4", "--mugkit-frames", "30",
                     tmp_path=tmp_path_factory.mktemp("thirdparty"))


@pytest.mark.parametrize("step", ["cartpole", "tictactoe", "frozenlake"])
@pytest.mark.parametrize("check", ["contract", "determinism", "synctest"])
def test_passes(results, step, check):
    assert results.outcome(f"::{step}::{check}") == "passed", results.message(f"::{step}::{check}") + results.output


def test_reports_the_cost_of_the_deep_copy_fallback(results):
    assert "cartpole: no get_state/set_state, so snapshots deep-copy the env" in results.output
    assert "µs per save + restore" in results.output
