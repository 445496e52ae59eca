"""mugkit.runtime.policies: seeded random play, callables with injected context, ONNX models."""

from __future__ import annotations

import os
import random

import gymnasium
import numpy as np
import pytest

from mugkit.runtime.policies import (CallablePolicy, Onnx, PolicyError, RandomPolicy, action_mask, as_policy,
                                     policy_seed)
from mugkit.spaces import Box, Discrete

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _acts(policy, space, obs=None, info=None, frames=range(40), seed=7, agent="ai"):
    return [policy.act(obs, agent=agent, frame=f, seed=seed, space=space, info=info) for f in frames]


# --- RandomPolicy ------------------------------------------------------------------------------------------


def test_random_is_a_function_of_seed_frame_agent():
    space = Discrete(1000)
    first = _acts(RandomPolicy(), space)
    assert first == _acts(RandomPolicy(), space)
    assert len(set(first)) > 30  # differs across frames
    assert first != _acts(RandomPolicy(), space, agent="other")
    assert first != _acts(RandomPolicy(), space, seed=8)
    # order of calls does not matter: frame 17 alone gives the same answer as within a run
    assert _acts(RandomPolicy(), space, frames=[17]) == [first[17]]
    # and it does not touch the global random module
    state = random.getstate()
    _acts(RandomPolicy(), space)
    assert random.getstate() == state


def test_random_respects_mask_in_observation_and_info():
    space = Discrete(5)
    mask = [0, 0, 1, 0, 1]
    assert set(_acts(RandomPolicy(), space, obs={"observation": [0], "action_mask": mask})) == {2, 4}
    assert set(_acts(RandomPolicy(), space, obs=[0.0], info={"action_mask": mask})) == {2, 4}
    assert set(_acts(RandomPolicy(), space)) == {0, 1, 2, 3, 4}


def test_random_on_gymnasium_discrete_with_numpy_mask():
    space = gymnasium.spaces.Discrete(9)
    space.seed(1)
    own_state = space.np_random.bit_generator.state
    obs = {"observation": np.zeros((3, 3, 2), dtype=np.int8),
           "action_mask": np.array([1, 0, 0, 0, 1, 0, 0, 0, 1], dtype=np.int8)}
    actions = _acts(RandomPolicy(), space, obs=obs)
    assert {int(a) for a in actions} == {0, 4, 8}
    assert actions == _acts(RandomPolicy(), space, obs=obs)
    assert space.np_random.bit_generator.state == own_state  # the env's space generator is untouched


def test_random_on_gymnasium_box():
    space = gymnasium.spaces.Box(-1.0, 1.0, shape=(2,))
    actions = _acts(RandomPolicy(), space, frames=range(5))
    assert all(space.contains(a) for a in actions)
    assert np.array_equal(actions[3], _acts(RandomPolicy(), space, frames=[3])[0])


def test_random_rejects_an_unknown_space():
    with pytest.raises(PolicyError, match="cannot sample from object"):
        RandomPolicy().act(None, agent="a", frame=0, seed=0, space=object())


def test_action_mask_lookup():
    assert action_mask({"action_mask": [1]}, None) == [1]
    assert action_mask([1, 2], {"action_mask": [0]}) == [0]
    assert action_mask({"observation": 1}, {}) is None


# --- CallablePolicy -------------------------------------------------------------------------------------------


def test_callable_gets_only_the_parameters_it_names():
    seen = []

    def greedy(obs, mask, agent):
        seen.append((obs, mask, agent))
        return 1

    policy = as_policy(greedy)
    assert isinstance(policy, CallablePolicy) and policy.name == "greedy"
    obs = {"observation": 3, "action_mask": [0, 1]}
    assert policy.act(obs, agent="ai", frame=4, seed=0, space=Discrete(2)) == 1
    assert seen == [(obs, [0, 1], "ai")]


def test_callable_with_no_context_and_every_context():
    calls = []
    as_policy(lambda obs: calls.append(obs) or 0).act("o", agent="a", frame=0, seed=0, space=Discrete(2))
    assert calls == ["o"]

    got = {}

    def everything(obs, agent, frame, seed, rng, mask, space, info, env):
        got.update(agent=agent, frame=frame, seed=seed, rng=rng, mask=mask, space=space, info=info, env=env)
        return 0

    space = Discrete(2)
    as_policy(everything).act([1], agent="x", frame=9, seed=5, space=space, info={"action_mask": [1, 0]},
                              env="the env")
    assert isinstance(got.pop("rng"), random.Random)
    assert got == {"agent": "x", "frame": 9, "seed": 5, "mask": [1, 0], "space": space,
                   "info": {"action_mask": [1, 0]}, "env": "the env"}


def test_env_reaches_a_callable_that_names_it():
    class Env:
        partner_pos = (3, 4)

    env = Env()
    seen = []

    def scripted(obs, env, agent):  # like MUG's compute_action(env, agent_id)
        seen.append((env, agent))
        return env.partner_pos[agent]

    assert as_policy(scripted).act([0], agent=1, frame=0, seed=0, space=Discrete(5), env=env) == 4
    assert seen == [(env, 1)]
    assert as_policy(scripted).act([0], agent=0, frame=0, seed=0, space=Discrete(5), env=env) == 3
    # a callable that does not name env is not given it; policies that do not read it accept it
    assert as_policy(lambda obs, agent: 0).act([0], agent=0, frame=0, seed=0, space=Discrete(2), env=env) == 0
    assert RandomPolicy().act([0], agent=0, frame=0, seed=0, space=Discrete(2), env=env) in (0, 1)
    # without env= the callable gets None
    got = []
    as_policy(lambda obs, env: got.append(env) or 0).act([0], agent=0, frame=0, seed=0, space=Discrete(2))
    assert got == [None]


def test_agent_ids_may_be_ints():
    space = Discrete(1000)
    zero, one = _acts(RandomPolicy(), space, agent=0), _acts(RandomPolicy(), space, agent=1)
    assert zero == _acts(RandomPolicy(), space, agent=0) and zero != one
    assert zero != _acts(RandomPolicy(), space, agent="0")  # the int 0 and the str "0" are different agents
    drawer = as_policy(lambda obs, rng: rng.randrange(10**9), "drawer")
    assert _acts(drawer, space, agent=0) == _acts(drawer, space, agent=0) != _acts(drawer, space, agent=1)
    assert policy_seed(5, 0) == policy_seed(5, 0) != policy_seed(5, 1)


def test_callable_rng_is_seeded_by_seed_frame_agent():
    def draw(obs, rng):
        return rng.randrange(10**9)

    policy = as_policy(draw, "drawer")
    space = Discrete(2)
    first = _acts(policy, space)
    assert first == _acts(policy, space)
    assert len(set(first)) == len(first)
    assert first != _acts(policy, space, agent="b")
    assert first != _acts(as_policy(draw, "another"), space)  # the policy name is part of the seed


def test_as_policy():
    assert isinstance(as_policy("random"), RandomPolicy)
    model = Onnx("/nonexistent/model.onnx")
    assert as_policy(model) is model
    for bad in (42, "greedy", None, [lambda o: 0]):
        with pytest.raises(PolicyError, match=r"^a policy must be mk\.Onnx\(\.\.\.\) or a callable obs -> action, "
                                              rf"got {type(bad).__name__}$"):
            as_policy(bad)


# --- Onnx --------------------------------------------------------------------------------------------------------


def _save(graph, path):
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from onnx import TensorProto, helper, numpy_helper

    d = tmp_path_factory.mktemp("onnx")
    identity = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    # Gemm: y = x @ W + b, 2 inputs -> 3 logits
    w = numpy_helper.from_array(np.array([[1, 0, -1], [0, 1, 1]], dtype=np.float32), "W")
    b = numpy_helper.from_array(np.array([0, 0, 0.5], dtype=np.float32), "B")
    gemm = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "B"], ["y"])], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], initializer=[w, b])
    broken = d / "broken.onnx"
    broken.write_bytes(b"not a model")
    return {"identity": _save(identity, d / "identity.onnx"), "gemm": _save(gemm, d / "gemm.onnx"),
            "broken": str(broken)}


def test_onnx_argmax(models):
    policy = Onnx(models["identity"])
    assert policy.name == "identity.onnx"
    assert _acts(policy, Discrete(4), obs=[0.1, 0.9, 0.3, -1.0], frames=range(3)) == [1, 1, 1]
    assert _acts(policy, Discrete(4, start=10), obs=[5, 0, 0, 0], frames=[0]) == [10]
    gemm = Onnx(models["gemm"])
    # x = [2, 1]: logits [2, 1, -0.5]; x = [0, 1]: [0, 1, 1.5]
    assert gemm.act([2.0, 1.0], agent="a", frame=0, seed=0, space=Discrete(3)) == 0
    assert gemm.act(np.array([0, 1]), agent="a", frame=0, seed=0, space=Discrete(3)) == 2
    assert gemm.logits([0, 1]).tolist() == [0.0, 1.0, 1.5]


def test_onnx_mask_is_never_violated(models):
    policy = Onnx(models["identity"])
    obs = {"observation": [0.1, 0.9, 0.3, -1.0], "action_mask": [1, 0, 1, 1]}
    assert policy.act(obs, agent="a", frame=0, seed=0, space=Discrete(4)) == 2
    sampler = Onnx(models["identity"], sample=True)
    assert set(_acts(sampler, Discrete(4), obs=obs, frames=range(200))) == {0, 2, 3}
    only = {"observation": [9, 9, 9, -9], "action_mask": np.array([0, 0, 0, 1], dtype=np.int8)}
    assert set(_acts(sampler, Discrete(4), obs=only, frames=range(30))) == {3}


def test_onnx_sampling_is_seeded_and_follows_the_logits(models):
    sampler = Onnx(models["identity"], sample=True)
    obs = [0.0, 0.0, np.log(2.0), -50.0]  # probabilities 1/4, 1/4, 1/2, ~0
    first = _acts(sampler, Discrete(4), obs=obs, frames=range(400))
    assert first == _acts(Onnx(models["identity"], sample=True), Discrete(4), obs=obs, frames=range(400))
    assert first != _acts(sampler, Discrete(4), obs=obs, frames=range(400), seed=8)
    counts = [first.count(a) for a in range(4)]
    assert counts[3] == 0 and 150 < counts[2] < 250 and 60 < counts[0] < 140
    cold = Onnx(models["identity"], sample=True, temperature=0.01)
    assert set(_acts(cold, Discrete(4), obs=obs, frames=range(20))) == {2}


def test_onnx_with_int_agents_and_env(models):
    sampler = Onnx(models["identity"], sample=True)
    obs = [0.0, 0.0, 0.0, 0.0]
    zero = [sampler.act(obs, agent=0, frame=f, seed=3, space=Discrete(4), env=object()) for f in range(50)]
    assert zero == _acts(sampler, Discrete(4), obs=obs, frames=range(50), seed=3, agent=0)
    assert zero != _acts(sampler, Discrete(4), obs=obs, frames=range(50), seed=3, agent=1)


def test_onnx_box_action_is_clipped(models):
    policy = Onnx(models["identity"])
    space = Box(-1.0, 1.0, shape=(4,))
    action = policy.act([0.5, 3.0, -7.0, 0.0], agent="a", frame=0, seed=0, space=space)
    assert action == [0.5, 1.0, -1.0, 0.0] and space.contains(action)


def test_onnx_output_size_mismatch(models):
    with pytest.raises(PolicyError, match=r"^identity\.onnx: the model gives 4 outputs but the action space "
                                          r"Discrete\(3\) needs one logit per action$"):
        Onnx(models["identity"]).act([0, 0, 0, 0], agent="a", frame=0, seed=0, space=Discrete(3))


def test_onnx_missing_and_broken_files(models, tmp_path):
    missing = str(tmp_path / "nope.onnx")
    policy = Onnx(missing)
    with pytest.raises(PolicyError, match=rf"^mk\.Onnx: no model file at {missing}$"):
        policy.load()
    with pytest.raises(PolicyError, match="no model file"):
        policy.act([0], agent="a", frame=0, seed=0, space=Discrete(2))
    with pytest.raises(PolicyError, match=r"^mk\.Onnx: cannot load .*broken\.onnx: "):
        Onnx(models["broken"]).load()


def test_onnx_relative_path_is_relative_to_the_calling_module():
    policy = Onnx("models/chaser.onnx")
    assert policy.path == os.path.join(os.path.dirname(os.path.abspath(__file__)), "models/chaser.onnx")
